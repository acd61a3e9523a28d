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
 * A node's score: weighted rendezvous, u^(1/w) for u the hash in (0, 1),
 * under which a node of weight 2 outranks one of weight 1 twice as often.
 * At weight 1 it is the hash itself, so stores written before weights
 * existed keep their placements.
 */
function score(hash: number, weight: number): number {
  if (weight === 1) return hash;
  return ((hash + 0.5) / 2 ** 32) ** (1 / weight) * 2 ** 32 - 0.5;
}

/**
 * Rendezvous (highest-random-weight) hashing: every node gets a score from
 * hash(object, node) and the highest scores win. Adding a node only moves the
 * objects for which the new node scores in the top slots (about 1/N of them).
 * The metadata replicas go to the nodes of the first data shards: a get of
 * a small object (whose shards live in the record copies) then finds data
 * shards in the copies it reads for the metadata quorum, and reads fewer
 * files. Every shard node keeps a copy of the record anyway.
 */
export class RendezvousPlacement implements Placement {
  readonly name = 'hash';

  place(req: PlacementRequest): PlacementResult {
    const objectHash = fnv1a(`${req.bucket}\u0000${req.key}`);
    const ranked = this.rank(req, objectHash);
    return { metadata: ranked.slice(0, req.metaCopies), shards: ranked.slice(0, req.shardCount) };
  }

  private rank(req: PlacementRequest, objectHash: number): number[] {
    return req.nodes
      .map((n) => ({ index: n.index, score: score(mix(objectHash ^ fnv1a(`shard:${n.id}`)), n.weight ?? 1) }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .map((s) => s.index);
  }
}
