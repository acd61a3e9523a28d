import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

import { KintsugiError } from '../../core/errors.js';
import { DB_BYTES, DB_DEPTH_AT, DB_ROOT_AT, LMDB_MAGIC, META_BYTES, META_DBS_AT, META_LAST_PAGE_AT, META_TXNID_AT, META_VERSION_AT, NO_PAGE } from './lmdb-layout.js';

/** An LMDB file whose meta pages carry no magic number where they must: opening it would trust garbage. */
export class LmdbDamagedError extends KintsugiError {
  constructor(message: string) {
    super('ERR_LMDB_DAMAGED', message);
  }
}

/** Deeper B-trees than this would need more pages than a 2^64-byte file holds. */
const MAX_DEPTH = 32;
/** Reads a meta page that fails its check is given again: a commit writing it at that moment can show half of it. */
const REREADS = 3;
/**
 * How long a meta page that fails its check is looked at again before the
 * file is judged damaged: a writer preempted in the middle of copying a meta
 * page (two busy cores, seven nodes' commits) shows it torn for longer than
 * three back-to-back reads (bench:scale at 100,000 objects set two sound
 * shelves aside). A rotten page stays rotten.
 */
const SETTLE_MS = 250;

/**
 * Where the two meta pages of an LMDB file keep their magic number, learnt
 * from the file when it was opened sound (so no assumption about where
 * LMDB's page header ends), and what a sound meta page holds: the magic, the
 * version and page size seen at open, each database's root page (none, or
 * one the file has) and depth, the last page within the file. Every LMDB
 * transaction starts by trusting the meta pages, and a rotten one sends
 * LMDB to garbage page numbers, a crash: checked before each one (two small
 * reads from the page cache), a damaged file is a fault instead. Random
 * bytes behind an intact magic number pass these checks with a chance of
 * about 2^-100. No magic found where expected at open: no guard (a file
 * LMDB is still creating).
 */
export class MetaGuard {
  private readonly buf = Buffer.alloc(META_BYTES);

  private constructor(
    private readonly fd: number,
    private readonly offsets: readonly number[],
    private readonly version: number,
    private readonly pageSize: number,
    private readonly mapPages: bigint,
  ) {}

  /**
   * The guard of the LMDB file at `path`, opened with a map of `mapBytes`;
   * throws LmdbDamagedError for a file of two pages or more without meta pages.
   */
  static learn(path: string, mapBytes: number): MetaGuard | undefined {
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
    const meta = head.subarray(first, first + META_BYTES);
    const pageSize = second - first;
    return new MetaGuard(fd, [first, second], meta.readUInt32LE(META_VERSION_AT), pageSize, BigInt(Math.floor(mapBytes / pageSize)));
  }

  /** What the last failed check found (for the quarantine's why). */
  why = '';

  intact(): boolean {
    for (const at of this.offsets) {
      let sound = false;
      for (let read = 0; read < REREADS && !sound; read++) sound = this.soundAt(at);
      if (!sound) return false;
    }
    return true;
  }

  /** intact(), and a failure looked at again over SETTLE_MS (growing pauses) before it counts. */
  async settledIntact(): Promise<boolean> {
    if (this.intact()) return true;
    for (let waited = 0, pause = 5; waited < SETTLE_MS; waited += pause, pause *= 2) {
      await new Promise((r) => setTimeout(r, pause));
      if (this.intact()) return true;
    }
    return false;
  }

  private soundAt(at: number): boolean {
    const m = this.buf;
    const fail = (why: string) => { this.why = `meta page at ${at}: ${why}`; return false; };
    if (readSync(this.fd, m, 0, META_BYTES, at) !== META_BYTES) return fail('short read');
    // The size is taken after the meta page: a commit writes its pages (growing the file) before its meta
    // page, so the file holds every root a meta page read names. Taken before, a commit by another process
    // in between made a sound file look short, and it was set aside (bench:scale, 100,000 objects).
    const filePages = BigInt(Math.floor(fstatSync(this.fd).size / this.pageSize));
    if (!m.subarray(0, 4).equals(LMDB_MAGIC) || m.readUInt32LE(META_VERSION_AT) !== this.version) return fail('no magic number or another version');
    // The free-page database's first field is the page size.
    if (m.readUInt32LE(META_DBS_AT) !== this.pageSize) return fail('not this page size');
    // The last page may lie past the file's end: pages a commit allocated and freed again before it was
    // done are never written (bench:scale set a sound shelf aside whose meta named 2 pages past the end).
    // A next page past the map is a fault LMDB reports (map full); only roots are ever read.
    const lastPage = m.readBigUInt64LE(META_LAST_PAGE_AT);
    if (lastPage >= this.mapPages) return fail(`last page ${lastPage} beyond the map's ${this.mapPages} pages`);
    if (m.readBigUInt64LE(META_TXNID_AT) >= 1n << 56n) return fail('transaction id out of range');
    for (const db of [META_DBS_AT, META_DBS_AT + DB_BYTES]) {
      const depth = m.readUInt16LE(db + DB_DEPTH_AT);
      const root = m.readBigUInt64LE(db + DB_ROOT_AT);
      if (root === NO_PAGE ? depth !== 0 : depth === 0 || depth > MAX_DEPTH || root > lastPage || root >= filePages) {
        return fail(`database root ${root} at depth ${depth} (last page ${lastPage}, the file's ${filePages} pages)`);
      }
    }
    return true;
  }

  close(): void {
    try { closeSync(this.fd); } catch { /* already closed */ }
  }
}
