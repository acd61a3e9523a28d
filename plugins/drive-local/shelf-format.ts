import { spawn } from 'node:child_process';
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { nodeFault } from '../../core/errors.js';
import { failpoint } from '../../core/failpoint.js';
import { syncDir } from './fd.js';
import { SHELF_FORMAT_FILE, SHELF_REWRITING_FILE } from './folder-layout.js';
import { freeListFormat } from './lmdb-free-list.js';
import { heldElsewhere, markerText } from './process-marker.js';

/**
 * The shelf's on-disk free list. lmdb-js 3 replaced LMDB's free list with a
 * cached one of its own; with two processes writing one file (a server's
 * primary and its workers) it failed in every load of 60,000-100,000 small
 * PUTs (mdb_page_alloc, then MDB_BAD_TXN or MDB_NOTFOUND, and a commit
 * that never returns). lmdb-js 2.9 keeps LMDB's own free list, which is
 * safe across processes, but aborts the process that writes to a file whose
 * free list lmdb-js 3 wrote. Such a file is rewritten once, entry by entry,
 * by a version that writes the classic free list: this one.
 */
export const SHELF_FORMAT = 'lmdb classic free list\n';

const LMDB_ENTRY = createRequire(import.meta.url).resolve('lmdb');

/**
 * Runs in a child process (a file LMDB cannot read may crash whoever maps
 * it): copies every entry of `src` into a new file `dst` in key order, in
 * commits of 16,384, then walks both and compares them byte for byte.
 * Reading needs no free list, so any LMDB reads the old file.
 */
const REWRITER = `
const [, lmdbEntry, src, dst, mapSize] = process.argv;
const { open } = require(lmdbEntry);
const options = { keyEncoding: 'binary', encoding: 'binary', compression: false };
const from = open(src, { ...options, readOnly: true });
const to = open(dst, { ...options, overlappingSync: false, mapSize: Number(mapSize) });
let batch = [];
let entries = 0;
const flush = () => {
  to.transactionSync(() => { for (const [key, value] of batch) to.putSync(key, value); });
  batch = [];
};
for (const { key, value } of from.getRange({})) {
  batch.push([Buffer.from(key), Buffer.from(value)]);
  entries++;
  if (batch.length === 16384) flush();
}
flush();
const a = from.getRange({})[Symbol.iterator]();
const b = to.getRange({})[Symbol.iterator]();
for (let i = 0; ; i++) {
  const x = a.next();
  const xKey = x.done ? undefined : Buffer.from(x.value.key);
  const xValue = x.done ? undefined : Buffer.from(x.value.value);
  const y = b.next();
  if (x.done || y.done) {
    if (x.done !== y.done) throw new Error('the copy has ' + (x.done ? 'more' : 'fewer') + ' entries than the file');
    break;
  }
  if (!xKey.equals(y.value.key) || !xValue.equals(y.value.value)) throw new Error('entry ' + i + ' differs in the copy');
}
to.close();
from.close();
process.stdout.write(JSON.stringify({ entries }) + '\\n');
`;

/** The node's format marker as written (SHELF_FORMAT once its shelf file is in this format), if it has one. */
function formatOf(root: string): string | undefined {
  try {
    return readFileSync(join(root, SHELF_FORMAT_FILE), 'utf8');
  } catch {
    return undefined;
  }
}

/** Writes the format marker, unless the node takes no writes (read-only: the file is then only read). */
function markFormat(root: string): void {
  const path = join(root, SHELF_FORMAT_FILE);
  try {
    writeFileSync(`${path}.tmp`, SHELF_FORMAT);
    renameSync(`${path}.tmp`, path);
  } catch (err) {
    if (!isRefused(err)) throw err;
  }
}

function isRefused(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'EROFS' || code === 'EACCES' || code === 'EPERM';
}

/**
 * Claims the rewrite of one node's shelf for this process: false when the
 * node takes no writes. Another live process on this host rewriting it is
 * waited for (ERR_NODE_CHECKING: the node serves nothing meanwhile, the
 * others keep the quorum); a claim left by a dead one is taken over.
 */
function claim(root: string): boolean {
  const marker = join(root, SHELF_REWRITING_FILE);
  try {
    writeFileSync(marker, markerText(), { flag: 'wx' });
    return true;
  } catch (err) {
    if (isRefused(err)) return false;
    if ((err as { code?: string }).code !== 'EEXIST') throw err;
  }
  const pid = heldElsewhere(marker);
  if (pid !== undefined) throw nodeFault('ERR_NODE_CHECKING', `${root}: its shelf file is being rewritten by process ${pid}`);
  writeFileSync(marker, markerText());
  return true;
}

/**
 * Makes sure the shelf file at `file` may be opened for writing by this
 * LMDB: a new one is marked at once; one written before the marker existed
 * is rewritten into a new file in a child process, compared entry by entry,
 * and put in its place (with a fresh lock file: the old one's transaction
 * ids belong to the old file). Resolves with the entries rewritten, if any.
 * A marked file whose free list is foreign all the same fails (EFREELIST:
 * the caller only reads it). The caller has walked the file first (a
 * damaged one is set aside, not copied). A node that takes no writes keeps
 * its file, which is then only read, and that LMDB does safely.
 */
export async function ensureShelfFormat(root: string, file: string, mapBytes: number): Promise<number | undefined> {
  if (formatOf(root) === SHELF_FORMAT) {
    // Marked, yet lmdb-js 3 wrote into it since (a release from before, started on these folders again). Not
    // rewritten while this release's other processes may have it open: their writes would be lost with it.
    if (await foreignFreeList(file)) {
      throw nodeFault('EFREELIST', `${file}: its free list is not LMDB's own (lmdb-js 3 wrote into it after it was rewritten); stop the server, remove ${SHELF_FORMAT_FILE} of this node and start it again to have the file rewritten`);
    }
    return undefined;
  }
  if (!statSync(file, { throwIfNoEntry: false })) {
    markFormat(root);
    return undefined;
  }
  if (!claim(root)) return undefined;
  const marker = join(root, SHELF_REWRITING_FILE);
  const copy = `${file}.rewrite`;
  try {
    // Another process may have finished it between our look and our claim.
    if (formatOf(root) === SHELF_FORMAT) return undefined;
    rmSync(copy, { force: true });
    rmSync(`${copy}-lock`, { force: true });
    const entries = await rewrite(file, copy, mapBytes);
    failpoint('shelf-rewritten');
    rmSync(`${file}-lock`, { force: true });
    renameSync(copy, file);
    rmSync(`${copy}-lock`, { force: true });
    // The copy's place made durable before the marker says so: a marker over the old file would let it be written.
    await syncDir(dirname(file));
    markFormat(root);
    return entries;
  } catch (err) {
    rmSync(copy, { force: true });
    rmSync(`${copy}-lock`, { force: true });
    throw err;
  } finally {
    rmSync(marker, { force: true });
  }
}

/** Reads of a free list found foreign before it counts: a read that met another process's commit half written looks foreign once. */
const FOREIGN_READS = 3;
const FOREIGN_PAUSE_MS = 50;

/** Whether the file's free list is one lmdb-js 2.9 cannot write into, in every one of a few reads. */
async function foreignFreeList(file: string): Promise<boolean> {
  for (let i = 0; i < FOREIGN_READS; i++) {
    if (freeListFormat(file) !== 'other') return false;
    await new Promise((r) => setTimeout(r, FOREIGN_PAUSE_MS));
  }
  return true;
}

/** One child copying `file` to `copy`: the number of entries, or an EIO fault with what went wrong. */
function rewrite(file: string, copy: string, mapBytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', REWRITER, LMDB_ENTRY, file, copy, String(mapBytes)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.once('error', (e) => reject(nodeFault('EIO', `${file}: the rewrite did not start: ${e.message}`)));
    child.once('close', (code, signal) => {
      const entries = (() => { try { return (JSON.parse(out) as { entries: number }).entries; } catch { return undefined; } })();
      if (code === 0 && entries !== undefined) return resolve(entries);
      const last = err.trim().split('\n').filter((l) => /Error|error/.test(l)).pop() ?? err.trim().split('\n').pop() ?? '';
      reject(nodeFault('EIO', `${file}: rewriting it with the classic free list failed (${signal ?? `exit ${code}`}): ${last}`));
    });
  });
}
