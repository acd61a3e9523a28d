import { createHash } from 'node:crypto';

import type { NodeRef, Placement, PlacementRequest, PlacementResult } from '../../core/contracts/placement.js';

/** 32-bit position on the ring from MD5 (well spread; speed is not critical). */
function position(text: string): number {
  return createHash('md5').update(text).digest().readUInt32BE(0);
}

interface Ring {
  points: Uint32Array;
  owners: Int32Array;
}

/**
 * Consistent hashing on a ring with virtual nodes (as in Dynamo or Swift's
 * early rings): each node owns VNODES points; an object starts at its key's
 * position and takes the next distinct nodes clockwise. More points even
 * out the load; adding a node takes over only the arcs its points land on.
 */
export class RingPlacement implements Placement {
  readonly name = 'ring';
  static readonly VNODES = 160;
  private cache = new Map<string, Ring>();

  place(req: PlacementRequest): PlacementResult {
    const ring = this.ring(req.nodes);
    return {
      metadata: this.walk(ring, position(`meta\u0000${req.bucket}\u0000${req.key}`), req.metaCopies, req.nodes.length),
      shards: this.walk(ring, position(`shard\u0000${req.bucket}\u0000${req.key}`), req.shardCount, req.nodes.length),
    };
  }

  private walk(ring: Ring, from: number, count: number, nodeCount: number): number[] {
    const out: number[] = [];
    let lo = 0;
    let hi = ring.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring.points[mid]! < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = 0; out.length < Math.min(count, nodeCount) && i < ring.points.length; i++) {
      const owner = ring.owners[(lo + i) % ring.points.length]!;
      if (!out.includes(owner)) out.push(owner);
    }
    return out;
  }

  private ring(nodes: readonly NodeRef[]): Ring {
    const id = nodes.map((n) => `${n.index}:${n.id}:${n.weight ?? 1}`).join(',');
    let ring = this.cache.get(id);
    if (!ring) {
      // A node's share of the ring follows its weight.
      const entries = nodes.flatMap((n) => Array.from({ length: Math.max(1, Math.round(RingPlacement.VNODES * (n.weight ?? 1))) }, (_, v) => [position(`${n.id}#${v}`), n.index] as const));
      entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      ring = { points: Uint32Array.from(entries.map((e) => e[0])), owners: Int32Array.from(entries.map((e) => e[1])) };
      this.cache.set(id, ring);
    }
    return ring;
  }
}
