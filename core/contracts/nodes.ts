import type { Drive, DriveSpace, NodeServices } from './drive.js';

/**
 * What a node can do now. `index-rebuilding` serves reads and writes but its
 * listing index is being rebuilt from its records; `read-only` and `full`
 * serve reads only; `checking` (its files walked before they are mapped,
 * after a crash or a change while it was down), `refused` (identity),
 * `offline` and `removed` (out of the cluster layout) serve nothing.
 */
export type NodeState = 'ok' | 'read-only' | 'full' | 'index-rebuilding' | 'checking' | 'refused' | 'offline' | 'removed';

export interface NodeStatus {
  readonly index: number;
  readonly location: string;
  readonly state: NodeState;
  /** since when the node is in this state (ms since the epoch) */
  readonly sinceMs: number;
  /** the last fault seen on the node, and when */
  readonly error?: string;
  readonly errorMs?: number;
  /** when an operation or probe last succeeded on it */
  readonly lastSuccessMs?: number;
  /** operations that failed on it since this process started */
  readonly errors: number;
  /** a moving average of its operations' latency */
  readonly latencyMs: number;
  /** free and total bytes of its file system, from its last successful probe */
  readonly space?: DriveSpace;
}

/** The health of the nodes, as this process sees it from operations and probes. */
export interface NodeHealthView {
  canRead(node: number): boolean;
  canWrite(node: number): boolean;
  status(): NodeStatus[];
  /** Probes every node now. */
  refresh(): Promise<void>;
  /** Node n left the cluster layout: nothing is read from or written to it any more. */
  setRemoved(node: number): void;
  /** Set by the metadata store while a node's listing index is rebuilt. */
  setIndexRebuilding(node: number, rebuilding: boolean): void;
}

/** A node as the core hands it out: its services are always there (the node's own, or hosted in this process). */
export type ServedDrive = Drive & { readonly services: NodeServices };

/** The storage nodes of the cluster; `drives[i].index === i`. */
export interface NodeSet {
  readonly clusterId: string;
  /**
   * The nodes, each behind its health gate: an operation a node cannot take
   * in its state fails at once (NodeUnavailableError) without touching it.
   */
  readonly drives: readonly ServedDrive[];
  readonly health: NodeHealthView;
  /**
   * Whether node n's copy of a record kept on every node (buckets, uploads)
   * counts in a majority: not a node filling since it joined (it has none
   * yet) nor one removed. Set from the cluster layout.
   */
  voter(node: number): boolean;
  /** Ends the node services this process hosts (a listing rebuild running in one stops) and closes the drives. */
  close(): Promise<void>;
}

/**
 * What a drive plugin opens: the drives, and for each the fault found at
 * start (identity refused, not a folder, ...) or undefined.
 */
export interface DriveSet {
  readonly clusterId: string;
  readonly drives: readonly Drive[];
  readonly startFaults: readonly (Error | undefined)[];
}
