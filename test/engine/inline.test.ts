import { existsSync } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Healer } from '../../core/engine/healer.js';
import { INLINE_MAX, type DegradedRead } from '../../core/engine/object-engine.js';
import { objectDir, recordDir, recordPath } from '../../core/layout.js';
import { SHELF_FILE } from '../../plugins/drive-local/folder-layout.js';
import { subsetsUpTo } from '../helpers/codecs.js';
import { chunked, collect, openStore, random, sha256, shelfOf, type TestStore } from '../helpers/engine.js';

const file = (store: TestStore, node: number, path: string) => join(store.nodeFolder(node), ...path.split('/'));
/** Node n loses its shelf file (a disk wiped under it): the next use starts an empty one. */
const wipeShelf = (store: TestStore, n: number) => rm(join(store.nodeFolder(n), ...SHELF_FILE.split('/')));
const readBack = async (store: TestStore, key: string) => collect((await store.engine.get('small', key)).body);

/** Record copies of the key on every node's shelf, and whether any node has a data folder for it. */
async function footprint(store: TestStore, key: string): Promise<{ records: number[]; dataFolders: number }> {
  const records: number[] = [];
  let dataFolders = 0;
  for (let n = 0; n < 7; n++) {
    records.push((await shelfOf(store, n).list(recordDir('small', key))).length);
    if (existsSync(file(store, n, objectDir('small', key)))) dataFolders++;
  }
  return { records, dataFolders };
}

describe('small objects stored inline (4+3, INLINE_MAX = 128 KiB)', () => {
  it('keep each shard inside its node\'s record copy on the node\'s shelf: no file, no data folder', async () => {
    const store = await openStore();
    for (const size of [1, 1000, 64 << 10, INLINE_MAX]) {
      const data = random(size);
      const record = await store.engine.put('small', `obj-${size}`, chunked(data));
      expect(record.inline).toBe(true);
      expect(await footprint(store, `obj-${size}`)).toEqual({ records: [1, 1, 1, 1, 1, 1, 1], dataFolders: 0 });
      expect(sha256(await readBack(store, `obj-${size}`))).toBe(sha256(data));
    }
    await store.close();
  });

  it('switch to shard files one byte above the limit', async () => {
    const store = await openStore();
    const data = random(INLINE_MAX + 1);
    const record = await store.engine.put('small', 'just-over', chunked(data));
    expect(record.inline).toBeUndefined();
    expect((await footprint(store, 'just-over')).dataFolders).toBe(7);
    expect(sha256(await readBack(store, 'just-over'))).toBe(sha256(data));
    await store.close();
  });

  it('store an empty object as a record alone', async () => {
    const store = await openStore();
    const record = await store.engine.put('small', 'empty', chunked(Buffer.alloc(0)));
    expect(record.size).toBe(0);
    expect(record.etag).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect((await footprint(store, 'empty')).dataFolders).toBe(0);
    expect((await readBack(store, 'empty')).byteLength).toBe(0);
    await store.close();
  });

  it('read back bit-exact with every pattern of up to 3 node folders lost', async () => {
    const store = await openStore();
    const data = random(50_001);
    await store.engine.put('small', 'survivor', chunked(data));
    for (const lost of subsetsUpTo(7, 3)) {
      for (const n of lost) await rename(store.nodeFolder(n), `${store.nodeFolder(n)}.away`);
      try {
        expect(sha256(await readBack(store, 'survivor'))).toBe(sha256(data));
      } finally {
        for (const n of lost) await rename(`${store.nodeFolder(n)}.away`, store.nodeFolder(n));
      }
    }
    await store.close();
  });

  it('keep only the newest version when overwritten, whichever way it is stored', async () => {
    const store = await openStore();
    await store.engine.put('small', 'shifting', chunked(random(10)));
    await store.engine.put('small', 'shifting', chunked(random(INLINE_MAX * 3)));
    expect(await footprint(store, 'shifting')).toEqual({ records: [1, 1, 1, 1, 1, 1, 1], dataFolders: 7 });
    const last = random(700);
    await store.engine.put('small', 'shifting', chunked(last));
    const after = await footprint(store, 'shifting');
    expect(after.records).toEqual([1, 1, 1, 1, 1, 1, 1]);
    // Data folders of the older version are emptied (the folders themselves may stay).
    for (let n = 0; n < 7; n++) expect(await readdir(file(store, n, objectDir('small', 'shifting'))).catch(() => [])).toEqual([]);
    expect(sha256(await readBack(store, 'shifting'))).toBe(sha256(last));
    await store.close();
  });

  it('rebuild a rotten copy on read, report it, and the healer rewrites it with its shard', async () => {
    const store = await openStore();
    const data = random(60_000);
    const record = await store.engine.put('small', 'rotting', chunked(data));
    const shelf = shelfOf(store, record.shardNodes[0]!);
    const path = recordPath('small', 'rotting', record.versionId);
    const bytes = Buffer.from((await shelf.get(path))!.bytes);
    bytes[bytes.byteLength - 5000]! ^= 0x10; // inside the inline shard
    await shelf.put([{ name: path, bytes }]);

    const events: DegradedRead[] = [];
    store.engine.on('degraded', (e: DegradedRead) => events.push(e));
    expect(sha256(await readBack(store, 'rotting'))).toBe(sha256(data));
    expect(events.length).toBe(1);
    expect([...events[0]!.damage.shards]).toEqual([0]);

    const healer = store.container.resolve(Healer);
    const summary = await healer.pass({ graceMs: 0 });
    expect(summary.shardsRebuilt).toBe(1);
    expect(summary.unrecoverable).toEqual([]);
    expect(Buffer.from((await shelf.get(path))!.bytes)).not.toEqual(bytes);
    expect((await healer.pass({ graceMs: 0 })).shardsRebuilt).toBe(0);
    events.length = 0;
    expect(sha256(await readBack(store, 'rotting'))).toBe(sha256(data));
    expect(events).toEqual([]);
    await store.close();
  });

  it('come back onto a wiped node with the healer, after which 3 other nodes can go', async () => {
    const store = await openStore();
    const objects = new Map<string, Buffer>();
    for (let i = 0; i < 5; i++) {
      objects.set(`k${i}`, random(1000 * (i + 1)));
      await store.engine.put('small', `k${i}`, chunked(objects.get(`k${i}`)!));
    }
    await wipeShelf(store, 4);
    const summary = await store.container.resolve(Healer).pass({ graceMs: 0 });
    expect(summary.shardsRebuilt).toBe(5);
    for (const n of [0, 1, 2]) await wipeShelf(store, n);
    for (const [key, data] of objects) expect(sha256(await readBack(store, key))).toBe(sha256(data));
    await store.close();
  });
});
