import 'reflect-metadata';

import { inject, injectable } from 'tsyringe';

import { fillingNodes, needsRebalance, settled, type ClusterLayout } from '../cluster-layout.js';
import type { Logger } from '../contracts/logger.js';
import { failpoint } from '../failpoint.js';
import { dataSpans, type CopyDrop, type DataSpan, type MetadataStore, type ObjectRecord, type SweptKey, type SweptVersion } from '../contracts/metadata.js';
import type { NodeSet } from '../contracts/nodes.js';
import { shardPath } from '../layout.js';
import { readJsonItem, writeLayout } from '../layout-store.js';
import type { LayoutView } from '../layout-view.js';
import { TOKENS } from '../tokens.js';
import { emptySummary } from './heal-summary.js';
import { HealThrottle } from './heal-throttle.js';
import { inFlight } from './in-flight.js';
import { ObjectRepair } from './object-repair.js';
import { keepChosen } from './set-placement.js';
import { VersionWriter } from './version-writer.js';

/** The shelf item where a rebalance keeps its place on every node, to resume after a crash or a restart. */
export const REBALANCE_ITEM = 'cluster/rebalance';
/**
 * Keys a sweep batch holds, and versions moved at once: each batch's copies
 * go in one commit per node, and a commit's branch pages and flush are
 * shared by more copies (100,000 objects: about 5-10 % faster than 1,024).
 */
const BATCH_KEYS = 2048;
const MOVES_IN_FLIGHT = 8;
/** Sweep batches whose moves are under way at once. */
const BATCHES_IN_FLIGHT = 3;
/** Versions whose old record copies are gathered before they are dropped in one commit per node (about four batches). */
const DROPS_AT_ONCE = 8192;
/** How long after a finished pass a draining node that is not empty yet is swept for again. */
const REPASS_MS = 60_000;
/**
 * How long after a pass that left versions behind the next one starts,
 * doubling with each such pass up to the most: what it waits for (a node
 * back, the healer's repair) takes time, and a pass reads every key.
 */
const RETRY_MS = 5_000;
const RETRY_MAX_MS = 5 * 60_000;
/** Bytes of a shard file copied per read. */
const COPY_CHUNK = 1 << 20;
/**
 * How long after a layout change its moves begin: every gateway reads the
 * layout every LAYOUT_POLL_MS and refuses writes once it sees a newer one,
 * so by then none places data by the old one.
 */
export const LAYOUT_POLL_MS = 2000;
export const SETTLE_MS = 2 * LAYOUT_POLL_MS + 1000;

/** What a rebalance did, saved on the nodes after each batch. */
export interface RebalanceProgress {
  /** the layout version it moves data to */
  readonly version: number;
  startedMs: number;
  finishedMs?: number;
  /** the last key folder done (a resumed pass starts after it) */
  after?: string;
  keys: number;
  versionsMoved: number;
  shardsMoved: number;
  copiesMoved: number;
  bytesMoved: number;
  /** versions it could not move now (a node out, copies that disagree): the next pass tries again */
  deferred: number;
  /** why, by reason */
  deferredWhy?: Record<string, number>;
  /** times it was resumed after a crash or a restart */
  resumed: number;
  /** filling nodes whose listing index was rebuilt from their records at the end of the pass */
  reindexed?: number[];
}

/** What a draining node still holds. */
export interface DrainReport {
  readonly node: number;
  readonly records: number;
  readonly files: number;
  readonly empty: boolean;
  /** the node could not be looked at */
  readonly why?: string;
}

export interface RebalanceStatus {
  readonly layoutVersion: number;
  /** idle: nothing to move; waiting: for the gateways to see the layout; moving; done: this layout's moves are made */
  readonly state: 'idle' | 'waiting' | 'moving' | 'done';
  readonly progress?: RebalanceProgress;
  /** objects a second at most (0: as fast as the nodes go) */
  readonly rate: number;
  /** objects a second over the pass so far */
  readonly objectsPerSecond?: number;
  readonly draining: readonly DrainReport[];
  /** when a pass that left versions behind is tried again */
  readonly retryAtMs?: number;
}

/** One version's move: from `record` to `moved`, its copies on `targets`, off `strays`. */
interface Move {
  readonly record: ObjectRecord;
  readonly moved: ObjectRecord;
  readonly targets: readonly number[];
  readonly strays: readonly number[];
  /** shards whose node changes */
  readonly shards: readonly { span: DataSpan; i: number; from: number; to: number }[];
  /** target nodes that held no copy */
  readonly missing: readonly number[];
  readonly agreed: boolean;
  /** an inline record's framed shards, by shard index */
  readonly inline?: Uint8Array[];
}

/** The versions a pass left behind, with why: `3 deferred (a target node takes no writes: 3)`. */
export function deferredText(p: RebalanceProgress): string {
  const why = Object.entries(p.deferredWhy ?? {}).map(([reason, n]) => `${reason}: ${n}`);
  return `${p.deferred} deferred${why.length ? ` (${why.join('; ')})` : ''}`;
}

/** Counts a version left where it is for now, and why. */
function defer(p: RebalanceProgress, why: string): void {
  p.deferred++;
  const reasons = (p.deferredWhy ??= {});
  reasons[why] = (reasons[why] ?? 0) + 1;
}

function count(p: RebalanceProgress, m: Move): void {
  p.versionsMoved++;
  p.shardsMoved += m.shards.length;
  p.copiesMoved += m.missing.length;
}

const fresh = (version: number): RebalanceProgress => ({
  version, startedMs: Date.now(), keys: 0, versionsMoved: 0, shardsMoved: 0, copiesMoved: 0, bytesMoved: 0, deferred: 0, resumed: 0,
});

/**
 * Moves shards and record copies to where the layout in use places them
 * (nodes added: about their share; nodes draining: everything on them),
 * a sweep batch at a time, at a settable pace, keeping its place on the
 * nodes so that a crash or a restart resumes it. Each version moves in an
 * order that keeps it readable throughout: its shard files are copied to
 * their new nodes, the record is written to its new nodes, and only then
 * are the old copies and files removed. A move a crash cut short shows as
 * copies that disagree (the new ones on the key's new metadata nodes,
 * which a resumed pass reads first) and is finished from the new ones. When every version is where it
 * belongs, nodes that were filling become settled (a new layout version).
 */
@injectable()
export class Rebalancer {
  private readonly throttle: HealThrottle;
  private state: RebalanceStatus['state'] = 'idle';
  private progress: RebalanceProgress | undefined;
  private draining: DrainReport[] = [];
  private running: Promise<RebalanceProgress | undefined> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private adopted: RebalanceStatus | undefined;
  private stopping = false;
  /** passes in a row that left versions behind, and when the next one may start */
  private deferringPasses = 0;
  private retryAtMs = 0;

  constructor(
    @inject(VersionWriter) private readonly writer: VersionWriter,
    @inject(ObjectRepair) private readonly repair: ObjectRepair,
    @inject(TOKENS.MetadataStore) private readonly metadata: MetadataStore,
    @inject(TOKENS.Nodes) private readonly nodes: NodeSet,
    @inject(TOKENS.Layout) private readonly layout: LayoutView,
    @inject(TOKENS.Logger) private readonly log: Logger,
  ) {
    this.throttle = new HealThrottle(0);
  }

  /** Where the primary's rebalance stands (a worker answers the admin status with it). */
  adopt(status: RebalanceStatus): void {
    this.adopted = status;
  }

  status(): RebalanceStatus {
    if (this.adopted && !this.progress) return this.adopted;
    const p = this.progress;
    const seconds = p ? ((p.finishedMs ?? Date.now()) - p.startedMs) / 1000 : 0;
    return {
      layoutVersion: this.layout.layout.version,
      state: this.state,
      ...(p ? { progress: { ...p } } : {}),
      rate: this.throttle.objectsPerSecond,
      ...(p && seconds > 0 ? { objectsPerSecond: Math.round(p.keys / seconds) } : {}),
      draining: this.draining,
      ...(this.retryAtMs > Date.now() ? { retryAtMs: this.retryAtMs } : {}),
    };
  }

  setRate(objectsPerSecond: number): void {
    this.throttle.set(objectsPerSecond);
  }

  /**
   * Runs passes in the background while the layout has moves to make,
   * looking again every `intervalMs` (and when the layout changes).
   */
  start(intervalMs: number, rate: number, onProgress?: () => void): void {
    if (this.timer) return;
    this.stopping = false;
    this.throttle.set(rate);
    const tick = () => {
      if (this.running || this.stopping || Date.now() < this.retryAtMs || !needsRebalance(this.layout.layout)) return;
      void this.pass({ onProgress }).catch((err: Error) => this.log.warn('rebalance failed; it resumes later', { error: err.message }));
    };
    // A new layout is worked on at once, whatever the last one waited for.
    this.layout.onChange(() => { this.retryAtMs = 0; this.deferringPasses = 0; setTimeout(tick, 0); });
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
    tick();
  }

  /** Stops the background passes; a running one ends after its batch (its place is saved). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.stopping = true;
    await this.running?.catch(() => undefined);
  }

  /** One pass to the layout in use (the one under way when a pass is running). */
  pass(options: { onProgress?: () => void; settleMs?: number } = {}): Promise<RebalanceProgress | undefined> {
    this.running ??= this.run(options).finally(() => { this.running = undefined; });
    return this.running;
  }

  private async run(options: { onProgress?: () => void; settleMs?: number }): Promise<RebalanceProgress | undefined> {
    const layout = this.layout.layout;
    if (!needsRebalance(layout)) {
      this.state = 'idle';
      return undefined;
    }
    const saved = await this.load(layout.version);
    if (saved?.finishedMs && saved.deferred === 0) {
      this.progress = saved;
      this.draining = await this.drainReports(layout);
      // Done, unless a draining node still holds something (a write placed by a gateway not yet on this
      // layout, an upload finished since): swept again, at most once a minute.
      if (this.draining.every((d) => d.empty || d.why) || Date.now() - saved.finishedMs < REPASS_MS) {
        this.state = 'done';
        return saved;
      }
    }
    this.state = 'waiting';
    const settleMs = options.settleMs ?? SETTLE_MS;
    const wait = layout.changedMs + settleMs - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, settleMs)));
    const resumed = saved !== undefined && !saved.finishedMs;
    const p: RebalanceProgress = resumed ? { ...saved, resumed: saved.resumed + 1 } : fresh(layout.version);
    this.progress = p;
    this.state = 'moving';
    // Saved at once, fresh or resumed: its place is saved only a group of batches at a time, and a pass
    // that dies before its first group is done must still be found under way (and count as resumed).
    await this.save(p);
    this.log.info(resumed ? 'rebalance resumed' : 'rebalance started', { version: layout.version, change: layout.change, after: p.after });
    // Records every node keeps (buckets, uploads) first: a node counts in their majorities once settled.
    await this.repair.smallRecords().catch((err: Error) => this.log.warn('rebalance could not copy bucket and upload records', { error: err.message }));
    // The batch a crash interrupted may have left old shard files behind its moved records: looked for once.
    let thorough = resumed === true;
    // The nodes this pass fills: their copies go without index entries, and their indexes are rebuilt at its end.
    const filling = new Set(fillingNodes(layout));
    // Batches' moves in flight while the next is read (each waits on the nodes' commits most of its time).
    const moving: Promise<void>[] = [];
    let done: Promise<void> = Promise.resolve();
    // Copies left on nodes no longer chosen go a group of batches at a time (their index entries lie on
    // random pages: fewer, larger commits write each page once for several); the pass's place is saved
    // only once they are gone, so a resume never skips a key whose old copies remain.
    let drops: CopyDrop[] = [];
    const dropAndSave = async (after: string) => {
      const group = drops;
      drops = [];
      await this.metadata.dropCopies(group).catch(() => undefined);
      p.after = after;
      await this.save(p);
      options.onProgress?.();
    };
    let last: string | undefined;
    for await (const batch of this.metadata.sweep({ batchKeys: BATCH_KEYS, ...(p.after !== undefined ? { after: p.after } : {}) })) {
      if (moving.length >= BATCHES_IN_FLIGHT) await moving.shift();
      // A newer layout: this pass's targets are stale; the next pass starts over towards it.
      if (this.layout.layout.version !== layout.version || this.stopping) {
        await Promise.all(moving);
        return p;
      }
      const first = thorough;
      thorough = false;
      const moved = this.moveBatch(batch, p, first, filling);
      const folder = batch[batch.length - 1]!.folder;
      last = folder;
      // In sweep order: a batch's drops join the group once it and every batch before it are done.
      done = Promise.all([done, moved]).then(async ([, batchDrops]) => {
        drops.push(...batchDrops);
        p.keys += batch.length;
        if (drops.length >= DROPS_AT_ONCE) await dropAndSave(folder);
        await this.throttle.pace(p.keys);
      });
      // Awaited in turn below; a failure before then is not an unhandled rejection.
      done.catch(() => undefined);
      moving.push(done);
    }
    await Promise.all(moving);
    if (last !== undefined) await dropAndSave(last);
    await this.reindexFilling(filling, p);
    p.finishedMs = Date.now();
    await this.save(p);
    this.log.info('rebalance pass finished', { ...p });
    return this.finish(layout, p);
  }

  /** After a pass: filling nodes settle when nothing was left behind; draining nodes say what they still hold. */
  private async finish(layout: ClusterLayout, p: RebalanceProgress): Promise<RebalanceProgress> {
    this.draining = await this.drainReports(layout);
    if (p.deferred > 0) {
      // Started again later from the start (the deferred versions are anywhere), later each time it defers.
      await this.save({ ...p, finishedMs: undefined, after: undefined, deferred: 0, deferredWhy: undefined } as RebalanceProgress).catch(() => undefined);
      const retryMs = Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** this.deferringPasses++);
      this.retryAtMs = Date.now() + retryMs;
      this.log.warn('rebalance pass left versions where they are; it tries again', { version: layout.version, deferred: p.deferred, why: p.deferredWhy, retryInS: retryMs / 1000 });
      this.state = 'moving';
      return p;
    }
    this.deferringPasses = 0;
    this.retryAtMs = 0;
    if (layout.nodes.some((n) => n.filling) || layout.moving) {
      const next = settled(layout);
      await writeLayout(this.nodes, next, layout.version);
      this.layout.adopt(next);
    }
    this.state = 'done';
    return p;
  }

  /**
   * Where one version goes now, or undefined when it is where it belongs
   * (`deferred`: it cannot be moved now).
   */
  private plan(swept: SweptKey, v: SweptVersion): Move | { deferred: string } | undefined {
    const record = v.record;
    const placed = this.writer.placed(record.bucket, record.key);
    const spans = dataSpans(record);
    const to = spans.map((s) => keepChosen(s.shardNodes, placed.shards));
    const targets = new Set([...placed.metadata, ...to.flat()]);
    const strays = v.holders.filter((n) => !targets.has(n));
    const shards = spans.flatMap((s, si) => s.shardNodes.flatMap((from, i) => (from !== to[si]![i] ? [{ span: s, i, from, to: to[si]![i]! }] : [])));
    const missing = [...targets].filter((n) => !v.holders.includes(n));
    if (shards.length === 0 && strays.length === 0 && missing.length === 0 && v.agreed) return undefined;
    // Nothing to move, only a copy and its inline shard missing (a write still landing, or a loss): the
    // healer's to restore. Waiting for it would hold the new nodes filling while clients keep writing.
    if (shards.length === 0 && strays.length === 0 && v.agreed && record.inline && v.shards?.some((s) => !s)) return undefined;
    // A node whose records cannot be read, one that cannot take its copy, a lost inline shard: the healer's first.
    if (swept.unread.some((n) => this.layout.inService(n))) return { deferred: 'a node\'s records could not be read' };
    if (![...targets].every((n) => this.nodes.health.canWrite(n))) return { deferred: 'a target node takes no writes' };
    if (record.inline && v.shards?.some((s) => !s)) return { deferred: 'an inline shard is lost (the healer rebuilds it)' };
    const moved: ObjectRecord = record.parts
      ? { ...record, shardNodes: to[0]!, parts: record.parts.map((part, i) => ({ ...part, shardNodes: to[i]! })) }
      : { ...record, shardNodes: to[0]! };
    return { record, moved, targets: [...targets], strays, shards, missing, agreed: v.agreed, ...(record.inline ? { inline: v.shards as Uint8Array[] } : {}) };
  }

  /**
   * Moves a batch's versions: those without shard files to copy in one
   * commit per node, the others one by one. Returns the old copies of the
   * first kind for the caller to drop (their new ones are written).
   */
  private async moveBatch(batch: readonly SweptKey[], p: RebalanceProgress, thorough: boolean, filling: ReadonlySet<number>): Promise<CopyDrop[]> {
    const light: Move[] = [];
    const heavy: Move[] = [];
    const stay: ObjectRecord[] = [];
    for (const swept of batch) {
      for (const v of swept.versions) {
        const move = this.plan(swept, v);
        if (!move) stay.push(v.record);
        else if ('deferred' in move) defer(p, move.deferred);
        else if (!move.record.inline && move.shards.some((m) => m.span.size > 0)) heavy.push(move);
        else light.push(move);
      }
    }
    let drops: CopyDrop[] = [];
    if (light.length > 0) {
      // Every copy of each record rewritten on its targets (those that held the old one too: it names the old nodes).
      // A filling node takes its copies without index entries: its index is rebuilt whole before it settles.
      const expected = light.reduce((sum, m) => sum + m.targets.length, 0);
      const landed = await this.metadata.restoreCopies(light.map((m) => ({
        record: m.moved, nodes: m.targets, listed: m.targets.filter((n) => !m.missing.includes(n)),
        unindexed: m.missing.filter((n) => filling.has(n)), ...(m.inline ? { shards: m.inline } : {}),
      })));
      // A node that failed took none of them: each is written on its own then, with the quorum a put needs.
      const written = landed === expected ? light : (await inFlight(light, MOVES_IN_FLIGHT, (m) => this.putMoved(m, p))).flatMap((ok, i) => (ok ? [light[i]!] : []));
      failpoint('rebalance-copies-written');
      drops = written.filter((m) => m.strays.length > 0).map((m) => ({ record: m.record, nodes: m.strays }));
      for (const m of written) count(p, m);
      // A large version whose record a crash left moved (its copies disagreed, or this is the batch it died in): its old files.
      await inFlight(written.filter((m) => !m.record.inline && (thorough || !m.agreed)), MOVES_IN_FLIGHT, (m) => this.removeLeftovers(m.moved));
    }
    await inFlight(heavy, MOVES_IN_FLIGHT, (m) => this.moveFiles(m, p, thorough));
    if (thorough) await inFlight(stay.filter((r) => !r.inline), MOVES_IN_FLIGHT, (r) => this.removeLeftovers(r));
    return drops;
  }

  /**
   * Before filling nodes settle, their listing indexes are rebuilt from
   * their records (the moves wrote none of their entries); one that cannot
   * be now leaves the pass deferred, to be tried again.
   */
  private async reindexFilling(filling: ReadonlySet<number>, p: RebalanceProgress): Promise<void> {
    if (filling.size === 0 || p.deferred > 0) return;
    p.reindexed = [];
    for (const r of await this.metadata.reindex([...filling])) {
      if (r.state === 'rebuilt' || r.state === 'sound') p.reindexed.push(r.node);
      else defer(p, `node ${r.node}'s listing index could not be rebuilt (${r.why ?? r.state})`);
    }
  }

  /** Writes a moved record with the write quorum of a put; false (deferred) when it could not be. */
  private async putMoved(m: Move, p: RebalanceProgress): Promise<boolean> {
    try {
      await this.metadata.put(m.moved, m.inline);
      return true;
    } catch (err) {
      this.log.warn('rebalance could not write a record to its new nodes; it stays where it was', { bucket: m.record.bucket, key: m.record.key, versionId: m.record.versionId, error: (err as Error).message });
      defer(p, 'its record could not be written to its new nodes');
      return false;
    }
  }

  /** Moves a version with shard files: the files copied, the record written, then the old copies and files removed. */
  private async moveFiles(m: Move, p: RebalanceProgress, thorough: boolean): Promise<void> {
    const { record, moved } = m;
    // Deleted for good since the sweep read it: nothing to move (and no copy to bring back).
    if (!(await this.metadata.get(record.bucket, record.key, record.versionId).catch(() => undefined))) return;
    let rebuild = false;
    for (const s of m.shards) {
      if (s.span.size === 0) continue;
      const bytes = await this.copyShard(record, s.span.dir, s.i, s.from, s.to);
      if (bytes === undefined) rebuild = true;
      else p.bytesMoved += bytes;
    }
    if (!(await this.putMoved(m, p))) return;
    failpoint('rebalance-files-recorded');
    // A shard whose old node could not be read is rebuilt on its new one from the others.
    if (rebuild) await this.repair.files(moved, emptySummary(), false);
    await this.metadata.dropCopies([{ record, nodes: m.strays }]).catch(() => undefined);
    await Promise.all(m.shards.filter((s) => s.span.size > 0).map((s) => this.nodes.drives[s.from]!.remove(shardPath(record.bucket, record.key, s.span.dir, s.i)).catch(() => undefined)));
    // Copies that disagreed: a move a crash cut short between writing the record and removing the old files.
    if (!m.agreed || thorough) await this.removeLeftovers(moved);
    count(p, m);
  }

  /** Copies one shard file between nodes; the bytes copied, or undefined when the source could not be read whole. */
  private async copyShard(record: ObjectRecord, dir: string, shard: number, from: number, to: number): Promise<number | undefined> {
    const path = shardPath(record.bucket, record.key, dir, shard);
    const src = await this.nodes.drives[from]!.open(path).catch(() => undefined);
    if (!src) return undefined;
    let writer;
    try {
      writer = await this.nodes.drives[to]!.createWriter(path);
      // One buffer for the whole file: a writer may reuse its buffer once a write resolves.
      const chunk = Buffer.allocUnsafe(Math.min(COPY_CHUNK, src.size));
      for (let at = 0; at < src.size; at += COPY_CHUNK) await writer.write(await src.read(at, Math.min(COPY_CHUNK, src.size - at), chunk));
      await writer.commit();
      return src.size;
    } catch (err) {
      await writer?.abort().catch(() => undefined);
      this.log.warn('rebalance could not copy a shard; it is rebuilt from the others', { bucket: record.bucket, key: record.key, from, to, error: (err as Error).message });
      return undefined;
    } finally {
      await src.close().catch(() => undefined);
    }
  }

  /** Shard files of a version on nodes its record no longer names (a move a crash interrupted after the record was written). */
  private async removeLeftovers(record: ObjectRecord): Promise<void> {
    await Promise.all(dataSpans(record).filter((s) => s.size > 0).flatMap((s) => s.shardNodes.map((_, i) => {
      const path = shardPath(record.bucket, record.key, s.dir, i);
      return Promise.all(this.nodes.drives.filter((d) => d.index !== s.shardNodes[i] && this.layout.inService(d.index))
        .map((d) => d.stat(path).then((st) => (st ? d.remove(path) : undefined)).catch(() => undefined)));
    })));
  }

  private drainReports(layout: ClusterLayout): Promise<DrainReport[]> {
    return Promise.all(layout.nodes.filter((n) => n.role === 'draining' && this.nodes.drives[n.index]).map((n) => this.drainReport(n.index)));
  }

  /** What a draining node still holds: record copies on its shelf, shard files under its data folder. */
  async drainReport(node: number): Promise<DrainReport> {
    const d = this.nodes.drives[node]!;
    try {
      const records = (await d.shelf.scan('meta/', 64)).filter((i) => i.name.startsWith('meta/')).length;
      const files = await countFiles(d, 'data', 64);
      return { node, records, files, empty: records === 0 && files === 0 };
    } catch (err) {
      return { node, records: 0, files: 0, empty: false, why: (err as Error).message };
    }
  }

  /** The progress saved on the nodes: of the newest layout's pass (under way here or elsewhere, or the last one). */
  saved(): Promise<RebalanceProgress | undefined> {
    return this.load();
  }

  private async load(version?: number): Promise<RebalanceProgress | undefined> {
    const found = (await readJsonItem(this.nodes, REBALANCE_ITEM)).map((v) => (v && typeof v === 'object' ? v as RebalanceProgress : undefined));
    const want = version ?? Math.max(0, ...found.map((f) => f?.version ?? 0));
    // The most advanced record of that pass (a node that missed saves is behind).
    let best: RebalanceProgress | undefined;
    for (const f of found) if (f && f.version === want && (!best || f.keys > best.keys || (f.finishedMs && !best.finishedMs))) best = f;
    return best;
  }

  private async save(p: RebalanceProgress): Promise<void> {
    const bytes = Buffer.from(JSON.stringify(p));
    await Promise.all(this.nodes.drives.map((d) => (this.nodes.health.canWrite(d.index) ? d.shelf.put([{ name: REBALANCE_ITEM, bytes }]).catch(() => undefined) : undefined)));
  }
}

/** Files under `dir` of a drive, counted up to `most` (a drain's emptiness does not need them all). */
async function countFiles(d: NodeSet['drives'][number], dir: string, most: number): Promise<number> {
  let found = 0;
  const walk = async (path: string): Promise<void> => {
    for (const name of await d.list(path)) {
      if (found >= most) return;
      const child = `${path}/${name}`;
      const st = await d.stat(child);
      if (!st) continue;
      if (st.isDirectory) await walk(child);
      else found++;
    }
  };
  await walk(dir);
  return found;
}
