import type { DerivedLink, DerivedReport } from '../../core/contracts/metadata.js';
import type { Logger } from '../../core/contracts/logger.js';
import type { NodeSet } from '../../core/contracts/nodes.js';
import { IndexSlots, type RecordSource } from './index-slots.js';
import type { IndexPort } from './listing-index.js';
import { RemoteMetadataNode } from './remote-node.js';

/** How long a remote index that could not serve is left out of listings before it is asked again. */
const REMOTE_RETRY_MS = 2000;
/** How long a listing waits at most for remote indexes being rebuilt when too few others are complete. */
const REMOTE_WAIT_MS = 30_000;

interface RemoteSlot {
  index: RemoteMetadataNode;
  ready: boolean;
  retryAtMs: number;
}

/**
 * Every node's listing index, wherever it is kept: a node on this host has
 * its LMDB file in its folder, kept by this store (IndexSlots); a node on
 * another host keeps its own and serves it (RemoteMetadataNode). Listings merge
 * both kinds alike.
 */
export class NodeIndexes {
  private readonly local: IndexSlots;
  private readonly remotes: (RemoteSlot | undefined)[];

  constructor(
    private readonly nodes: NodeSet,
    sync: boolean,
    log: Logger,
    records: RecordSource,
    /** indexes a complete listing merges (NUMNODES - PARITY) */
    private readonly enough: number,
  ) {
    this.local = new IndexSlots(nodes, sync, log, records, enough);
    this.remotes = nodes.drives.map((d) => (d.localPath === undefined && d.services ? { index: new RemoteMetadataNode(d.location, d.services), ready: false, retryAtMs: 0 } : undefined));
  }

  /** Node n when it is on another host and keeps its own records' side structures: calls that do several steps there at once. */
  remote(n: number): RemoteMetadataNode | undefined {
    return this.remotes[n]?.index;
  }

  /** Node n's index for upserts, or undefined when it cannot take them now. */
  async forWrite(n: number): Promise<IndexPort | undefined> {
    const r = this.remotes[n];
    if (!r) return this.local.forWrite(n);
    return this.nodes.health.canWrite(n) ? r.index : undefined;
  }

  /** Node n's index for listings: complete. */
  private async forList(n: number): Promise<IndexPort | undefined> {
    const r = this.remotes[n];
    if (!r) return this.local.forList(n);
    if (!this.nodes.health.canRead(n)) return undefined;
    if (!r.ready && Date.now() >= r.retryAtMs) {
      r.ready = await r.index.ready().catch(() => false);
      if (!r.ready) r.retryAtMs = Date.now() + REMOTE_RETRY_MS;
    }
    return r.ready ? r.index : undefined;
  }

  /**
   * Complete indexes to list from, at least `enough` where that many nodes
   * can serve: when too few are complete because some are being rebuilt (the
   * first use of a new node set, an upgrade), the rebuilds are waited for,
   * so that no listing is answered from a partial set.
   */
  async listable(): Promise<{ node: number; index: IndexPort }[]> {
    const deadline = Date.now() + REMOTE_WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      const picked: { node: number; index: IndexPort }[] = [];
      for (let n = 0; n < this.nodes.drives.length && picked.length < this.enough; n++) {
        const index = await this.forList(n);
        if (index) picked.push({ node: n, index });
      }
      if (picked.length >= this.enough) return picked;
      if (this.local.rebuilding && attempt === 0) {
        await this.local.rebuilt();
        continue;
      }
      // A remote node rebuilding its index answers not ready until it is done.
      const remoteUp = this.remotes.some((r, n) => r && !r.ready && this.nodes.health.canRead(n));
      if (!remoteUp || Date.now() > deadline) return picked;
      await new Promise((r) => setTimeout(r, Math.min(REMOTE_RETRY_MS, Math.max(0, deadline - Date.now()))));
    }
  }

  /** A fault met while using node n's index: it is left out, and checked again by whoever keeps it. */
  async fault(n: number, err: unknown): Promise<void> {
    const r = this.remotes[n];
    if (!r) return this.local.fault(n, err);
    r.ready = false;
    r.retryAtMs = Date.now() + REMOTE_RETRY_MS;
    // A row failing its checksum here, or an index fault the node reported, is the node's
    // to check; a network fault is its health's, an index not ready its keeper's already.
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause === undefined || cause.code === 'ERR_INDEX_FAULT') await r.index.fault((err as Error).message).catch(() => undefined);
  }

  async checkAll(wait: boolean): Promise<DerivedReport[]> {
    const reports = await this.local.checkAll(wait);
    return Promise.all(reports.map(async (report, n) => {
      const r = this.remotes[n];
      if (!r) return report;
      if (!this.nodes.health.canRead(n)) return { node: n, state: 'unavailable', why: `node ${this.nodes.health.status()[n]?.state ?? 'unavailable'}` } satisfies DerivedReport;
      try {
        const checked = await r.index.check(wait);
        r.ready = checked.state === 'sound' || checked.state === 'rebuilt';
        return checked;
      } catch (err) {
        return { node: n, state: 'unavailable', why: (err as Error).message } satisfies DerivedReport;
      }
    }));
  }

  coordinate(link: DerivedLink): void {
    this.local.coordinate(link);
  }

  reported(n: number, why: string): Promise<void> {
    return this.local.reported(n, why);
  }

  refresh(release: boolean): Promise<void> {
    return this.local.refresh(release);
  }

  hold(): Promise<void> {
    return this.local.hold();
  }

  close(): Promise<void> {
    return this.local.close();
  }
}
