import 'reflect-metadata';

import { inject, injectable } from 'tsyringe';

import { CHECKSUM_BYTES, checksumMatches, framedBlock } from '../checksum.js';
import type { Codec } from '../contracts/codec.js';
import type { DriveFile, DriveWriter } from '../contracts/drive.js';
import type { Logger } from '../contracts/logger.js';
import { dataFolders, dataSpans, type DataSpan, type MetadataStore, type ObjectRecord } from '../contracts/metadata.js';
import type { NodeSet } from '../contracts/nodes.js';
import { objectHash, shardPath, TMP_DIR, uploadRecordPath } from '../layout.js';
import { NoSuchBucketError, WriteQuorumError } from '../errors.js';
import { TOKENS } from '../tokens.js';
import { isNullVersion, versionTime } from '../version-id.js';
import { BucketStore } from './buckets.js';
import { Geometry } from './geometry.js';
import { MultipartUploads } from './multipart.js';
import { listOnMajority, readFromMajority, restoreOnAll } from './node-quorum.js';
import { ObjectEngine, type DegradedRead } from './object-engine.js';

/** What one heal pass found and did. */
export interface HealSummary {
  objectsChecked: number;
  shardsRebuilt: number;
  replicasRepaired: number;
  bytesRewritten: number;
  orphansRemoved: number;
  /** bucket/key of objects with more shards lost than parity */
  unrecoverable: string[];
  /** nodes whose listing index failed its check and was set aside and rebuilt, with why */
  indexesRebuilt: string[];
  /** objects readable but not fully repaired: the nodes their copies belong on cannot take writes now */
  deferred: number;
}

export interface HealOptions {
  /** leftovers (temporary files, unreferenced versions, abandoned uploads) younger than this are kept */
  graceMs?: number;
  /** called after each object, for a progress bar */
  onProgress?: (done: number, current: string) => void;
  /** objects per second at most (the background scanner leaves room for traffic) */
  rate?: number;
  /** wait for the listing indexes found unsound to be rebuilt (a one-off `kintsugi heal`) */
  waitForIndexes?: boolean;
}

export const emptySummary = (): HealSummary => ({ objectsChecked: 0, shardsRebuilt: 0, replicasRepaired: 0, bytesRewritten: 0, orphansRemoved: 0, unrecoverable: [], indexesRebuilt: [], deferred: 0 });

/** An hour: an upload or write this young may still be in flight. */
export const DEFAULT_GRACE_MS = 3600_000;

/**
 * Puts lost redundancy back. For each object version it checks every shard
 * file block by block against its checksum and rebuilds missing or rotten
 * ones from the survivors onto their node (a wiped node folder is refilled
 * this way); it rewrites missing or stale metadata copies (and so the
 * listing indexes); and it removes leftovers nothing refers to. Three ways
 * in: `healObject` (a read that had to reconstruct queues one), `pass` (all
 * objects, for `kintsugi heal` and the background scanner).
 */
@injectable()
export class Healer {
  private readonly queue = new Set<string>();
  private draining = false;
  private scanning = false;
  private lastPass: (HealSummary & { finishedMs: number }) | undefined;
  private scanner: NodeJS.Timeout | undefined;

  constructor(
    @inject(ObjectEngine) private readonly engine: ObjectEngine,
    @inject(MultipartUploads) private readonly uploads: MultipartUploads,
    @inject(TOKENS.MetadataStore) private readonly metadata: MetadataStore,
    @inject(TOKENS.Nodes) private readonly nodes: NodeSet,
    @inject(TOKENS.Codec) private readonly codec: Codec,
    @inject(TOKENS.Logger) private readonly log: Logger,
    @inject(BucketStore) private readonly buckets: BucketStore,
  ) {}

  /** What the healer is doing, for the admin endpoint and metrics. */
  status(): { queued: number; healingDegraded: boolean; scanning: boolean; lastPass?: HealSummary & { finishedMs: number } } {
    return { queued: this.queue.size, healingDegraded: this.draining, scanning: this.scanning, ...(this.lastPass ? { lastPass: this.lastPass } : {}) };
  }

  /**
   * The background scanner: a full pass every `intervalMs`, at most `rate`
   * objects a second so that foreground traffic is not starved.
   */
  startScanner(intervalMs: number, rate: number): void {
    const run = async () => {
      if (this.scanning) return;
      this.scanning = true;
      try {
        const summary = await this.pass({ rate });
        this.lastPass = { ...summary, finishedMs: Date.now() };
        this.log.info('heal pass', { ...summary });
      } catch (err) {
        this.log.warn('heal pass failed', { error: (err as Error).message });
      } finally {
        this.scanning = false;
      }
    };
    this.scanner = setInterval(() => { void run(); }, intervalMs);
    this.scanner.unref();
  }

  stopScanner(): void {
    if (this.scanner) clearInterval(this.scanner);
  }

  /** Heals, in the background, every object a read had to reconstruct. */
  watch(): void {
    this.engine.on('degraded', (e: DegradedRead) => {
      this.queue.add(JSON.stringify([e.record.bucket, e.record.key]));
      void this.drain();
    });
  }

  /** Resolves once the queue of degraded objects is empty. */
  async idle(): Promise<void> {
    while (this.draining || this.queue.size > 0) await new Promise((r) => setTimeout(r, 20));
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (const item of this.queue) {
        this.queue.delete(item);
        const [bucket, key] = JSON.parse(item) as [string, string];
        const s = emptySummary();
        await this.healObject(bucket, key, s).catch((err) => this.log.warn('heal failed', { bucket, key, error: (err as Error).message }));
        this.log.info('healed after a degraded read', { bucket, key, shardsRebuilt: s.shardsRebuilt, replicasRepaired: s.replicasRepaired });
      }
    } finally {
      this.draining = false;
    }
  }

  /** One full pass: bucket and upload records, every object, then the leftovers. */
  async pass(options: HealOptions = {}): Promise<HealSummary> {
    const summary = emptySummary();
    // Nodes back since the last probe take part (a tombstone is only collected with every node answering).
    await this.nodes.health.refresh();
    // Derived structures first, checked where a rotten one cannot crash this process.
    for (const r of await this.metadata.checkDerived({ wait: options.waitForIndexes ?? false })) {
      if (r.state === 'rebuilding' || r.state === 'rebuilt') summary.indexesRebuilt.push(`node ${r.node}: ${r.why ?? ''}`);
    }
    summary.replicasRepaired += await this.healSmallRecords();
    const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    const live = new Map<string, Set<string>>();
    let done = 0;
    for await (const { bucket, key } of this.metadata.allObjects()) {
      const started = Date.now();
      try {
        live.set(`${bucket}/${objectHash(bucket, key)}`, dataDirs(await this.healObject(bucket, key, summary, graceMs)));
      } catch (err) {
        // Too few nodes can take the repair now (read-only, refused, offline): the next pass does it.
        if (!(err instanceof WriteQuorumError) && (err as { code?: string }).code !== 'ERR_NODE_UNAVAILABLE') throw err;
        summary.deferred++;
        live.set(`${bucket}/${objectHash(bucket, key)}`, dataDirs(await this.metadata.versions(bucket, key)));
        this.log.warn('heal deferred', { bucket, key, error: (err as Error).message });
      }
      options.onProgress?.(++done, `${bucket}/${key}`);
      if (options.rate) await new Promise((r) => setTimeout(r, Math.max(0, 1000 / options.rate! - (Date.now() - started))));
    }
    await this.removeOrphans(live, graceMs, summary);
    return summary;
  }

  /** Bucket records and multipart upload records, kept on every node, restored where missing. */
  private async healSmallRecords(): Promise<number> {
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
  async healObject(bucket: string, key: string, summary: HealSummary, graceMs = DEFAULT_GRACE_MS): Promise<ObjectRecord[]> {
    summary.orphansRemoved += await this.metadata.collectTombstones(bucket, key, graceMs);
    const versions = await this.metadata.versions(bucket, key);
    if (await this.markerNobodyNeeds(versions, graceMs)) {
      // Deleted for good: its tombstone goes on a later pass, like any.
      await this.metadata.purge(versions[0]!);
      summary.orphansRemoved++;
      return [];
    }
    const newestNull = versions.find((r) => isNullVersion(r.versionId));
    if (newestNull && versions.some((r) => r !== newestNull && isNullVersion(r.versionId))) {
      await this.engine.pruneOlder(bucket, key, newestNull.versionId, newestNull.shardNodes);
    }
    const healed: ObjectRecord[] = [];
    for (const record of versions) {
      if (isNullVersion(record.versionId) && record !== newestNull) continue;
      healed.push(await this.healVersion(record, summary));
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
    if (!this.nodes.drives.every((d) => this.nodes.health.canWrite(d.index))) return false;
    // A bucket that cannot be read now may have versioning: only a known answer counts.
    const info = await this.buckets.get(only.bucket).catch((err: unknown) => (err instanceof NoSuchBucketError ? null : undefined));
    return info === null || (info !== undefined && info.versioning === undefined);
  }

  /** Checks and repairs one version; returns its record (where its shards are now). */
  private async healVersion(record: ObjectRecord, summary: HealSummary): Promise<ObjectRecord> {
    const { bucket, key } = record;
    summary.objectsChecked++;
    if (record.inline) return this.healInline(record, summary);
    // Copies belonging on nodes that cannot take writes now wait for them.
    const missing = (await this.metadata.missingCopies(record)).filter((n) => this.nodes.health.canWrite(n));
    if (missing.length > 0) {
      await this.metadata.put(record);
      summary.replicasRepaired += missing.length;
    }
    if (record.deleted) return record;
    const spans = dataSpans(record);
    const healed: DataSpan[] = [];
    for (const span of spans) {
      const result = await this.healSpan(record, span, summary);
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
      const spare = this.nodes.drives.findIndex((_, n) => writable(n) && !to.includes(n));
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
  private async healInline(record: ObjectRecord, summary: HealSummary): Promise<ObjectRecord> {
    const missing = await this.metadata.missingCopies(record);
    if (missing.length === 0) return record;
    const coder = this.codec.coder(record.codec);
    const size = new Geometry(record.size, record.blockSize, coder).blockBytes(0);
    const read = await Promise.all(record.shardNodes.map((_, i) => this.metadata.readShard(record, i).catch(() => undefined)));
    const blocks = read.map((b) => (b && b.byteLength === CHECKSUM_BYTES + size && checksumMatches(b.subarray(CHECKSUM_BYTES), b, 0) ? b.subarray(CHECKSUM_BYTES) : null));
    const holes = blocks.flatMap((b, i) => (b === null ? [i] : []));
    if (blocks.length - holes.length < coder.params.k) {
      summary.unrecoverable.push(`${record.bucket}/${record.key}`);
      return record;
    }
    const shards = blocks.map((b) => b ?? new Uint8Array(size));
    if (holes.length > 0) await coder.reconstruct(shards, holes);
    const framed = shards.map(framedBlock);
    const healed: ObjectRecord = { ...record, shardNodes: this.relocate(record.shardNodes, holes) };
    await this.metadata.put(healed, framed);
    summary.replicasRepaired += missing.length;
    summary.shardsRebuilt += holes.length;
    summary.bytesRewritten += holes.length * framed[0]!.byteLength;
    if (holes.length > 0) this.log.info('inline shards rebuilt', { bucket: record.bucket, key: record.key, shards: holes, nodes: healed.shardNodes });
    return healed;
  }

  /**
   * Rebuilds the span's bad shard files, on their node, or on a healthy node
   * not holding a shard of the span when theirs is offline. Returns the span
   * (with its new shard → node map), or undefined when more than m blocks of
   * some stripe are lost.
   */
  private async healSpan(record: ObjectRecord, span: DataSpan, summary: HealSummary): Promise<DataSpan | undefined> {
    if (span.size === 0) return span;
    const coder = this.codec.coder(span.codec);
    const { k } = coder.params;
    const geometry = new Geometry(span.size, span.blockSize, coder);
    const paths = span.shardNodes.map((_, i) => shardPath(record.bucket, record.key, span.dir, i));
    const files: (DriveFile | undefined)[] = await Promise.all(span.shardNodes.map((n, i) =>
      this.nodes.drives[n]!.open(paths[i]!).catch(() => undefined)));
    try {
      // A shard is rewritten whole when its file is missing, has the wrong
      // size or any rotten block. Two passes (find, then rebuild) keep
      // memory at one stripe whatever the object size.
      const readRow = (s: number) => Promise.all(files.map(async (f) => {
        if (!f || f.size !== geometry.shardFileBytes) return null;
        const framed = await f.read(geometry.offset(s), CHECKSUM_BYTES + geometry.blockBytes(s)).catch(() => null);
        const block = framed?.subarray(CHECKSUM_BYTES);
        return framed && block!.byteLength === geometry.blockBytes(s) && checksumMatches(block!, framed, 0) ? block! : null;
      }));
      const bad = new Set<number>();
      for (let s = 0; s < geometry.stripes; s++) {
        const row = await readRow(s);
        row.forEach((b, i) => { if (!b) bad.add(i); });
        if (row.filter((b) => b !== null).length < k) return undefined;
      }
      if (bad.size === 0) return span;

      const shardNodes = this.relocate(span.shardNodes, bad);

      const writers: (DriveWriter | null)[] = await Promise.all(shardNodes.map((n, i) =>
        bad.has(i) ? this.nodes.drives[n]!.createWriter(paths[i]!).catch(() => null) : Promise.resolve(null)));
      try {
        for (let s = 0; s < geometry.stripes; s++) {
          const size = geometry.blockBytes(s);
          const row = await readRow(s);
          if (row.filter((b) => b !== null).length < k) return undefined;
          const holes = row.flatMap((b, i) => (b === null ? [i] : []));
          const shards = row.map((b) => b ?? new Uint8Array(size));
          if (holes.length > 0) await coder.reconstruct(shards, holes);
          await Promise.all(writers.map(async (w, i) => {
            if (!w) return;
            await w.write(framedBlock(shards[i]!), geometry.offset(s));
          }));
        }
        await Promise.all(writers.map(async (w) => w?.commit()));
      } catch (err) {
        await Promise.all(writers.map((w) => w?.abort().catch(() => undefined)));
        throw err;
      }
      const rebuilt = writers.filter(Boolean).length;
      summary.shardsRebuilt += rebuilt;
      summary.bytesRewritten += rebuilt * geometry.shardFileBytes;
      this.log.info('shards rebuilt', { bucket: record.bucket, key: record.key, dir: span.dir, shards: [...bad], nodes: shardNodes });
      // Shards whose writer could not be opened stay where they were (still lost).
      return { ...span, shardNodes: shardNodes.map((n, i) => (bad.has(i) && !writers[i] ? span.shardNodes[i]! : n)) };
    } finally {
      await Promise.all(files.map((f) => f?.close().catch(() => undefined)));
    }
  }

  /**
   * Removes what no record refers to, once older than the grace period:
   * folders of live objects that no version uses, all data of
   * objects without any record, uploads without their upload record, and
   * temporary files.
   */
  private async removeOrphans(live: Map<string, Set<string>>, graceMs: number, summary: HealSummary): Promise<void> {
    const now = Date.now();
    const old = async (drive: NodeSet['drives'][number], path: string) => {
      const st = await drive.stat(path).catch(() => undefined);
      return st !== undefined && now - st.mtimeMs >= graceMs;
    };
    for (const drive of this.nodes.drives) {
      if (!this.nodes.health.canWrite(drive.index)) continue;
      for (const name of await drive.list(TMP_DIR).catch(() => [] as string[])) {
        if (await old(drive, `${TMP_DIR}/${name}`)) { await drive.remove(`${TMP_DIR}/${name}`); summary.orphansRemoved++; }
      }
      for (const bucket of await drive.list('data').catch(() => [] as string[])) {
        for (const fan of await drive.list(`data/${bucket}`).catch(() => [] as string[])) {
          for (const rest of await drive.list(`data/${bucket}/${fan}`).catch(() => [] as string[])) {
            const keep = live.get(`${bucket}/${fan}${rest}`) ?? new Set<string>();
            const dir = `data/${bucket}/${fan}/${rest}`;
            for (const version of await drive.list(dir).catch(() => [] as string[])) {
              if (keep.has(version)) continue;
              if (version.startsWith('u-')) {
                const id = version.slice(2);
                const upload = await readFromMajority(this.nodes, uploadRecordPath(bucket, id));
                if (upload || now - versionTime(id) < graceMs) continue;
              } else if (now - versionTime(version) < graceMs || !(await old(drive, `${dir}/${version}`))) {
                continue;
              }
              await drive.remove(`${dir}/${version}`);
              summary.orphansRemoved++;
            }
          }
        }
      }
    }
  }
}

/** The data folders (by version) the records use. */
function dataDirs(records: readonly ObjectRecord[]): Set<string> {
  return new Set(records.filter((r) => !r.deleted).flatMap(dataFolders));
}
