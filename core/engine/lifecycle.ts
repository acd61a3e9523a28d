import 'reflect-metadata';

import { inject, injectable } from 'tsyringe';

import type { KintsugiConfig } from '../config.js';
import type { Logger } from '../contracts/logger.js';
import type { VersionEntry } from '../contracts/metadata.js';
import { ObjectLockedError } from '../errors.js';
import { TOKENS } from '../tokens.js';
import { BucketStore, type BucketInfo } from './buckets.js';
import { afterDays, needsTags, ruleMatches, type LifecycleRule, type TagPair } from './lifecycle-rules.js';
import { MultipartUploads } from './multipart.js';
import { ObjectEngine } from './object-engine.js';

/** What lifecycle passes looked at and did. */
export interface LifecycleCounts {
  versionsScanned: number;
  currentExpired: number;
  noncurrentExpired: number;
  deleteMarkersRemoved: number;
  uploadsAborted: number;
  /** noncurrent versions due to expire that Object Lock kept */
  lockedKept: number;
}

export interface LifecycleStatus {
  running: boolean;
  passes: number;
  /** since the process started */
  totals: LifecycleCounts;
  lastPass?: LifecycleCounts & { finishedMs: number; seconds: number };
}

const zero = (): LifecycleCounts => ({ versionsScanned: 0, currentExpired: 0, noncurrentExpired: 0, deleteMarkersRemoved: 0, uploadsAborted: 0, lockedKept: 0 });

/** A listing page of versions, and so the most held in memory for one key's versions at a time. */
const PAGE = 1000;

/**
 * Applies the buckets' lifecycle rules: expires current versions (a delete
 * marker where versioning is on), noncurrent versions and the delete markers
 * left with nothing behind them, and aborts incomplete uploads. One runs per
 * cluster (in the server's primary, like the heal scanner), at most
 * LIFECYCLE_RATE versions a second, a pass every quarter of a lifecycle day
 * (at most an hour apart).
 */
@injectable()
export class LifecycleWorker {
  private current: LifecycleStatus = { running: false, passes: 0, totals: zero() };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @inject(TOKENS.Config) private readonly config: KintsugiConfig,
    @inject(ObjectEngine) private readonly engine: ObjectEngine,
    @inject(BucketStore) private readonly buckets: BucketStore,
    @inject(MultipartUploads) private readonly uploads: MultipartUploads,
    @inject(TOKENS.Logger) private readonly log: Logger,
  ) {}

  get dayMs(): number {
    return this.config.lifecycleDayS * 1000;
  }

  status(): LifecycleStatus {
    return this.current;
  }

  /** The status of the worker in another process (the primary's, in a server worker). */
  adopt(status: LifecycleStatus): void {
    this.current = status;
  }

  /** Runs passes in the background; `onPass` hears the status after each. */
  start(onPass?: (status: LifecycleStatus) => void): void {
    const everyMs = Math.min(3600_000, Math.max(1000, this.dayMs / 4));
    const run = async () => {
      if (this.current.running) return;
      this.current = { ...this.current, running: true };
      try {
        await this.pass();
      } catch (err) {
        this.log.warn('lifecycle pass failed', { error: (err as Error).message });
      } finally {
        this.current = { ...this.current, running: false };
        onPass?.(this.current);
      }
    };
    this.timer = setInterval(() => { void run(); }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass over every bucket with rules. */
  async pass(now = Date.now()): Promise<LifecycleCounts> {
    const started = Date.now();
    const counts = zero();
    for (const bucket of await this.buckets.list()) {
      const rules = (bucket.lifecycle ?? []).filter((r) => r.enabled);
      if (rules.length === 0) continue;
      if (rules.some((r) => r.expiration || r.noncurrentExpiration)) await this.objects(bucket, rules, now, counts);
      if (rules.some((r) => r.abortIncompleteDays !== undefined)) await this.incompleteUploads(bucket, rules, now, counts);
    }
    const totals = { ...this.current.totals };
    for (const k of Object.keys(counts) as (keyof LifecycleCounts)[]) totals[k] += counts[k];
    this.current = { ...this.current, passes: this.current.passes + 1, totals, lastPass: { ...counts, finishedMs: Date.now(), seconds: (Date.now() - started) / 1000 } };
    if (counts.currentExpired + counts.noncurrentExpired + counts.deleteMarkersRemoved + counts.uploadsAborted > 0) this.log.info('lifecycle pass', { ...counts });
    return counts;
  }

  /** Every key's versions, a key at a time (one key's versions may span pages). */
  private async objects(bucket: BucketInfo, rules: LifecycleRule[], now: number, counts: LifecycleCounts): Promise<void> {
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    let key: string | undefined;
    let versions: VersionEntry[] = [];
    const started = Date.now();
    for (;;) {
      const page = await this.engine.listVersions({
        bucket: bucket.name, maxKeys: PAGE, ...(keyMarker !== undefined ? { keyMarker } : {}), ...(versionIdMarker !== undefined ? { versionIdMarker } : {}),
      });
      for (const v of page.entries) {
        if (v.key !== key) {
          if (key !== undefined) await this.applyToKey(bucket, rules, key, versions, now, counts);
          key = v.key;
          versions = [];
        }
        versions.push(v);
      }
      counts.versionsScanned += page.entries.length;
      // At most LIFECYCLE_RATE versions a second: traffic comes first.
      const due = started + (counts.versionsScanned / this.config.lifecycleRate) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      if (!page.isTruncated) break;
      keyMarker = page.nextKeyMarker;
      versionIdMarker = page.nextVersionIdMarker;
    }
    if (key !== undefined) await this.applyToKey(bucket, rules, key, versions, now, counts);
  }

  /** The rules that match a version, reading its tags only when a rule filters on them. */
  private async matching(bucket: string, rules: LifecycleRule[], v: VersionEntry): Promise<LifecycleRule[]> {
    let tags: readonly TagPair[] | undefined;
    if (!v.deleted && rules.some(needsTags)) tags = (await this.engine.head(bucket, v.key, v.versionId).catch(() => undefined))?.tags ?? [];
    return rules.filter((r) => ruleMatches(r, { key: v.key, size: v.size, ...(tags ? { tags } : {}) }));
  }

  /** `versions`: the key's versions newest first, as listed (the first is the latest). */
  private async applyToKey(bucket: BucketInfo, rules: LifecycleRule[], key: string, versions: VersionEntry[], now: number, counts: LifecycleCounts): Promise<void> {
    const latest = versions[0]!;
    if (!latest.isLatest) return;
    try {
      if (!latest.deleted) {
        const expires = (await this.matching(bucket.name, rules, latest)).some((r) => r.expiration && (
          (r.expiration.days !== undefined && afterDays(latest.modifiedMs, r.expiration.days, this.dayMs) <= now)
          || (r.expiration.dateMs !== undefined && r.expiration.dateMs <= now)));
        if (expires) {
          await this.engine.delete(bucket.name, key, { versioning: bucket.versioning });
          counts.currentExpired++;
          // Its versions are noncurrent from now: the next pass counts their days.
          return;
        }
      } else if (versions.length === 1 && (await this.matching(bucket.name, rules, latest)).some((r) => r.expiration?.expiredObjectDeleteMarker)) {
        await this.engine.delete(bucket.name, key, { versionId: latest.versionId });
        counts.deleteMarkersRemoved++;
        return;
      }
      // Noncurrent versions: each became noncurrent when the next newer one was made.
      for (let i = 1; i < versions.length; i++) {
        const v = versions[i]!;
        const since = versions[i - 1]!.modifiedMs;
        const expires = (await this.matching(bucket.name, rules, v)).some((r) => r.noncurrentExpiration
          && i - 1 >= (r.noncurrentExpiration.newer ?? 0)
          && afterDays(since, r.noncurrentExpiration.days, this.dayMs) <= now);
        if (!expires) continue;
        try {
          await this.engine.delete(bucket.name, key, { versionId: v.versionId, objectLock: bucket.objectLock !== undefined });
          counts.noncurrentExpired++;
        } catch (err) {
          // Object Lock keeps it: expired when its lock ends, on a later pass.
          if (!(err instanceof ObjectLockedError)) throw err;
          counts.lockedKept++;
        }
      }
    } catch (err) {
      this.log.warn('lifecycle action failed', { bucket: bucket.name, key, error: (err as Error).message });
    }
  }

  private async incompleteUploads(bucket: BucketInfo, rules: LifecycleRule[], now: number, counts: LifecycleCounts): Promise<void> {
    for (const upload of await this.uploads.list(bucket.name)) {
      const due = rules.some((r) => r.abortIncompleteDays !== undefined && ruleMatches(r, { key: upload.key })
        && afterDays(upload.initiatedMs, r.abortIncompleteDays, this.dayMs) <= now);
      if (!due) continue;
      await this.uploads.abort(bucket.name, upload.key, upload.uploadId).then(
        () => { counts.uploadsAborted++; },
        (err: Error) => this.log.warn('lifecycle abort failed', { bucket: bucket.name, key: upload.key, error: err.message }),
      );
    }
  }
}
