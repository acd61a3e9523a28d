import 'reflect-metadata';

import { inject, injectable } from 'tsyringe';

import { extensionsOf, type Codec } from '../contracts/codec.js';
import type { DriveFile, DriveWriter } from '../contracts/drive.js';
import type { Logger } from '../contracts/logger.js';
import { dataSpans, type DataSpan, type MetadataStore, type ObjectRecord } from '../contracts/metadata.js';
import type { NodeSet } from '../contracts/nodes.js';
import { shardPath } from '../layout.js';
import { NoSuchBucketError } from '../errors.js';
import type { LayoutView } from '../layout-view.js';
import { TOKENS } from '../tokens.js';
import { isNullVersion } from '../version-id.js';
import { BucketStore } from './buckets.js';
import { Geometry } from './geometry.js';
import { DEFAULT_GRACE_MS, type HealSummary } from './heal-summary.js';
import { MultipartUploads } from './multipart.js';
import { locked } from './object-lock.js';
import { listOnMajority, restoreOnAll } from './node-quorum.js';
import { VersionWriter } from './version-writer.js';
import { frameBlock, readBlock, StripeBuffers, unframe } from './shard-format.js';

/**
 * Stripes of one span read, rebuilt and written at once: a single large
 * object heals with its reads, its decoding and its writes overlapping.
 * Each costs a stripe of buffers (k+m blocks) while its span heals.
 */
const STRIPES_IN_FLIGHT = 4;

/**
 * Repairs what a heal finds: every version of an object checked shard file
 * by shard file, block by block, against its checksums, missing or rotten
 * blocks rebuilt from the survivors onto their node (or a spare when theirs
 * cannot take writes), missing or stale record copies rewritten; and the
 * small records kept on every node (buckets, uploads) restored.
 */
@injectable()
export class ObjectRepair {
  constructor(
    @inject(VersionWriter) private readonly writer: VersionWriter,
    @inject(MultipartUploads) private readonly uploads: MultipartUploads,
    @inject(TOKENS.MetadataStore) private readonly metadata: MetadataStore,
    @inject(TOKENS.Nodes) private readonly nodes: NodeSet,
    @inject(TOKENS.Codec) private readonly codec: Codec,
    @inject(TOKENS.Logger) private readonly log: Logger,
    @inject(BucketStore) private readonly buckets: BucketStore,
    @inject(TOKENS.Layout) private readonly layout: LayoutView,
  ) {}

  /** Bucket records and multipart upload records, kept on every node, restored where missing. */
  async smallRecords(): Promise<number> {
    let restored = 0;
    for (const bucket of await listOnMajority(this.nodes, 'buckets')) {
      restored += await restoreOnAll(this.nodes, `buckets/${bucket}`);
      for (const name of await listOnMajority(this.nodes, `uploads/${bucket}`)) {
        if (name.endsWith('.done')) {
          restored += await this.uploads.healCompleted(bucket, name.slice(0, -'.done'.length));
        } else if (name.endsWith('.parts')) {
          for (const part of await listOnMajority(this.nodes, `uploads/${bucket}/${name}`)) restored += await restoreOnAll(this.nodes, `uploads/${bucket}/${name}/${part}`);
        } else {
          restored += await restoreOnAll(this.nodes, `uploads/${bucket}/${name}`);
        }
      }
    }
    return restored;
  }

  /**
   * Checks and repairs every version of one object (null versions that a
   * newer one replaced, left on a node that missed the replacing, are
   * removed instead), collects tombstones nothing needs any more; returns
   * the versions' records.
   */
  async object(bucket: string, key: string, summary: HealSummary, graceMs = DEFAULT_GRACE_MS, deep = true): Promise<ObjectRecord[]> {
    summary.orphansRemoved += await this.metadata.collectTombstones(bucket, key, graceMs);
    const versions = await this.metadata.versions(bucket, key);
    if (await this.markerNobodyNeeds(versions, graceMs)) {
      // Deleted for good: its tombstone goes on a later pass, like any.
      await this.metadata.purge(versions[0]!);
      summary.orphansRemoved++;
      return [];
    }
    const newestNull = versions.find((r) => isNullVersion(r.versionId));
    const olderNulls = versions.filter((r) => r !== newestNull && isNullVersion(r.versionId));
    // Object Lock keeps a version from everyone, the healer included.
    if (newestNull && olderNulls.length > 0 && !olderNulls.some((r) => locked(r, Date.now()))) {
      await this.writer.pruneOlder(bucket, key, newestNull.versionId, newestNull.shardNodes);
    }
    const healed: ObjectRecord[] = [];
    for (const record of versions) {
      if (isNullVersion(record.versionId) && record !== newestNull) continue;
      const lost = summary.unrecoverable.length;
      const result = await this.version(record, summary, deep);
      if (summary.unrecoverable.length === lost) countShards(result, summary);
      healed.push(result);
    }
    return healed;
  }

  /**
   * A delete marker that is all that is left of a key in a bucket that never
   * had versioning stands only for a delete: once every node answers (none
   * can hold an older version it would have to outvote) and it is older than
   * the grace period, nothing needs it.
   */
  private async markerNobodyNeeds(versions: readonly ObjectRecord[], graceMs: number): Promise<boolean> {
    const only = versions.length === 1 ? versions[0]! : undefined;
    if (!only?.deleted || !isNullVersion(only.versionId) || Date.now() - only.createdMs < graceMs) return false;
    if (!this.nodes.drives.every((d) => !this.layout.inService(d.index) || this.nodes.health.canWrite(d.index))) return false;
    // A bucket that cannot be read now may have versioning: only a known answer counts.
    const info = await this.buckets.get(only.bucket).catch((err: unknown) => (err instanceof NoSuchBucketError ? null : undefined));
    return info === null || (info !== undefined && info.versioning === undefined);
  }

  /** Checks and repairs one version; returns its record (where its shards are now). */
  private async version(record: ObjectRecord, summary: HealSummary, deep: boolean): Promise<ObjectRecord> {
    summary.objectsChecked++;
    if (record.inline) return this.inline(record, summary);
    // Copies belonging on nodes that cannot take writes now wait for them.
    const missing = (await this.metadata.missingCopies(record)).filter((n) => this.nodes.health.canWrite(n));
    if (missing.length > 0) {
      await this.metadata.put(record);
      summary.replicasRepaired += missing.length;
    }
    if (record.deleted) return record;
    return this.files(record, summary, deep);
  }

  /**
   * Checks a version's shard files and rebuilds the bad ones; returns its
   * record as it is now (where its shards are). `deep`: every block is read
   * against its checksum; else a file counts as sound when it is there and
   * whole (its bytes are the node's scrub's to check).
   */
  async files(record: ObjectRecord, summary: HealSummary, deep: boolean): Promise<ObjectRecord> {
    const { bucket, key } = record;
    const spans = dataSpans(record);
    const healed: DataSpan[] = [];
    for (const span of spans) {
      const result = await this.span(record, span, summary, deep);
      if (!result) {
        summary.unrecoverable.push(`${bucket}/${key}`);
        return record;
      }
      healed.push(result);
    }
    // Shards rebuilt onto replacement nodes: the record says where they are now.
    if (healed.some((h, i) => h.shardNodes.some((n, j) => n !== spans[i]!.shardNodes[j]))) {
      const moved: ObjectRecord = record.parts
        ? { ...record, shardNodes: healed[0]!.shardNodes, parts: record.parts.map((p, i) => ({ ...p, shardNodes: healed[i]!.shardNodes })) }
        : { ...record, shardNodes: healed[0]!.shardNodes };
      await this.metadata.put(moved);
      return moved;
    }
    return record;
  }

  /**
   * Where bad shards go: their node when it is up, else a healthy node not
   * holding a shard of the object (when there is one).
   */
  private relocate(shardNodes: readonly number[], bad: Iterable<number>): number[] {
    const to = [...shardNodes];
    const writable = (n: number) => this.nodes.health.canWrite(n);
    for (const i of bad) {
      if (writable(to[i]!)) continue;
      const spare = this.nodes.drives.findIndex((_, n) => writable(n) && this.layout.takesData(n) && !to.includes(n));
      if (spare >= 0) to[i] = spare;
    }
    return to;
  }

  /**
   * An inline object's shards live in its record copies: when a copy is
   * missing or rotten, the lost shards are rebuilt from the others and every
   * copy is rewritten, each with its node's shard (offline nodes' shards
   * moving to spare nodes).
   */
  private async inline(record: ObjectRecord, summary: HealSummary): Promise<ObjectRecord> {
    const missing = await this.metadata.missingCopies(record);
    if (missing.length === 0) return record;
    const read = await Promise.all(record.shardNodes.map((_, i) => this.metadata.readShard(record, i).catch(() => undefined)));
    const rebuilt = await this.inlineShards(record, read);
    if (!rebuilt) {
      summary.unrecoverable.push(`${record.bucket}/${record.key}`);
      return record;
    }
    const { framed, holes } = rebuilt;
    const healed: ObjectRecord = { ...record, shardNodes: this.relocate(record.shardNodes, holes) };
    await this.metadata.put(healed, framed);
    summary.replicasRepaired += missing.length;
    summary.shardsRebuilt += holes.length;
    summary.bytesRewritten += holes.length * framed[0]!.byteLength;
    if (holes.length > 0) this.log.info('inline shards rebuilt', { bucket: record.bucket, key: record.key, shards: holes, nodes: healed.shardNodes });
    return healed;
  }

  /**
   * An inline record's framed shards, every one: those read (by shard index;
   * undefined or rotten ones are holes) and the holes rebuilt from them; or
   * undefined when fewer than k are sound.
   */
  async inlineShards(record: ObjectRecord, read: readonly (Uint8Array | undefined)[]): Promise<{ framed: Uint8Array[]; holes: number[] } | undefined> {
    const coder = this.codec.coder(record.codec);
    const size = new Geometry(record.size, record.stripeBytes, coder).blockBytesOf(0);
    const blocks = record.shardNodes.map((_, i) => { const framed = read[i]; return framed ? unframe(framed, size) : null; });
    const holes = blocks.flatMap((b, i) => (b === null ? [i] : []));
    if (blocks.length - holes.length < coder.params.k) return undefined;
    if (holes.length === 0) return { framed: read as Uint8Array[], holes };
    const shards = blocks.map((b) => b ?? new Uint8Array(size));
    // An inline shard is a few KiB: decoding it here costs less than a trip to the codec's threads.
    const sync = extensionsOf(coder);
    if (sync) sync.reconstructSync(shards, holes);
    else await coder.reconstruct(shards, holes);
    return { framed: shards.map((b, i) => (holes.includes(i) ? frameBlock(b) : read[i]!)), holes };
  }

  /**
   * Rebuilds the span's bad shard files, on their node, or on a healthy node
   * not holding a shard of the span when theirs is offline. Returns the span
   * (with its new shard → node map), or undefined when more than m blocks of
   * some stripe are lost.
   */
  private async span(record: ObjectRecord, span: DataSpan, summary: HealSummary, deep: boolean): Promise<DataSpan | undefined> {
    if (span.size === 0) return span;
    const coder = this.codec.coder(span.codec);
    const { k } = coder.params;
    const geometry = new Geometry(span.size, span.stripeBytes, coder);
    const paths = span.shardNodes.map((_, i) => shardPath(record.bucket, record.key, span.dir, i));
    if (!deep) {
      const sizes = await Promise.all(span.shardNodes.map((n, i) => this.nodes.drives[n]!.stat(paths[i]!).then((st) => st?.size, () => undefined)));
      if (sizes.every((size) => size === geometry.shardFileBytes)) return span;
    }
    const files: (DriveFile | undefined)[] = await Promise.all(span.shardNodes.map((n, i) =>
      this.nodes.drives[n]!.open(paths[i]!).catch(() => undefined)));
    try {
      // A shard is rewritten whole when its file is missing, has the wrong
      // size or any rotten block, in one pass over the stripes that reads
      // every block (memory stays at a few stripes whatever the object size).
      // A file found rotten part-way is rewritten from its first stripe: the
      // stripes before are read again for it.
      const readable = files.flatMap((f, i) => (f && f.size === geometry.shardFileBytes ? [i] : []));
      // Blocks are read into, rebuilt in and written from buffers kept for
      // the span: a fresh buffer per 256 KiB block cost more (page faults,
      // then the collector unmapping it) than reading the block.
      const slots = Array.from({ length: Math.min(STRIPES_IN_FLIGHT, geometry.stripes) }, () => new StripeBuffers(files.length, geometry.blockBytes));
      let spare: StripeBuffers | undefined;
      const readRow = (s: number, buffers: StripeBuffers) => Promise.all(files.map((f, i) =>
        (readable.includes(i) ? readBlock(f!, geometry, s, { buffers, slot: i }).catch(() => null) : null)));
      const bad = new Set(files.flatMap((_, i) => (readable.includes(i) ? [] : [i])));
      let shardNodes = this.relocate(span.shardNodes, bad);
      const writers: (DriveWriter | null | undefined)[] = files.map(() => undefined);
      const openWriters = (which: readonly number[]) => Promise.all(which.map(async (i) => {
        writers[i] = await this.nodes.drives[shardNodes[i]!]!.createWriter(paths[i]!).catch(() => null);
      }));
      const abortAll = () => Promise.all(writers.map((w) => w?.abort().catch(() => undefined)));
      /** Stripe s (read into `buffers` as `row`) rebuilt and written to the writers of `to`; false when fewer than k blocks are left. */
      const rebuild = async (s: number, row: readonly (Uint8Array | null)[], buffers: StripeBuffers, to: readonly number[]): Promise<boolean> => {
        if (row.filter((b) => b !== null).length < k) return false;
        const size = geometry.blockBytesOf(s);
        const holes = row.flatMap((b, i) => (b === null ? [i] : []));
        // Holes are rebuilt in their slots, inside the frames they are written with.
        if (holes.length > 0) await coder.reconstruct(row.map((b, i) => b ?? buffers.block(i, size)), holes);
        await Promise.all(to.map(async (i) => { await writers[i]?.write(buffers.seal(i, size), geometry.offset(s)); }));
        return true;
      };
      try {
        await openWriters([...bad]);
        for (let first = 0; first < geometry.stripes; first += slots.length) {
          const window = slots.slice(0, Math.min(slots.length, geometry.stripes - first));
          const rows = await Promise.all(window.map((buffers, j) => readRow(first + j, buffers)));
          const rotten = [...new Set(rows.flatMap((row) => row.flatMap((b, i) => (b === null && !bad.has(i) ? [i] : []))))];
          if (rotten.length > 0) {
            for (const i of rotten) bad.add(i);
            // Only the new ones placed: a shard already being written keeps its node, whatever health says now.
            shardNodes = this.relocate(shardNodes, rotten);
            await openWriters(rotten);
            spare ??= new StripeBuffers(files.length, geometry.blockBytes);
            for (let e = 0; e < first; e++) {
              if (!(await rebuild(e, await readRow(e, spare), spare, rotten))) return await abortAll().then(() => undefined);
            }
          }
          const done = await Promise.all(window.map((buffers, j) => rebuild(first + j, rows[j]!, buffers, [...bad])));
          if (!done.every(Boolean)) return await abortAll().then(() => undefined);
        }
        if (bad.size === 0) return span;
        await Promise.all(writers.map(async (w) => w?.commit()));
      } catch (err) {
        await abortAll();
        throw err;
      }
      const rebuilt = writers.filter(Boolean).length;
      // Shards whose node (and every spare) cannot take them now: readable, but short of redundancy until a later pass.
      if (rebuilt < bad.size) summary.deferred++;
      summary.shardsRebuilt += rebuilt;
      summary.bytesRewritten += rebuilt * geometry.shardFileBytes;
      this.log.info('shards rebuilt', { bucket: record.bucket, key: record.key, dir: span.dir, shards: [...bad], nodes: shardNodes });
      // Shards whose writer could not be opened stay where they were (still lost).
      return { ...span, shardNodes: shardNodes.map((n, i) => (bad.has(i) && !writers[i] ? span.shardNodes[i]! : n)) };
    } finally {
      await Promise.all(files.map((f) => f?.close().catch(() => undefined)));
    }
  }
}

/** Adds a version's shards to the count of each node that holds one. */
export function countShards(record: ObjectRecord, summary: HealSummary): void {
  if (record.deleted) return;
  const placements = record.inline ? [record.shardNodes] : dataSpans(record).filter((s) => s.size > 0).map((s) => s.shardNodes);
  for (const nodes of placements) for (const n of nodes) summary.shardsByNode[n] = (summary.shardsByNode[n] ?? 0) + 1;
}
