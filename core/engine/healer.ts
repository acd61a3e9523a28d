import 'reflect-metadata';

import { inject, injectable } from 'tsyringe';

import type { Logger } from '../contracts/logger.js';
import type { MetadataStore, ObjectRecord, ScrubPace, ScrubReport } from '../contracts/metadata.js';
import type { NodeSet } from '../contracts/nodes.js';
import { TOKENS } from '../tokens.js';
import { BucketUsage } from './bucket-usage.js';
import { DEFAULT_GRACE_MS, emptySummary, type HealOptions, type HealSummary } from './heal-summary.js';
import { ObjectEngine, type DegradedRead } from './object-engine.js';
import { HealThrottle } from './heal-throttle.js';
import { ObjectRepair } from './object-repair.js';
import { OrphanSweep } from './orphan-sweep.js';
import { RedundancySweep } from './redundancy-sweep.js';

export { DEFAULT_GRACE_MS, emptySummary, type HealOptions, type HealSummary } from './heal-summary.js';

/** A pass under way: keys swept so far, at what rate, and what it found. */
export interface PassProgress {
  startedMs: number;
  keys: number;
  keysPerSecond: number;
  summary: HealSummary;
}

/** A finished background pass: what it found and did, and when it ran. */
export type FinishedPass = HealSummary & { startedMs?: number; finishedMs: number };

/** The healer's state as the admin endpoint and metrics show it. */
export interface HealerStatus {
  queued: number;
  healingDegraded: boolean;
  scanning: boolean;
  /** objects a second the background passes check at most (0: no limit) */
  rate: number;
  pass?: PassProgress;
  lastPass?: FinishedPass;
  /** each node's scrub, as last asked (the damage it reported is counted, and queued for repair) */
  scrub?: (Omit<ScrubReport, 'damaged'> & { damagedReported: number })[];
}

/**
 * Puts lost redundancy back: decides when and what to heal, and leaves the
 * work to RedundancySweep (every key, a batch at a time), ObjectRepair (one
 * object, every block) and OrphanSweep (leftovers nothing refers to). Four
 * ways in: a read that had to reconstruct queues its object (`watch`), the
 * nodes' scrubs report damaged objects, which are queued too
 * (`startScrub`), `pass` sweeps everything (for `kintsugi heal`), and the
 * background scanner runs passes at a pace settable while they run.
 */
@injectable()
export class Healer {
  private readonly queue = new Set<string>();
  private draining = false;
  private scanning = false;
  private lastPass: FinishedPass | undefined;
  private scanner: NodeJS.Timeout | undefined;
  private scrubber: NodeJS.Timeout | undefined;
  private scrubs: HealerStatus['scrub'];
  private adopted: HealerStatus | undefined;
  /** the background passes' pace, settable while one runs */
  private readonly throttle = new HealThrottle(0);
  private progress: PassProgress | undefined;
  private scanNow: (() => Promise<void>) | undefined;

  constructor(
    @inject(ObjectEngine) private readonly engine: ObjectEngine,
    @inject(ObjectRepair) private readonly repair: ObjectRepair,
    @inject(OrphanSweep) private readonly orphans: OrphanSweep,
    @inject(RedundancySweep) private readonly sweep: RedundancySweep,
    @inject(TOKENS.MetadataStore) private readonly metadata: MetadataStore,
    @inject(TOKENS.Nodes) private readonly nodes: NodeSet,
    @inject(TOKENS.Logger) private readonly log: Logger,
    @inject(BucketUsage) private readonly usage: BucketUsage,
  ) {}

  /** Checks and repairs every version of one object; returns the versions' records. */
  healObject(bucket: string, key: string, summary: HealSummary, graceMs = DEFAULT_GRACE_MS): Promise<ObjectRecord[]> {
    return this.repair.object(bucket, key, summary, graceMs);
  }

  /** What the healer is doing, for the admin endpoint and metrics (a worker's is the primary's, adopted). */
  status(): HealerStatus {
    if (this.adopted) return { ...this.adopted, queued: this.queue.size, healingDegraded: this.draining };
    return {
      queued: this.queue.size, healingDegraded: this.draining, scanning: this.scanning, rate: this.throttle.objectsPerSecond,
      ...(this.progress ? { pass: { ...this.progress } } : {}),
      ...(this.lastPass ? { lastPass: this.lastPass } : {}),
      ...(this.scrubs ? { scrub: this.scrubs } : {}),
    };
  }

  /** The status of the healer that runs the passes (the server's primary), as a worker reports it. */
  adopt(status: HealerStatus): void {
    this.adopted = status;
  }

  /** Sets how many objects a second passes check at most, the one running included (0: as fast as the nodes go). */
  setRate(objectsPerSecond: number): void {
    this.throttle.set(objectsPerSecond);
  }

  /**
   * Every node's scrub, at `pace`: asked where it stands every `pollMs`
   * (which starts it where it is not running); the objects it found damaged
   * are repaired one by one, every block read; `onReport` hears each round.
   */
  startScrub(pace: ScrubPace, pollMs: number, onReport?: () => void): void {
    let polling = false;
    const poll = async () => {
      if (polling) return;
      polling = true;
      try {
        const reports = await this.metadata.scrub(pace);
        this.scrubs = reports.map(({ damaged, ...rest }) => ({ ...rest, damagedReported: damaged.length }));
        for (const r of reports) {
          for (const d of r.damaged) {
            if (d.key !== undefined) this.queue.add(JSON.stringify([d.bucket, d.key]));
            // A record copy that does not say its key: its folder is swept alone, which writes the copy back.
            else if (d.folder !== undefined) await this.sweep.run({ folder: d.folder }, DEFAULT_GRACE_MS, emptySummary()).catch((err: Error) => this.log.warn('heal failed', { folder: d.folder, error: err.message }));
          }
        }
        void this.drain();
        onReport?.();
      } catch (err) {
        this.log.warn('scrub poll failed', { error: (err as Error).message });
      } finally {
        polling = false;
      }
    };
    this.scrubber = setInterval(() => { void poll(); }, pollMs);
    this.scrubber.unref();
    void poll();
  }

  /**
   * The background scanner: a full pass every `intervalMs` (0: only when
   * `startPass` asks), at most `rate` objects a second so that foreground
   * traffic is not starved; `onPass` hears each finished pass.
   */
  startScanner(intervalMs: number, rate: number, onPass?: (pass: FinishedPass) => void): void {
    this.throttle.set(rate);
    this.scanNow = async () => {
      if (this.scanning) return;
      this.scanning = true;
      const startedMs = Date.now();
      try {
        const summary = await this.pass({ throttle: this.throttle });
        this.lastPass = { ...summary, startedMs, finishedMs: Date.now() };
        this.log.info('heal pass', { ...summary });
        onPass?.(this.lastPass);
      } catch (err) {
        this.log.warn('heal pass failed', { error: (err as Error).message });
        return;
      } finally {
        this.scanning = false;
      }
      // Usage reconciled with what the pass found (not part of the pass's time, nor does it hold off the next pass).
      await this.usage.countEvery();
    };
    if (intervalMs <= 0) return;
    this.scanner = setInterval(() => { void this.scanNow?.(); }, intervalMs);
    this.scanner.unref();
  }

  /** Runs a background pass now, unless one is running (the scanner must have been started). */
  startPass(): boolean {
    if (!this.scanNow || this.scanning) return false;
    void this.scanNow();
    return true;
  }

  stopScanner(): void {
    if (this.scanner) clearInterval(this.scanner);
    if (this.scrubber) clearInterval(this.scrubber);
  }

  /** Heals, in the background, every object a read had to reconstruct (and, with startScrub, every one a scrub found damaged). */
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
        this.log.info('healed an object a read or a scrub found damaged', { bucket, key, shardsRebuilt: s.shardsRebuilt, replicasRepaired: s.replicasRepaired });
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
    const progress: PassProgress = { startedMs: Date.now(), keys: 0, keysPerSecond: 0, summary };
    this.progress = progress;
    const onProgress = options.onProgress;
    let live: Map<string, Set<string>>;
    try {
      live = await this.sweep.run({
        ...options,
        onProgress: (done, current, s) => {
          progress.keys = done;
          progress.keysPerSecond = done / Math.max(0.001, (Date.now() - progress.startedMs) / 1000);
          onProgress?.(done, current, s);
        },
      }, graceMs, summary);
    } finally {
      if (this.progress === progress) this.progress = undefined;
    }
    await this.orphans.sweep(live, graceMs, summary);
    return summary;
  }
}
