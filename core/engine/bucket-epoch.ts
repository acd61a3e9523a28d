import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
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
  /**
   * how long a change waits before it is answered, so that a copy kept by
   * a process that cannot see `changed` has expired (0: every process sees it)
   */
  readonly settleMs: number;
}

/** No shared value (a lone process, the engine in tests): buckets are read every time. */
export const NO_BUCKET_EPOCH: BucketEpoch = { current: () => undefined, changed: () => undefined, settleMs: 0 };

/** How long a gateway that shares its nodes with gateways on other hosts keeps a bucket it read. */
export const BUCKET_LEASE_MS = 1000;

/**
 * Gateways on several hosts share no memory: a bucket read is kept for
 * BUCKET_LEASE_MS at most (a lease), and every change to a bucket (its
 * deletion, a setting) waits that long before it is answered — by then no
 * gateway anywhere still holds the old copy, so a deleted bucket is gone for
 * all of them at once, and DeleteBucket's emptiness check comes after every
 * write that saw the bucket unmarked (see BucketStore).
 */
export class LeaseBucketEpoch implements BucketEpoch {
  readonly settleMs = BUCKET_LEASE_MS;
  current(): string {
    return 'lease';
  }

  changed(): void {}
}

/** The environment variable through which a server's primary hands its epoch file to the workers. */
export const BUCKET_EPOCH_ENV = 'KINTSUGI_BUCKET_EPOCH';

/** The epoch in an 8-byte file, read and written with positional I/O. */
export class FileBucketEpoch implements BucketEpoch {
  readonly settleMs = 0;
  private readonly fd: number;
  private readonly buf = Buffer.alloc(8);

  constructor(path: string) {
    this.fd = openSync(path, 'r+');
  }

  /**
   * Makes a fresh epoch file, in memory-backed storage where there is some,
   * and returns the path other processes open it by. On Linux the file is
   * unlinked at once and reached through this process's descriptor
   * (`/proc/<pid>/fd/<n>`), so that it goes away with the process, a
   * kill -9 included; elsewhere it is removed when this process exits.
   */
  static create(): string {
    const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'kintsugi-'));
    const path = join(dir, 'bucket-epoch');
    writeFileSync(path, randomBytes(8));
    const remove = () => rmSync(dir, { recursive: true, force: true });
    if (!existsSync(`/proc/${process.pid}/fd`)) {
      process.once('exit', remove);
      return path;
    }
    const fd = openSync(path, 'r+');
    remove();
    return `/proc/${process.pid}/fd/${fd}`;
  }

  current(): string {
    readSync(this.fd, this.buf, 0, 8, 0);
    return this.buf.toString('hex');
  }

  changed(): void {
    writeSync(this.fd, randomBytes(8), 0, 8, 0);
  }
}
