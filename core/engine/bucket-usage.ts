import 'reflect-metadata';

import { inject, injectable } from 'tsyringe';

import type { KintsugiConfig } from '../config.js';
import type { Logger } from '../contracts/logger.js';
import type { MetadataStore } from '../contracts/metadata.js';
import type { NodeSet } from '../contracts/nodes.js';
import { QuotaExceededError } from '../errors.js';
import { usageLedgerDir, usageLedgerPath, usageRecordPath } from '../layout.js';
import { randomHex } from '../random-hex.js';
import { TOKENS } from '../tokens.js';
import { BucketStore } from './buckets.js';
import { MultipartUploads } from './multipart.js';
import { listOnMajority, readJsonFromMajority, writeOnAll } from './node-quorum.js';

/** What a bucket holds, as one count found it. */
export interface UsageFigures {
  /** keys whose current version is an object (not a delete marker) */
  objects: number;
  /** versions that are objects, current and noncurrent */
  versions: number;
  /** the versions' bytes */
  bytes: number;
  /** the versions' bytes as stored: with parity, by the data/parity split in use */
  storedBytes: number;
  /** multipart uploads in progress */
  uploads: number;
  /** the bytes of their parts (the newest attempt of each part number) */
  uploadBytes: number;
  /** when the count finished */
  countedMs: number;
}

/** What a quota counts: every version's bytes and the parts of incomplete uploads. */
export const quotaBytesOf = (u: Pick<UsageFigures, 'bytes' | 'uploadBytes'>): number => u.bytes + u.uploadBytes;

const PAGE = 1000;

/**
 * Bucket usage. A count reads what listings read — every version of every
 * key (ListObjectVersions) and every upload in progress with its parts — so
 * it is exact whenever no write runs during it, after crashes and heals as
 * much as before them (there are no counters to drift). Each count is
 * published on the nodes (`usage/<bucket>`), where status pages, metrics and
 * `kintsugi status` read it; every heal pass counts every bucket again.
 *
 * Quotas are kept between counts by a ledger on the nodes: every process
 * that commits bytes into a bucket with a quota rewrites its own entry
 * (`usage-ledger/<bucket>/<process>`: the bytes it committed there since it
 * started) before it answers. A gateway judges a write on its newest count
 * plus what every entry gained since that count began, plus the bytes of
 * its own writes let in but not yet committed. Deletes and overwrites earn
 * nothing back in the ledger, so the estimate never falls short of the
 * truth; a write the estimate would refuse is judged again on a fresh count,
 * so a delete does bring a bucket back under. Writers on several gateways can
 * so overshoot a quota by at most the bytes they had in flight together:
 * writes let in before the others' commits reached the ledger.
 */
@injectable()
export class BucketUsage {
  /** this process's name in the ledgers */
  private readonly writer = randomHex(8);
  /** per bucket: the newest count, and the ledger as it stood when that count began */
  private readonly counts = new Map<string, { figures: UsageFigures; ledger: Map<string, number> }>();
  /** per bucket: the bytes this process committed there since it started */
  private readonly mine = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  private readonly counting = new Map<string, Promise<UsageFigures>>();

  constructor(
    @inject(TOKENS.Config) private readonly config: KintsugiConfig,
    @inject(TOKENS.MetadataStore) private readonly metadata: MetadataStore,
    @inject(TOKENS.Nodes) private readonly nodes: NodeSet,
    @inject(MultipartUploads) private readonly uploads: MultipartUploads,
    @inject(BucketStore) private readonly buckets: BucketStore,
    @inject(TOKENS.Logger) private readonly log: Logger,
  ) {}

  /** Counts the bucket now (one count at a time per bucket in this process) and publishes the figures. */
  count(bucket: string): Promise<UsageFigures> {
    const running = this.counting.get(bucket);
    if (running) return running;
    const done = (async () => {
      // Read first: a commit between this read and the count is counted twice, never missed.
      const ledger = await this.ledger(bucket);
      const figures = await this.countNow(bucket);
      this.counts.set(bucket, { figures, ledger });
      await writeOnAll(this.nodes, usageRecordPath(bucket), Buffer.from(JSON.stringify(figures))).catch(() => undefined);
      return figures;
    })().finally(() => this.counting.delete(bucket));
    this.counting.set(bucket, done);
    return done;
  }

  /**
   * Counts every bucket again (and publishes the figures): after each heal
   * pass, so that usage is reconciled with what the pass found.
   */
  async countEvery(): Promise<void> {
    for (const bucket of await this.buckets.list().catch(() => [])) {
      await this.count(bucket.name).catch((err: Error) => this.log.warn('counting a bucket\'s usage failed', { bucket: bucket.name, error: err.message }));
    }
  }

  /** The figures of the newest count published on the nodes (by any gateway or heal pass), if any. */
  async published(bucket: string): Promise<UsageFigures | undefined> {
    return readJsonFromMajority<UsageFigures>(this.nodes, usageRecordPath(bucket)).catch(() => undefined);
  }

  /**
   * A write of this process committed `bytes` into a bucket with a quota:
   * its ledger entry says so before the write is answered.
   */
  async committed(bucket: string, bytes: number): Promise<void> {
    const total = (this.mine.get(bucket) ?? 0) + bytes;
    this.mine.set(bucket, total);
    await writeOnAll(this.nodes, usageLedgerPath(bucket, this.writer), Buffer.from(JSON.stringify({ bytes: total }))).catch(() => undefined);
  }

  /**
   * Lets a write of `adding` bytes in under `quota`, or throws
   * QuotaExceededError; the write calls the returned release once it
   * committed or failed (its bytes are held as in flight until then).
   */
  async admit(bucket: string, quota: number, adding: number): Promise<() => void> {
    const held = () => this.inFlight.get(bucket) ?? 0;
    if (!this.counts.has(bucket)) await this.count(bucket);
    let used = await this.estimate(bucket);
    if (used + held() + adding > quota) {
      await this.count(bucket);
      used = await this.estimate(bucket);
      if (used + held() + adding > quota) throw new QuotaExceededError(bucket, quota, used, adding);
    }
    this.inFlight.set(bucket, held() + adding);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = held() - adding;
      if (left > 0) this.inFlight.set(bucket, left);
      else this.inFlight.delete(bucket);
    };
  }

  /**
   * What the cluster can hold of objects' bytes: its nodes' file systems
   * (each counted once, however many node folders share it: those report
   * the same free and total bytes) times the data share of a stripe, k/(k+m).
   */
  clusterSpace(): { capacityBytes: number; availableBytes: number } {
    const seen = new Set<string>();
    let total = 0;
    let free = 0;
    for (const n of this.nodes.health.status()) {
      if (n.state === 'removed' || !n.space) continue;
      const fs = `${n.space.totalBytes}/${n.space.freeBytes}`;
      if (seen.has(fs)) continue;
      seen.add(fs);
      total += n.space.totalBytes;
      free += n.space.freeBytes;
    }
    const share = this.config.data / (this.config.data + this.config.parity);
    return { capacityBytes: Math.floor(total * share), availableBytes: Math.floor(free * share) };
  }

  /** The quota's bytes now, as far as this process can tell: the newest count and what the ledger gained since. */
  async estimate(bucket: string): Promise<number> {
    if (!this.counts.has(bucket)) await this.count(bucket);
    const { figures, ledger: then } = this.counts.get(bucket)!;
    let gained = 0;
    for (const [writer, bytes] of await this.ledger(bucket)) gained += Math.max(0, bytes - (then.get(writer) ?? 0));
    return quotaBytesOf(figures) + gained;
  }

  /** Every process's ledger entry for the bucket. */
  private async ledger(bucket: string): Promise<Map<string, number>> {
    const dir = usageLedgerDir(bucket);
    const names = await listOnMajority(this.nodes, dir);
    const entries = await Promise.all(names.map(async (name) => {
      const entry = await readJsonFromMajority<{ bytes: number }>(this.nodes, `${dir}/${name}`).catch(() => undefined);
      return [name, entry?.bytes ?? 0] as const;
    }));
    return new Map(entries);
  }

  private async countNow(bucket: string): Promise<UsageFigures> {
    const { data: k, parity: m } = this.config;
    const figures: UsageFigures = { objects: 0, versions: 0, bytes: 0, storedBytes: 0, uploads: 0, uploadBytes: 0, countedMs: 0 };
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      const page = await this.metadata.listVersions({ bucket, maxKeys: PAGE, ...(keyMarker !== undefined ? { keyMarker } : {}), ...(versionIdMarker !== undefined ? { versionIdMarker } : {}) });
      for (const v of page.entries) {
        if (v.deleted) continue;
        figures.versions++;
        if (v.isLatest) figures.objects++;
        figures.bytes += v.size;
        figures.storedBytes += Math.ceil(v.size / k) * (k + m);
      }
      if (!page.isTruncated) break;
      keyMarker = page.nextKeyMarker;
      versionIdMarker = page.nextVersionIdMarker;
    }
    for (const upload of await this.uploads.list(bucket)) {
      figures.uploads++;
      for (const part of await this.uploads.parts(upload)) figures.uploadBytes += part.size;
    }
    figures.countedMs = Date.now();
    return figures;
  }
}
