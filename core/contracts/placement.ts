/** A storage node as placement sees it: a stable index and an identity. */
export interface NodeRef {
  readonly index: number;
  readonly id: string;
  /** its share of placements relative to the others (absent: 1) */
  readonly weight?: number;
}

export interface PlacementRequest {
  readonly bucket: string;
  readonly key: string;
  readonly nodes: readonly NodeRef[];
  /** how many distinct nodes hold metadata replicas */
  readonly metaCopies: number;
  /** how many distinct nodes hold the k+m shards */
  readonly shardCount: number;
}

export interface PlacementResult {
  /** node indexes holding the metadata replicas, in preference order */
  readonly metadata: number[];
  /** node index of shard i (data shards first, then parity), all distinct */
  readonly shards: number[];
}

/**
 * Chooses nodes for an object. Deterministic for the same inputs, and moving
 * as few placements as possible when a node is added.
 */
export interface Placement {
  readonly name: string;
  place(request: PlacementRequest): PlacementResult;
}
