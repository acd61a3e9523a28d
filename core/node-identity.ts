/** What every node carries (each drive plugin keeps it its own way): the cluster it belongs to and its place in it. */
export interface NodeIdentity {
  readonly format: 1;
  readonly clusterId: string;
  readonly index: number;
}

/** Whether a parsed identity file is one. */
export function isNodeIdentity(value: unknown): value is NodeIdentity {
  const v = value as Partial<NodeIdentity> | null;
  return typeof v === 'object' && v !== null && v.format === 1 && typeof v.clusterId === 'string' && Number.isInteger(v.index);
}

/** Why a node carrying `found` is not node `index` of cluster `clusterId`, or undefined when it is. */
export function identityMismatch(where: string, found: NodeIdentity, clusterId: string, index: number): string | undefined {
  if (found.clusterId !== clusterId) return `${where} belongs to cluster ${found.clusterId}, not ${clusterId}: refused (wrong disk?)`;
  if (found.index !== index) return `${where} is node ${found.index} of this cluster, not node ${index}: refused (folders swapped?)`;
  return undefined;
}
