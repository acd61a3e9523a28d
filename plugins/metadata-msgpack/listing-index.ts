import { join } from 'node:path';

import { open, type Database, type RootDatabase } from 'lmdb';

import type { ListEntry, ListPage, ListRequest } from '../../core/contracts/metadata.js';

/** What the index keeps per key: enough to answer a listing without the record. */
interface IndexValue {
  v: string;
  s: number;
  e: string;
  t: number;
  /** delete marker */
  d?: 1;
}

const SEP = Buffer.from([0]);
/** 0xFF never occurs in UTF-8, so prefix+0xFF sorts after every key with that prefix. */
const AFTER = Buffer.from([0xff]);

function indexKey(bucket: string, key: string): Buffer {
  return Buffer.concat([Buffer.from(bucket, 'utf8'), SEP, Buffer.from(key, 'utf8')]);
}

/**
 * One node's listing index: an LMDB B-tree keyed by bucket NUL key (UTF-8
 * bytes, which is S3's listing order). LMDB gives ordered range scans in
 * O(log n + page), durable single-key updates without rewriting anything,
 * and safe concurrent writers across processes (a file lock serialises write
 * transactions), which is what several workers on one node folder need.
 */
export class NodeIndex {
  private readonly db: RootDatabase<IndexValue, Buffer>;

  constructor(folder: string, sync: boolean) {
    this.db = open<IndexValue, Buffer>({
      path: join(folder, 'listing.lmdb'),
      keyEncoding: 'binary',
      noSync: !sync,
      // lmdb's default (msgpack with shared structures) would make the file
      // depend on a structures table; plain values keep it self-describing.
      sharedStructuresKey: undefined,
      compression: false,
    });
  }

  /** Records `entry` unless the index already holds a newer version of the key. */
  async upsert(bucket: string, entry: ListEntry & { deleted?: boolean }): Promise<void> {
    const key = indexKey(bucket, entry.key);
    const value: IndexValue = { v: entry.versionId, s: entry.size, e: entry.etag, t: entry.modifiedMs, ...(entry.deleted ? { d: 1 } : {}) };
    await this.db.transaction(() => {
      const cur = this.db.get(key);
      if (!cur || cur.v < value.v) this.db.put(key, value);
    });
  }

  /** Entries of `bucket` with keys >= from (bytes after the bucket), in order. */
  range(bucket: string, from: Buffer): Iterator<{ key: Buffer; value: IndexValue }> {
    const start = Buffer.concat([Buffer.from(bucket, 'utf8'), SEP, from]);
    const end = Buffer.concat([Buffer.from(bucket, 'utf8'), Buffer.from([1])]);
    return (this.db.getRange({ start, end }) as Iterable<{ key: Buffer; value: IndexValue }>)[Symbol.iterator]();
  }

  close(): Promise<void> {
    return this.db.close();
  }

  get database(): Database<IndexValue, Buffer> {
    return this.db;
  }
}

/** A cursor over one node's index that can jump forward. */
class Cursor {
  private it: Iterator<{ key: Buffer; value: IndexValue }>;
  head: { key: Buffer; value: IndexValue } | undefined;

  constructor(private readonly index: NodeIndex, private readonly bucket: string, private readonly bucketLen: number, from: Buffer) {
    this.it = index.range(bucket, from);
    this.advance();
  }

  advance(): void {
    const n = this.it.next();
    this.head = n.done ? undefined : n.value;
  }

  /** The key without the bucket prefix. */
  get objectKey(): Buffer {
    return this.head!.key.subarray(this.bucketLen + 1);
  }

  seek(from: Buffer): void {
    this.it.return?.();
    this.it = this.index.range(this.bucket, from);
    this.advance();
  }
}

/**
 * A listing merged over the nodes' indexes: each object is indexed on every
 * node holding one of its shards, so the union over the nodes that are up is
 * complete while no more than PARITY are down. Where nodes disagree the
 * newest version id wins, so a node that missed a delete cannot resurrect
 * the key.
 */
export function mergeListing(indexes: readonly NodeIndex[], req: ListRequest): ListPage {
  const prefix = Buffer.from(req.prefix ?? '', 'utf8');
  const delimiter = req.delimiter ? Buffer.from(req.delimiter, 'utf8') : undefined;
  const bucketLen = Buffer.byteLength(req.bucket, 'utf8');
  let from = prefix;
  if (req.startAfter !== undefined) {
    const after = Buffer.from(req.startAfter, 'utf8');
    // Continuing after a common prefix skips everything under it.
    const next = delimiter && after.length > prefix.length && after.subarray(after.length - delimiter.length).equals(delimiter)
      ? Buffer.concat([after, AFTER]) : Buffer.concat([after, SEP]);
    if (Buffer.compare(next, from) > 0) from = next;
  }
  const cursors = indexes.map((ix) => new Cursor(ix, req.bucket, bucketLen, from));
  const entries: ListEntry[] = [];
  const commonPrefixes: string[] = [];
  let last: string | undefined;

  for (;;) {
    let min: Buffer | undefined;
    for (const c of cursors) if (c.head && (!min || Buffer.compare(c.objectKey, min) < 0)) min = Buffer.from(c.objectKey);
    if (!min || !min.subarray(0, prefix.length).equals(prefix)) break;

    let newest: IndexValue | undefined;
    for (const c of cursors) {
      if (c.head && c.objectKey.equals(min)) {
        if (!newest || c.head.value.v > newest.v) newest = c.head.value;
        c.advance();
      }
    }
    if (!newest || newest.d) continue;

    if (entries.length + commonPrefixes.length >= req.maxKeys) {
      return { entries, commonPrefixes, isTruncated: true, next: last };
    }
    const at = delimiter ? min.indexOf(delimiter, prefix.length) : -1;
    if (delimiter && at >= 0) {
      const cp = min.subarray(0, at + delimiter.length);
      commonPrefixes.push(cp.toString('utf8'));
      last = cp.toString('utf8');
      const past = Buffer.concat([cp, AFTER]);
      for (const c of cursors) if (c.head && Buffer.compare(c.objectKey, past) < 0) c.seek(past);
      continue;
    }
    const key = min.toString('utf8');
    entries.push({ key, versionId: newest.v, size: newest.s, etag: newest.e, modifiedMs: newest.t });
    last = key;
  }
  return { entries, commonPrefixes, isTruncated: false };
}
