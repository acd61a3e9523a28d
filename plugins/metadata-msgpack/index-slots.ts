import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { DerivedLink, DerivedReport } from '../../core/contracts/metadata.js';
import { IDENTITY_DIR, IDENTITY_FILE } from '../../core/layout.js';
import type { NodeIdentity } from '../../core/node-identity.js';
import type { Logger } from '../../core/contracts/logger.js';
import type { NodeSet } from '../../core/contracts/nodes.js';
import { checkIndex, checkIndexes } from '../../core/lmdb-check.js';
import { INDEX_LAYOUT, IndexCorruptError, NodeIndex, type IndexEntry, type IndexIdentity } from './listing-index.js';

/** `.kintsugi/listing.json`: which index generation is current, and whether it is complete. */
interface IndexState {
  readonly clusterId: string;
  readonly node: number;
  readonly generation: string;
  readonly state: 'ready' | 'rebuilding';
}

interface Slot {
  index?: NodeIndex;
  generation?: string;
  ready: boolean;
  /** no use before this time (a failed open is not retried per request) */
  retryAtMs: number;
  /** the fault that closed it, logged once */
  fault?: string;
  opening?: Promise<void>;
  rebuilding?: Promise<void>;
}

/** How long a closed or unusable index waits before it is tried again. */
const RETRY_MS = 2000;
/** How long a process waits for the keeper to publish a new index before giving up for a while. */
const WAIT_FOR_KEEPER_MS = 10_000;
/** How long a worker holds off its indexes at most, waiting for the keeper's check after a crash. */
const HOLD_MS = 60_000;
/** Time for the other processes to switch to a new index before the rebuild scans the records. */
const SETTLE_MS = 500;
const REBUILD_BATCH = 1000;

/** One node's newest records, as index entries, for a rebuild. */
export type RecordSource = (node: number) => AsyncIterable<{ bucket: string; entry: IndexEntry }>;

/**
 * The listing indexes this process uses, one per node, and what keeps them
 * sound. An index is derived data: when one is missing, unreadable, foreign
 * or fails its check it is set aside in `.kintsugi/quarantine/` (never
 * deleted) and a new generation is rebuilt from the node's own records in
 * the background; meanwhile listings merge the other nodes' indexes.
 *
 * One process keeps the indexes (the server's primary, or a process on its
 * own): it checks each index in a child process before it is mapped (a rotten
 * LMDB file can crash whoever maps it), sets aside and rebuilds. Worker
 * processes trust what the keeper checked, and report the faults they meet.
 */
export class IndexSlots {
  private readonly slots: Slot[];
  private link: DerivedLink = { keeper: true };
  private readonly checked = new Set<string>();
  private closed = false;
  private checking: Promise<DerivedReport[]> | undefined;
  /** (not the keeper) while set, no index is opened: the keeper is checking them after a crash */
  private held: { release: () => void; released: Promise<void> } | undefined;

  constructor(
    private readonly nodes: NodeSet,
    private readonly sync: boolean,
    private readonly log: Logger,
    private readonly records: RecordSource,
    /** indexes a complete listing merges (NUMNODES - PARITY) */
    private readonly enough: number,
  ) {
    this.slots = Array.from({ length: nodes.drives.length }, () => ({ ready: false, retryAtMs: 0 }));
  }

  coordinate(link: DerivedLink): void {
    this.link = link;
  }

  private folder(n: number): string | undefined {
    const p = this.nodes.drives[n]?.localPath;
    return p === undefined ? undefined : join(p, IDENTITY_DIR);
  }

  private envPath(n: number, generation: string): string {
    return join(this.folder(n)!, `listing-${generation}.lmdb`);
  }

  private identity(n: number, generation: string): IndexIdentity {
    return { clusterId: this.nodes.clusterId, node: n, generation, layout: INDEX_LAYOUT };
  }

  /** The current state file, or why there is none to trust. */
  private readState(n: number): IndexState | string {
    let text: string;
    try {
      text = readFileSync(join(this.folder(n)!, 'listing.json'), 'utf8');
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no index yet' : `index state unreadable: ${(err as Error).message}`;
    }
    try {
      const s = JSON.parse(text) as IndexState;
      if (s.clusterId !== this.nodes.clusterId || s.node !== n) return `foreign index (cluster ${s.clusterId}, node ${s.node})`;
      if (typeof s.generation !== 'string' || !/^[0-9a-f-]{36}$/.test(s.generation) || (s.state !== 'ready' && s.state !== 'rebuilding')) return 'index state unreadable';
      return s;
    } catch {
      return 'index state unreadable';
    }
  }

  private writeState(n: number, state: IndexState): void {
    const dir = this.folder(n)!;
    const tmp = join(dir, `listing.json.${process.pid}.tmp`);
    writeFileSync(tmp, JSON.stringify(state) + '\n');
    renameSync(tmp, join(dir, 'listing.json'));
  }

  /** Node n's index for upserts (complete or being rebuilt), or undefined when it cannot be used now. */
  async forWrite(n: number): Promise<NodeIndex | undefined> {
    await this.ensure(n);
    return this.slots[n]!.index;
  }

  /** Node n's index for listings: open and complete. */
  async forList(n: number): Promise<NodeIndex | undefined> {
    await this.ensure(n);
    const s = this.slots[n]!;
    return s.ready ? s.index : undefined;
  }

  private async ensure(n: number): Promise<void> {
    if (this.held) await this.held.released;
    const s = this.slots[n]!;
    if (s.index || this.closed || !this.folder(n) || !this.nodes.health.canRead(n) || Date.now() < s.retryAtMs) return;
    s.opening ??= this.open(n).finally(() => { s.opening = undefined; });
    await s.opening;
  }

  private async open(n: number): Promise<void> {
    const s = this.slots[n]!;
    let seen: string | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      const state = this.readState(n);
      let why: string | undefined = typeof state === 'string' ? state : undefined;
      // A rebuild no live process holds the lock for was interrupted: start it over. If one
      // does, the index is used as it fills (upserts go in, listings wait for it to be ready).
      if (typeof state !== 'string' && state.state === 'rebuilding' && this.link.keeper && this.nodes.health.canWrite(n)
        && (await this.replace(n, 'an interrupted rebuild'))) return;
      if (typeof state !== 'string' && this.link.keeper && !this.checked.has(state.generation)) {
        const verdict = await checkIndex(this.envPath(n, state.generation), this.identity(n, state.generation));
        if (verdict.verdict === 'unavailable') break;
        if (verdict.verdict === 'sound') this.checked.add(state.generation);
        else why = verdict.why;
      }
      // (not the keeper) The generation this process found at fault: wait for the keeper to
      // replace it; if it does not (it found the index sound), use it again.
      if (typeof state !== 'string' && why === undefined && !this.link.keeper && s.fault !== undefined && s.generation === state.generation
        && attempt === 0 && (await this.newState(n, state.generation))) continue;
      if (typeof state !== 'string' && why === undefined) {
        this.map(n, state);
        return;
      }
      // No one can rebuild an index on a node that takes no writes: try again later.
      if (!this.nodes.health.canWrite(n)) break;
      // This process sets it aside and rebuilds it (keeper), or reports it; either way what
      // the keeper makes is waited for, so that no upsert made meanwhile is dropped.
      if (this.link.keeper && (await this.replace(n, why!))) return;
      if (!this.link.keeper && s.fault !== why) this.link.report?.(n, why!);
      s.fault = why;
      seen = typeof state === 'string' ? seen : state.generation;
      if (!(await this.newState(n, seen))) break;
    }
    s.retryAtMs = Date.now() + RETRY_MS;
  }

  private map(n: number, state: IndexState): void {
    const s = this.slots[n]!;
    try {
      // A read-only node's index can still be listed from, opened read-only (LMDB then takes no locks).
      s.index = new NodeIndex(this.envPath(n, state.generation), this.sync, !this.nodes.health.canWrite(n));
      s.generation = state.generation;
      s.ready = state.state === 'ready';
      delete s.fault;
      this.nodes.health.setIndexRebuilding(n, !s.ready);
    } catch (err) {
      s.retryAtMs = Date.now() + RETRY_MS;
      this.log.warn('listing index cannot be opened', { node: n, error: (err as Error).message });
      if (!this.link.keeper && err instanceof IndexCorruptError) {
        s.fault = err.message;
        this.link.report?.(n, err.message);
      }
    }
  }

  /** Waits (a few seconds at most) for another process to publish an index generation other than `not`. */
  private async newState(n: number, not: string | undefined): Promise<boolean> {
    const deadline = Date.now() + WAIT_FOR_KEEPER_MS;
    while (Date.now() < deadline && !this.closed) {
      await new Promise((r) => setTimeout(r, 50));
      const state = this.readState(n);
      if (typeof state !== 'string' && state.generation !== not) return true;
    }
    return false;
  }

  /**
   * A fault met while using node n's index (a bad checksum, an LMDB error):
   * stop using it; the keeper checks it again, others report it.
   */
  async fault(n: number, err: unknown): Promise<void> {
    const s = this.slots[n]!;
    const why = (err as Error).message;
    if (s.fault === why && !s.index) return;
    this.log.warn('listing index fault', { node: n, error: why });
    await this.shut(n);
    s.fault = why;
    if (this.link.keeper) {
      if (s.generation) this.checked.delete(s.generation);
      s.retryAtMs = 0;
      await this.ensure(n);
    } else {
      // The next use waits (in open) for the keeper to replace this
      // generation, rather than dropping upserts or mapping it again.
      s.retryAtMs = 0;
      this.link.report?.(n, why);
    }
  }

  /** A report from another process (keeper only): check that node's index again. */
  async reported(n: number, why: string): Promise<void> {
    const s = this.slots[n]!;
    if (s.rebuilding) return;
    const state = this.readState(n);
    if (typeof state !== 'string') this.checked.delete(state.generation);
    this.log.warn('listing index fault reported by a worker', { node: n, why });
    await this.shut(n);
    s.retryAtMs = 0;
    await this.ensure(n);
    this.link.announce?.();
  }

  /**
   * (not the keeper) Closes every index and opens none until the keeper says
   * which are sound (refresh), or `maxMs` passed: a worker died, perhaps on
   * one of them, and another that maps it would die too.
   */
  async hold(maxMs = HOLD_MS): Promise<void> {
    if (!this.held) {
      let release!: () => void;
      const released = new Promise<void>((r) => { release = r; });
      const timer = setTimeout(() => this.release(), maxMs);
      timer.unref();
      this.held = { release: () => { clearTimeout(timer); release(); }, released };
    }
    await Promise.all(this.slots.map((_, n) => this.shut(n)));
  }

  private release(): void {
    const held = this.held;
    this.held = undefined;
    held?.release();
  }

  /**
   * Reopens whatever generation is current now where another process changed
   * it; `release` ends a hold (the keeper's check is done).
   */
  async refresh(release = false): Promise<void> {
    if (release) this.release();
    await Promise.all(this.slots.map(async (s, n) => {
      if (s.rebuilding || !this.folder(n)) return;
      const state = this.readState(n);
      const current = typeof state === 'string' ? undefined : state;
      if (s.index && current && current.generation === s.generation && (current.state === 'ready') === s.ready) return;
      await this.shut(n);
      s.retryAtMs = 0;
    }));
  }

  /**
   * Checks every node's index now (keeper): at start, after a worker died,
   * on heal rounds. Replaces those that fail; `wait` also waits for their
   * rebuilds.
   */
  async checkAll(wait = false): Promise<DerivedReport[]> {
    // One check at a time: a second caller (another worker died meanwhile) gets the running one's answer.
    this.checking ??= this.checkNow().finally(() => { this.checking = undefined; });
    const reports = await this.checking;
    // Fewer sound indexes than a listing merges (a first start, an upgrade): wait for the rebuilds.
    if (wait || reports.filter((r) => r.state === 'sound').length < this.enough) await this.rebuilt();
    return reports.map((r) => (wait && r.state === 'rebuilding' && r.why ? { ...r, state: 'rebuilt' } : r));
  }

  private async checkNow(): Promise<DerivedReport[]> {
    const reports: (DerivedReport | undefined)[] = [];
    const toCheck: { n: number; state: IndexState }[] = [];
    for (let n = 0; n < this.slots.length; n++) {
      const s = this.slots[n]!;
      if (!this.folder(n)) reports[n] = { node: n, state: 'none' };
      else if (!this.nodes.health.canRead(n)) reports[n] = { node: n, state: 'unavailable', why: `node ${this.nodes.health.status()[n]!.state}` };
      else if (s.rebuilding) reports[n] = { node: n, state: 'rebuilding' };
      else {
        const state = this.readState(n);
        // A rebuild that no process is running any more was interrupted: start over.
        const why = typeof state === 'string' ? state : state.state === 'rebuilding' ? 'an interrupted rebuild' : undefined;
        if (why !== undefined || typeof state === 'string') reports[n] = await this.replaced(n, why ?? '');
        else toCheck.push({ n, state });
      }
    }
    const verdicts = await checkIndexes(toCheck.map(({ n, state }) => ({ path: this.envPath(n, state.generation), expected: this.identity(n, state.generation) })));
    for (const [i, { n, state }] of toCheck.entries()) {
      const verdict = verdicts[i]!;
      if (verdict.verdict === 'sound') {
        this.checked.add(state.generation);
        reports[n] = { node: n, state: 'sound', entries: verdict.entries };
      } else if (verdict.verdict === 'unavailable') {
        reports[n] = { node: n, state: 'unavailable', why: verdict.why };
      } else {
        this.checked.delete(state.generation);
        reports[n] = await this.replaced(n, verdict.why);
      }
    }
    return reports as DerivedReport[];
  }

  /** Sets node n's index aside when the node can take it, and says so. */
  private async replaced(n: number, why: string): Promise<DerivedReport> {
    if (!this.nodes.health.canWrite(n)) return { node: n, state: 'unavailable', why };
    // Another process holds the node's lock: it is rebuilding that index.
    if (!(await this.replace(n, why))) return { node: n, state: 'rebuilding' };
    return { node: n, state: 'rebuilding', why };
  }

  /** Whether a rebuild is running on one of the nodes. */
  get rebuilding(): boolean {
    return this.slots.some((s) => s.rebuilding);
  }

  /** Resolves when no rebuild is running. */
  async rebuilt(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.rebuilding));
  }

  /**
   * Sets node n's index aside and starts a new generation, rebuilt from the
   * node's records; upserts from every process go into it meanwhile, so
   * nothing written during the rebuild is missed.
   */
  private async replace(n: number, why: string): Promise<boolean> {
    const s = this.slots[n]!;
    if (s.rebuilding) return true;
    const folder = this.folder(n)!;
    // One keeper at a time per node (a `kintsugi heal` beside the server, several processes starting).
    const unlock = takeLock(join(folder, 'listing.lock'));
    if (!unlock) return false;
    let resolveStarted!: () => void;
    const started = new Promise<void>((r) => { resolveStarted = r; });
    s.rebuilding = (async () => {
      await this.shut(n);
      const aside = this.quarantine(folder, why);
      const generation = randomUUID();
      const index = new NodeIndex(this.envPath(n, generation), this.sync);
      await index.stamp(this.identity(n, generation));
      this.writeState(n, { clusterId: this.nodes.clusterId, node: n, generation, state: 'rebuilding' });
      this.checked.add(generation);
      Object.assign(s, { index, generation, ready: false, retryAtMs: 0 });
      delete s.fault;
      this.nodes.health.setIndexRebuilding(n, true);
      if (aside) this.log.error('listing index set aside, rebuilding from records', { node: n, why, quarantine: aside });
      else this.log.info('listing index created from records', { node: n, why });
      this.link.announce?.();
      resolveStarted();
      if (this.link.announce) await new Promise((r) => setTimeout(r, SETTLE_MS));
      let entries = 0;
      const byBucket = new Map<string, IndexEntry[]>();
      const flush = async () => {
        for (const [bucket, batch] of byBucket) await index.upsertMany(bucket, batch);
        byBucket.clear();
      };
      for await (const { bucket, entry } of this.records(n)) {
        if (this.closed) return;
        let batch = byBucket.get(bucket);
        if (!batch) byBucket.set(bucket, (batch = []));
        batch.push(entry);
        if (++entries % REBUILD_BATCH === 0) await flush();
      }
      await flush();
      this.writeState(n, { clusterId: this.nodes.clusterId, node: n, generation, state: 'ready' });
      s.ready = true;
      this.nodes.health.setIndexRebuilding(n, false);
      (aside ? this.log.warn : this.log.info).call(this.log, 'listing index rebuilt', { node: n, entries });
      this.link.announce?.();
    })().catch((err) => {
      resolveStarted();
      s.retryAtMs = Date.now() + RETRY_MS;
      // The state file still says rebuilding: the next use (or check) starts over.
      this.nodes.health.setIndexRebuilding(n, false);
      this.log.error('listing index rebuild failed', { node: n, error: (err as Error).message });
      return this.shut(n);
    }).finally(() => {
      unlock();
      s.rebuilding = undefined;
    });
    await started;
    return true;
  }

  /** Moves the state file and every index generation into a new quarantine folder; returns it, or undefined when there was nothing. */
  private quarantine(folder: string, why: string): string | undefined {
    const names = readdirSync(folder).filter((f) => f === 'listing.json' || /^listing-.*\.lmdb(-lock)?$/.test(f));
    if (names.length === 0) return undefined;
    const aside = join(folder, 'quarantine', `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`);
    mkdirSync(aside, { recursive: true });
    writeFileSync(join(aside, 'why.txt'), why + '\n');
    for (const name of names) renameSync(join(folder, name), join(aside, name));
    return aside;
  }

  private async shut(n: number): Promise<void> {
    const s = this.slots[n]!;
    const index = s.index;
    s.index = undefined;
    s.ready = false;
    await index?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.rebuilding));
    await Promise.all(this.slots.map((_, n) => this.shut(n)));
  }
}

/**
 * Takes the lock file at `path` (its content: the holder's pid), taking over
 * one whose holder is gone; returns the release, or undefined while a live
 * process holds it. The node folders are local, so a pid says who holds it.
 */
function takeLock(path: string): (() => void) | undefined {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => { try { unlinkSync(path); } catch { /* gone already */ } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
    }
    let holder = 0;
    let young = false;
    try {
      holder = Number(readFileSync(path, 'utf8'));
      young = Date.now() - statSync(path).mtimeMs < 5000;
    } catch { /* released meanwhile */ }
    // An empty lock is one being taken right now.
    if ((holder > 0 && holder !== process.pid && alive(holder)) || (holder === 0 && young)) return undefined;
    try { unlinkSync(path); } catch { /* taken over by another */ }
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Loads entries straight into the current index of the node folder
 * `nodeFolder` (a new, complete one when there is none): benchmarks fill a
 * million-key bucket this way instead of through puts.
 */
export async function loadIntoIndex(nodeFolder: string, bucket: string, entries: Iterable<IndexEntry>): Promise<void> {
  const folder = join(nodeFolder, IDENTITY_DIR);
  const { clusterId, index: node } = JSON.parse(readFileSync(join(nodeFolder, IDENTITY_FILE), 'utf8')) as NodeIdentity;
  let state: IndexState;
  try {
    state = JSON.parse(readFileSync(join(folder, 'listing.json'), 'utf8')) as IndexState;
  } catch {
    state = { clusterId, node, generation: randomUUID(), state: 'ready' };
  }
  const index = new NodeIndex(join(folder, `listing-${state.generation}.lmdb`), false);
  await index.stamp({ clusterId, node, generation: state.generation, layout: INDEX_LAYOUT });
  await index.load(bucket, entries);
  await index.close();
  writeFileSync(join(folder, 'listing.json'), JSON.stringify({ ...state, state: 'ready' }) + '\n');
}
