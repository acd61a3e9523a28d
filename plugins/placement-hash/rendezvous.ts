import type { Placement, PlacementRequest, PlacementResult } from '../../core/contracts/placement.js';

/** FNV-1a over the UTF-16 code units of a string, 32 bits. */
function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's 32-bit finaliser: spreads every input bit over the output. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Rendezvous (highest-random-weight) hashing: every node gets a score from
 * hash(object, node) and the highest scores win. Adding a node only moves the
 * objects for which the new node scores in the top slots (about 1/N of them).
 * Metadata and shards use independently salted scores so that the metadata
 * replicas are not always the first shard holders.
 */
export class RendezvousPlacement implements Placement {
  readonly name = 'hash';

  place(req: PlacementRequest): PlacementResult {
    const objectHash = fnv1a(`${req.bucket}\u0000${req.key}`);
    return {
      metadata: this.rank(req, objectHash, 'meta').slice(0, req.metaCopies),
      shards: this.rank(req, objectHash, 'shard').slice(0, req.shardCount),
    };
  }

  private rank(req: PlacementRequest, objectHash: number, salt: string): number[] {
    return req.nodes
      .map((n) => ({ index: n.index, score: mix(objectHash ^ fnv1a(`${salt}:${n.id}`)) }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .map((s) => s.index);
  }
}
