import { hostname } from 'node:os';

import type { Drive, DriveShelf, ShelfRowWrite } from '../../core/contracts/drive.js';
import type { Logger } from '../../core/contracts/logger.js';
import type { DerivedReport } from '../../core/contracts/metadata.js';
import { processAlive, settlesWithin } from '../../core/waiting.js';
import { entryRow, LISTING_TABLE, type IndexEntry } from './listing-index.js';
import { importRecordFiles } from './record-import.js';
import { indexEntries } from './record-scan.js';

/** The layout of index keys and values; an index of another layout is rebuilt. */
export const INDEX_LAYOUT = 3;

/** The listing table's own row: whether the index is complete (bucket names are never empty, so no entry key starts with NUL). */
const STATE_KEY = Buffer.from('\0state', 'latin1');

interface IndexState {
  readonly layout: number;
  readonly state: 'ready' | 'rebuilding';
  /** who rebuilds it, and when it last said so */
  readonly pid?: number;
  readonly host?: string;
  readonly beatMs?: number;
}

/**
 * How long a check waits for a rebuild at most before it answers that the
 * rebuild goes on (the caller asks again): an answer over the node link must
 * come well within the link's call timeout, or the node would be taken for
 * gone.
 */
const WAIT_SLICE_MS = 3000;
/** Rows a rebuild writes per commit. */
const REBUILD_BATCH = 65536;
/** A rebuild whose keeper has not written for this long was interrupted. */
const STALE_REBUILD_MS = 30_000;
/** Where releases before the shelf table kept a node folder's listing index, in LMDB files of its own. */
const SEPARATE_INDEX_DIR = '.kintsugi';
/** Rows a walk over the table reads at a time. */
const WALK_BATCH = 1024;

function stateRow(state: IndexState): ShelfRowWrite {
  return { table: LISTING_TABLE, key: STATE_KEY, value: Buffer.from(JSON.stringify(state)) };
}

async function readState(shelf: DriveShelf): Promise<IndexState | 'rotten' | undefined> {
  const [row] = await shelf.rows(LISTING_TABLE, { from: STATE_KEY, to: Buffer.concat([STATE_KEY, Buffer.from([0])]), limit: 1 });
  if (!row) return undefined;
  if (!row.value) return 'rotten';
  try {
    return JSON.parse(Buffer.from(row.value).toString()) as IndexState;
  } catch {
    return 'rotten';
  }
}

/** Whether a rebuild the state names is still running in another process. */
function runningElsewhere(state: IndexState): boolean {
  if (state.state !== 'rebuilding' || state.pid === undefined) return false;
  if (state.pid === process.pid && state.host === hostname()) return false;
  if (Date.now() - (state.beatMs ?? 0) > STALE_REBUILD_MS) return false;
  return state.host !== hostname() || processAlive(state.pid);
}

/**
 * Keeps one node's listing index, on the node's own host (in the gateway's
 * process for a local folder, in `kintsugi node` for a node on another
 * host). The index is a table on the node's shelf written in the same commit
 * as the records it mirrors, so it never falls behind them; what remains to
 * keep is an index that is not complete: a folder an earlier release wrote
 * (its index in a separate LMDB file), an interrupted rebuild, another
 * layout, or a row that rotted. Those are rebuilt from the node's records
 * while the node serves: writes go on (into the table), listings leave the
 * node out until it is done. A rebuild writes rows that records made at the
 * same time write too, and a tombstone row is never replaced, so two
 * processes that rebuild at once (a `kintsugi heal` beside the server) do
 * no harm; the state row tells others one is running.
 */
export class ListingKeeper {
  private rebuild: Promise<void> | undefined;
  private closed = false;
  /** the last reason a rebuild started, for the next report */
  private why: string | undefined;
  /** why a rebuild is to run again once the one under way ends, and whether it sweeps rot */
  private again: { why: string; sweep: boolean } | undefined;

  constructor(private readonly drive: Drive, private readonly log: Logger) {}

  private get shelf(): DriveShelf {
    return this.drive.shelf;
  }

  /** Whether the index is complete now. */
  private async ready(): Promise<boolean> {
    const state = await readState(this.shelf);
    return typeof state === 'object' && state.layout === INDEX_LAYOUT && state.state === 'ready';
  }

  /**
   * Checks the index (and moves record files from before shelves onto the
   * shelf first); starts a rebuild when it is not complete and no one is
   * rebuilding it; `wait`: returns once the rebuild is done, or after a few
   * seconds still `rebuilding` (ask again).
   */
  async check(wait: boolean): Promise<DerivedReport> {
    const n = this.drive.index;
    const moved = await importRecordFiles(this.drive).catch((err: Error) => {
      this.log.warn('record files could not be moved onto the shelf yet', { node: n, error: err.message });
      return 0;
    });
    if (moved > 0) this.log.info('record files moved onto the node\'s shelf', { node: n, records: moved });
    let state = await readState(this.shelf);
    if (state === undefined && moved === 0 && (await this.shelf.scan('', 1)).length === 0) {
      // A new node: nothing to index, and from now on every record comes with its row.
      state = { layout: INDEX_LAYOUT, state: 'ready' };
      await this.shelf.put([], [stateRow(state)]);
    }
    let why: string | undefined;
    if (moved > 0) why = `${moved} record files moved onto the shelf`;
    else if (state === undefined) why = 'no listing index in the shelf yet';
    else if (state === 'rotten') why = 'the listing index\'s state fails its checksum';
    else if (state.layout !== INDEX_LAYOUT) why = `listing index layout ${state.layout}, this release writes ${INDEX_LAYOUT}`;
    else if (state.state === 'rebuilding' && !runningElsewhere(state)) why = 'an interrupted rebuild';
    if (why !== undefined) this.start(why, state === 'rotten' || (typeof state === 'object' && state.layout !== INDEX_LAYOUT));
    else if (typeof state === 'object' && state.state === 'rebuilding' && !this.rebuild) {
      return { node: n, state: 'rebuilding' };
    }
    if (this.rebuild) {
      const reason = this.why;
      // A rebuild asked for again started as this one ended: still rebuilding.
      if (!wait || !(await settlesWithin(this.rebuild, WAIT_SLICE_MS)) || this.rebuilding()) return { node: n, state: 'rebuilding', ...(reason ? { why: reason } : {}) };
      return (await this.ready()) ? { node: n, state: 'rebuilt', ...(reason ? { why: reason } : {}) } : { node: n, state: 'unavailable', why: 'the rebuild did not finish' };
    }
    return { node: n, state: 'sound' };
  }

  /** Whether a rebuild runs now (read after an await: one may have ended and another begun). */
  private rebuilding(): boolean {
    return this.rebuild !== undefined;
  }

  /** A reader met a row that fails its checksum: the index is rebuilt (rotten rows removed, every record's row rewritten). */
  fault(why: string): void {
    this.log.warn('listing index fault', { node: this.drive.index, error: why });
    // A rebuild under way may not sweep rot (or may have swept already): one that does follows it.
    if (this.rebuild) this.again = { why, sweep: true };
    else this.start(why, true);
  }

  /**
   * Rebuilds the index from the records now, or once more after the rebuild
   * under way: that one may have walked past records written since without
   * their rows (a rebalance filling this node writes none).
   */
  reindex(why: string): void {
    if (this.rebuild) this.again = { why, sweep: this.again?.sweep ?? false };
    else this.start(why, false);
  }

  /**
   * Starts a rebuild; `sweep`: rows that fail their checksum are removed
   * first. Only rot met by a reader, a rotten state row or another layout's
   * rows ask for it: walking every row costs a rebuild a sixth more, and rot
   * left by any other rebuild is met by the next reader that reads it, which
   * asks for a sweeping one.
   */
  private start(why: string, sweep: boolean): void {
    if (this.rebuild || this.closed) return;
    this.why = why;
    this.rebuild = this.rebuildNow(why, sweep).catch((err: Error) => {
      // The state row still says rebuilding: the next check starts over.
      this.log.error('listing index rebuild failed', { node: this.drive.index, error: err.message });
    }).finally(() => {
      this.rebuild = undefined;
      const again = this.again;
      this.again = undefined;
      if (again !== undefined) this.start(again.why, again.sweep);
    });
  }

  private async rebuildNow(why: string, sweep: boolean): Promise<void> {
    const n = this.drive.index;
    const beat = (): IndexState => ({ layout: INDEX_LAYOUT, state: 'rebuilding', pid: process.pid, host: hostname(), beatMs: Date.now() });
    await this.shelf.put([], [stateRow(beat())]);
    this.log.warn('listing index rebuilding from records', { node: n, why });
    const removed = sweep ? await this.removeRotten() : 0;
    let entries = 0;
    let rows: ShelfRowWrite[] = [];
    // One batch's commit in flight while the next is read (the walk turns the event loop between its batches): the walk does not wait for each flush.
    let writing: Promise<unknown> = Promise.resolve();
    for await (const batch of indexEntries(this.shelf)) {
      if (this.closed) return;
      for (const { bucket, entry } of batch) rows.push(entryRow(bucket, entry));
      if (rows.length >= REBUILD_BATCH) {
        entries += rows.length;
        await writing;
        rows.push(stateRow(beat()));
        writing = this.shelf.put([], rows);
        rows = [];
      }
    }
    await writing;
    entries += rows.length;
    rows.push(stateRow({ layout: INDEX_LAYOUT, state: 'ready' }));
    await this.shelf.put([], rows);
    const old = await this.removeSeparateIndex();
    this.log.warn('listing index rebuilt', { node: n, entries, ...(removed ? { rottenRows: removed } : {}), ...(old ? { separateIndexRemoved: old } : {}) });
  }

  /** Removes the rows that fail their checksum (their keys may be rotten too: nothing else would ever replace them). */
  private async removeRotten(): Promise<number> {
    let removed = 0;
    for (let from: Uint8Array = Buffer.alloc(0); !this.closed;) {
      const rows = await this.shelf.rows(LISTING_TABLE, { from, limit: WALK_BATCH });
      const rotten = rows.filter((r) => r.value === undefined && !Buffer.from(r.key).equals(STATE_KEY));
      if (rotten.length > 0) await this.shelf.remove([], rotten.map((r) => ({ table: LISTING_TABLE, key: r.key, onlyIfRotten: true })));
      removed += rotten.length;
      if (rows.length < WALK_BATCH) return removed;
      from = Buffer.concat([rows[rows.length - 1]!.key, Buffer.from([0])]);
    }
    return removed;
  }

  /** The listing index as releases before the shelf table kept it (its own LMDB files in `.kintsugi`), removed once the table replaces it. */
  private async removeSeparateIndex(): Promise<number> {
    const names = (await this.drive.list(SEPARATE_INDEX_DIR)).filter((f) => f === 'listing.json' || f === 'listing.lock' || /^listing-.*\.lmdb(-lock)?$/.test(f));
    for (const name of names) await this.drive.remove(`${SEPARATE_INDEX_DIR}/${name}`);
    return names.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.rebuild;
  }
}

/**
 * Marks a node's listing index as not complete, so that its next check
 * rebuilds it (benchmarks measure the rebuild); `dropRows`: its rows go
 * too, as when a release upgrades from the separate index (the rebuild
 * then writes every row, not only what differs).
 */
export async function markIncomplete(shelf: DriveShelf, dropRows = false): Promise<void> {
  await shelf.remove([], [{ table: LISTING_TABLE, key: STATE_KEY }]);
  while (dropRows) {
    const rows = await shelf.rows(LISTING_TABLE, { from: Buffer.alloc(0), limit: WALK_BATCH });
    if (rows.length === 0) return;
    await shelf.remove([], rows.map((r) => ({ table: LISTING_TABLE, key: r.key })));
  }
}

/**
 * Loads entries straight into a node's listing table and calls it complete:
 * benchmarks fill a million-key bucket this way instead of through puts.
 */
export async function loadListing(shelf: DriveShelf, bucket: string, entries: Iterable<IndexEntry>): Promise<void> {
  let rows: ShelfRowWrite[] = [];
  for (const entry of entries) {
    rows.push(entryRow(bucket, entry));
    if (rows.length === 10_000) {
      await shelf.put([], rows);
      rows = [];
    }
  }
  await shelf.put([], [...rows, stateRow({ layout: INDEX_LAYOUT, state: 'ready' })]);
}
