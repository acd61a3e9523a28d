/* What heals report and take: shared by the healer's scheduling, object repair and orphan sweep. */

import type { HealThrottle } from './heal-throttle.js';

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
  /** shards each node holds (node index → count) of the versions checked and found sound or repaired */
  shardsByNode: Record<number, number>;
}

export interface HealOptions {
  /** leftovers (temporary files, unreferenced versions, abandoned uploads) younger than this are kept */
  graceMs?: number;
  /** called as objects are done (after each batch of keys), for a progress bar: keys done, the last one, what was found so far */
  onProgress?: (done: number, current: string, summary: HealSummary) => void;
  /** objects per second at most (the background scanner leaves room for traffic) */
  rate?: number;
  /** the pace, changeable while the pass runs (in place of `rate`) */
  throttle?: HealThrottle;
  /** sweep one key's record folder alone (a scrub's report of a copy whose key it could not read) */
  folder?: string;
  /** read every block of every large object's shard files (else: check each is there and whole; bytes are the scrub's) */
  deep?: boolean;
  /** wait for the listing indexes found unsound to be rebuilt (a one-off `kintsugi heal`) */
  waitForIndexes?: boolean;
}

export const emptySummary = (): HealSummary => ({ objectsChecked: 0, shardsRebuilt: 0, replicasRepaired: 0, bytesRewritten: 0, orphansRemoved: 0, unrecoverable: [], indexesRebuilt: [], deferred: 0, shardsByNode: {} });

/** An hour: an upload or write this young may still be in flight. */
export const DEFAULT_GRACE_MS = 3600_000;
