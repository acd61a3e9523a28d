import type { Logger } from './contracts/logger.js';
import type { NodeSet } from './contracts/nodes.js';
import type { NodeRef } from './contracts/placement.js';
import { fillingNodes, placementNodes, settledNodes, type ClusterLayout } from './cluster-layout.js';
import { LayoutOutdatedError } from './errors.js';
import { LAYOUT_ITEM, readLayouts } from './layout-store.js';

/**
 * The cluster layout this process places data by, and the newest one it
 * has seen on the nodes. A newer layout over the same nodes (a drain, a
 * weight, a finished rebalance) is taken at once; one naming nodes this
 * process has not opened needs a new process (the server's primary starts
 * one), and until then this one refuses writes.
 */
export class LayoutView {
  private using: ClusterLayout;
  private newest: number;
  private refs: NodeRef[];
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: ((layout: ClusterLayout) => void)[] = [];

  constructor(layout: ClusterLayout, private readonly nodes: NodeSet, private readonly log: Logger) {
    this.using = layout;
    this.newest = layout.version;
    this.refs = placementNodes(layout);
    this.applyRemovals();
  }

  get layout(): ClusterLayout {
    return this.using;
  }

  /** The newest version seen on the nodes (greater than layout.version while this process cannot use it). */
  get newestVersion(): number {
    return this.newest;
  }

  /** The nodes new data goes to, with their weights. */
  placementNodes(): readonly NodeRef[] {
    return this.refs;
  }

  /** Whether node n takes new data (active in the layout). */
  takesData(n: number): boolean {
    return this.using.nodes[n]?.role === 'active';
  }

  /** Whether node n is still in the cluster (not removed): it may hold data. */
  inService(n: number): boolean {
    return this.using.nodes[n]?.role !== 'removed';
  }

  /** Nodes whose listing indexes hold every key they should (see settledNodes). */
  settledNodes(): number[] {
    return settledNodes(this.using);
  }

  /** Whether node n's small records count in a majority (in service, not filling). */
  voter(n: number): boolean {
    const node = this.using.nodes[n];
    return node !== undefined && node.role !== 'removed' && !node.filling;
  }

  /** Nodes added by a change whose rebalance is not done (see fillingNodes). */
  fillingNodes(): number[] {
    return fillingNodes(this.using);
  }

  /** Throws LayoutOutdatedError while the nodes have a layout this process cannot use yet. */
  assertCurrent(): void {
    if (this.newest > this.using.version) throw new LayoutOutdatedError(this.using.version, this.newest);
  }

  /** Called with each layout this process moves to. */
  onChange(listener: (layout: ClusterLayout) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Moves to `layout` when it is newer: at once when this process has its
   * nodes open; else only notes that a newer one exists. Returns whether it
   * needs nodes this process does not have.
   */
  adopt(layout: ClusterLayout): boolean {
    if (layout.version <= this.using.version) return false;
    this.newest = Math.max(this.newest, layout.version);
    if (layout.nodes.length !== this.nodes.drives.length) return true;
    this.log.info('cluster layout changed', { from: this.using.version, to: layout.version, change: layout.change });
    this.using = layout;
    this.refs = placementNodes(layout);
    this.applyRemovals();
    for (const l of this.listeners) l(layout);
    return false;
  }

  /**
   * Reads the nodes' layout and adopts it; returns whether it needs nodes
   * this process does not have. `spread`: nodes holding an older one (or
   * none: a replaced disk) are given the newest.
   */
  async refresh(spread = false): Promise<boolean> {
    const { newest, versions } = await readLayouts(this.nodes);
    if (!newest) return false;
    if (spread) {
      const bytes = Buffer.from(JSON.stringify(newest));
      await Promise.all(versions.map((v, n) => (v !== undefined && v < newest.version && newest.nodes[n]?.role !== 'removed'
        ? this.nodes.drives[n]!.shelf.put([{ name: LAYOUT_ITEM, bytes }]).catch(() => undefined) : undefined)));
    }
    return this.adopt(newest);
  }

  /**
   * Reads the nodes' layout every `intervalMs`; `onNeedsNodes` when a newer
   * one names nodes this process lacks; `spread` as for refresh (one
   * process per gateway does it: the server's primary).
   */
  watch(intervalMs: number, onNeedsNodes?: (version: number) => void, spread = false): void {
    if (this.timer || intervalMs <= 0) return;
    this.timer = setInterval(() => {
      void this.refresh(spread).then((needs) => { if (needs) onNeedsNodes?.(this.newest); }, () => undefined);
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private applyRemovals(): void {
    for (const n of this.using.nodes) if (n.role === 'removed' && this.nodes.drives[n.index]) this.nodes.health.setRemoved(n.index);
  }
}
