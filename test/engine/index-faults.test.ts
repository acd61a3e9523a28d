import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Healer } from '../../core/engine/healer.js';
import { chunked, md5, openStore, random, tempDir, type TestStore } from '../helpers/engine.js';

/** The file of node n's current listing index. */
function indexFile(store: TestStore, n: number): string {
  const dir = join(store.nodeFolder(n), '.kintsugi');
  const { generation } = JSON.parse(readFileSync(join(dir, 'listing.json'), 'utf8')) as { generation: string };
  return join(dir, `listing-${generation}.lmdb`);
}

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
  it('a rotten entry (one ETag byte flipped in the mapped file) fails its checksum: the listing stays right, the index is set aside and rebuilt', async () => {
    const store = await openStore();
    const etags = await fillBucket(store, 30);
    expect(await listAll(store)).toEqual(etags);
    const file = indexFile(store, 0);
    const bytes = readFileSync(file);
    const etag = Buffer.from(etags.get('key-017')!, 'latin1');
    // Copy-on-write leaves older copies of a page in the file: rot them all.
    const fh = await open(file, 'r+');
    let flipped = 0;
    for (let at = bytes.indexOf(etag); at >= 0; at = bytes.indexOf(etag, at + 1), flipped++) await fh.write(Buffer.from([bytes[at]! ^ 0x01]), 0, 1, at);
    await fh.close();
    expect(flipped).toBeGreaterThan(0);

    expect(await listAll(store)).toEqual(etags);
    expect(logged(store, 'listing index fault', 0)).toBe(true);
    await until(() => logged(store, 'listing index rebuilt', 0));
    const quarantine = join(store.nodeFolder(0), '.kintsugi', 'quarantine');
    expect(readdirSync(quarantine)).toHaveLength(1);
    expect(readFileSync(join(quarantine, readdirSync(quarantine)[0]!, 'why.txt'), 'utf8')).toMatch(/checksum/);
    expect(await listAll(store)).toEqual(etags);
    await store.close();
  });

  it('a missing, foreign or unreadable index is rebuilt from the node\'s own records, and heal reports it', async () => {
    const path = tempDir('kintsugi-index-');
    const first = await openStore({}, path);
    const etags = await fillBucket(first, 12);
    await first.close();
    await rm(indexFile(first, 1));
    await writeFile(join(first.nodeFolder(2), '.kintsugi', 'listing.json'), '{"garbage"');
    const state = JSON.parse(readFileSync(join(first.nodeFolder(3), '.kintsugi', 'listing.json'), 'utf8')) as object;
    await writeFile(join(first.nodeFolder(3), '.kintsugi', 'listing.json'), JSON.stringify({ ...state, node: 5 }));

    const store = await openStore({}, path);
    const summary = await store.container.resolve(Healer).pass({ waitForIndexes: true, graceMs: 3600_000 });
    expect(summary.indexesRebuilt.map((s) => s.replace(/:.*/, '')).sort()).toEqual(['node 1', 'node 2', 'node 3']);
    expect(summary.indexesRebuilt.join('\n')).toMatch(/node 2: index state unreadable/);
    expect(summary.indexesRebuilt.join('\n')).toMatch(/node 3: foreign index/);
    expect(await listAll(store)).toEqual(etags);
    // Set aside, not deleted.
    expect(existsSync(join(store.nodeFolder(2), '.kintsugi', 'quarantine'))).toBe(true);
    expect(existsSync(join(store.nodeFolder(3), '.kintsugi', 'quarantine'))).toBe(true);
    await store.close();
  });
});
