import 'reflect-metadata';

import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';

import { inject, injectable } from 'tsyringe';

import type { KintsugiConfig } from '../config.js';
import type { Codec, CodecParams, ErasureCoder } from '../contracts/codec.js';
import type { DriveWriter } from '../contracts/drive.js';
import type { Logger } from '../contracts/logger.js';
import { dataFolders, dataSpans, type DataSpan, type ListPage, type ListRequest, type ListVersionsRequest, type MetadataStore, type ObjectRecord, type VersionPage, type VersionSelector } from '../contracts/metadata.js';
import type { NodeSet } from '../contracts/nodes.js';
import type { Placement } from '../contracts/placement.js';
import { CHECKSUM_BYTES, checksumInto } from '../checksum.js';
import { DeleteMarkerError, InvalidRangeError, InvalidVersionIdError, NoSuchKeyError, NoSuchVersionError, WriteQuorumError, type NodeFailure } from '../errors.js';
import { objectDir, shardPath } from '../layout.js';
import { shardWriteQuorum } from '../shard-quorum.js';
import { TOKENS } from '../tokens.js';
import { isNullVersion, newVersionId, VERSIONED_ID_PATTERN } from '../version-id.js';
import { Geometry, packetSizeFor } from './geometry.js';
import { KeyLocks } from './key-lock.js';
import { Md5Worker } from './md5-worker.js';
import { MemoryFile } from './memory-file.js';
import { assertBucketName, assertKey } from './names.js';
import { StripeReader, type ReadDamage } from './stripe-reader.js';
import { StripeBuffers, StripeWriter } from './stripe-writer.js';

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

/**
 * A write's precondition (If-Match, If-None-Match): called with the current
 * version (undefined when there is none) while the key is locked, it throws
 * to refuse the write.
 */
export type WriteCondition = (current: ObjectRecord | undefined) => void;

/** Shard files written but not yet in place; see ObjectEngine.stageSpan. */
export interface StagedSpan {
  readonly md5: string;
  readonly size: number;
  /** Renames the shard files into folder `dir` of the object's data folder. */
  commit(dir: string): Promise<DataSpan>;
  /** Removes the temporary files (after a failed commit too). */
  abort(): Promise<void>;
}

/**
 * Where shard writers are created; they are renamed into their version's
 * folder on commit, so nothing is ever written under this name.
 */
const STAGING_DIR = 'staging';

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
}

/** A bucket's versioning, as DELETE needs it: never set, Enabled or Suspended. */
export type Versioning = 'Enabled' | 'Suspended' | undefined;

export interface DeleteOptions {
  condition?: WriteCondition;
  /** delete this version for good (an internal id, or `null`) */
  versionId?: string;
  versioning?: Versioning;
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
  private readonly md5 = new Md5Worker();
  private readonly locks: KeyLocks;

  constructor(
    @inject(TOKENS.Config) private readonly config: KintsugiConfig,
    @inject(TOKENS.Codec) private readonly codec: Codec,
    @inject(TOKENS.Placement) private readonly placement: Placement,
    @inject(TOKENS.MetadataStore) private readonly metadata: MetadataStore,
    @inject(TOKENS.Nodes) private readonly nodes: NodeSet,
    @inject(TOKENS.Logger) private readonly log: Logger,
  ) {
    super();
    this.locks = new KeyLocks(nodes);
  }

  /**
   * Shards written before a put is acknowledged: k, plus one when k = m so
   * that two halves of a split cluster cannot both win (MinIO's rule). The
   * healer restores the rest.
   */
  get writeQuorum(): number {
    return shardWriteQuorum(this.config.data, this.config.parity);
  }

  private baseParams(): CodecParams {
    const { data: k, parity: m } = this.config;
    return { k, m, w: this.config.w, technique: this.config.technique, packetSize: this.config.packetSize };
  }

  /** Where placement puts a key's metadata replicas (and its lock) and its shards. */
  private placed(bucket: string, key: string) {
    return this.placement.place({
      bucket, key, nodes: this.nodeRefs(), metaCopies: this.config.metaCopies, shardCount: this.config.data + this.config.parity,
    });
  }

  private shardNodesFor(bucket: string, key: string): number[] {
    return this.placed(bucket, key).shards;
  }

  /**
   * Streams `body` into shard files in folder `dir` of the object's data
   * folder and commits them; on any failure the files are removed. Returns
   * the span and the body's MD5.
   */
  async writeSpan(bucket: string, key: string, dir: string, body: AsyncIterable<Uint8Array>): Promise<{ span: DataSpan; md5: string }> {
    const staged = await this.stageSpan(bucket, key, body);
    return { span: await staged.commit(dir), md5: staged.md5 };
  }

  /**
   * Streams `body` into temporary shard files on the object's nodes; they
   * become the span in folder `dir` when committed. The folder is named only
   * then, so that a new version's id is taken when its bytes have all
   * arrived: of two overlapping puts, the one that completes last wins.
   */
  async stageSpan(bucket: string, key: string, body: AsyncIterable<Uint8Array>): Promise<StagedSpan> {
    const base = this.baseParams();
    const k = base.k;
    let coder = this.codec.coder(base);
    const shardNodes = this.shardNodesFor(bucket, key);

    // Why each node that fails its part failed: a WriteQuorumError names them.
    const failures: NodeFailure[] = [];
    const writers = await Promise.all(shardNodes.map((node, i) =>
      this.nodes.drives[node]!.createWriter(shardPath(bucket, key, STAGING_DIR, i)).catch((err: Error) => {
        this.log.warn('shard writer unavailable', { node, error: err.message });
        failures.push({ node, why: err.message });
        return null;
      })));
    const abortAll = async () => { await Promise.all(writers.map((w) => w?.abort().catch(() => undefined))); };
    if (writers.filter(Boolean).length < this.writeQuorum) {
      await abortAll();
      throw new WriteQuorumError(`only ${writers.filter(Boolean).length} nodes can take shards, ${this.writeQuorum} needed`, failures);
    }

    let size = 0;
    const stripeWriter = new StripeWriter(coder, writers, coder.shardSizeFor(this.config.blockSize), this.writeQuorum,
      (length) => (coder = this.codec.coder({ ...base, packetSize: packetSizeFor(length, k, base.packetSize) })), shardNodes, failures);
    const md5 = this.md5.hasher(stripeWriter.stripeBytes);
    try {
      for await (const chunk of body) {
        await md5.update(chunk);
        size += chunk.byteLength;
        await stripeWriter.write(chunk);
      }
      await stripeWriter.end();
      coder = stripeWriter.usedCoder;
    } catch (err) {
      md5.abandon();
      await abortAll();
      throw err;
    }
    const digest = await md5.digest();
    return {
      md5: digest,
      size,
      commit: async (dir) => {
        try {
          await this.commitShards(writers, size, (i) => shardPath(bucket, key, dir, i), shardNodes, failures);
        } catch (err) {
          await abortAll();
          await this.removeDir(bucket, key, dir, shardNodes);
          throw err;
        }
        return { dir, size, codec: coder.params, blockSize: stripeWriter.stripeBytes, shardNodes };
      },
      abort: abortAll,
    };
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
    const staged = await this.stageSpan(bucket, key, head.rest);
    try {
      return await this.guarded(bucket, key, options.condition, async () => {
        const versionId = newVersionId(Date.now(), options.versioned);
        const span = await staged.commit(versionId);
        return this.commit(recordFor(bucket, key, versionId, span.size, staged.md5, options, span));
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
    return this.locks.with(bucket, key, this.placed(bucket, key).metadata, async () => {
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
    const base = this.baseParams();
    const { k, m } = base;
    const coder = this.codec.coder(data.byteLength === 0 ? base : { ...base, packetSize: packetSizeFor(data.byteLength, k, base.packetSize) });
    const span: DataSpan = {
      dir: versionId, size: data.byteLength, codec: coder.params,
      blockSize: k * this.codec.coder(base).shardSizeFor(this.config.blockSize), shardNodes: this.shardNodesFor(bucket, key),
    };
    const etag = createHash('md5').update(data).digest('hex');
    if (data.byteLength === 0) return this.commit(recordFor(bucket, key, versionId, 0, etag, options, span));

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
    // Each shard as its file would hold it (checksum, block), so reads go through the same StripeReader.
    const shards = blocks.map((b, i) => {
      const framed = stripe.framed(i, blockBytes);
      checksumInto(b, framed, 0);
      return framed;
    });
    return this.commit({ ...recordFor(bucket, key, versionId, data.byteLength, etag, options, span), inline: true }, shards);
  }

  /** Makes a record whose data is in place visible, then (a null version) removes the older null versions. */
  async commit(record: ObjectRecord, inlineShards?: readonly Uint8Array[]): Promise<ObjectRecord> {
    const { bucket, key, versionId, shardNodes } = record;
    let firstVersion: boolean;
    try {
      ({ firstVersion } = await this.metadata.put(record, inlineShards));
    } catch (err) {
      await this.metadata.discard(bucket, key, versionId, shardNodes);
      if (!record.inline) await this.removeDir(bucket, key, versionId, shardNodes);
      throw err;
    }
    if (!firstVersion && isNullVersion(versionId)) await this.pruneOlder(bucket, key, versionId, shardNodes);
    return record;
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
    for (let attempt = 0; ; attempt++) {
      const record = await this.head(bucket, key, version);
      const spans = dataSpans(record);
      const first = this.reader(record, spans[0]!);
      // A concurrent overwrite may be removing this version between reading
      // its record and opening its files. When data files are missing, the
      // parity files are opened at once too (held open, they stay readable):
      // if more than m are gone, the version is, and the newer one is read.
      if (first && (await first.openData()) > 0 && (await first.openAll()) > spans[0]!.codec.m && attempt < 2) {
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
    return new StripeReader(record.bucket, record.key, new Geometry(span.size, span.blockSize, coder), coder, open);
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
    return this.guarded(bucket, key, options.condition, () => (options.versionId !== undefined
      ? this.deleteVersion(bucket, key, options.versionId)
      : this.addMarker(bucket, key, options.versioning)));
  }

  private async deleteVersion(bucket: string, key: string, version: string): Promise<DeleteResult> {
    const record = await this.metadata.get(bucket, key, version);
    // Deleting a version that is not there succeeds, as in S3.
    if (!record) return { versionId: version, deleteMarker: false };
    await this.metadata.purge(record);
    if (!record.inline && !record.deleted) {
      const everyNode = this.nodes.drives.map((d) => d.index);
      await Promise.all(dataFolders(record).map((dir) => this.removeDir(bucket, key, dir, everyNode)));
    }
    return { versionId: record.versionId, deleteMarker: record.deleted === true };
  }

  private async addMarker(bucket: string, key: string, versioning: Versioning): Promise<DeleteResult> {
    const current = await this.metadata.get(bucket, key);
    if (versioning === undefined && (!current || current.deleted)) return { deleteMarker: false };
    const base = this.baseParams();
    const marker: ObjectRecord = {
      bucket, key, versionId: newVersionId(Date.now(), versioning === 'Enabled'), deleted: true, size: 0, etag: '', createdMs: Date.now(),
      codec: current?.codec ?? base, blockSize: current?.blockSize ?? 0,
      shardNodes: current?.shardNodes ?? this.shardNodesFor(bucket, key),
    };
    await this.metadata.put(marker);
    if (isNullVersion(marker.versionId)) await this.pruneOlder(bucket, key, marker.versionId, marker.shardNodes);
    return { versionId: marker.versionId, deleteMarker: true };
  }

  /** Replaces the tag set of the current version (or the version asked for); returns its record. */
  async retag(bucket: string, key: string, version: VersionSelector, tags: readonly (readonly [string, string])[] | undefined): Promise<ObjectRecord> {
    return this.metadata.retag(await this.head(bucket, key, version), tags);
  }

  list(request: ListRequest): Promise<ListPage> {
    assertBucketName(request.bucket);
    return this.metadata.list(request);
  }

  listVersions(request: ListVersionsRequest): Promise<VersionPage> {
    assertBucketName(request.bucket);
    return this.metadata.listVersions(request);
  }

  private nodeRefs() {
    return this.nodes.drives.map((d) => ({ index: d.index, id: `node-${d.index}` }));
  }

  private async commitShards(writers: (DriveWriter | null)[], size: number, pathOf: (shard: number) => string, shardNodes: readonly number[], failures: NodeFailure[]): Promise<void> {
    if (size === 0) {
      // An empty object has no stripes: nothing to keep on the nodes.
      await Promise.all(writers.map((w) => w?.abort()));
      return;
    }
    const committed = await Promise.all(writers.map((w, i) => (w ? w.commit(pathOf(i)).then(() => true, (err: Error) => {
      failures.push({ node: shardNodes[i]!, why: err.message });
      return false;
    }) : false)));
    const ok = committed.filter(Boolean).length;
    if (ok < this.writeQuorum) throw new WriteQuorumError(`only ${ok} of ${writers.length} shard files committed, ${this.writeQuorum} needed`, failures);
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
    const stripeBytes = span.blockSize;
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

  /** Removes records, then shard folders, of null versions older than the newest committed one. */
  async pruneOlder(bucket: string, key: string, versionId: string, shardNodes: readonly number[]): Promise<void> {
    const dir = objectDir(bucket, key);
    try {
      const { keep, hadOlder } = await this.metadata.prune(bucket, key, versionId, shardNodes);
      // A key written for the first time has nothing older on any node.
      if (!hadOlder) return;
      await Promise.all(this.nodes.drives.map(async (d) => {
        const versions = await d.list(dir).catch(() => [] as string[]);
        await Promise.all(versions.filter((v) => isNullVersion(v) && v < keep).map((v) => d.remove(`${dir}/${v}`).catch(() => undefined)));
      }));
    } catch (err) {
      this.log.warn('pruning old versions failed', { bucket, key, error: (err as Error).message });
    }
  }

  /** Removes a folder of the object's data folder on the given nodes. */
  async removeDir(bucket: string, key: string, dir: string, shardNodes: readonly number[]): Promise<void> {
    const path = `${objectDir(bucket, key)}/${dir}`;
    await Promise.all(shardNodes.map((n) => this.nodes.drives[n]!.remove(path).catch(() => undefined)));
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
    blockSize: span.blockSize,
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
  };
}
