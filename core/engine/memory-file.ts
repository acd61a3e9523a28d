import type { DriveFile } from '../contracts/drive.js';
import { placed } from '../read-into.js';

/** Bytes already in memory (an inline shard) behind the DriveFile contract, so readers need no second path. */
export class MemoryFile implements DriveFile {
  constructor(private readonly bytes: Uint8Array) {}

  get size(): number {
    return this.bytes.byteLength;
  }

  async read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    return placed(this.bytes.subarray(offset, Math.min(offset + length, this.bytes.byteLength)), into);
  }

  async close(): Promise<void> {}
}
