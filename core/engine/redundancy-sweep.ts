import 'reflect-metadata';

import { inject, injectable } from 'tsyringe';

import type { Logger } from '../contracts/logger.js';
import type { CopyRestore, MetadataStore, ObjectRecord, SweptKey } from '../contracts/metadata.js';
import type { NodeSet } from '../contracts/nodes.js';
import { WriteQuorumError } from '../errors.js';
import { objectHash } from '../layout.js';
import { TOKENS } from '../tokens.js';
import { isNullVersion } from '../version-id.js';
import type { HealOptions, HealSummary } from './heal-summary.js';
import { HealThrottle } from './heal-throttle.js';
import { countShards, ObjectRepair } from './object-repair.js';
import { inFlight } from './in-flight.js';
import { dataDirs } from './orphan-sweep.js';

/** Keys in flight at once on the careful path, and versions whose shard files are checked at once. */
const CAREFUL_IN_FLIGHT = 8;
const FILES_IN_FLIGHT = 16;

/**
 * The heal pass over every object: the metadata store's sweep reads every
 * node's records in key order, a large batch at a time; what is missing is
 * put back in one commit per node per batch (inline shards rebuilt from the
 * copies the sweep brought), large objects' shard files are checked a batch
 * at a time, and only keys that need judgement (tombstones, copies that
 * disagree, older null versions, a shard whose node cannot take it) take
 * the careful path object by object. A wiped node is refilled at the speed
 * of its shelf, not of a round trip per object.
 */
@injectable()
export class RedundancySweep {
  constructor(
    @inject(ObjectRepair) private readonly repair: ObjectRepair,
    @inject(TOKENS.MetadataStore) private readonly metadata: MetadataStore,
    @inject(TOKENS.Nodes) private readonly nodes: NodeSet,
    @inject(TOKENS.Logger) private readonly log: Logger,
  ) {}

  /** Sweeps every key; returns, for the orphan sweep, the data folders each object's versions use (objects with any). */
  async run(options: HealOptions, graceMs: number, summary: HealSummary): Promise<Map<string, Set<string>>> {
    const live = new Map<string, Set<string>>();
    const throttle = options.throttle ?? new HealThrottle(options.rate ?? 0);
    const deep = options.deep ?? false;
    let done = 0;
    let restoring: Promise<void> = Promise.resolve();
    for await (const batch of this.metadata.sweep(options.folder !== undefined ? { folder: options.folder } : {})) {
      const careful: SweptKey[] = [];
      const files: ObjectRecord[] = [];
      const inline: { record: ObjectRecord; nodes: number[]; shards: readonly (Uint8Array | undefined)[] }[] = [];
      const restores: CopyRestore[] = [];
      for (const swept of batch) {
        if (this.needsJudgement(swept, graceMs)) {
          careful.push(swept);
          continue;
        }
        for (const v of swept.versions) {
          summary.objectsChecked++;
          const nodes = v.missing.filter((n) => this.nodes.health.canWrite(n));
          if (v.record.inline) {
            if (nodes.length > 0) inline.push({ record: v.record, nodes, shards: v.shards ?? [] });
            else countShards(v.record, summary);
            continue;
          }
          if (nodes.length > 0) restores.push({ record: v.record, nodes });
          if (!v.record.deleted) files.push(v.record);
        }
      }
      // The batch's lost inline shards, rebuilt from the copies the sweep brought (a few KiB each: on this thread).
      const rebuilt = await Promise.all(inline.map((v) => this.repair.inlineShards(v.record, v.shards)));
      inline.forEach(({ record, nodes }, i) => {
        const r = rebuilt[i];
        if (!r) { summary.unrecoverable.push(`${record.bucket}/${record.key}`); return; }
        restores.push({ record, nodes, shards: r.framed });
        summary.shardsRebuilt += r.holes.length;
        summary.bytesRewritten += r.holes.reduce((sum, h) => sum + r.framed[h]!.byteLength, 0);
        countShards(record, summary);
      });
      // The copies go back while the next batch is read and rebuilt: one batch's writes in flight at a time.
      await restoring;
      restoring = this.metadata.restoreCopies(restores).then((n) => { summary.replicasRepaired += n; });
      await inFlight(files, FILES_IN_FLIGHT, async (record) => {
        const lost = summary.unrecoverable.length;
        const now = await this.deferrable(record, summary, () => this.repair.files(record, summary, deep));
        if (now && summary.unrecoverable.length === lost) countShards(now, summary);
      });
      for (const record of files) remember(live, [record]);
      await inFlight(careful, CAREFUL_IN_FLIGHT, async (swept) => {
        const { bucket, key } = swept;
        const records = await this.deferrable({ bucket, key }, summary, () => this.repair.object(bucket, key, summary, graceMs, deep));
        remember(live, records ?? await this.metadata.versions(bucket, key));
      });
      for (const { bucket, key } of batch) options.onProgress?.(++done, `${bucket}/${key}`, summary);
      await throttle.pace(done);
    }
    await restoring;
    return live;
  }

  /**
   * Whether a key takes the careful path: tombstones to collect or outvote,
   * copies that disagree on where shards are, older null versions to prune,
   * a lone delete marker that may be dropped, or an inline shard whose node
   * cannot take it (it moves to a spare).
   */
  private needsJudgement(swept: SweptKey, graceMs: number): boolean {
    if (swept.tombstones.length > 0 || swept.versions.length === 0) return true;
    if (swept.versions.some((v) => !v.agreed)) return true;
    if (swept.versions.filter((v) => isNullVersion(v.record.versionId)).length > 1) return true;
    const only = swept.versions.length === 1 ? swept.versions[0]!.record : undefined;
    if (only?.deleted && isNullVersion(only.versionId) && Date.now() - only.createdMs >= graceMs) return true;
    return swept.versions.some((v) => v.record.inline && this.movable(v.record, [...v.missing, ...swept.unread]));
  }

  /** Whether an inline record has a shard on one of `lost` that cannot take it back, and a spare node to move it to. */
  private movable(record: ObjectRecord, lost: readonly number[]): boolean {
    const writable = (n: number) => this.nodes.health.canWrite(n);
    return record.shardNodes.some((n) => lost.includes(n) && !writable(n)) && this.nodes.drives.some((d) => writable(d.index) && !record.shardNodes.includes(d.index));
  }

  /** Runs a repair; one that too few nodes can take now (read-only, refused, offline) is left to the next pass. */
  private async deferrable<T>(what: { bucket: string; key: string }, summary: HealSummary, repair: () => Promise<T>): Promise<T | undefined> {
    try {
      return await repair();
    } catch (err) {
      if (!(err instanceof WriteQuorumError) && (err as { code?: string }).code !== 'ERR_NODE_UNAVAILABLE') throw err;
      summary.deferred++;
      this.log.warn('heal deferred', { bucket: what.bucket, key: what.key, error: (err as Error).message });
      return undefined;
    }
  }
}

/** Adds the data folders of an object's versions to what the orphan sweep keeps. */
function remember(live: Map<string, Set<string>>, records: readonly ObjectRecord[]): void {
  const dirs = dataDirs(records);
  // Objects whose versions are all inline or markers have no data folders to keep.
  if (dirs.size === 0) return;
  const id = `${records[0]!.bucket}/${objectHash(records[0]!.bucket, records[0]!.key)}`;
  const known = live.get(id);
  if (known) for (const d of dirs) known.add(d);
  else live.set(id, dirs);
}

