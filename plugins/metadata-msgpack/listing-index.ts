import type { DriveShelf, ShelfRowWrite } from '../../core/contracts/drive.js';
import type { ListEntry, ListPage, ListRequest, ListVersionsRequest, VersionEntry, VersionPage } from '../../core/contracts/metadata.js';
import { isNullVersion } from '../../core/version-id.js';
import { KintsugiError } from '../../core/errors.js';

const SEP = Buffer.from([0]);
/** 0xFF never occurs in UTF-8, so prefix+0xFF sorts after every key with that prefix. */
const AFTER = Buffer.from([0xff]);

/** The shelf table a node's listing index lives in, beside the records it mirrors (one commit writes both). */
export const LISTING_TABLE = 'listing';

/** What the index keeps of one version: a delete marker (`deleted`), or a permanently deleted version's tombstone (`gone`). */
export type IndexEntry = ListEntry & { deleted?: boolean; gone?: boolean };

/**
 * What the index keeps per version, enough to answer a listing without the
 * record, as fixed fields a listing reads without decoding: a flag byte (1:
 * delete marker, 2: tombstone of a version deleted for good; first, so that
 * the shelf can keep a tombstone from being overwritten), the version id
 * (24 ASCII bytes), size and modification time (float64), then the ETag.
 * The shelf seals each row with a CRC-32: a rotten one reads as nothing and
 * the index is rebuilt.
 */
const FLAGS = 0;
const VERSION = 1;
const VERSION_END = 25;
const SIZE = 25;
const TIME = 33;
const ETAG = 41;
const MARKER = 1;
const GONE = 2;
/** A key's entries end with NUL and its version id inverted: newest first. */
const VERSION_KEY_BYTES = 1 + 24;

/** An index whose contents fail a check: it is rebuilt from the node's records. */
export class IndexCorruptError extends KintsugiError {
  /** `cause`: what the index's reader failed with (none: the listing found the fault itself, a checksum) */
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INDEX_CORRUPT', message, options);
  }
}

function encodeIndexValue(entry: IndexEntry): Buffer {
  const out = Buffer.allocUnsafe(ETAG + Buffer.byteLength(entry.etag, 'latin1'));
  out[FLAGS] = entry.gone ? GONE : entry.deleted ? MARKER : 0;
  out.write(entry.versionId, VERSION, VERSION_END - VERSION, 'latin1');
  out.writeDoubleBE(entry.size, SIZE);
  out.writeDoubleBE(entry.modifiedMs, TIME);
  out.write(entry.etag, ETAG, 'latin1');
  return out;
}

function decodeIndexValue(key: string, value: Buffer): ListEntry {
  return {
    key, versionId: value.toString('latin1', VERSION, VERSION_END), size: value.readDoubleBE(SIZE),
    etag: value.toString('latin1', ETAG), modifiedMs: value.readDoubleBE(TIME),
  };
}

/** Version ids sort oldest first; their bytes inverted sort newest first. */
function invertedVersion(versionId: string): Buffer {
  const out = Buffer.from(versionId, 'latin1');
  for (let i = 0; i < out.length; i++) out[i] = 0xff - out[i]!;
  return out;
}

const startsWith = (b: Buffer, prefix: Buffer) => b.length >= prefix.length && b.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;

/** bucket NUL key NUL inverted version id: a key's versions together, newest first, keys in S3's order (keys hold no NUL). */
function indexKey(bucket: string, key: string, versionId: string): Buffer {
  return Buffer.concat([Buffer.from(bucket, 'utf8'), SEP, Buffer.from(key, 'utf8'), SEP, invertedVersion(versionId)]);
}

/** The bucket NUL key part of an index key. */
const objectPart = (indexKey: Buffer) => indexKey.subarray(0, indexKey.length - VERSION_KEY_BYTES);

/** Whether index key `key` is a version of `object` (bucket NUL key), without slicing: this runs per cursor per key listed. */
const versionOf = (key: Buffer, object: Buffer) => key.length === object.length + VERSION_KEY_BYTES && key.compare(object, 0, object.length, 0, object.length) === 0;

/**
 * The row that records one version of a key, to go into the same shelf
 * commit as its record copy. A tombstone stays a tombstone: a rebuild or a
 * late write may bring back a version that was deleted for good meanwhile.
 */
export function entryRow(bucket: string, entry: IndexEntry): ShelfRowWrite {
  return { table: LISTING_TABLE, key: indexKey(bucket, entry.key, entry.versionId), value: encodeIndexValue(entry), ...(entry.gone ? {} : { unlessFirstByte: GONE }) };
}

/** The rows that forget versions of a key (pruned, discarded, or tombstones collected). */
export function removalRows(bucket: string, key: string, versionIds: readonly string[]): ShelfRowWrite[] {
  return versionIds.map((v) => ({ table: LISTING_TABLE, key: indexKey(bucket, key, v) }));
}

/** One entry of an index: its key (bucket NUL key NUL inverted version) and value. */
export interface IndexRow {
  key: Buffer;
  value: Buffer;
}

/** A bucket's entries from a key on, batch by batch; `last`: the bucket ends with this batch. */
export interface IndexStream {
  next(): Promise<{ rows: IndexRow[]; last: boolean }>;
  close(): void;
}

/**
 * What a listing reads an index through: a bucket's entries from a key on,
 * as a stream of batches (read as asked from a local folder's shelf,
 * pushed ahead by a node on another host, so a long scan waits for the
 * network once).
 */
export interface IndexReader {
  readonly path: string;
  /** The first batch holds `first` entries; later ones grow to MAX_BATCH. */
  stream(bucket: string, from: Buffer, first: number): IndexStream;
}

/** Batches grow from this (a seek reads few entries) to MAX_BATCH (a page reads many). */
const FIRST_BATCH = 64;
const MAX_BATCH = 1024;

/**
 * A node's listing index, read from its shelf's listing table. A row that
 * fails its checksum fails the scan with IndexCorruptError (naming this
 * index): the listing goes on without the node, whose keeper rebuilds it.
 */
export class ShelfListing implements IndexReader {
  constructor(readonly path: string, private readonly shelf: DriveShelf) {}

  stream(bucket: string, from: Buffer, first: number): IndexStream {
    const b = Buffer.from(bucket, 'utf8');
    const rows = this.shelf.streamRows(LISTING_TABLE, { from: Buffer.concat([b, SEP, from]), to: Buffer.concat([b, Buffer.from([1])]), first, most: MAX_BATCH });
    return {
      next: async () => {
        const batch = await rows.next();
        return {
          last: batch.last,
          rows: batch.rows.map((r) => {
            if (!r.value) throw Object.assign(new IndexCorruptError(`an entry of ${this.path} fails its checksum`), { index: this });
            return { key: Buffer.from(r.key.buffer, r.key.byteOffset, r.key.byteLength), value: Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength) };
          }),
        };
      },
      close: () => rows.close(),
    };
  }
}

/**
 * A cursor over one index that can jump forward, reading it through one
 * stream for as long as it moves on and opening another where it jumps
 * past what the stream would bring. `key` is valid only when not `pending`
 * (the merges fill every pending cursor before they compare); undefined at
 * the end.
 */
class Cursor {
  private rows: IndexRow[] = [];
  private at = 0;
  /** where the next batch starts (bytes after the bucket prefix) */
  private from: Buffer;
  /** the last batch ended the bucket */
  private last = false;
  /** the stream being read, and where its next batch starts */
  private stream: { rows: IndexStream; from: Buffer } | undefined;
  pending = true;
  key: Buffer | undefined;
  value!: Buffer;

  constructor(readonly index: IndexReader, private readonly bucket: string, from: Buffer, private readonly prefixLen: number) {
    this.from = from;
  }

  /**
   * The batch at `from`: the stream's next one when it starts there or
   * before (the rows the cursor has moved past since are dropped), else the
   * first of a new stream.
   */
  private async read(from: Buffer): Promise<{ rows: IndexRow[]; last: boolean }> {
    for (;;) {
      let stream = this.stream;
      const fresh = !stream || Buffer.compare(stream.from, from) > 0;
      if (fresh) {
        this.close();
        stream = this.stream = { rows: this.index.stream(this.bucket, from, FIRST_BATCH), from };
      }
      const { rows, last } = await stream!.rows.next();
      if (rows.length > 0) stream!.from = Buffer.concat([rows[rows.length - 1]!.key.subarray(this.prefixLen), SEP]);
      if (last) this.stream = undefined;
      let passed = 0;
      while (passed < rows.length && Buffer.compare(rows[passed]!.key.subarray(this.prefixLen), from) < 0) passed++;
      // Moved past all of a batch that more follow: the cursor jumped further than the stream went, and a new one starts there.
      if (fresh || passed < rows.length || last) return { rows: passed ? rows.slice(passed) : rows, last };
      this.close();
    }
  }

  /** Ends the cursor's stream (the merge is done with it). */
  close(): void {
    this.stream?.rows.close();
    this.stream = undefined;
  }

  async fill(): Promise<void> {
    let rows: IndexRow[];
    try {
      ({ rows, last: this.last } = await this.read(this.from));
    } catch (err) {
      this.stream = undefined;
      if (err instanceof IndexCorruptError) throw err;
      throw Object.assign(new IndexCorruptError(`${this.index.path}: ${(err as Error).message}`, { cause: err }), { index: this.index });
    }
    this.rows = rows;
    this.at = 0;
    this.pending = false;
    if (rows.length > 0) this.show();
    else this.key = undefined;
  }

  private show(): void {
    const row = this.rows[this.at]!;
    this.key = row.key;
    this.value = row.value;
  }

  advance(): void {
    this.at++;
    if (this.at < this.rows.length) return this.show();
    this.key = undefined;
    if (this.last) return;
    // The batch is used up: the next starts just after its last key.
    this.from = Buffer.concat([this.rows[this.rows.length - 1]!.key.subarray(this.prefixLen), SEP]);
    this.rows = [];
    this.pending = true;
  }

  /**
   * (waiting for its next batch) Starts that batch at `from` when it is
   * further on: a scan going on, whose stream goes on, unlike a seek.
   */
  startPast(from: Buffer): void {
    if (Buffer.compare(from, this.from) > 0) this.from = from;
  }

  /** Moves to the first entry >= from (bytes after the bucket prefix); never backwards. */
  seek(from: Buffer): void {
    if (!this.pending || Buffer.compare(from, this.from) > 0) this.from = from;
    this.last = false;
    this.rows = [];
    this.pending = true;
    this.key = undefined;
  }
}

/** Fills every cursor waiting for its next batch (in parallel: remote indexes answer over the network). */
async function ready(cursors: readonly Cursor[]): Promise<void> {
  if (cursors.some((c) => c.pending)) await Promise.all(cursors.filter((c) => c.pending).map((c) => c.fill()));
}

/** A key's versions a listing steps over one by one before it seeks past the rest. */
const SKIP_BY_STEPPING = 4;

/** A cursor per index, filled, for a merge. */
async function cursorsFor(indexes: readonly IndexReader[], bucket: string, from: Buffer): Promise<Cursor[]> {
  const prefixLen = Buffer.byteLength(bucket, 'utf8') + 1;
  const cursors = indexes.map((ix) => new Cursor(ix, bucket, from, prefixLen));
  try {
    await ready(cursors);
  } catch (err) {
    for (const c of cursors) c.close();
    throw err;
  }
  return cursors;
}

/**
 * The smallest index key under the cursors, and every cursor positioned on
 * it moved past it; `gone` when any index holds it as a tombstone, `value`
 * one sound copy.
 */
function takeSmallest(cursors: readonly Cursor[]): { key: Buffer; value: Buffer; gone: boolean } | undefined {
  let min: Cursor | undefined;
  for (const c of cursors) if (c.key && (!min || Buffer.compare(c.key, min.key!) < 0)) min = c;
  if (!min) return undefined;
  const key = min.key!;
  const value = min.value;
  let gone = false;
  for (const c of cursors) {
    if (c.key && c.key.equals(key)) {
      if (c.value[FLAGS] === GONE) gone = true;
      c.advance();
    }
  }
  return { key, value, gone };
}

/** Moves every cursor past the versions of `object` (bucket NUL key): a few steps, then one seek. */
function skipObject(cursors: readonly Cursor[], object: Buffer, bucketLen: number): void {
  const past = () => Buffer.concat([object.subarray(bucketLen + 1), AFTER_KEY]);
  for (const c of cursors) {
    // A cursor waiting for its next batch may still have versions of the object ahead: it starts past them.
    if (c.pending) c.startPast(past());
    for (let steps = 0; c.key && versionOf(c.key, object); steps++) {
      if (steps === SKIP_BY_STEPPING) {
        c.seek(past());
        break;
      }
      c.advance();
      if (c.pending) c.startPast(past());
    }
  }
}

/** Byte after a key's own entries (key NUL ...): the next key that starts with it. */
const AFTER_KEY = Buffer.from([1]);

/**
 * Where a listing starts: after `startAfter` (a key, or a common prefix to
 * skip whole when it ends with the delimiter), never before the prefix.
 */
function startAt(prefix: Buffer, delimiter: Buffer | undefined, startAfter: string | undefined): Buffer {
  if (startAfter === undefined) return prefix;
  const after = Buffer.from(startAfter, 'utf8');
  const next = delimiter && after.length > prefix.length && after.subarray(after.length - delimiter.length).equals(delimiter)
    ? Buffer.concat([after, AFTER]) : Buffer.concat([after, AFTER_KEY]);
  return Buffer.compare(next, prefix) > 0 ? next : prefix;
}

/** The common prefix `object` (bucket NUL key) rolls up into, or undefined. */
function commonPrefixOf(object: Buffer, fullPrefixLen: number, delimiter: Buffer | undefined, bucketLen: number): Buffer | undefined {
  const at = delimiter ? object.indexOf(delimiter, fullPrefixLen) : -1;
  return at >= 0 ? object.subarray(bucketLen + 1, at + delimiter!.length) : undefined;
}

/** Seeks every cursor still inside common prefix `cp` past it. */
function skipPrefix(cursors: readonly Cursor[], bucketPrefix: Buffer, cp: Buffer): void {
  const past = Buffer.concat([cp, AFTER]);
  const fullPast = Buffer.concat([bucketPrefix, past]);
  for (const c of cursors) if (c.key && Buffer.compare(c.key, fullPast) < 0) c.seek(past);
}

/** A listing's bucket, prefix and delimiter as the bytes the merge compares. */
function scope(req: { bucket: string; prefix?: string; delimiter?: string }) {
  const prefix = Buffer.from(req.prefix ?? '', 'utf8');
  const bucketPrefix = Buffer.concat([Buffer.from(req.bucket, 'utf8'), SEP]);
  return {
    prefix, bucketPrefix, fullPrefix: Buffer.concat([bucketPrefix, prefix]),
    delimiter: req.delimiter ? Buffer.from(req.delimiter, 'utf8') : undefined,
    bucketLen: Buffer.byteLength(req.bucket, 'utf8'),
  };
}

/**
 * A listing of current objects merged over the nodes' indexes (an
 * IndexCorruptError names the index, as `index`, whose entry failed its
 * checksum): each version is indexed on every node holding one of its
 * shards, so the union over the nodes that are up is complete while no more
 * than PARITY are down. A key's current version is its newest one that no
 * index holds as a tombstone, so a node that missed a delete cannot bring
 * the key back; a key whose current version is a delete marker is left out.
 */
export async function mergeListing(indexes: readonly IndexReader[], req: ListRequest): Promise<ListPage> {
  const { prefix, delimiter, bucketLen, bucketPrefix, fullPrefix } = scope(req);
  const cursors = await cursorsFor(indexes, req.bucket, startAt(prefix, delimiter, req.startAfter));
  try {
    const entries: ListEntry[] = [];
    const commonPrefixes: string[] = [];
    let last: string | undefined;
    for (;;) {
      await ready(cursors);
      const first = takeSmallest(cursors);
      if (!first) break;
      // Keys are fresh buffers from LMDB: `object` stays valid as the cursors move on.
      const object = objectPart(first.key);
      if (!startsWith(object, fullPrefix)) break;
      // The newest version that is not a tombstone is the current one.
      let current = first.gone ? undefined : first.value;
      while (!current) {
        await ready(cursors);
        if (!cursors.some((c) => c.key && versionOf(c.key, object))) break;
        const next = takeSmallest(cursors)!;
        if (!next.gone) current = next.value;
      }
      skipObject(cursors, object, bucketLen);
      if (!current || current[FLAGS] === MARKER) continue;

      if (entries.length + commonPrefixes.length >= req.maxKeys) return { entries, commonPrefixes, isTruncated: true, next: last };
      const cp = commonPrefixOf(object, fullPrefix.length, delimiter, bucketLen);
      if (cp) {
        last = cp.toString('utf8');
        commonPrefixes.push(last);
        skipPrefix(cursors, bucketPrefix, cp);
        continue;
      }
      last = object.toString('utf8', bucketLen + 1);
      entries.push(decodeIndexValue(last, current));
    }
    return { entries, commonPrefixes, isTruncated: false };
  } finally {
    for (const c of cursors) c.close();
  }
}

/**
 * Every version of the keys, merged over the nodes' indexes like
 * mergeListing: keys in S3's order, each key's versions newest first (delete
 * markers among them), tombstoned versions left out, and of several null
 * versions (a put that has not pruned the older one yet) only the newest.
 */
export async function mergeVersions(indexes: readonly IndexReader[], req: ListVersionsRequest): Promise<VersionPage> {
  const { prefix, delimiter, bucketLen, bucketPrefix, fullPrefix } = scope(req);
  const markerKey = req.keyMarker !== undefined ? Buffer.from(req.keyMarker, 'utf8') : undefined;
  let from = startAt(prefix, delimiter, req.keyMarker);
  // Within one key: after the version id marker (the null version: found by scanning the key).
  let skipToNull = false;
  if (markerKey && req.versionIdMarker !== undefined) {
    const within = req.versionIdMarker === 'null'
      ? Buffer.concat([markerKey, SEP])
      : Buffer.concat([markerKey, SEP, invertedVersion(req.versionIdMarker), SEP]);
    if (Buffer.compare(within, prefix) > 0) from = within;
    skipToNull = req.versionIdMarker === 'null';
  }
  const cursors = await cursorsFor(indexes, req.bucket, from);
  try {
    const entries: VersionEntry[] = [];
    const commonPrefixes: string[] = [];
    let last: { key: string; versionId?: string } | undefined;
    // The key whose versions are being listed, whether its latest was shown (or passed, on an earlier page), whether its null version was.
    let object: Buffer | undefined = markerKey && req.versionIdMarker !== undefined ? Buffer.concat([bucketPrefix, markerKey]) : undefined;
    let latestPassed = object !== undefined;
    let nullShown = object !== undefined && !skipToNull;
    for (;;) {
      await ready(cursors);
      const next = takeSmallest(cursors);
      if (!next) break;
      if (!object || !versionOf(next.key, object)) {
        const part = objectPart(next.key);
        if (!startsWith(part, fullPrefix)) break;
        object = part;
        latestPassed = false;
        nullShown = false;
        skipToNull = false;
      }
      if (next.gone) continue;
      const versionId = next.value.toString('latin1', VERSION, VERSION_END);
      const isNull = isNullVersion(versionId);
      if (skipToNull) {
        // Resuming after the null version: everything up to it was on the last page.
        if (isNull) skipToNull = false;
        continue;
      }
      if (isNull && nullShown) continue;

      const cp = commonPrefixOf(object, fullPrefix.length, delimiter, bucketLen);
      if (entries.length + commonPrefixes.length >= req.maxKeys) {
        return { entries, commonPrefixes, isTruncated: true, nextKeyMarker: last?.key, ...(last?.versionId !== undefined ? { nextVersionIdMarker: last.versionId } : {}) };
      }
      if (cp) {
        const name = cp.toString('utf8');
        commonPrefixes.push(name);
        last = { key: name };
        skipPrefix(cursors, bucketPrefix, cp);
        object = undefined;
        continue;
      }
      const key = object.toString('utf8', bucketLen + 1);
      entries.push({ ...decodeIndexValue(key, next.value), deleted: next.value[FLAGS] === MARKER, isLatest: !latestPassed });
      latestPassed = true;
      if (isNull) nullShown = true;
      last = { key, versionId };
    }
    return { entries, commonPrefixes, isTruncated: false };
  } finally {
    for (const c of cursors) c.close();
  }
}
