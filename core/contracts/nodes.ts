import type { Drive } from './drive.js';

/** The storage nodes of the cluster; `drives[i].index === i`. */
export interface NodeSet {
  readonly clusterId: string;
  readonly drives: readonly Drive[];
}
