import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A value the processes of one gateway share, changed whenever one of them
 * creates or deletes a bucket. A worker may keep a bucket it read while the
 * value stays the same: any change made by another worker is seen on its
 * next request, at the cost of one 8-byte pread, instead of reading the
 * bucket's record from a majority of the nodes on every request.
 */
export interface BucketEpoch {
  /** the current value, or undefined when there is none (nothing may be kept) */
  current(): string | undefined;
  /** a bucket was created or deleted: every process drops what it kept */
  changed(): void;
}

/** No shared value (a lone process, the engine in tests): buckets are read every time. */
export const NO_BUCKET_EPOCH: BucketEpoch = { current: () => undefined, changed: () => undefined };

/** The environment variable through which a server's primary hands its epoch file to the workers. */
export const BUCKET_EPOCH_ENV = 'KINTSUGI_BUCKET_EPOCH';

/** The epoch in an 8-byte file, read and written with positional I/O. */
export class FileBucketEpoch implements BucketEpoch {
  private readonly fd: number;
  private readonly buf = Buffer.alloc(8);

  constructor(path: string) {
    this.fd = openSync(path, 'r+');
  }

  /** Makes a fresh epoch file in memory-backed storage where there is some; returns its path and how to remove it. */
  static create(): { path: string; remove: () => void } {
    const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'kintsugi-'));
    const path = join(dir, 'bucket-epoch');
    writeFileSync(path, randomBytes(8));
    return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
  }

  current(): string {
    readSync(this.fd, this.buf, 0, 8, 0);
    return this.buf.toString('hex');
  }

  changed(): void {
    writeSync(this.fd, randomBytes(8), 0, 8, 0);
  }

  close(): void {
    closeSync(this.fd);
  }
}
