import { describe, expect, it } from 'vitest';

import type { Placement } from '../../core/contracts/placement.js';
import { RendezvousPlacement } from '../../plugins/placement-hash/rendezvous.js';
import { RingPlacement } from '../../plugins/placement-ring/ring.js';

const nodes = (n: number) => Array.from({ length: n }, (_, i) => ({ index: i, id: `node-${i}` }));
const KEYS = 100_000;

/** Count of shard placements per node over many keys, as max/min. */
function spread(placement: Placement, nodeCount: number, shardCount: number): number {
  const load = new Array(nodeCount).fill(0);
  for (let i = 0; i < KEYS; i++) {
    for (const n of placement.place({ bucket: 'b', key: `k/${i}`, nodes: nodes(nodeCount), metaCopies: 3, shardCount }).shards) load[n]++;
  }
  return Math.max(...load) / Math.min(...load);
}

/** Share of (key, shard slot) placements that change when a node is added. */
function movement(placement: Placement, from: number, shardCount: number): number {
  let moved = 0;
  for (let i = 0; i < KEYS; i++) {
    const a = placement.place({ bucket: 'b', key: `k/${i}`, nodes: nodes(from), metaCopies: 3, shardCount }).shards;
    const b = placement.place({ bucket: 'b', key: `k/${i}`, nodes: nodes(from + 1), metaCopies: 3, shardCount }).shards;
    moved += a.filter((n) => !b.includes(n)).length;
  }
  return moved / (KEYS * shardCount);
}

describe.each([
  ['hash (rendezvous)', new RendezvousPlacement()],
  ['ring (consistent hashing, 160 virtual nodes)', new RingPlacement()],
] as const)('%s placement', (name, placement) => {
  it('picks distinct nodes for the shards and for the metadata replicas', () => {
    for (let i = 0; i < 2000; i++) {
      const r = placement.place({ bucket: 'b', key: `k${i}`, nodes: nodes(12), metaCopies: 3, shardCount: 7 });
      expect(new Set(r.shards).size).toBe(7);
      expect(new Set(r.metadata).size).toBe(3);
    }
  });

  it('gives the same answer for the same object every time', () => {
    const req = { bucket: 'photos', key: '2026/a.jpg', nodes: nodes(9), metaCopies: 3, shardCount: 7 };
    expect(placement.place(req)).toEqual(placement.place({ ...req, nodes: nodes(9) }));
  });

  it('spreads 100k objects evenly: max/min shard load on 12 nodes within 1.2', () => {
    const ratio = spread(placement, 12, 7);
    console.log(`${name}: max/min load over ${KEYS} keys, 4+3 on 12 nodes = ${ratio.toFixed(3)}`);
    expect(ratio).toBeLessThan(1.2);
  });

  it('moves about 1/8 of shard placements when an 8th node joins 7 (4 shards a key)', () => {
    const share = movement(placement, 7, 4);
    console.log(`${name}: adding node 8 to 7 moved ${(share * 100).toFixed(1)}% of placements (ideal 12.5%)`);
    expect(share).toBeGreaterThan(0.08);
    expect(share).toBeLessThan(0.17);
  });
});
