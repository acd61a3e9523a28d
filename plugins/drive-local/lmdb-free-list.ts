import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

import { DB_DEPTH_AT, DB_ROOT_AT, LMDB_MAGIC, META_BYTES, META_DBS_AT, META_LAST_PAGE_AT, META_TXNID_AT, NO_PAGE } from './lmdb-layout.js';

/**
 * What the free list of an LMDB file looks like on disk: `classic` when
 * every record of its free-page database is LMDB's own list (a count, then
 * that many page numbers in descending order, each a page of the file), as
 * lmdb-js 2.9 writes and reads; `other` when a record is not (lmdb-js 3
 * writes runs and reserved, zeroed slots, which lmdb-js 2.9 aborts on);
 * `unknown` when the file could not be read as one consistent snapshot.
 */
export type FreeListFormat = 'classic' | 'other' | 'unknown';

/** LMDB's page header (lmdb-js 2.9 and 3 alike): page number, txnid, pad, flags, lower and upper bounds; a meta page's magic follows it. */
const HEADER = 24;
const P_BRANCH = 0x01;
const P_LEAF = 0x02;
const F_BIGDATA = 0x01;
/** Pages of the free-page database read at most: a free list is small; one this large is not judged. */
const MOST_PAGES = 4096;
/** Snapshots tried: a commit by another process between the reads changes the newest meta. */
const TRIES = 3;

/** Pages that do not read as the free-page database of the snapshot the walk started from. */
class Inconsistent extends Error {}

/**
 * Reads the free-page database of the LMDB file at `path` straight from
 * the file (no LMDB maps it, so a foreign free list crashes nobody) and
 * says which format it is in. The newest meta is read before and after the
 * walk: when another process committed in between, its pages may have been
 * reused, and the walk is tried again.
 */
export function freeListFormat(path: string): FreeListFormat {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 'unknown';
  }
  try {
    for (let i = 0; i < TRIES; i++) {
      const before = newestMeta(fd);
      if (!before) return 'unknown';
      try {
        const format = walk(fd, before);
        const after = newestMeta(fd);
        if (after && after.txnid === before.txnid) return format;
      } catch {
        // Not a free-page database as read (pages reused meanwhile, or garbage, which the walk and the meta
        // guard judge): read again, and in the end unknown.
      }
    }
    return 'unknown';
  } catch {
    // The file could not be read (an I/O fault): the node's health learns that from its operations.
    return 'unknown';
  } finally {
    closeSync(fd);
  }
}

interface Meta { readonly pageSize: number; readonly root: bigint; readonly depth: number; readonly lastPage: bigint; readonly txnid: bigint }

function newestMeta(fd: number): Meta | undefined {
  const metas: Meta[] = [];
  const buf = Buffer.alloc(HEADER + META_BYTES);
  // The first meta tells the page size (the free-page database's first field); the second lies one page on.
  let pageSize = 0;
  for (let i = 0; i < 2; i++) {
    if (readSync(fd, buf, 0, buf.length, i * pageSize) !== buf.length) return undefined;
    const m = buf.subarray(HEADER);
    if (!m.subarray(0, LMDB_MAGIC.length).equals(LMDB_MAGIC)) return undefined;
    if (i === 0) pageSize = m.readUInt32LE(META_DBS_AT);
    if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return undefined;
    metas.push({ pageSize, root: m.readBigUInt64LE(META_DBS_AT + DB_ROOT_AT), depth: m.readUInt16LE(META_DBS_AT + DB_DEPTH_AT), lastPage: m.readBigUInt64LE(META_LAST_PAGE_AT), txnid: m.readBigUInt64LE(META_TXNID_AT) });
  }
  return metas[0]!.txnid >= metas[1]!.txnid ? metas[0] : metas[1];
}

/** Walks the free-page database from its root: `other` at the first record that is not LMDB's own list. */
function walk(fd: number, meta: Meta): FreeListFormat {
  if (meta.root === NO_PAGE) return 'classic';
  const fileBytes = BigInt(fstatSync(fd).size);
  const page = Buffer.alloc(meta.pageSize);
  const readPage = (pgno: bigint, into: Buffer) => {
    const at = pgno * BigInt(meta.pageSize);
    if (pgno > meta.lastPage || at + BigInt(into.length) > fileBytes) throw new Inconsistent();
    if (readSync(fd, into, 0, into.length, Number(at)) !== into.length) throw new Inconsistent();
  };
  let pages = 0;
  const visit = (pgno: bigint, depth: number): boolean => {
    if (++pages > MOST_PAGES || depth > meta.depth) throw new Inconsistent();
    readPage(pgno, page);
    const flags = page.readUInt16LE(18);
    const keys = page.readUInt16LE(20) >> 1;
    if (page.readBigUInt64LE(0) !== pgno) throw new Inconsistent();
    // Read out of the page before a child is visited: the one page buffer is reused.
    const nodes: { lo: number; hi: number; flags: number; dataAt: number }[] = [];
    for (let i = 0; i < keys; i++) {
      const at = page.readUInt16LE(HEADER + 2 * i) + HEADER;
      if (at + 8 > page.length) throw new Inconsistent();
      nodes.push({ lo: page.readUInt16LE(at), hi: page.readUInt16LE(at + 2), flags: page.readUInt16LE(at + 4), dataAt: at + 8 + page.readUInt16LE(at + 6) });
    }
    if (flags & P_BRANCH) return nodes.every((n) => visit(BigInt(n.lo) | (BigInt(n.hi) << 16n) | (BigInt(n.flags) << 32n), depth + 1));
    if (!(flags & P_LEAF)) throw new Inconsistent();
    for (const n of nodes) {
      const size = n.lo | (n.hi << 16);
      if (!(n.flags & F_BIGDATA) && n.dataAt + size > page.length) throw new Inconsistent();
      let data = page.subarray(n.dataAt, n.dataAt + size);
      if (n.flags & F_BIGDATA) {
        const over = Buffer.alloc(HEADER + size);
        readPage(page.readBigUInt64LE(n.dataAt), over);
        data = over.subarray(HEADER);
      }
      if (!classicList(data, meta.lastPage)) return false;
    }
    return true;
  };
  return visit(meta.root, 1) ? 'classic' : 'other';
}

/** LMDB's own page list: a count, then that many page numbers, descending, each a page of the file. */
function classicList(data: Buffer, lastPage: bigint): boolean {
  if (data.length < 8 || data.length % 8 !== 0) return false;
  const count = data.readBigUInt64LE(0);
  if (count !== BigInt(data.length / 8 - 1)) return false;
  let previous = lastPage + 1n;
  for (let at = 8; at < data.length; at += 8) {
    const pgno = data.readBigUInt64LE(at);
    if (pgno < 2n || pgno >= previous) return false;
    previous = pgno;
  }
  return true;
}
