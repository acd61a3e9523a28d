import type { DerivedReport } from '../../core/contracts/metadata.js';
import type { NodeSet } from '../../core/contracts/nodes.js';
import { ShelfListing, type IndexReader } from './listing-index.js';
import { MetadataNode } from './metadata-node.js';

/** How long an index found not complete (or faulty) is left out of listings before its node is asked again. */
const RETRY_MS = 2000;
/** How long a listing waits at most for indexes being rebuilt when too few others are complete. */
const WAIT_MS = 30_000;

interface Slot {
  readonly listing: ShelfListing;
  readonly node: MetadataNode;
  ready: boolean;
  retryAtMs: number;
  /** the node's health state when its keeper said ready: a node that has been out of service since may have a new shelf */
  readySinceMs: number;
}

/**
 * Every node's listing index as listings use it: read from the node's shelf
 * (one call a batch), kept by the node's own host (ListingKeeper), which
 * says whether it is complete. One way for every node, on this host or
 * another.
 */
export class NodeIndexes {
  private readonly slots: Slot[];

  constructor(
    private readonly nodes: NodeSet,
    /**
     * the nodes whose indexes hold every key they should (a node filling
     * after it joined does not yet; a removed one never again)
     */
    private readonly settled: () => readonly number[],
    /** nodes filling since they joined: merged too (a write may have reached few settled nodes), never counted on */
    private readonly filling: () => readonly number[],
    private readonly parity: number,
  ) {
    this.slots = nodes.drives.map((d) => ({ listing: new ShelfListing(d.location, d.shelf), node: new MetadataNode(d), ready: false, retryAtMs: 0, readySinceMs: 0 }));
  }

  /**
   * Indexes a complete listing merges: every put and delete reached at
   * least PARITY + 1 of the settled nodes, so any all-but-PARITY of them
   * hold every key.
   */
  private enough(settled: readonly number[]): number {
    return Math.max(1, settled.length - this.parity);
  }

  /** Node n's metadata service. */
  node(n: number): MetadataNode {
    return this.slots[n]!.node;
  }

  /** Node n's index for listings: complete, as its keeper said since the node's health last changed. */
  private async forList(n: number, sinceMs: number): Promise<IndexReader | undefined> {
    const s = this.slots[n]!;
    if (!this.nodes.health.canRead(n)) return undefined;
    if (s.ready && sinceMs !== s.readySinceMs) {
      s.ready = false;
      s.retryAtMs = 0;
    }
    if (!s.ready && Date.now() >= s.retryAtMs) {
      const report = await s.node.check(false).catch(() => undefined);
      this.learn(n, report);
      s.readySinceMs = sinceMs;
    }
    return s.ready ? s.listing : undefined;
  }

  private learn(n: number, report: DerivedReport | undefined): void {
    const s = this.slots[n]!;
    s.ready = report?.state === 'sound' || report?.state === 'rebuilt';
    if (!s.ready) s.retryAtMs = Date.now() + RETRY_MS;
    this.nodes.health.setIndexRebuilding(n, report?.state === 'rebuilding');
  }

  /**
   * Complete indexes to list from, at least `enough` where that many nodes
   * can serve: when too few are complete because some are being rebuilt (a
   * first start, an upgrade), the rebuilds are waited for, so that no
   * listing is answered from a partial set.
   */
  async listable(): Promise<{ node: number; index: IndexReader }[]> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const picked: { node: number; index: IndexReader }[] = [];
      const status = this.nodes.health.status();
      const settled = this.settled();
      const enough = this.enough(settled);
      for (const n of settled) {
        if (picked.length >= enough) break;
        const index = await this.forList(n, status[n]?.sinceMs ?? 0);
        if (index) picked.push({ node: n, index });
      }
      if (picked.length >= enough) {
        for (const n of this.filling()) {
          const index = await this.forList(n, status[n]?.sinceMs ?? 0);
          if (index) picked.push({ node: n, index });
        }
        return picked;
      }
      const rebuilding = this.nodes.health.status().some((s) => s.state === 'index-rebuilding');
      if (!rebuilding || Date.now() > deadline) return picked;
      await new Promise((r) => setTimeout(r, Math.min(RETRY_MS / 4, Math.max(0, deadline - Date.now()))));
      for (const s of this.slots) if (!s.ready) s.retryAtMs = 0;
    }
  }

  /** A fault met while listing from node n's index: it is left out, and its keeper rebuilds it when the index is at fault. */
  async fault(n: number, err: unknown): Promise<void> {
    const s = this.slots[n]!;
    s.ready = false;
    s.retryAtMs = Date.now() + RETRY_MS;
    // A row failing its checksum is the index's; a node that could not be reached is its health's.
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause === undefined || cause.code === 'ERR_INDEX_CORRUPT') await s.node.fault((err as Error).message).catch(() => undefined);
  }

  /** Checks every node's index (each on its node's host); `wait`: until rebuilds are done. */
  async checkAll(wait: boolean): Promise<DerivedReport[]> {
    const reports = await Promise.all(this.slots.map((_, n) => this.check(n, wait)));
    // Fewer complete indexes than a listing merges (a first start, an upgrade): wait for the rebuilds.
    if (!wait && reports.filter((r) => r.state === 'sound').length < this.enough(this.settled()) && reports.some((r) => r.state === 'rebuilding')) {
      return this.checkAll(true);
    }
    return reports;
  }

  /** Node n's report when its health says it cannot be read now. */
  private unreadable(n: number): DerivedReport | undefined {
    return this.nodes.health.canRead(n) ? undefined : { node: n, state: 'unavailable', why: `node ${this.nodes.health.status()[n]?.state ?? 'unavailable'}` };
  }

  /** Has these nodes' indexes rebuilt from their records, each on its node's host, and waits for the rebuilds. */
  reindex(nodes: readonly number[]): Promise<DerivedReport[]> {
    return Promise.all(nodes.map(async (n): Promise<DerivedReport> => {
      const unreadable = this.unreadable(n);
      if (unreadable) return unreadable;
      try {
        await this.slots[n]!.node.reindex('asked for (a rebalance wrote the node\'s copies without index entries)');
      } catch (err) {
        return { node: n, state: 'unavailable', why: (err as Error).message };
      }
      return this.check(n, true);
    }));
  }

  /**
   * Node n's check; `wait`: asked again while its rebuild goes on (a keeper
   * answers within seconds), and then reported rebuilt with why it started.
   */
  private async check(n: number, wait: boolean): Promise<DerivedReport> {
    const unreadable = this.unreadable(n);
    if (unreadable) return unreadable;
    let rebuilding: DerivedReport | undefined;
    for (;;) {
      let report: DerivedReport;
      try {
        report = await this.slots[n]!.node.check(wait);
      } catch (err) {
        return { node: n, state: 'unavailable', why: (err as Error).message };
      }
      this.learn(n, report);
      if (report.state === 'rebuilding') rebuilding ??= report;
      if (!wait || report.state !== 'rebuilding') {
        const why = report.why ?? rebuilding?.why;
        return rebuilding && report.state === 'sound' ? { node: n, state: 'rebuilt', ...(why ? { why } : {}) } : report;
      }
      // Rebuilt by another process on the node's host: its keeper answers at once, so wait between asks.
      await new Promise((r) => setTimeout(r, RETRY_MS / 4));
    }
  }
}
