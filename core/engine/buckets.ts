import 'reflect-metadata';

import { inject, injectable } from 'tsyringe';

import type { MetadataStore } from '../contracts/metadata.js';
import type { NodeSet } from '../contracts/nodes.js';
import { BucketExistsError, BucketNotEmptyError, BucketStateError, NoSuchBucketError } from '../errors.js';
import { usageLedgerDir, usageRecordPath } from '../layout.js';
import { TOKENS } from '../tokens.js';
import type { BucketEpoch } from './bucket-epoch.js';
import type { CorsRule } from './cors-rules.js';
import type { LifecycleRule } from './lifecycle-rules.js';
import { assertBucketName } from './names.js';
import type { ObjectLockConfig } from './object-lock.js';
import { listOnMajority, readFromMajority, removeOnAll, writeOnAll } from './node-quorum.js';

/** A deletion mark older than this was left by a DeleteBucket that never finished. */
const DELETE_STALE_MS = 10_000;

export interface BucketInfo {
  name: string;
  createdMs: number;
  /** when a DeleteBucket began checking that the bucket is empty (absent otherwise) */
  deletingSinceMs?: number;
  /** the bucket's tag set, in the order it was put (absent: none) */
  tags?: readonly (readonly [string, string])[];
  /** absent until versioning is first set; once enabled it can only be suspended */
  versioning?: 'Enabled' | 'Suspended';
  /** the lifecycle rules (absent: none) */
  lifecycle?: readonly LifecycleRule[];
  /** the CORS rules (absent: no CORS) */
  cors?: readonly CorsRule[];
  /** the bucket policy as it was put (JSON; absent: none) */
  policy?: string;
  /** the canned ACL public-read: anyone may list the bucket and read its objects */
  publicRead?: boolean;
  /** Object Lock is enabled (for good: versioning can no longer be suspended), with its default retention if any */
  objectLock?: ObjectLockConfig;
  /** a hard quota on the bytes of every version and of incomplete uploads' parts (absent: none) */
  quotaBytes?: number;
}

/**
 * Buckets are tiny records on every node (`buckets/<name>`): a bucket exists
 * when a majority of the nodes that answer hold it, so losing PARITY nodes
 * neither loses nor resurrects one. A process keeps a bucket it read while
 * its gateway's bucket epoch stays the same (see BucketEpoch): a bucket
 * created or deleted by any worker is seen by every other on its next
 * request. Gateways that share nodes with gateways on other hosts keep a
 * bucket for a short lease, and changes wait it out (LeaseBucketEpoch), so
 * a bucket deleted through one is gone for all at once.
 *
 * DeleteBucket first marks the bucket as being deleted, then checks that
 * it is empty, then removes it (or unmarks it); a write checks its bucket
 * again after committing (see `stillExists`). A write that sees the bucket
 * unmarked committed before the mark, so the emptiness check sees it and the
 * delete fails; one that sees the mark waits for the delete's outcome; one
 * that sees the bucket gone takes itself back. No write is acknowledged
 * into a deleted bucket.
 */
@injectable()
export class BucketStore {
  /** Buckets read while the epoch was as noted, for CACHE_MS at most. */
  private readonly kept = new Map<string, { info: BucketInfo; epoch: string; until: number }>();
  private static readonly CACHE_MS = 2000;

  constructor(
    @inject(TOKENS.Nodes) private readonly nodes: NodeSet,
    @inject(TOKENS.MetadataStore) private readonly metadata: MetadataStore,
    @inject(TOKENS.BucketEpoch) private readonly epoch: BucketEpoch,
  ) {}

  /** A bucket kept from an earlier read, when no bucket changed on this gateway since. */
  private keptInfo(name: string, epoch: string | undefined): BucketInfo | undefined {
    const hit = this.kept.get(name);
    return hit && epoch !== undefined && hit.epoch === epoch && Date.now() < hit.until ? hit.info : undefined;
  }

  async list(): Promise<BucketInfo[]> {
    const names = await listOnMajority(this.nodes, 'buckets');
    const infos = await Promise.all(names.map((n) => this.get(n).catch(() => undefined)));
    return infos.filter((i): i is BucketInfo => !!i).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** The bucket, or NoSuchBucketError. */
  async get(name: string): Promise<BucketInfo> {
    assertBucketName(name);
    // Read before the nodes: a change made meanwhile makes this read not kept.
    const epoch = this.epoch.current();
    const kept = this.keptInfo(name, epoch);
    if (kept) return kept;
    // A lease counts from before the read: a change that waits it out comes after the copy expired.
    const until = Date.now() + (this.epoch.settleMs || BucketStore.CACHE_MS);
    const bytes = await readFromMajority(this.nodes, `buckets/${name}`);
    if (!bytes) throw new NoSuchBucketError(name);
    const info = JSON.parse(Buffer.from(bytes).toString('utf8')) as BucketInfo;
    if (epoch !== undefined && info.deletingSinceMs === undefined) this.kept.set(name, { info, epoch, until });
    return info;
  }

  /**
   * Whether the bucket still exists, asked by a write after it committed:
   * while a DeleteBucket is deciding, its outcome is awaited (a mark older
   * than DELETE_STALE_MS was left by a delete that died).
   */
  async stillExists(name: string): Promise<boolean> {
    // A kept bucket is one read unmarked with no bucket changed since: a
    // DeleteBucket marks (and changes the epoch) before it checks emptiness,
    // so it will see this write.
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      let info: BucketInfo;
      try {
        info = await this.get(name);
      } catch (err) {
        if (err instanceof NoSuchBucketError) return false;
        throw err;
      }
      if (info.deletingSinceMs === undefined || Date.now() - info.deletingSinceMs > DELETE_STALE_MS) return true;
      await new Promise((r) => setTimeout(r, pause));
    }
  }

  /** `objectLock`: created with Object Lock enabled, and so with versioning enabled */
  async create(name: string, objectLock = false): Promise<void> {
    assertBucketName(name);
    if (await this.get(name).then(() => true, () => false)) throw new BucketExistsError(name);
    await this.write({ name, createdMs: Date.now(), ...(objectLock ? { versioning: 'Enabled', objectLock: {} } : {}) });
    // No process keeps a bucket's absence: nothing to wait for.
    this.kept.delete(name);
    this.epoch.changed();
  }

  async delete(name: string): Promise<void> {
    const { deletingSinceMs: _, ...info } = await this.get(name);
    await this.write({ ...info, deletingSinceMs: Date.now() });
    await this.changed(name);
    // Once versioning was set, noncurrent versions and delete markers keep a
    // bucket from being deleted too, as in S3; a bucket that never had it
    // holds only the markers that stand for deletes (see ObjectEngine.delete).
    const page = info.versioning ? await this.metadata.listVersions({ bucket: name, maxKeys: 1 }) : await this.metadata.list({ bucket: name, maxKeys: 1 });
    if (page.entries.length > 0 || page.commonPrefixes.length > 0) {
      // Unmarked as it was, settings included.
      await this.write(info);
      await this.changed(name);
      throw new BucketNotEmptyError(name);
    }
    await removeOnAll(this.nodes, `buckets/${name}`);
    // A bucket made again under the name starts with no usage counted.
    await removeOnAll(this.nodes, usageRecordPath(name)).catch(() => undefined);
    await removeOnAll(this.nodes, usageLedgerDir(name)).catch(() => undefined);
    await this.changed(name);
  }

  /** Replaces the bucket's tag set (none: removes it). */
  async setTags(name: string, tags: readonly (readonly [string, string])[] | undefined): Promise<void> {
    await this.update(name, ({ tags: _, ...info }) => (tags ? { ...info, tags } : info));
  }

  async setVersioning(name: string, versioning: 'Enabled' | 'Suspended'): Promise<void> {
    await this.update(name, (info) => {
      if (info.objectLock && versioning !== 'Enabled') throw new BucketStateError('An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.');
      return { ...info, versioning };
    });
  }

  /** Enables Object Lock (for good) with `config`'s default retention; versioning must be enabled already. */
  async setObjectLock(name: string, config: ObjectLockConfig): Promise<void> {
    await this.update(name, (info) => {
      if (info.versioning !== 'Enabled') throw new BucketStateError('Versioning must be \'Enabled\' on the bucket to apply a Object Lock configuration');
      return { ...info, objectLock: config };
    });
  }

  /** Replaces the bucket's lifecycle rules (none: removes them). */
  async setLifecycle(name: string, rules: readonly LifecycleRule[] | undefined): Promise<void> {
    await this.update(name, ({ lifecycle: _, ...info }) => (rules ? { ...info, lifecycle: rules } : info));
  }

  /** Replaces the bucket's CORS rules (none: removes them). */
  async setCors(name: string, rules: readonly CorsRule[] | undefined): Promise<void> {
    await this.update(name, ({ cors: _, ...info }) => (rules ? { ...info, cors: rules } : info));
  }

  /** Replaces the bucket's policy (none: removes it); `policy` was checked by parsePolicy. */
  async setPolicy(name: string, policy: string | undefined): Promise<void> {
    await this.update(name, ({ policy: _, ...info }) => (policy ? { ...info, policy } : info));
  }

  /** Sets the canned ACL: public-read, or private. */
  async setPublicRead(name: string, publicRead: boolean): Promise<void> {
    await this.update(name, ({ publicRead: _, ...info }) => (publicRead ? { ...info, publicRead } : info));
  }

  /** Sets (or, undefined, removes) the bucket's hard quota in bytes. */
  async setQuota(name: string, quotaBytes: number | undefined): Promise<void> {
    await this.update(name, ({ quotaBytes: _, ...info }) => (quotaBytes !== undefined ? { ...info, quotaBytes } : info));
  }

  /** Rewrites the bucket's record with a setting changed; every worker sees it on its next request. */
  private async update(name: string, change: (info: BucketInfo) => BucketInfo): Promise<void> {
    // Read from the nodes, not a kept copy: the record is rewritten whole.
    this.kept.delete(name);
    const info = await this.get(name);
    if (info.deletingSinceMs !== undefined) throw new NoSuchBucketError(name);
    await this.write(change(info));
    await this.changed(name);
  }

  /** Drops what this process kept, tells the others, and waits until no process anywhere may keep the old copy. */
  private async changed(name: string): Promise<void> {
    this.kept.delete(name);
    this.epoch.changed();
    if (this.epoch.settleMs > 0) await new Promise((r) => setTimeout(r, this.epoch.settleMs));
  }

  private write(info: BucketInfo): Promise<void> {
    return writeOnAll(this.nodes, `buckets/${info.name}`, Buffer.from(JSON.stringify(info)));
  }
}
