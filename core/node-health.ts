import type { Drive, DriveSpace } from './contracts/drive.js';
import type { Logger } from './contracts/logger.js';
import type { NodeHealthView, NodeState, NodeStatus } from './contracts/nodes.js';
import { nodeFault } from './errors.js';

/**
 * The state a node fault puts its node in, or undefined for errors that say
 * nothing about the node (a missing file, a bad argument).
 */
export function stateFor(err: unknown): NodeState | undefined {
  switch ((err as NodeJS.ErrnoException | undefined)?.code) {
    case 'EROFS': return 'read-only';
    case 'ENOSPC': case 'EDQUOT': return 'full';
    case 'ERR_NODE_IDENTITY': return 'refused';
    case 'ERR_NODE_CHECKING': return 'checking';
    case 'EIO': case 'ERR_NODE_GONE': case 'ERR_NODE_TIMEOUT': case 'ENOTDIR': case 'EACCES': case 'EPERM': case 'ENXIO': case 'ENODEV': case 'ESTALE':
      return 'offline';
    default: return undefined;
  }
}

const READABLE: ReadonlySet<NodeState> = new Set(['ok', 'read-only', 'full', 'index-rebuilding']);
const WRITABLE: ReadonlySet<NodeState> = new Set(['ok', 'index-rebuilding']);

/**
 * A node that refuses operations is probed again on demand, first after
 * FIRST_RECHECK_MS, then after twice as long for each probe that fails, up
 * to MAX_RECHECK_MS: an operation meeting a sick node waits for one probe,
 * not one per operation; a node back after a blip (a restart, a remount) is
 * in service again within moments of being needed, and one that stays down
 * costs a probe every half minute, not a stream of them.
 */
const FIRST_RECHECK_MS = 200;
const MAX_RECHECK_MS = 30_000;

interface Entry {
  state: NodeState;
  sinceMs: number;
  why?: string;
  error?: string;
  errorMs?: number;
  probedMs: number;
  /** how long after a probe the next on-demand one may run */
  recheckMs: number;
  probing?: Promise<void>;
  indexRebuilding: boolean;
  /** out of the cluster layout for good: never used or probed again */
  removed?: boolean;
  lastSuccessMs?: number;
  errors: number;
  latencyMs: number;
  space?: DriveSpace;
}

export interface HealthOptions {
  /** periodic probe of every node (0: only on demand) */
  probeIntervalMs: number;
  /** a probe slower than this marks the node offline */
  probeTimeoutMs: number;
}

/**
 * Node health in this process: each node's state, set from the faults its
 * operations meet (EROFS: read-only, ENOSPC: full, EIO: offline, identity:
 * refused) and from probes (MinIO probes every drive every 15 s the same
 * way). Degrading is immediate; only a probe that passes brings a node back,
 * so a node that fails writes is not tried again per request.
 */
export class NodeHealth implements NodeHealthView {
  private readonly entries: Entry[];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly drives: readonly Drive[],
    private readonly log: Logger,
    private readonly options: HealthOptions,
    startFaults: readonly (Error | undefined)[] = [],
  ) {
    const now = Date.now();
    this.entries = drives.map(() => ({ state: 'ok', sinceMs: now, probedMs: now, recheckMs: FIRST_RECHECK_MS, indexRebuilding: false, errors: 0, latencyMs: 0 }));
    // Already logged by whoever found them.
    startFaults.forEach((err, n) => { if (err) this.fault(n, err, stateFor(err) ?? 'offline', false); });
  }

  canRead(n: number): boolean {
    return !this.entries[n]!.removed && READABLE.has(this.entries[n]!.state);
  }

  canWrite(n: number): boolean {
    return !this.entries[n]!.removed && WRITABLE.has(this.entries[n]!.state);
  }

  state(n: number): NodeState {
    const e = this.entries[n]!;
    if (e.removed) return 'removed';
    return e.state === 'ok' && e.indexRebuilding ? 'index-rebuilding' : e.state;
  }

  /** Node n is out of the cluster layout: nothing is read from or written to it any more. */
  setRemoved(n: number): void {
    this.entries[n]!.removed = true;
  }

  why(n: number): string | undefined {
    return this.entries[n]!.why;
  }

  status(): NodeStatus[] {
    return this.entries.map((e, n) => ({
      index: n, location: this.drives[n]!.location, state: this.state(n), sinceMs: e.sinceMs,
      ...(e.error ? { error: e.error, errorMs: e.errorMs } : {}),
      ...(e.lastSuccessMs !== undefined ? { lastSuccessMs: e.lastSuccessMs } : {}),
      errors: e.errors, latencyMs: Math.round(e.latencyMs * 1000) / 1000,
      ...(e.space ? { space: e.space } : {}),
    }));
  }

  /** An operation on node n took `ms` (and succeeded, unless `failed`): for status and metrics. */
  measured(n: number, ms: number, failed: boolean): void {
    const e = this.entries[n]!;
    // A moving average over roughly the last 20 operations.
    e.latencyMs = e.latencyMs === 0 ? ms : e.latencyMs + (ms - e.latencyMs) / 20;
    if (failed) e.errors++;
    else e.lastSuccessMs = Date.now();
  }

  setIndexRebuilding(n: number, rebuilding: boolean): void {
    this.entries[n]!.indexRebuilding = rebuilding;
  }

  /** An operation on node n failed with `err`: degrades the node when the error is a node fault. */
  report(n: number, err: unknown): void {
    const state = stateFor(err);
    if (state) this.fault(n, err as Error, state);
  }

  /**
   * Resolves when node n may take an operation of `kind`, probing it first
   * when it is degraded and was not probed within the last second; rejects
   * otherwise. Undefined (no promise) when it may at once, the common case.
   */
  admit(n: number, kind: 'read' | 'write'): Promise<boolean> | undefined {
    const allowed = () => (kind === 'read' ? this.canRead(n) : this.canWrite(n));
    if (allowed()) return undefined;
    if (this.entries[n]!.removed) return Promise.resolve(false);
    if (Date.now() - this.entries[n]!.probedMs < this.entries[n]!.recheckMs) return Promise.resolve(false);
    return this.probe(n).then(allowed);
  }

  /** Probes node n (once at a time); its state follows the result. */
  probe(n: number): Promise<void> {
    const e = this.entries[n]!;
    e.probing ??= this.runProbe(n).finally(() => { e.probing = undefined; });
    return e.probing;
  }

  /** Probes every node now (at start, periodically, and for a readiness check that tells the truth). */
  async refresh(): Promise<void> {
    await Promise.all(this.drives.map((_, n) => (this.entries[n]!.removed ? undefined : this.probe(n))));
  }

  start(): void {
    if (this.options.probeIntervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => { void this.refresh(); }, this.options.probeIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async runProbe(n: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(nodeFault('ERR_NODE_TIMEOUT', `probe took longer than ${this.options.probeTimeoutMs} ms`)), this.options.probeTimeoutMs);
    });
    try {
      this.entries[n]!.space = await Promise.race([this.drives[n]!.probe(), timeout]);
      this.entries[n]!.lastSuccessMs = Date.now();
      this.recover(n);
    } catch (err) {
      // Whatever a probe meets is the node's fault: it only touches its own folder.
      this.fault(n, err as Error, stateFor(err) ?? 'offline');
      const e = this.entries[n]!;
      // A node being checked answers a probe at once and is back the moment its check ends: no backing off.
      if (e.state !== 'checking') e.recheckMs = Math.min(e.recheckMs * 2, MAX_RECHECK_MS);
    } finally {
      clearTimeout(timer);
      this.entries[n]!.probedMs = Date.now();
    }
  }

  private fault(n: number, err: Error, state: NodeState, log = true): void {
    const e = this.entries[n]!;
    const now = Date.now();
    e.error = err.message;
    e.errorMs = now;
    if (e.state === state) return;
    e.state = state;
    e.sinceMs = now;
    e.why = err.message;
    e.probedMs = now;
    if (log) this.log.error('node degraded', { node: n, location: this.drives[n]!.location, state, why: err.message });
  }

  private recover(n: number): void {
    const e = this.entries[n]!;
    e.recheckMs = FIRST_RECHECK_MS;
    if (e.state === 'ok') return;
    this.log.warn('node back in service', { node: n, location: this.drives[n]!.location, was: e.state, why: e.why });
    e.state = 'ok';
    e.sinceMs = Date.now();
    delete e.why;
  }
}
