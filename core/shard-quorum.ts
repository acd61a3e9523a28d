/**
 * Shards written before a put is acknowledged: k, plus one when k = m so
 * that two halves of a split cluster cannot both win (MinIO's rule). The
 * healer restores the rest. Shared by the engine (shard files) and metadata
 * stores (inline shards inside record copies).
 */
export function shardWriteQuorum(k: number, m: number): number {
  return k === m ? k + 1 : k;
}
