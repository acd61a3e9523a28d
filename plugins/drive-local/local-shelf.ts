import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';

import { open, type RootDatabase } from 'lmdb';

import type { DriveShelf, ShelfItem, ShelfPut, ShelfPutResult, ShelfRow, ShelfRowRange, ShelfRowStream, ShelfRowStreamRange, ShelfRowWrite } from '../../core/contracts/drive.js';
import { nodeFault } from '../../core/errors.js';
import { pagedRowStream } from '../../core/row-stream.js';
import { ByteArena } from '../../core/byte-arena.js';
import { ScratchBuffer } from '../../core/scratch-buffer.js';
import { settlesWithin } from '../../core/waiting.js';
import { QUARANTINE_DIR, SHELF_CHECKING_FILE, SHELF_FILE, SHELF_STAMP_FILE } from './folder-layout.js';
import { checkIndexes, type IndexVerdict } from './lmdb-check.js';
import { LmdbDamagedError, MetaGuard } from './lmdb-meta-guard.js';
import { heldElsewhere, markerText } from './process-marker.js';
import { ensureShelfFormat } from './shelf-format.js';

/** 0xFF never occurs in UTF-8: prefix + 0xFF sorts after every name with that prefix. */
const AFTER = Buffer.from([0xff]);
const TIME_BYTES = 8;
const CRC_BYTES = 4;

/**
 * Where values are sealed. Every put runs inside an LMDB write transaction
 * (a transaction callback), where lmdb-js copies the value into the
 * database before put returns: one buffer serves every put of the process.
 * A fresh buffer per value was a third of the time a shelf put spent in
 * its transaction (the allocation, then lmdb-js looking up the new
 * buffer's address).
 */
const sealRoom = new ScratchBuffer(64 << 10);

/** Stored value: put time (float64), the item, then a CRC-32 of name and all before it. Valid until the next seal: put it at once. */
function seal(key: Buffer, mtimeMs: number, bytes: Uint8Array): Buffer {
  const out = sealRoom.room(TIME_BYTES + bytes.byteLength + CRC_BYTES);
  out.writeDoubleBE(mtimeMs, 0);
  out.set(bytes, TIME_BYTES);
  const end = TIME_BYTES + bytes.byteLength;
  out.writeUInt32BE(crc32(out.subarray(0, end), crc32(key)), end);
  return out;
}

function unseal(key: Buffer, value: Buffer): ShelfItem | undefined {
  const end = value.length - CRC_BYTES;
  if (end < TIME_BYTES || value.readUInt32BE(end) !== crc32(value.subarray(0, end), crc32(key))) return undefined;
  return { mtimeMs: value.readDoubleBE(0), bytes: value.subarray(TIME_BYTES, end) };
}

/**
 * Tables' rows live before every item: NUL, the table's name, NUL, the
 * row's key (no item name starts with NUL). A row's value is sealed like an
 * item's, without the time.
 */
const TABLES = Buffer.from([0]);
const FIRST_ITEM = Buffer.from([1]);

const prefixes = new Map<string, Buffer>();
function tablePrefix(table: string): Buffer {
  let prefix = prefixes.get(table);
  if (!prefix) prefixes.set(table, (prefix = Buffer.concat([TABLES, Buffer.from(table, 'utf8'), TABLES])));
  return prefix;
}

/** A row's stored value: the value, then a CRC-32 of key and value. Valid until the next seal: put it at once. */
function sealRow(key: Buffer, value: Uint8Array): Buffer {
  const out = sealRoom.room(value.byteLength + CRC_BYTES);
  out.set(value, 0);
  out.writeUInt32BE(crc32(out.subarray(0, value.byteLength), crc32(key)), value.byteLength);
  return out;
}

function unsealRow(key: Buffer, value: Buffer): Buffer | undefined {
  const end = value.length - CRC_BYTES;
  if (end < 0 || value.readUInt32BE(end) !== crc32(value.subarray(0, end), crc32(key))) return undefined;
  return value.subarray(0, end);
}

/**
 * How a walk's values leave LMDB: copied out of its shared read buffer at
 * once. lmdb-js's own binary reads copy each value into a fresh
 * ArrayBuffer; a copy from Node's pool costs a fraction of that for the
 * small values a shelf holds (records, listing rows), read by the hundred
 * thousand in a walk. Point reads use getBinary, which bypasses this (with
 * a decoder, lmdb-js's get takes its unsafe fast path): they read as they
 * always did, in write transactions too.
 */
const COPY_OUT = {
  encode: (value: Buffer): Buffer => value,
  // `length` is the value's (lmdb-js sets it on its shared buffer); the subarray holds just those bytes.
  decode: (bytes: Uint8Array): Buffer => (walkArena ? walkArena.copy(bytes.subarray(0, bytes.length)) : Buffer.from(bytes.subarray(0, bytes.length))),
};

/** Set while a walk reads (synchronously, in one call): its values are copied into shared chunks. */
let walkArena: ByteArena | undefined;
/** A walk's chunk: a few hundred small values; a batch of the largest (32 KiB inline shards) takes a chunk per eight. */
const WALK_CHUNK_BYTES = 256 << 10;

/** Runs a walk with its values copied into an arena of their own (the walk's results outlive it). */
function walking<T>(op: () => T): T {
  walkArena = new ByteArena(WALK_CHUNK_BYTES);
  try {
    return op();
  } finally {
    walkArena = undefined;
  }
}

/**
 * A stored value looked at in place, valid until the next read: no copy
 * (lmdb-js's getBinary copies each value into an ArrayBuffer of its own,
 * and a rebuild looks at every row it writes).
 */
function peek(db: RootDatabase<Buffer, Buffer>, key: Buffer): Buffer | undefined {
  const bytes = db.getBinaryFast(key);
  // `length` is the value's (lmdb-js sets it on its shared buffer).
  return bytes && bytes.subarray(0, bytes.length);
}

/** Applies row writes inside the caller's transaction. */
function writeRows(db: RootDatabase<Buffer, Buffer>, rows: readonly ShelfRowWrite[]): void {
  for (const row of rows) {
    const key = Buffer.concat([tablePrefix(row.table), row.key]);
    if (row.value === undefined) {
      const stored = row.onlyIfRotten ? peek(db, key) : undefined;
      if (!row.onlyIfRotten || (stored && !unsealRow(key, stored))) db.remove(key);
      continue;
    }
    if (row.unlessFirstByte !== undefined) {
      const stored = peek(db, key);
      const current = stored && unsealRow(key, stored);
      // A row that already holds these bytes is left alone: a rebuild over an index that is mostly right writes only what differs.
      if (current && (current[0] === row.unlessFirstByte || current.equals(row.value))) continue;
    }
    db.put(key, sealRow(key, row.value));
  }
}

function refuseTableNames(items: readonly ShelfPut[]): void {
  for (const item of items) if (item.name.startsWith('\0')) throw new Error(`shelf item names cannot start with NUL: ${JSON.stringify(item.name)}`);
}

/** Keys from `prefix` up to (not including) the first that does not start with it. */
const range = (prefix: Buffer) => ({ start: prefix, end: Buffer.concat([prefix, AFTER]) });

/** What LMDB says when a file's pages do not hold what they should: the file is damaged. */
const DAMAGED = /MDB_PAGE_NOTFOUND|MDB_CORRUPTED|MDB_INVALID|MDB_VERSION_MISMATCH|MDB_BAD_TXN|MDB_BAD_VALSIZE|MDB_TLS_FULL/;

/** LMDB's own errors carry no errno code: the ones node health acts on get one. */
function asNodeFault(err: unknown): unknown {
  const e = err as { code?: string; message?: string };
  if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return err;
  const message = String(e.message ?? err);
  if (/read-only/i.test(message)) return nodeFault('EROFS', message);
  if (/no space|MDB_MAP_FULL|quota/i.test(message)) return nodeFault('ENOSPC', message);
  if (/input\/output|\bEIO\b/i.test(message)) return nodeFault('EIO', message);
  if (/permission denied/i.test(message)) return nodeFault('EACCES', message);
  return err;
}

/**
 * A local node's shelf: one LMDB file in the node's `.kintsugi` folder.
 * LMDB batches the writes of one event turn into one transaction (lmdb-js'
 * event-turn batching) and flushes it once, which is the group commit the
 * contract promises; writers of several processes on one node are
 * serialised by LMDB's lock. Reads are memory-mapped lookups: no file is
 * opened per item.
 *
 * What LMDB does not do is guarded around it: before every use the file is
 * checked to still be the node's (a node folder wiped or replaced leaves an
 * open LMDB writing to a deleted file) and its meta pages to be intact (a
 * rotten one crashes whoever maps it); a damaged file is set aside in the
 * node's quarantine folder with why, the operation fails (the node's health
 * sees an I/O fault) and the next one starts a new, empty shelf, which the
 * healer fills again from the other nodes.
 */
/** A shelf file this process has open: LMDB must not have one file open twice in a process. */
interface OpenShelf {
  readonly db: RootDatabase<Buffer, Buffer>;
  readonly guard: MetaGuard | undefined;
  /** the file's inode when opened: another one at the path means the file was replaced */
  readonly ino: number;
  /** when its meta pages were last found intact (performance.now()) */
  checkedMs: number;
  /** the event loop turn in which the path was last found to hold this file */
  seenTurn: number;
  /** why it is only read: its rewrite (shelf-format.ts) failed at `since` (performance.now()) and is tried again later */
  readonly keptReadOnly?: { readonly why: string; readonly since: number };
  closing?: Promise<void>;
}

/**
 * How long a check of the meta pages holds (two reads per operation were 3 %
 * of a small put's CPU): a file garbled under a running process is met
 * within this long. Whether the file is still the node's is checked in
 * every event loop turn that operates on it (turnNow).
 */
const RECHECK_MS = 50;

/**
 * The event loop turn now: it changes once the turn's callbacks (and their
 * microtasks) have run. One look at a shelf file's path stands for every
 * operation of a turn: a stat per operation was 7 % of a small put's CPU
 * (a put is a dozen shelf operations, many landing in the turn in which an
 * LMDB commit resolved), and an operation that awaits anything (a commit,
 * a file) looks again in the turn it goes on in.
 */
let turn = 0;
let turnEnding = false;
function turnNow(): number {
  if (!turnEnding) {
    turnEnding = true;
    setImmediate(() => { turn++; turnEnding = false; });
  }
  return turn;
}

/** Open shelf files by path, shared by every drive of this process on the folder. */
const opened = new Map<string, OpenShelf>();
/** Opens in progress by path: callers wait for the one running. */
const opening = new Map<string, Promise<OpenShelf>>();

/**
 * Shelf files (path:inode) this process checked, or made itself, or that
 * the process that started it had checked (its workers, which map the same
 * files while it has them open).
 */
const TRUSTED_ENV = 'KINTSUGI_TRUSTED_SHELVES';
const verified = new Set<string>((process.env[TRUSTED_ENV] ?? '').split('\n').filter(Boolean));
function trust(key: string): void {
  verified.add(key);
  process.env[TRUSTED_ENV] = [...verified].join('\n');
}

/** How much address space a shelf's map reserves: room for a node's records and inline shards (a few KiB each) by the billion. */
export const SHELF_MAP_BYTES = 2 ** 41;

/** Walks of shelf files under way (path:inode), in the background once a caller stopped waiting. */
const checks = new Map<string, { verdict: Promise<IndexVerdict>; done: boolean }>();
/**
 * `waitMs`: how long an operation waits for the walk of a file of at least
 * `backgroundBytes` before it is told the node is being checked (a smaller
 * file is walked in well under a second, however busy the machine: waited
 * for); `walks`: how many this process started. Tests read and set them.
 */
export const shelfChecks = { waitMs: 2000, backgroundBytes: 64 << 20, walks: 0 };

/**
 * How long a shelf file kept read-only after a failed rewrite is only read
 * before the rewrite is tried again (each try copies the whole file: not
 * every minute on a disk that is full). Tests set it.
 */
export const shelfRewrites = { retryMs: 10 * 60_000 };

/** The file as a stamp (`text`: inode, size, and modification and change times to the nanosecond); undefined when it is not there. */
function stampOf(file: string): { ino: string; size: number; text: string } | undefined {
  const st = statSync(file, { bigint: true, throwIfNoEntry: false });
  return st && { ino: String(st.ino), size: Number(st.size), text: `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` };
}

function readStamp(root: string): string | undefined {
  try {
    return readFileSync(join(root, SHELF_STAMP_FILE), 'utf8');
  } catch {
    return undefined;
  }
}

/** Records that the shelf file, as it is now, is sound (best effort: without a stamp the next open walks the file). */
function writeStamp(root: string, stamp: string): void {
  const path = join(root, SHELF_STAMP_FILE);
  try {
    writeFileSync(`${path}.tmp`, stamp);
    renameSync(`${path}.tmp`, path);
  } catch { /* a read-only or vanished node: it is walked next time */ }
}
type Waiting = { path: string; done: (verdict: IndexVerdict) => void };
let batch: Waiting[] | undefined;

/**
 * Checks a shelf file in a child process before this process maps it (a
 * rotten B-tree page can crash whoever maps it: the child dies instead).
 * Files asked for in one turn share one child: a node process costs
 * ~100 ms to start.
 */
function verify(path: string): Promise<IndexVerdict> {
  if (!batch) {
    const run: Waiting[] = [];
    batch = run;
    setImmediate(() => {
      batch = undefined;
      void checkIndexes(run.map((r) => ({ path: r.path }))).then(
        (verdicts) => run.forEach((r, i) => r.done(verdicts[i]!)),
        (err: Error) => run.forEach((r) => r.done({ verdict: 'unavailable', why: err.message })),
      );
    });
  }
  return new Promise((done) => batch!.push({ path, done }));
}

export class LocalShelf implements DriveShelf {
  private readonly file: string;

  constructor(private readonly root: string, private readonly sync: boolean) {
    this.file = join(root, SHELF_FILE);
  }

  /** The open store, checked to be the node's current file and sound; opened (or reopened) when not. */
  private async store(): Promise<OpenShelf> {
    const file = this.file;
    for (;;) {
      const running = opening.get(file);
      if (running) await running.catch(() => undefined);
      const current = opened.get(file);
      const retry = current?.keptReadOnly && performance.now() - current.keptReadOnly.since >= shelfRewrites.retryMs;
      if (current && !retry && this.stillAt(current)) {
        const now = performance.now();
        if (now - current.checkedMs >= RECHECK_MS) {
          current.checkedMs = now;
          if (current.guard && !(await current.guard.settledIntact())) await this.setAside(current, `an LMDB meta page is damaged (${current.guard.why})`);
        }
        return current;
      }
      if (opening.has(file)) continue;
      const open = this.reopen(current);
      opening.set(file, open);
      try {
        return await open;
      } finally {
        opening.delete(file);
      }
    }
  }

  /** Whether the path still holds `shelf`'s file (not removed or replaced): looked at once an event loop turn. */
  private stillAt(shelf: OpenShelf): boolean {
    const now = turnNow();
    if (shelf.seenTurn === now) return true;
    if (statSync(this.file, { throwIfNoEntry: false })?.ino !== shelf.ino) return false;
    shelf.seenTurn = now;
    return true;
  }

  /** Closes what this process had open at the path (a removed or replaced file) and opens the file there now. */
  private async reopen(stale: OpenShelf | undefined): Promise<OpenShelf> {
    if (stale) await close(this.file, stale);
    const root = statSync(this.root, { throwIfNoEntry: false });
    // As a file written into a vanished folder fails: ENOENT (the health probe, not one write, decides a node is gone).
    if (!root?.isDirectory()) throw nodeFault('ENOENT', `node folder ${this.root} is gone`);
    // Checked before this process maps it: a file that is already damaged is set aside unopened. Its meta
    // pages too, whatever a walk said of the file before: a worker started after another died of garbage
    // behind intact magic numbers trusted its primary's walk, mapped the file, and died as well.
    let guard: MetaGuard | undefined;
    try {
      guard = MetaGuard.learn(this.file, SHELF_MAP_BYTES);
    } catch (err) {
      if (err instanceof LmdbDamagedError) await this.setAside(undefined, err.message);
      throw err;
    }
    try {
      if (guard && !(await guard.settledIntact())) await this.setAside(undefined, `an LMDB meta page is damaged (${guard.why})`);
    } finally {
      guard?.close();
    }
    const verdict = await this.checked();
    if (verdict?.verdict === 'corrupt') await this.setAside(undefined, verdict.why);
    mkdirSync(dirname(this.file), { recursive: true });
    // A file from before the classic free list is rewritten before it is written to (shelf-format.ts). One
    // that cannot be now (no room for the copy, something in its way) is only read, which is safe, and the
    // rewrite is tried again later: the node serves reads and refuses writes meanwhile.
    let keptReadOnly: OpenShelf['keptReadOnly'];
    try {
      await ensureShelfFormat(this.root, this.file, SHELF_MAP_BYTES);
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_NODE_CHECKING') throw err;
      keptReadOnly = { why: `${this.file} is only read until it is rewritten: ${(err as Error).message}`, since: performance.now() };
    }
    // The map is reserved large once (address space, not disk: the file grows with its pages). lmdb-js
    // otherwise starts at 128 KiB and grows the map as the file grows, and a growth while the server's
    // other processes write the same file hung all of them at 100,000 objects (bench:scale).
    const options = { keyEncoding: 'binary', encoding: 'binary', encoder: COPY_OUT, compression: false, noSync: !this.sync, overlappingSync: false, mapSize: SHELF_MAP_BYTES } as const;
    let db: RootDatabase<Buffer, Buffer>;
    try {
      db = open<Buffer, Buffer>(this.file, keptReadOnly ? { ...options, readOnly: true } : options);
    } catch (err) {
      const fault = asNodeFault(err) as { code?: string };
      // A node remounted read-only is still read: LMDB reads a read-only file system without its lock.
      if (fault.code !== 'EROFS' && fault.code !== 'EACCES') throw fault;
      db = open<Buffer, Buffer>(this.file, { ...options, readOnly: true });
    }
    const shelf: OpenShelf = { db, guard: MetaGuard.learn(this.file, SHELF_MAP_BYTES), ino: statSync(this.file).ino, checkedMs: performance.now(), seenTurn: turnNow(), ...(keptReadOnly ? { keptReadOnly } : {}) };
    trust(`${this.file}:${shelf.ino}`);
    opened.set(this.file, shelf);
    return shelf;
  }

  /**
   * For a probe: resolves when the shelf may be used; throws
   * ERR_NODE_CHECKING while its file is walked, and EIO once a walk found
   * it damaged (set aside: the next use starts an empty shelf).
   */
  async usable(): Promise<void> {
    if (opened.has(this.file)) return;
    const verdict = await this.checked();
    if (verdict?.verdict === 'corrupt') await this.setAside(undefined, verdict.why);
  }

  /**
   * Whether the file may be mapped: undefined when this process trusts it
   * (checked, made, or unchanged since it was last found sound or closed
   * cleanly: its bytes are then the scrub's to check); else the verdict of
   * a walk in a child process. A walk grows with the file: one that takes
   * longer than `shelfChecks.waitMs` goes on in the background, and the caller is
   * told the node is being checked (ERR_NODE_CHECKING: the node serves
   * nothing meanwhile, the others keep the quorum) until it ends.
   */
  private async checked(): Promise<IndexVerdict | undefined> {
    const found = stampOf(this.file);
    if (found === undefined) return undefined;
    const before = found.text;
    const key = `${this.file}:${found.ino}`;
    if (verified.has(key)) return undefined;
    // A small file is walked by whoever needs it, and waited for; a large one by one process, in the background.
    const small = found.size < shelfChecks.backgroundBytes;
    let check = checks.get(key);
    if (!check) {
      if (readStamp(this.root) === before) return undefined;
      const checking = small ? undefined : join(this.root, SHELF_CHECKING_FILE);
      if (checking && heldElsewhere(checking, before) !== undefined) throw nodeFault('ERR_NODE_CHECKING', `${this.file} is being checked by another process before it is mapped`);
      try { if (checking) writeFileSync(checking, markerText(before)); } catch { /* a read-only node: walked without telling others */ }
      shelfChecks.walks++;
      const started = verify(this.file).then((verdict) => {
        if (verdict.verdict === 'sound' && stampOf(this.file)?.text === before) writeStamp(this.root, before);
        if (verdict.verdict === 'sound') trust(key);
        if (checking) rmSync(checking, { force: true });
        return verdict;
      });
      check = { verdict: started, done: false };
      const entry = check;
      checks.set(key, entry);
      // Forgotten once its verdict was taken (a corrupt file is set aside; an unavailable one is asked again).
      void started.finally(() => { entry.done = true; });
    }
    const entry = check;
    if (!entry.done && !(small ? await entry.verdict.then(() => true) : await settlesWithin(entry.verdict, shelfChecks.waitMs))) {
      throw nodeFault('ERR_NODE_CHECKING', `${this.file} is being checked before it is mapped (not closed cleanly, or changed since)`);
    }
    if (checks.get(key) === entry) checks.delete(key);
    return entry.verdict;
  }

  /**
   * Moves the damaged file (and its lock file) into a new quarantine
   * folder with why, unless another process did already, then fails the
   * operation that met it.
   */
  private async setAside(damaged: OpenShelf | undefined, why: string): Promise<never> {
    if (damaged) await close(this.file, damaged);
    const st = statSync(this.file, { throwIfNoEntry: false });
    let where = 'already set aside';
    if (st && (!damaged || st.ino === damaged.ino)) {
      const aside = join(this.root, QUARANTINE_DIR, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`);
      mkdirSync(aside, { recursive: true });
      writeFileSync(join(aside, 'why.txt'), `shelf: ${why}\n`);
      renameSync(this.file, join(aside, 'shelf.lmdb'));
      try { renameSync(`${this.file}-lock`, join(aside, 'shelf.lmdb-lock')); } catch { /* none */ }
      where = `set aside in ${aside}`;
    }
    throw nodeFault('EIO', `${this.file}: ${why}; ${where}, a new shelf takes its place`);
  }

  /**
   * Runs a read; a node folder that is gone reads as empty (`none`), as
   * its files would: writes are what find a node gone.
   */
  private async read<T>(none: T, op: (db: RootDatabase<Buffer, Buffer>) => T): Promise<T> {
    if (!opened.has(this.file) && !statSync(this.root, { throwIfNoEntry: false })) return none;
    try {
      return op((await this.store()).db);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return none;
      return this.failed(err);
    }
  }

  private async write(op: (db: RootDatabase<Buffer, Buffer>) => Promise<unknown>): Promise<void> {
    let shelf: OpenShelf;
    try {
      shelf = await this.store();
    } catch (err) {
      return this.failed(err);
    }
    // Refused as a read-only node's writes are (the why names the rewrite, and is not taken for damage).
    if (shelf.keptReadOnly) throw nodeFault('EROFS', shelf.keptReadOnly.why);
    try {
      await op(shelf.db);
    } catch (err) {
      await this.failed(err);
    }
  }

  /** Rethrows what an operation met as a node fault; LMDB finding its pages damaged sets the file aside first. */
  private async failed(err: unknown): Promise<never> {
    const current = opened.get(this.file);
    if (current && DAMAGED.test(String((err as Error).message))) await this.setAside(current, String((err as Error).message));
    throw asNodeFault(err);
  }

  async put(items: readonly ShelfPut[], rows: readonly ShelfRowWrite[] = []): Promise<ShelfPutResult[]> {
    refuseTableNames(items);
    const results: ShelfPutResult[] = [];
    const now = Date.now();
    await this.write((db) => db.transaction(() => {
        for (const item of items) {
          const key = Buffer.from(item.name, 'utf8');
          const first = item.askFirst ? { firstInFolder: folderEmpty(db, key.subarray(0, key.lastIndexOf(SLASH) + 1)) } : {};
          if (item.ifAbsent && peek(db, key) !== undefined) {
            results.push({ written: false, ...first });
            continue;
          }
          db.put(key, seal(key, now, item.bytes));
          results.push({ written: true, ...first });
        }
        writeRows(db, rows);
      }));
    return results;
  }

  async get(name: string): Promise<ShelfItem | undefined> {
    return this.read(undefined, (db) => {
      const key = Buffer.from(name, 'utf8');
      const value = db.getBinary(key);
      return value && unseal(key, value);
    });
  }

  async list(folder: string): Promise<string[]> {
    return this.read([] as string[], (db) => {
      const prefix = Buffer.from(`${folder}/`, 'utf8');
      const names: string[] = [];
      // Read to the end: no LMDB cursor outlives the call.
      for (const key of db.getKeys(range(prefix))) names.push(key.toString('utf8', prefix.length));
      return names;
    });
  }

  async remove(names: readonly string[], rows: readonly ShelfRowWrite[] = []): Promise<void> {
    await this.write((db) => db.transaction(() => {
      writeRows(db, rows);
      for (const name of names) db.remove(Buffer.from(name, 'utf8'));
      // Releases before this one kept a marker key per folder: one left is removed once its folder empties.
      for (const folder of new Set(names.map((n) => n.slice(0, n.lastIndexOf('/') + 1)))) {
        const prefix = Buffer.from(folder, 'utf8');
        const marker = Buffer.concat([OLD_MARKERS, prefix]);
        if (peek(db, marker) !== undefined && folderEmpty(db, prefix)) db.remove(marker);
      }
    }));
  }

  async scan(after: string, limit: number): Promise<{ name: string; bytes: Uint8Array }[]> {
    return this.read([] as { name: string; bytes: Uint8Array }[], (db) => {
      const out: { name: string; bytes: Uint8Array }[] = [];
      const start = after ? Buffer.concat([Buffer.from(after, 'utf8'), Buffer.from([0])]) : FIRST_ITEM;
      // Names only: tables' rows sort before every name, old releases' folder markers after.
      return walking(() => {
        for (const { key, value } of db.getRange({ start, end: OLD_MARKERS, limit })) {
          // A rotten item is walked past with no bytes (it reads as absent).
          out.push({ name: key.toString('utf8'), bytes: unseal(key, value)?.bytes ?? new Uint8Array(0) });
        }
        return out;
      });
    });
  }

  async rows(table: string, range: ShelfRowRange): Promise<ShelfRow[]> {
    return this.read([] as ShelfRow[], (db) => {
      const prefix = tablePrefix(table);
      const out: ShelfRow[] = [];
      const end = range.to ? Buffer.concat([prefix, range.to]) : Buffer.concat([prefix.subarray(0, prefix.length - 1), Buffer.from([1])]);
      // Read to the end: no LMDB cursor outlives the call.
      return walking(() => {
        for (const { key, value } of db.getRange({ start: Buffer.concat([prefix, range.from]), end, limit: range.limit })) {
          out.push({ key: key.subarray(prefix.length), value: unsealRow(key, value) });
        }
        return out;
      });
    });
  }

  streamRows(table: string, range: ShelfRowStreamRange): ShelfRowStream {
    return pagedRowStream((r) => this.rows(table, r), range);
  }

  /**
   * Closes the file in this process and stamps it as it is then (whatever
   * this process wrote, LMDB wrote): the next start opens it at once. A
   * file changed after this (another process still writing, or garbled)
   * no longer matches, and is walked before it is mapped again.
   */
  async close(): Promise<void> {
    const current = opened.get(this.file);
    if (!current) return;
    const intact = !current.guard || current.guard.intact();
    await close(this.file, current);
    const now = stampOf(this.file);
    if (intact && now?.ino === String(current.ino)) writeStamp(this.root, now.text);
  }
}

/** Forgets an open shelf file and closes it (LMDB finishes the writes it has queued first). */
async function close(file: string, shelf: OpenShelf): Promise<void> {
  if (opened.get(file) === shelf) opened.delete(file);
  shelf.closing ??= (async () => {
    shelf.guard?.close();
    await shelf.db.close().catch(() => undefined);
  })();
  await shelf.closing;
}

/**
 * Whether a folder (its name up to and with its last `/`) holds no item: the
 * first key at or after it, one cursor step however many versions it holds.
 * Releases before this one kept a marker key per folder for this and wrote it
 * with every new key's first item: a random page (and its branch pages) more
 * per put on every node, a quarter of the bytes a small put wrote.
 */
function folderEmpty(db: RootDatabase<Buffer, Buffer>, folder: Buffer): boolean {
  let empty = true;
  // Read to its end (one key at most): no LMDB cursor outlives the call.
  for (const _ of db.getKeys({ ...range(folder), limit: 1 })) empty = false;
  return empty;
}

const SLASH = 0x2f;

/** Where releases before this one kept folder markers: after every name (0xFF never starts a UTF-8 name), out of lists and walks. */
const OLD_MARKERS = Buffer.from([0xff]);
