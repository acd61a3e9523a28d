import type { Drive, DriveFile, DriveStat, DriveWriter } from './contracts/drive.js';
import { KintsugiError } from './errors.js';

/** Stands in for a node that was refused at start: every operation fails, nothing is touched. */
export class OfflineDrive implements Drive {
  constructor(readonly index: number, readonly location: string, private readonly why: string) {}

  private fail(): never {
    throw new KintsugiError('ERR_NODE_OFFLINE', `node ${this.index} is offline: ${this.why}`);
  }

  async createWriter(): Promise<DriveWriter> { this.fail(); }
  async writeFile(): Promise<void> { this.fail(); }
  async createFile(): Promise<{ newFolder: boolean }> { this.fail(); }
  async readFile(): Promise<Uint8Array | undefined> { this.fail(); }
  async open(): Promise<DriveFile | undefined> { this.fail(); }
  async stat(): Promise<DriveStat | undefined> { this.fail(); }
  async list(): Promise<string[]> { this.fail(); }
  async rename(): Promise<void> { this.fail(); }
  async remove(): Promise<void> { this.fail(); }
  async healthy(): Promise<boolean> { return false; }
}
