import 'reflect-metadata';

import { inject, injectable } from 'tsyringe';

import type { Logger } from '../contracts/logger.js';
import type { MetadataStore, ObjectRecord } from '../contracts/metadata.js';
import type { NodeSet } from '../contracts/nodes.js';
import { TOKENS } from '../tokens.js';
import { DEFAULT_GRACE_MS, emptySummary, type HealOptions, type HealSummary } from './heal-summary.js';
import { ObjectEngine, type DegradedRead } from './object-engine.js';
import { ObjectRepair } from './object-repair.js';
import { OrphanSweep } from './orphan-sweep.js';
import { RedundancySweep } from './redundancy-sweep.js';

export { DEFAULT_GRACE_MS, emptySummary, type HealOptions, type HealSummary } from './heal-summary.js';

/**
 * Puts lost redundancy back: decides when and what to heal, and leaves the
 * work to ObjectRepair (shards and record copies, object by object) and
 * OrphanSweep (leftovers nothing refers to). Three ways in: a read that had
 * to reconstruct queues its object (`watch`), `pass` heals everything (for
 * `kintsugi heal`), and the background scanner runs passes at a set rate.
 */
@injectable()
export class Healer {
  private readonly queue = new Set<string>();
  private draining = false;
  private scanning = false;
  private lastPass: (HealSummary & { finishedMs: number }) | undefined;
  private scanner: NodeJS.Timeout | undefined;

  constructor(
    @inject(ObjectEngine) private readonly engine: ObjectEngine,
    @inject(ObjectRepair) private readonly repair: ObjectRepair,
    @inject(OrphanSweep) private readonly orphans: OrphanSweep,
    @inject(RedundancySweep) private readonly sweep: RedundancySweep,
    @inject(TOKENS.MetadataStore) private readonly metadata: MetadataStore,
    @inject(TOKENS.Nodes) private readonly nodes: NodeSet,
    @inject(TOKENS.Logger) private readonly log: Logger,
  ) {}

  /** Checks and repairs every version of one object; returns the versions' records. */
  healObject(bucket: string, key: string, summary: HealSummary, graceMs = DEFAULT_GRACE_MS): Promise<ObjectRecord[]> {
    return this.repair.object(bucket, key, summary, graceMs);
  }

  /** What the healer is doing, for the admin endpoint and metrics. */
  status(): { queued: number; healingDegraded: boolean; scanning: boolean; lastPass?: HealSummary & { finishedMs: number } } {
    return { queued: this.queue.size, healingDegraded: this.draining, scanning: this.scanning, ...(this.lastPass ? { lastPass: this.lastPass } : {}) };
  }

  /** The last pass, as the process that ran it (a server's primary) reports it to this one. */
  adoptPass(pass: HealSummary & { finishedMs: number }): void {
    this.lastPass = pass;
  }

  /**
   * The background scanner: a full pass every `intervalMs`, at most `rate`
   * objects a second so that foreground traffic is not starved; `onPass`
   * hears each finished pass.
   */
  startScanner(intervalMs: number, rate: number, onPass?: (pass: HealSummary & { finishedMs: number }) => void): void {
    const run = async () => {
      if (this.scanning) return;
      this.scanning = true;
      try {
        const summary = await this.pass({ rate });
        this.lastPass = { ...summary, finishedMs: Date.now() };
        this.log.info('heal pass', { ...summary });
        onPass?.(this.lastPass);
      } catch (err) {
        this.log.warn('heal pass failed', { error: (err as Error).message });
      } finally {
        this.scanning = false;
      }
    };
    this.scanner = setInterval(() => { void run(); }, intervalMs);
    this.scanner.unref();
  }

  stopScanner(): void {
    if (this.scanner) clearInterval(this.scanner);
  }

  /** Heals, in the background, every object a read had to reconstruct. */
  watch(): void {
    this.engine.on('degraded', (e: DegradedRead) => {
      this.queue.add(JSON.stringify([e.record.bucket, e.record.key]));
      void this.drain();
    });
  }

  /** Resolves once the queue of degraded objects is empty. */
  async idle(): Promise<void> {
    while (this.draining || this.queue.size > 0) await new Promise((r) => setTimeout(r, 20));
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (const item of this.queue) {
        this.queue.delete(item);
        const [bucket, key] = JSON.parse(item) as [string, string];
        const s = emptySummary();
        await this.healObject(bucket, key, s).catch((err) => this.log.warn('heal failed', { bucket, key, error: (err as Error).message }));
        this.log.info('healed after a degraded read', { bucket, key, shardsRebuilt: s.shardsRebuilt, replicasRepaired: s.replicasRepaired });
      }
    } finally {
      this.draining = false;
    }
  }

  /** One full pass: bucket and upload records, every object, then the leftovers. */
  async pass(options: HealOptions = {}): Promise<HealSummary> {
    const summary = emptySummary();
    // Nodes back since the last probe take part (a tombstone is only collected with every node answering).
    await this.nodes.health.refresh();
    // Derived structures first, checked where a rotten one cannot crash this process.
    for (const r of await this.metadata.checkDerived({ wait: options.waitForIndexes ?? false })) {
      if (r.state === 'rebuilding' || r.state === 'rebuilt') summary.indexesRebuilt.push(`node ${r.node}: ${r.why ?? ''}`);
    }
    summary.replicasRepaired += await this.repair.smallRecords();
    const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    const live = await this.sweep.run(options, graceMs, summary);
    await this.orphans.sweep(live, graceMs, summary);
    return summary;
  }
}
