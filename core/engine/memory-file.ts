import type { DriveFile } from '../contracts/drive.js';

/** Bytes already in memory (an inline shard) behind the DriveFile contract, so readers need no second path. */
export class MemoryFile implements DriveFile {
  constructor(private readonly bytes: Uint8Array) {}

  get size(): number {
    return this.bytes.byteLength;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    return this.bytes.subarray(offset, Math.min(offset + length, this.bytes.byteLength));
  }

  async close(): Promise<void> {}
}
