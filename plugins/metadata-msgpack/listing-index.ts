import { closeSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';

import { open, type RootDatabase } from 'lmdb';

import type { ListEntry, ListPage, ListRequest } from '../../core/contracts/metadata.js';
import { KintsugiError } from '../../core/errors.js';

const SEP = Buffer.from([0]);
/** 0xFF never occurs in UTF-8, so prefix+0xFF sorts after every key with that prefix. */
const AFTER = Buffer.from([0xff]);

/**
 * The key holding the index's own identity (cluster, node, generation):
 * bucket names are at least 3 characters of [a-z0-9.-], so no entry key
 * starts with NUL.
 */
export const IDENTITY_KEY = Buffer.from('\0identity', 'latin1');

/**
 * What the index keeps per key, enough to answer a listing without the
 * record, as fixed fields a listing can compare without decoding: version
 * id (24 ASCII bytes, so the newest copy is found with one memcmp), a flag
 * byte (1: delete marker), size and modification time (float64), then the
 * ETag, then a CRC-32 of the key and all of that. LMDB keeps no checksums:
 * the CRC is what turns a rotten page into a detected fault (a verification,
 * a listing that skips the index) instead of a wrong answer.
 */
const VERSION_END = 24;
const FLAGS = 24;
const SIZE = 25;
const TIME = 33;
const ETAG = 41;
const CRC_BYTES = 4;

/** An index whose contents fail a check: it is set aside and rebuilt. */
export class IndexCorruptError extends KintsugiError {
  constructor(message: string) {
    super('ERR_INDEX_CORRUPT', message);
  }
}

/** `payload` followed by the CRC-32 of key and payload. */
export function sealValue(key: Buffer, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(payload.length + CRC_BYTES);
  payload.copy(out);
  out.writeUInt32BE(crc32(payload, crc32(key)), payload.length);
  return out;
}

/** Whether a stored value's CRC matches its key and contents. */
export function sealed(key: Buffer, value: Buffer): boolean {
  const end = value.length - CRC_BYTES;
  return end >= 0 && value.readUInt32BE(end) === crc32(value.subarray(0, end), crc32(key));
}

export function encodeIndexValue(key: Buffer, entry: ListEntry & { deleted?: boolean }): Buffer {
  const out = Buffer.allocUnsafe(ETAG + Buffer.byteLength(entry.etag, 'latin1') + CRC_BYTES);
  out.write(entry.versionId, 0, VERSION_END, 'latin1');
  out[FLAGS] = entry.deleted ? 1 : 0;
  out.writeDoubleBE(entry.size, SIZE);
  out.writeDoubleBE(entry.modifiedMs, TIME);
  const end = out.write(entry.etag, ETAG, 'latin1') + ETAG;
  out.writeUInt32BE(crc32(out.subarray(0, end), crc32(key)), end);
  return out;
}

function decodeIndexValue(key: string, value: Buffer): ListEntry {
  return {
    key, versionId: value.toString('latin1', 0, VERSION_END), size: value.readDoubleBE(SIZE),
    etag: value.toString('latin1', ETAG, value.length - CRC_BYTES), modifiedMs: value.readDoubleBE(TIME),
  };
}

const startsWith = (b: Buffer, prefix: Buffer) => b.length >= prefix.length && b.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
const newerThan = (a: Buffer, b: Buffer) => a.compare(b, 0, VERSION_END, 0, VERSION_END) > 0;

function indexKey(bucket: string, key: string): Buffer {
  return Buffer.concat([Buffer.from(bucket, 'utf8'), SEP, Buffer.from(key, 'utf8')]);
}

/** Who an index belongs to: a copied or stale index file shows as foreign. */
export interface IndexIdentity {
  readonly clusterId: string;
  readonly node: number;
  readonly generation: string;
}

/**
 * One node's listing index: an LMDB B-tree keyed by bucket NUL key (UTF-8
 * bytes, which is S3's listing order). LMDB gives ordered range scans in
 * O(log n + page), durable single-key updates without rewriting anything,
 * and safe concurrent writers across processes (a file lock serialises write
 * transactions), which is what several workers on one node folder need.
 * Its weakness, that it trusts its pages and a rotten file can crash the
 * process mapping it, is handled around it (index-check.ts, index-slots.ts).
 */
export class NodeIndex {
  private readonly db: RootDatabase<Buffer, Buffer>;
  private readonly meta: MetaGuard | undefined;

  constructor(readonly path: string, sync: boolean, readOnly = false) {
    this.db = open<Buffer, Buffer>({
      path, keyEncoding: 'binary', encoding: 'binary', noSync: !sync, compression: false, readOnly,
    });
    try {
      this.meta = MetaGuard.learn(path);
    } catch (err) {
      void this.db.close();
      throw err;
    }
  }

  /**
   * Throws IndexCorruptError (naming this index) when LMDB's meta pages no
   * longer carry their magic: every transaction starts by trusting them,
   * and a rotten one sends LMDB to garbage page numbers, a crash.
   */
  private checkMeta(): void {
    if (this.meta && !this.meta.intact()) throw Object.assign(new IndexCorruptError(`${this.path}: an LMDB meta page is damaged`), { index: this });
  }

  /** Writes the identity entry (a new index). */
  async stamp(identity: IndexIdentity): Promise<void> {
    await this.db.put(IDENTITY_KEY, sealValue(IDENTITY_KEY, Buffer.from(JSON.stringify(identity))));
  }

  /** Records `entry` unless the index already holds a newer version of the key. */
  async upsert(bucket: string, entry: ListEntry & { deleted?: boolean }): Promise<void> {
    await this.upsertMany(bucket, [entry]);
  }

  /** Like upsert, for many entries in one transaction (rebuilds). */
  async upsertMany(bucket: string, entries: Iterable<ListEntry & { deleted?: boolean }>): Promise<void> {
    this.checkMeta();
    await this.db.transaction(() => {
      for (const entry of entries) {
        const key = indexKey(bucket, entry.key);
        const value = encodeIndexValue(key, entry);
        const cur = this.db.get(key);
        // A rotten current value is replaced by what the records say.
        if (!cur || !sealed(key, cur) || newerThan(value, cur)) this.db.put(key, value);
      }
    });
  }

  /** Loads many entries in one transaction, replacing what is there (benchmarks). */
  async load(bucket: string, entries: Iterable<ListEntry>): Promise<void> {
    await this.db.transaction(() => {
      for (const e of entries) {
        const key = indexKey(bucket, e.key);
        this.db.put(key, encodeIndexValue(key, e));
      }
    });
  }

  /**
   * Entries of `bucket` with keys >= from (bytes after the bucket), in order.
   * `metaChecked`: this synchronous listing already checked the meta pages
   * (a delimiter listing seeks once per common prefix: two reads each would
   * be the listing's main cost).
   */
  range(bucket: string, from: Buffer, metaChecked = false): Iterator<{ key: Buffer; value: Buffer }> {
    if (!metaChecked) this.checkMeta();
    const start = Buffer.concat([Buffer.from(bucket, 'utf8'), SEP, from]);
    const end = Buffer.concat([Buffer.from(bucket, 'utf8'), Buffer.from([1])]);
    return (this.db.getRange({ start, end }) as Iterable<{ key: Buffer; value: Buffer }>)[Symbol.iterator]();
  }

  close(): Promise<void> {
    this.meta?.close();
    return this.db.close();
  }
}

const LMDB_MAGIC = Buffer.from([0xde, 0xc0, 0xef, 0xbe]);

/**
 * Where the two meta pages of an LMDB file keep their magic number, learnt
 * from the file when it was opened sound (so no assumption about LMDB's page
 * size or header layout); checking those 8 bytes costs two small reads from
 * the page cache. No magic found where expected at open: no guard.
 */
class MetaGuard {
  private readonly buf = Buffer.alloc(4);

  private constructor(private readonly fd: number, private readonly offsets: readonly number[]) {}

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
      if (got >= 8192) throw new IndexCorruptError(`${path}: no LMDB meta page found`);
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

/** A cursor over one node's index that can jump forward. */
class Cursor {
  private it: Iterator<{ key: Buffer; value: Buffer }>;
  /**
   * the current index key (bucket NUL key), undefined at the end; every
   * cursor has the same bucket prefix, so whole keys compare like object keys
   */
  key: Buffer | undefined;
  value!: Buffer;

  constructor(readonly index: NodeIndex, private readonly bucket: string, from: Buffer) {
    this.it = this.guard(() => index.range(bucket, from));
    this.advance();
  }

  /** Any failure reading the index names it, so that the listing can go on without it. */
  private guard<T>(read: () => T): T {
    try {
      return read();
    } catch (err) {
      if (err instanceof IndexCorruptError) throw err;
      throw Object.assign(new IndexCorruptError(`${this.index.path}: ${(err as Error).message}`), { index: this.index });
    }
  }

  advance(): void {
    const n = this.guard(() => this.it.next());
    if (n.done) {
      this.key = undefined;
      return;
    }
    this.key = n.value.key;
    this.value = n.value.value;
  }

  seek(from: Buffer): void {
    this.it.return?.();
    this.it = this.guard(() => this.index.range(this.bucket, from, true));
    this.advance();
  }

  /**
   * Releases the LMDB cursor and its read transaction. An iterator left
   * unfinished keeps both until it is garbage collected, which may be after
   * its environment was closed (an index set aside): a crash.
   */
  close(): void {
    try { this.it.return?.(); } catch { /* already released */ }
  }
}

/**
 * A listing merged over the nodes' indexes (an IndexCorruptError names the
 * index, as `index`, whose entry failed its checksum): each object is indexed on every
 * node holding one of its shards, so the union over the nodes that are up is
 * complete while no more than PARITY are down. Where nodes disagree the
 * newest version id wins, so a node that missed a delete cannot resurrect
 * the key.
 */
export function mergeListing(indexes: readonly NodeIndex[], req: ListRequest): ListPage {
  const prefix = Buffer.from(req.prefix ?? '', 'utf8');
  const delimiter = req.delimiter ? Buffer.from(req.delimiter, 'utf8') : undefined;
  let from = prefix;
  if (req.startAfter !== undefined) {
    const after = Buffer.from(req.startAfter, 'utf8');
    // Continuing after a common prefix skips everything under it.
    const next = delimiter && after.length > prefix.length && after.subarray(after.length - delimiter.length).equals(delimiter)
      ? Buffer.concat([after, AFTER]) : Buffer.concat([after, SEP]);
    if (Buffer.compare(next, from) > 0) from = next;
  }
  const cursors: Cursor[] = [];
  try {
    for (const ix of indexes) cursors.push(new Cursor(ix, req.bucket, from));
    return mergeCursors(cursors, req, prefix, delimiter);
  } finally {
    for (const c of cursors) c.close();
  }
}

function mergeCursors(cursors: readonly Cursor[], req: ListRequest, prefix: Buffer, delimiter: Buffer | undefined): ListPage {
  const bucketLen = Buffer.byteLength(req.bucket, 'utf8');
  const bucketPrefix = Buffer.concat([Buffer.from(req.bucket, 'utf8'), SEP]);
  const fullPrefix = Buffer.concat([bucketPrefix, prefix]);
  const entries: ListEntry[] = [];
  const commonPrefixes: string[] = [];
  let last: string | undefined;

  for (;;) {
    // Keys are fresh buffers from LMDB: `min` stays valid after its cursor moves on.
    let min: Buffer | undefined;
    for (const c of cursors) if (c.key && (!min || Buffer.compare(c.key, min) < 0)) min = c.key;
    if (!min || !startsWith(min, fullPrefix)) break;

    let newest: Buffer | undefined;
    let from: NodeIndex | undefined;
    for (const c of cursors) {
      if (c.key && c.key.equals(min)) {
        if (!newest || newerThan(c.value, newest)) {
          newest = c.value;
          from = c.index;
        }
        c.advance();
      }
    }
    // Only the value a listing uses is checked (a quarter of the CRCs with
    // four indexes): a rotten copy that loses to the newest changes nothing,
    // one that wins is caught here.
    if (newest && !sealed(min, newest)) throw Object.assign(new IndexCorruptError(`an entry of ${from!.path} fails its checksum`), { index: from });
    if (!newest || newest[FLAGS] === 1) continue;

    if (entries.length + commonPrefixes.length >= req.maxKeys) {
      return { entries, commonPrefixes, isTruncated: true, next: last };
    }
    const at = delimiter ? min.indexOf(delimiter, fullPrefix.length) : -1;
    if (delimiter && at >= 0) {
      const cp = min.subarray(bucketLen + 1, at + delimiter.length);
      commonPrefixes.push(cp.toString('utf8'));
      last = cp.toString('utf8');
      const past = Buffer.concat([cp, AFTER]);
      const fullPast = Buffer.concat([bucketPrefix, past]);
      for (const c of cursors) if (c.key && Buffer.compare(c.key, fullPast) < 0) c.seek(past);
      continue;
    }
    const key = min.toString('utf8', bucketLen + 1);
    entries.push(decodeIndexValue(key, newest));
    last = key;
  }
  return { entries, commonPrefixes, isTruncated: false };
}
