import 'reflect-metadata';

import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';

import { inject, injectable } from 'tsyringe';

import type { KintsugiConfig } from '../config.js';
import type { Codec, ErasureCoder } from '../contracts/codec.js';
import type { Logger } from '../contracts/logger.js';
import {
  dataFolders, dataSpans, type DataSpan, type ListPage, type ListRequest, type ListVersionsRequest, type MetadataStore, type ObjectRecord, type Retention, type VersionPage, type VersionSelector,
} from '../contracts/metadata.js';
import type { NodeSet } from '../contracts/nodes.js';
import { DeleteMarkerError, InvalidRangeError, InvalidVersionIdError, NoSuchKeyError, NoSuchVersionError } from '../errors.js';
import { shardPath } from '../layout.js';
import { TOKENS } from '../tokens.js';
import { isNullVersion, newVersionId, VERSIONED_ID_PATTERN } from '../version-id.js';
import { Geometry, packetSizeFor } from './geometry.js';
import { KeyLocks } from './key-lock.js';
import { MemoryFile } from './memory-file.js';
import { assertDeletable, assertRetentionChange, lockFields, type ObjectLock } from './object-lock.js';
import { assertBucketName, assertKey } from './names.js';
import { StripeBuffers } from './shard-format.js';
import { StripeReader, type ReadDamage } from './stripe-reader.js';
import { VersionWriter } from './version-writer.js';

/**
 * Objects up to this size are stored inline: each node's shard goes inside
 * its copy of the record, so a put creates one file per node instead of a
 * shard file and a record file (plus a folder) each, and a get reads no
 * shard files. Measured on this machine every file costs ~0.4 ms of CPU in
 * syscalls, which is what bounded small puts. 128 KiB, as MinIO: at 4+3
 * that is 32 KiB shards, still a small record file.
 */
export const INLINE_MAX = 128 << 10;

/** Stripes a get reads ahead of the one it sends (each about 1 MiB of memory). */
const READ_AHEAD = 3;
/** Tries of a read whose version each time was removed by a newer one before its files were opened. */
const OPEN_ATTEMPTS = 16;

/**
 * A write's precondition (If-Match, If-None-Match): called with the current
 * version (undefined when there is none) while the key is locked, it throws
 * to refuse the write.
 */
export type WriteCondition = (current: ObjectRecord | undefined) => void;

export interface PutOptions {
  /** checked against the current version while the key is locked, just before the new one commits */
  condition?: WriteCondition;
  contentType?: string;
  headers?: Record<string, string>;
  userMetadata?: Record<string, string>;
  /** x-amz-checksum-* values; a Map is read after the body was consumed (trailers arrive last) */
  checksums?: Record<string, string> | ReadonlyMap<string, string>;
  /** the bucket's versioning is enabled: a new version, nothing older removed (else the null version is replaced) */
  versioned?: boolean;
  /** the new version's tag set */
  tags?: readonly (readonly [string, string])[];
  /** the new version's Object Lock retention and legal hold */
  lock?: ObjectLock;
}

/** A bucket's versioning, as DELETE needs it: never set, Enabled or Suspended. */
export type Versioning = 'Enabled' | 'Suspended' | undefined;

export interface DeleteOptions {
  condition?: WriteCondition;
  /** delete this version for good (an internal id, or `null`) */
  versionId?: string;
  versioning?: Versioning;
  /** the bucket has Object Lock: a version deleted for good is checked against its lock with the key locked */
  objectLock?: boolean;
  /** x-amz-bypass-governance-retention from a user who may: GOVERNANCE retention does not keep the version */
  bypassGovernance?: boolean;
  /** a write taking back the version it just made and never acknowledged: no lock keeps that */
  rollback?: boolean;
}

/** What a DELETE did: the version it removed or the marker it added (versionId), and whether that is a delete marker. */
export interface DeleteResult {
  versionId?: string;
  deleteMarker: boolean;
}

/**
 * A version id as a client gives it: `null`, or one of the ids this store
 * hands out for versions of versioning-enabled buckets.
 */
export function parseVersionId(versionId: string | null | undefined): VersionSelector {
  if (versionId === null || versionId === undefined) return undefined;
  if (versionId === 'null' || VERSIONED_ID_PATTERN.test(versionId)) return versionId;
  throw new InvalidVersionIdError();
}

/** Inclusive byte range, already resolved against the object size by the caller. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface GetResult {
  record: ObjectRecord;
  /** the object's bytes (or the range's), streamed stripe by stripe */
  body: AsyncIterable<Uint8Array>;
}

/** An object version ready to be read; see ObjectEngine.open. */
export interface OpenObject {
  readonly record: ObjectRecord;
  /** the object's bytes (or a range), streamed; call once */
  read(range?: ByteRange): AsyncIterable<Uint8Array>;
  /** releases the open files when the bytes will not be read */
  close(): Promise<void>;
}

/** Emitted as 'degraded' when a read had to rebuild shards: the healer listens. */
export interface DegradedRead {
  record: ObjectRecord;
  damage: ReadDamage;
}

/**
 * The object service: put, get, head, delete and list over the erasure-coded
 * nodes. A put is visible only once its shards are committed on a write
 * quorum and its record on a metadata quorum; until then, and if it fails,
 * the previous version is what readers get.
 */
@injectable()
export class ObjectEngine extends EventEmitter {
  private readonly locks: KeyLocks;

  constructor(
    @inject(TOKENS.Config) private readonly config: KintsugiConfig,
    @inject(TOKENS.Codec) private readonly codec: Codec,
    @inject(VersionWriter) private readonly writer: VersionWriter,
    @inject(TOKENS.MetadataStore) private readonly metadata: MetadataStore,
    @inject(TOKENS.Nodes) private readonly nodes: NodeSet,
    @inject(TOKENS.Logger) private readonly log: Logger,
  ) {
    super();
    this.locks = new KeyLocks(nodes);
  }

  /** Shards a put needs on its nodes before it is acknowledged (the readiness check's measure). */
  get writeQuorum(): number {
    return this.writer.writeQuorum;
  }

  /** Nodes a read needs (the admin status's measure). */
  get readQuorum(): number {
    return this.writer.readQuorum;
  }



  async put(bucket: string, key: string, body: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<ObjectRecord> {
    assertBucketName(bucket);
    assertKey(key);
    // Refused before any byte is stored when the condition already fails.
    if (options.condition) options.condition(await this.current(bucket, key));
    const head = await readHead(body, INLINE_MAX);
    if (!head.rest) {
      const data = Buffer.concat(head.chunks);
      return this.guarded(bucket, key, options.condition, () => this.putInline(bucket, key, newVersionId(Date.now(), options.versioned), data, options));
    }
    const staged = await this.writer.stage(bucket, key, head.rest);
    try {
      return await this.guarded(bucket, key, options.condition, async () => {
        const versionId = newVersionId(Date.now(), options.versioned);
        const span = await staged.commit(versionId);
        return this.writer.commit(recordFor(bucket, key, versionId, span.size, staged.md5, options, span));
      });
    } catch (err) {
      await staged.abort();
      throw err;
    }
  }

  /**
   * Runs `commit` with the key locked when a write condition is given, after
   * checking the condition against the version current at that moment.
   */
  async guarded<T>(bucket: string, key: string, condition: WriteCondition | undefined, commit: () => Promise<T>): Promise<T> {
    if (!condition) return commit();
    return this.locks.with(bucket, key, this.writer.placed(bucket, key).metadata, async () => {
      condition(await this.current(bucket, key));
      return commit();
    });
  }

  /** The current version, or undefined when there is none (or a delete marker). */
  private async current(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    const record = await this.metadata.get(bucket, key);
    return record && !record.deleted ? record : undefined;
  }

  /**
   * A small object, whole in memory: encoded as one stripe whose shards go
   * into the record copies (none for an empty object).
   */
  private async putInline(bucket: string, key: string, versionId: string, data: Buffer, options: PutOptions): Promise<ObjectRecord> {
    const base = this.writer.baseParams();
    const { k, m } = base;
    const coder = this.codec.coder(data.byteLength === 0 ? base : { ...base, packetSize: packetSizeFor(data.byteLength, k, base.packetSize) });
    const span: DataSpan = {
      dir: versionId, size: data.byteLength, codec: coder.params,
      stripeBytes: k * this.codec.coder(base).shardSizeFor(this.config.blockSize), shardNodes: this.writer.shardNodesFor(bucket, key),
    };
    const etag = createHash('md5').update(data).digest('hex');
    if (data.byteLength === 0) return this.writer.commit(recordFor(bucket, key, versionId, 0, etag, options, span));

    const blockBytes = coder.shardSizeFor(data.byteLength);
    const stripe = new StripeBuffers(k + m, blockBytes);
    const blocks = Array.from({ length: k + m }, (_, i) => stripe.block(i));
    for (let i = 0; i < k; i++) {
      const from = Math.min(i * blockBytes, data.byteLength);
      const to = Math.min(from + blockBytes, data.byteLength);
      blocks[i]!.set(data.subarray(from, to));
      blocks[i]!.fill(0, to - from);
    }
    await coder.encode(blocks.slice(0, k), blocks.slice(k));
    // Each shard framed as a shard file would hold it, so reads go through the same StripeReader.
    const shards = blocks.map((_, i) => stripe.seal(i, blockBytes));
    return this.writer.commit({ ...recordFor(bucket, key, versionId, data.byteLength, etag, options, span), inline: true }, shards);
  }


  /**
   * The record of the current version (or of the version asked for), or
   * NoSuchKeyError / NoSuchVersionError; a delete marker is a
   * DeleteMarkerError.
   */
  async head(bucket: string, key: string, version?: VersionSelector): Promise<ObjectRecord> {
    assertBucketName(bucket);
    assertKey(key);
    const record = await this.metadata.get(bucket, key, version);
    if (!record) throw version === undefined ? new NoSuchKeyError(bucket, key) : new NoSuchVersionError(bucket, key, version);
    if (record.deleted) {
      const marker = { versionId: record.versionId, modifiedMs: record.createdMs };
      throw version === undefined ? new NoSuchKeyError(bucket, key, marker) : new DeleteMarkerError(marker);
    }
    return record;
  }

  async get(bucket: string, key: string, range?: ByteRange, version?: VersionSelector): Promise<GetResult> {
    const object = await this.open(bucket, key, version);
    try {
      return { record: object.record, body: object.read(range) };
    } catch (err) {
      await object.close();
      throw err;
    }
  }

  /**
   * The current version, its record read once and its data files open, for
   * callers that look at the record (preconditions, ranges) before reading:
   * they call `read` once, or `close` when they will not.
   */
  async open(bucket: string, key: string, version?: VersionSelector): Promise<OpenObject> {
    let gone: string | undefined;
    for (let attempt = 1; ; attempt++) {
      const record = await this.head(bucket, key, version);
      const spans = dataSpans(record);
      const first = this.reader(record, spans[0]!);
      // A concurrent overwrite may be removing this version between reading
      // its record and opening its files. When data files are missing, the
      // parity files are opened at once too (held open, they stay readable):
      // if more than m are gone, the version is, and the newer one is read.
      // Overwrites may follow each other faster than a busy reader, so it
      // tries again as long as each try finds another version; the same
      // version twice has really lost its data (its record is removed
      // before its files), and reading it reports that.
      if (first && record.versionId !== gone && attempt < OPEN_ATTEMPTS
        && (await first.openData()) > 0 && (await first.openAll()) > spans[0]!.codec.m) {
        gone = record.versionId;
        await first.close();
        continue;
      }
      return {
        record,
        read: (range) => {
          if (range && (range.start < 0 || range.end < range.start || range.start >= record.size)) {
            throw new InvalidRangeError(record.size, `bytes=${range.start}-${range.end}`);
          }
          const start = range?.start ?? 0;
          const end = Math.min(range?.end ?? record.size - 1, record.size - 1);
          return this.stream(record, spans, first, start, end);
        },
        close: async () => { await first?.close(); },
      };
    }
  }

  private reader(record: ObjectRecord, span: DataSpan): StripeReader | undefined {
    if (span.size === 0) return undefined;
    const coder: ErasureCoder = this.codec.coder(span.codec);
    const open = record.inline
      ? async (shard: number) => { const bytes = await this.metadata.readShard(record, shard); return bytes && new MemoryFile(bytes); }
      : async (shard: number) => this.nodes.drives[span.shardNodes[shard]!]?.open(shardPath(record.bucket, record.key, span.dir, shard));
    return new StripeReader(record.bucket, record.key, new Geometry(span.size, span.stripeBytes, coder), coder, open);
  }

  /**
   * DELETE: with a version id, deletes that version for good (the next
   * newest becomes current); else adds a delete marker — a new version when
   * versioning is enabled, otherwise the null version (replacing the older
   * one). A bucket that never had versioning adds no marker over nothing.
   */
  async delete(bucket: string, key: string, options: DeleteOptions = {}): Promise<DeleteResult> {
    assertBucketName(bucket);
    assertKey(key);
    const { versionId } = options;
    if (versionId === undefined) return this.guarded(bucket, key, options.condition, () => this.addMarker(bucket, key, options.versioning));
    const remove = () => this.deleteVersion(bucket, key, versionId, options);
    // A lock changes under the key lock (see amend): checked and purged under it too, a version cannot be deleted the moment a hold went on.
    if (options.objectLock && !options.condition) return this.locks.with(bucket, key, this.writer.placed(bucket, key).metadata, remove);
    return this.guarded(bucket, key, options.condition, remove);
  }

  private async deleteVersion(bucket: string, key: string, version: string, options: DeleteOptions): Promise<DeleteResult> {
    const record = await this.metadata.get(bucket, key, version);
    // Deleting a version that is not there succeeds, as in S3.
    if (!record) return { versionId: version, deleteMarker: false };
    if (!options.rollback) assertDeletable(record, Date.now(), options.bypassGovernance === true);
    await this.metadata.purge(record);
    if (!record.inline && !record.deleted) {
      const everyNode = this.nodes.drives.map((d) => d.index);
      await this.writer.removeData(bucket, key, dataFolders(record), everyNode);
    }
    return { versionId: record.versionId, deleteMarker: record.deleted === true };
  }

  private async addMarker(bucket: string, key: string, versioning: Versioning): Promise<DeleteResult> {
    const current = await this.metadata.get(bucket, key);
    if (versioning === undefined && (!current || current.deleted)) return { deleteMarker: false };
    const base = this.writer.baseParams();
    const marker: ObjectRecord = {
      bucket, key, versionId: newVersionId(Date.now(), versioning === 'Enabled'), deleted: true, size: 0, etag: '', createdMs: Date.now(),
      codec: current?.codec ?? base, stripeBytes: current?.stripeBytes ?? 0,
      shardNodes: current?.shardNodes ?? this.writer.shardNodesFor(bucket, key),
    };
    await this.metadata.put(marker);
    if (isNullVersion(marker.versionId)) await this.writer.pruneOlder(bucket, key, marker.versionId, marker.shardNodes);
    return { versionId: marker.versionId, deleteMarker: true };
  }

  /** Replaces the tag set of the current version (or the version asked for); returns its record. */
  retag(bucket: string, key: string, version: VersionSelector, tags: readonly (readonly [string, string])[] | undefined): Promise<ObjectRecord> {
    return this.amend(bucket, key, version, ({ tags: _, ...record }) => (tags && tags.length > 0 ? { ...record, tags } : record));
  }

  /** Sets (or, undefined, removes) a version's Object Lock retention, as far as its current one allows (assertRetentionChange). */
  setRetention(bucket: string, key: string, version: VersionSelector, retention: Retention | undefined, bypassGovernance: boolean): Promise<ObjectRecord> {
    return this.amend(bucket, key, version, (record) => {
      assertRetentionChange(record, retention, Date.now(), bypassGovernance);
      const { retention: _, ...rest } = record;
      return retention ? { ...rest, retention } : rest;
    });
  }

  /** Puts a version's Object Lock legal hold on or off. */
  setLegalHold(bucket: string, key: string, version: VersionSelector, on: boolean): Promise<ObjectRecord> {
    return this.amend(bucket, key, version, ({ legalHold: _, ...record }) => (on ? { ...record, legalHold: true } : record));
  }

  /**
   * Rewrites a version's record with `change` made, the key locked: two
   * changes (tags and a legal hold) never undo each other, and a delete
   * checks a lock no change is making.
   */
  private amend(bucket: string, key: string, version: VersionSelector, change: (record: ObjectRecord) => ObjectRecord): Promise<ObjectRecord> {
    assertBucketName(bucket);
    assertKey(key);
    return this.locks.with(bucket, key, this.writer.placed(bucket, key).metadata, async () => {
      const next = change(await this.head(bucket, key, version));
      await this.metadata.revise(next);
      return next;
    });
  }

  list(request: ListRequest): Promise<ListPage> {
    assertBucketName(request.bucket);
    return this.metadata.list(request);
  }

  listVersions(request: ListVersionsRequest): Promise<VersionPage> {
    assertBucketName(request.bucket);
    return this.metadata.listVersions(request);
  }


  /** Bytes [start, end] of the record, span by span, stripe by stripe. */
  private async *stream(record: ObjectRecord, spans: readonly DataSpan[], firstReader: StripeReader | undefined, start: number, end: number): AsyncGenerator<Uint8Array> {
    let offset = 0;
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      const spanStart = offset;
      offset += span.size;
      const reader = i === 0 ? firstReader : undefined;
      if (offset <= start || spanStart > end || span.size === 0) {
        await reader?.close();
        continue;
      }
      yield* this.streamSpan(record, reader ?? this.reader(record, span)!, span, Math.max(start - spanStart, 0), Math.min(end - spanStart, span.size - 1));
    }
  }

  private async *streamSpan(record: ObjectRecord, reader: StripeReader, span: DataSpan, start: number, end: number): AsyncGenerator<Uint8Array> {
    const stripeBytes = span.stripeBytes;
    const first = Math.floor(start / stripeBytes);
    const last = Math.floor(end / stripeBytes);
    let reported = false;
    const report = () => {
      reported = true;
      if (reader.damage.shards.size > 0) {
        this.log.warn('degraded read', { bucket: record.bucket, key: record.key, dir: span.dir, shards: [...reader.damage.shards] });
        this.emit('degraded', { record, damage: reader.damage } satisfies DegradedRead);
      }
    };
    try {
      // Stripes are read (and rebuilt, when degraded) READ_AHEAD ahead of
      // the one being sent: one was enough for healthy reads, but a rebuild
      // on the thread pool then waited for the socket and vice versa.
      const ahead: Promise<Uint8Array[]>[] = [];
      let requested = first;
      const request = () => {
        while (requested <= last && ahead.length < READ_AHEAD) {
          const p = reader.stripe(requested++);
          p.catch(() => undefined);
          ahead.push(p);
        }
      };
      for (let s = first; s <= last; s++) {
        request();
        const parts = await ahead.shift()!;
        request();
        // Reported before the last bytes go out: a client that has its whole
        // body may ask at once (for metrics, a heal) and must find it counted.
        if (s === last) report();
        // Yield the stripe's [from, to) bytes, part by part, without copying.
        const from = s === first ? start - s * stripeBytes : 0;
        const to = s === last ? end - s * stripeBytes + 1 : Infinity;
        let at = 0;
        for (const part of parts) {
          const a = Math.max(from - at, 0);
          const b = Math.min(to - at, part.byteLength);
          if (b > a) yield a === 0 && b === part.byteLength ? part : part.subarray(a, b);
          at += part.byteLength;
          if (at >= to) break;
        }
      }
    } finally {
      // A read cut short reports what it met so far.
      if (!reported) report();
      await reader.close();
    }
  }

}

/**
 * Reads `body` until more than `limit` bytes have come or it ends. `rest` is
 * absent when it ended within the limit; otherwise it yields everything,
 * the bytes already read first.
 */
async function readHead(body: AsyncIterable<Uint8Array>, limit: number): Promise<{ chunks: Uint8Array[]; rest?: AsyncIterable<Uint8Array> }> {
  const it = body[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size <= limit) {
    const next = await it.next();
    if (next.done) return { chunks };
    chunks.push(next.value);
    size += next.value.byteLength;
  }
  async function* rest(): AsyncGenerator<Uint8Array> {
    try {
      yield* chunks;
      for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
    } finally {
      await it.return?.();
    }
  }
  return { chunks, rest: rest() };
}

function checksumField(checksums: PutOptions['checksums']): { checksums?: Record<string, string> } {
  const plain = checksums instanceof Map ? Object.fromEntries(checksums) : (checksums as Record<string, string> | undefined);
  return plain && Object.keys(plain).length ? { checksums: plain } : {};
}

/** The record of a single-span object. */
function recordFor(bucket: string, key: string, versionId: string, size: number, etag: string, options: PutOptions, span: DataSpan): ObjectRecord {
  return {
    bucket, key, versionId, size, etag,
    createdMs: Date.now(),
    ...metadataFields(options),
    codec: span.codec,
    stripeBytes: span.stripeBytes,
    shardNodes: span.shardNodes,
  };
}

/** The optional descriptive fields of a record, only where set. */
export function metadataFields(options: PutOptions): Partial<ObjectRecord> {
  return {
    ...(options.contentType ? { contentType: options.contentType } : {}),
    ...(options.headers && Object.keys(options.headers).length ? { headers: options.headers } : {}),
    ...(options.userMetadata && Object.keys(options.userMetadata).length ? { userMetadata: options.userMetadata } : {}),
    ...checksumField(options.checksums),
    ...(options.tags && options.tags.length ? { tags: options.tags } : {}),
    ...lockFields(options.lock),
  };
}
