import { closeSync, openSync, readSync } from 'node:fs';

import { KintsugiError } from './errors.js';

const LMDB_MAGIC = Buffer.from([0xde, 0xc0, 0xef, 0xbe]);

/** An LMDB file whose meta pages carry no magic number where they must: opening it would trust garbage. */
export class LmdbDamagedError extends KintsugiError {
  constructor(message: string) {
    super('ERR_LMDB_DAMAGED', message);
  }
}

/**
 * Where the two meta pages of an LMDB file keep their magic number, learnt
 * from the file when it was opened sound (so no assumption about LMDB's page
 * size or header layout); checking those 8 bytes costs two small reads from
 * the page cache. Every LMDB transaction starts by trusting the meta pages,
 * and a rotten one sends LMDB to garbage page numbers, a crash: checked
 * before each one, a damaged file is a fault instead. No magic found where
 * expected at open: no guard (a file LMDB is still creating).
 */
export class MetaGuard {
  private readonly buf = Buffer.alloc(4);

  private constructor(private readonly fd: number, private readonly offsets: readonly number[]) {}

  /** The guard of the LMDB file at `path`; throws LmdbDamagedError for a file of two pages or more without meta pages. */
  static learn(path: string): MetaGuard | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return undefined;
    }
    const head = Buffer.alloc(65_536 + 64);
    const got = readSync(fd, head, 0, head.length, 0);
    const first = head.subarray(0, got).indexOf(LMDB_MAGIC);
    const second = first >= 0 && first < 64 ? head.subarray(0, got).indexOf(LMDB_MAGIC, first + 512) : -1;
    if (second < 0 || (second - first) % 512 !== 0) {
      closeSync(fd);
      // Two pages or more and no meta page: a rotten file, not one LMDB is still creating.
      if (got >= 8192) throw new LmdbDamagedError(`${path}: no LMDB meta page found`);
      return undefined;
    }
    return new MetaGuard(fd, [first, second]);
  }

  intact(): boolean {
    for (const at of this.offsets) {
      if (readSync(this.fd, this.buf, 0, 4, at) !== 4 || !this.buf.equals(LMDB_MAGIC)) return false;
    }
    return true;
  }

  close(): void {
    try { closeSync(this.fd); } catch { /* already closed */ }
  }
}
