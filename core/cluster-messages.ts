import type { HealerStatus } from './engine/healer.js';
import type { LifecycleStatus } from './engine/lifecycle.js';
import type { RebalanceStatus } from './engine/rebalancer.js';

/**
 * The messages between the server's primary and its workers (node:cluster
 * IPC), as one union each way: a message is one of these or ignored.
 */
export type ToWorker =
  /** the primary's healer (background passes, the nodes' scrubs): where it stands */
  | { kintsugi: 'heal-status'; status: HealerStatus }
  /** the primary's lifecycle worker's progress */
  | { kintsugi: 'lifecycle-status'; status: LifecycleStatus }
  /** the primary's rebalance: where it stands */
  | { kintsugi: 'rebalance-status'; status: RebalanceStatus }
  /** a console session was signed out on some worker */
  | { kintsugi: 'console-signout'; id: string; expiresMs: number }
  /** finish the requests in flight and exit */
  | { kintsugi: 'shutdown' };

export type ToPrimary =
  /** the worker serves on this port */
  | { kintsugi: 'listening'; port: number }
  /** to be told to every worker */
  | { kintsugi: 'relay'; message: ToWorker }
  /** the admin endpoint set the background passes' pace */
  | { kintsugi: 'heal-rate'; objectsPerSecond: number }
  /** the admin endpoint asked for a heal pass now */
  | { kintsugi: 'heal-start' }
  /** the admin endpoint set the rebalance's pace */
  | { kintsugi: 'rebalance-rate'; objectsPerSecond: number };

const isMessage = (msg: unknown): msg is { kintsugi: string } => typeof msg === 'object' && msg !== null && typeof (msg as { kintsugi?: unknown }).kintsugi === 'string';

/** What a message can be sent to: a cluster worker, a forked child, or this process's parent. */
export interface MessageTarget {
  send?(msg: unknown, callback: (err: Error | null) => void): unknown;
}

/**
 * Sends a message that may find the channel closing (a worker being
 * replaced, a primary gone) and then go unheard. Without the callback
 * Node reports such a failed send (EPIPE) as an `error` event, and one
 * nobody listens to ends the process: a primary telling its workers where a
 * rebalance stands died that way while one of them was being replaced.
 */
export function sendQuietly(target: MessageTarget, msg: ToWorker | ToPrimary): void {
  target.send?.(msg, () => undefined);
}

/** Tells the primary, when this process is a worker (no-op otherwise). */
export function toPrimary(msg: ToPrimary): void {
  sendQuietly(process as MessageTarget, msg);
}

/** Calls `handle` with every message the primary sends this worker. */
export function fromPrimary(handle: (msg: ToWorker) => void): void {
  process.on('message', (msg: unknown) => { if (isMessage(msg)) handle(msg as ToWorker); });
}

/** Narrows a worker's message for the primary. */
export function asToPrimary(msg: unknown): ToPrimary | undefined {
  return isMessage(msg) ? (msg as ToPrimary) : undefined;
}
