import { describe, expect, it } from 'vitest';

import { RendezvousPlacement } from '../../plugins/placement-hash/rendezvous.js';

const nodes = (n: number) => Array.from({ length: n }, (_, i) => ({ index: i, id: `node-${i}` }));

describe('hash placement (rendezvous)', () => {
  const placement = new RendezvousPlacement();

  it('picks distinct nodes for the shards and for the metadata replicas', () => {
    for (let i = 0; i < 1000; i++) {
      const r = placement.place({ bucket: 'b', key: `k${i}`, nodes: nodes(7), metaCopies: 3, shardCount: 7 });
      expect(new Set(r.shards).size).toBe(7);
      expect(new Set(r.metadata).size).toBe(3);
    }
  });

  it('gives the same answer for the same object every time', () => {
    const req = { bucket: 'photos', key: '2026/a.jpg', nodes: nodes(7), metaCopies: 3, shardCount: 7 };
    expect(placement.place(req)).toEqual(placement.place({ ...req, nodes: nodes(7) }));
  });

  it('moves about 1/8 of first-shard placements when an 8th node joins 7', () => {
    let moved = 0;
    const total = 20_000;
    for (let i = 0; i < total; i++) {
      const before = placement.place({ bucket: 'b', key: `key-${i}`, nodes: nodes(7), metaCopies: 3, shardCount: 4 });
      const after = placement.place({ bucket: 'b', key: `key-${i}`, nodes: nodes(8), metaCopies: 3, shardCount: 4 });
      if (before.shards[0] !== after.shards[0]) moved++;
    }
    expect(moved / total).toBeGreaterThan(0.1);
    expect(moved / total).toBeLessThan(0.15);
  });
});
