import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Healer } from '../../core/engine/healer.js';
import { chunked, folderShelf, md5, openStore, random, shelfOf, tempDir, type TestStore } from '../helpers/engine.js';

/** A node's shelf file: its records and, in a table of it, its listing index. */
const shelfFile = (store: TestStore, n: number) => join(store.nodeFolder(n), '.kintsugi', 'shelf.lmdb');

async function fillBucket(store: TestStore, count: number): Promise<Map<string, string>> {
  const etags = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const body = random(500 + i);
    await store.engine.put('bkt', `key-${String(i).padStart(3, '0')}`, chunked(body));
    etags.set(`key-${String(i).padStart(3, '0')}`, md5(body));
  }
  return etags;
}

async function listAll(store: TestStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let startAfter: string | undefined;
  for (;;) {
    const page = await store.engine.list({ bucket: 'bkt', maxKeys: 7, startAfter });
    for (const e of page.entries) out.set(e.key, e.etag);
    if (!page.isTruncated) return out;
    startAfter = page.next;
  }
}

async function until(what: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const logged = (store: TestStore, message: string, node: number) => store.logger.lines.some((l) => l.message === message && l.fields?.node === node);

describe('listing index faults (in one process)', () => {
  it('a rotten entry (one ETag byte flipped in the shelf file) fails its checksum: the listing stays right, and the node\'s index is rebuilt from its records', async () => {
    const store = await openStore();
    const etags = await fillBucket(store, 30);
    expect(await listAll(store)).toEqual(etags);
    const file = shelfFile(store, 0);
    const bytes = readFileSync(file);
    const etag = Buffer.from(etags.get('key-017')!, 'latin1');
    // Copy-on-write leaves older copies of a page in the file: rot them all (the record copy's too).
    const fh = await open(file, 'r+');
    let flipped = 0;
    for (let at = bytes.indexOf(etag); at >= 0; at = bytes.indexOf(etag, at + 1), flipped++) await fh.write(Buffer.from([bytes[at]! ^ 0x01]), 0, 1, at);
    await fh.close();
    expect(flipped).toBeGreaterThan(0);

    expect(await listAll(store)).toEqual(etags);
    expect(logged(store, 'listing index fault', 0)).toBe(true);
    await until(() => logged(store, 'listing index rebuilt', 0));
    expect(await listAll(store)).toEqual(etags);
    await store.close();
  });

  it('a row whose key rotted, left by a rebuild that did not sweep (an interrupted one), is met by the next listing, which has it swept: the listing stays right', async () => {
    const path = tempDir('kintsugi-index-');
    const first = await openStore({}, path);
    const etags = await fillBucket(first, 12);
    await first.close();
    // A row's key rots (every copy of the page LMDB left), and the index reads as interrupted mid-rebuild.
    const file = join(path, 'node-0', '.kintsugi', 'shelf.lmdb');
    const bytes = readFileSync(file);
    const key = Buffer.from('bkt\0key-005\0', 'latin1');
    const fh = await open(file, 'r+');
    let flipped = 0;
    // The last byte of its version id: the rotten key still sorts where it lies (LMDB finds it to remove it).
    for (let at = bytes.indexOf(key); at >= 0; at = bytes.indexOf(key, at + 1), flipped++) await fh.write(Buffer.from([bytes[at + key.length + 23]! ^ 0x01]), 0, 1, at + key.length + 23);
    await fh.close();
    expect(flipped).toBeGreaterThan(0);
    const state = Buffer.from('\0state', 'latin1');
    const interrupted = { layout: 3, state: 'rebuilding', pid: 2 ** 22 + 1, host: 'gone', beatMs: Date.now() - 60_000 };
    await folderShelf(join(path, 'node-0')).put([], [{ table: 'listing', key: state, value: Buffer.from(JSON.stringify(interrupted)) }]);

    const store = await openStore({}, path);
    await store.container.resolve(Healer).pass({ waitForIndexes: true, graceMs: 3600_000 });
    expect(store.logger.lines.some((l) => l.message === 'listing index rebuilding from records' && l.fields?.node === 0 && l.fields?.why === 'an interrupted rebuild')).toBe(true);
    // The rebuild wrote key-005's row again; the rotten one is still there until a reader meets it.
    expect(await listAll(store)).toEqual(etags);
    await until(() => logged(store, 'listing index fault', 0) && store.logger.lines.filter((l) => l.message === 'listing index rebuilt' && l.fields?.node === 0).length >= 2);
    expect(store.logger.lines.some((l) => l.message === 'listing index rebuilt' && l.fields?.node === 0 && l.fields?.rottenRows === 1)).toBe(true);
    expect(await shelfOf(store, 0).rows('listing', { from: Buffer.from('bkt'), limit: 1000 })).toHaveLength(12);
    expect(await listAll(store)).toEqual(etags);
    await store.close();
  });

  it('a missing, out-of-date or interrupted index is rebuilt from the node\'s own records, and heal reports it', async () => {
    const path = tempDir('kintsugi-index-');
    const first = await openStore({}, path);
    const etags = await fillBucket(first, 12);
    expect(await listAll(first)).toEqual(etags);
    const state = Buffer.from('\0state', 'latin1');
    const stateRow = (value: object) => ({ table: 'listing', key: state, value: Buffer.from(JSON.stringify(value)) });
    // Node 1: an index of another layout, half its entries gone; node 2: no index; node 3: a rebuild whose process died.
    const rows = await shelfOf(first, 1).rows('listing', { from: Buffer.from('bkt'), limit: 1000 });
    expect(rows).toHaveLength(12);
    await shelfOf(first, 1).remove([], [...rows.slice(0, 6).map((r) => ({ table: 'listing', key: r.key })), stateRow({ layout: 2, state: 'ready' })]);
    await shelfOf(first, 2).remove([], [{ table: 'listing', key: state }]);
    await shelfOf(first, 3).put([], [stateRow({ layout: 3, state: 'rebuilding', pid: 2 ** 22 + 1, host: 'gone', beatMs: Date.now() - 60_000 })]);
    await first.close();

    const store = await openStore({}, path);
    const summary = await store.container.resolve(Healer).pass({ waitForIndexes: true, graceMs: 3600_000 });
    expect(summary.indexesRebuilt.map((s) => s.replace(/:.*/, '')).sort()).toEqual(['node 1', 'node 2', 'node 3']);
    expect(summary.indexesRebuilt.join('\n')).toMatch(/node 1: listing index layout 2/);
    expect(summary.indexesRebuilt.join('\n')).toMatch(/node 2: no listing index/);
    expect(summary.indexesRebuilt.join('\n')).toMatch(/node 3: an interrupted rebuild/);
    expect(await shelfOf(store, 1).rows('listing', { from: Buffer.from('bkt'), limit: 1000 })).toHaveLength(12);
    expect(await listAll(store)).toEqual(etags);
    await store.close();
  });
});
