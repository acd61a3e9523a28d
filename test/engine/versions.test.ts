import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Healer } from '../../core/engine/healer.js';
import { VersionWriter } from '../../core/engine/version-writer.js';
import { recordDir } from '../../core/layout.js';
import { isNullVersion, newVersionId } from '../../core/version-id.js';
import { chunked, collect, openStore, random, sha256, shelfOf, tempDir, type TestStore } from '../helpers/engine.js';

const healerOf = (store: TestStore) => store.container.resolve(Healer);
const versioned = { versioned: true };

/** Puts `sizes.length` versions of one key (inline and erasure-coded), returns version id → sha256. */
async function versionsOf(store: TestStore, key: string, sizes: number[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const size of sizes) {
    const data = random(size);
    const record = await store.engine.put('ver', key, chunked(data), versioned);
    out.set(record.versionId, sha256(data));
  }
  return out;
}

async function readsEveryVersion(store: TestStore, key: string, want: Map<string, string>): Promise<void> {
  for (const [versionId, hash] of want) {
    expect(sha256(await collect((await store.engine.get('ver', key, undefined, versionId)).body))).toBe(hash);
  }
}

async function away(store: TestStore, nodes: number[], during: () => Promise<void>): Promise<void> {
  for (const n of nodes) await rename(store.nodeFolder(n), `${store.nodeFolder(n)}.away`);
  try {
    await during();
  } finally {
    for (const n of nodes) await rename(`${store.nodeFolder(n)}.away`, store.nodeFolder(n));
  }
}

describe('object versions in the engine (4+3 on 7 nodes)', () => {
  it('reads every version back bit-exact with any PARITY nodes gone', async () => {
    const store = await openStore();
    const want = await versionsOf(store, 'doc', [10, 100_000, 3_000_000, 0, 700_000]);
    for (const lost of [[0, 1, 2], [2, 4, 6], [4, 5, 6]]) await away(store, lost, () => readsEveryVersion(store, 'doc', want));
    await store.close();
  });

  it('the healer rebuilds old versions too: a wiped node is refilled, then PARITY other nodes can go', async () => {
    const path = tempDir('kintsugi-versions-heal-');
    const first = await openStore({}, path);
    const want = await versionsOf(first, 'doc', [50_000, 2_000_000, 1_000_000]);
    await first.close();
    await rm(join(path, 'node-3'), { recursive: true });
    const store = await openStore({}, path);
    const summary = await healerOf(store).pass({ graceMs: 0 });
    expect(summary.objectsChecked).toBe(3);
    expect(summary.unrecoverable).toEqual([]);
    expect(summary.shardsRebuilt).toBeGreaterThanOrEqual(3);
    await away(store, [0, 5, 6], () => readsEveryVersion(store, 'doc', want));
    await store.close();
  });

  it('a version deleted for good stays deleted although a node missed the delete; the healer removes its last copies', async () => {
    const store = await openStore();
    const want = await versionsOf(store, 'doc', [1000, 200_000]);
    const [older, newer] = [...want.keys()];
    // Node folders holding the newest version's record: take three away during the delete.
    const holders: number[] = [];
    for (let n = 0; n < 7; n++) if ((await shelfOf(store, n).list(recordDir('ver', 'doc'))).includes(`${newer}.rec`)) holders.push(n);
    await away(store, holders.slice(0, 3), async () => {
      await store.engine.delete('ver', 'doc', { versionId: newer! });
    });
    // The stale copies are back, yet the older version is current everywhere.
    for (let i = 0; i < 4; i++) expect((await store.engine.head('ver', 'doc')).versionId).toBe(older);
    expect((await store.engine.list({ bucket: 'ver', maxKeys: 10 })).entries.map((e) => e.versionId)).toEqual([older]);
    expect((await store.engine.listVersions({ bucket: 'ver', maxKeys: 10 })).entries.map((e) => e.versionId)).toEqual([older]);
    await expect(store.engine.head('ver', 'doc', newer)).rejects.toMatchObject({ code: 'ERR_NO_SUCH_VERSION' });

    await healerOf(store).pass({ graceMs: 0 });
    await healerOf(store).pass({ graceMs: 0 });
    const left = await Promise.all(Array.from({ length: 7 }, async (_, n) => (await shelfOf(store, n).list(recordDir('ver', 'doc'))).filter((f) => f.startsWith(newer!))));
    expect(left.flat()).toEqual([]);
    await readsEveryVersion(store, 'doc', new Map([[older!, want.get(older!)!]]));
    await store.close();
  });

  it('a crash between a new version\'s data and its record leaves the previous version current', async () => {
    const store = await openStore();
    const want = await versionsOf(store, 'doc', [400_000]);
    // The data of a newer version committed on its nodes, and then no record (the process died).
    const staged = await store.container.resolve(VersionWriter).stage('ver', 'doc', chunked(random(500_000)));
    await staged.commit(newVersionId(Date.now(), true));
    expect((await store.engine.head('ver', 'doc')).versionId).toBe([...want.keys()][0]);
    await readsEveryVersion(store, 'doc', want);
    expect((await store.engine.listVersions({ bucket: 'ver', maxKeys: 10 })).entries).toHaveLength(1);
    await store.close();
  });

  it('null versions: an unversioned put replaces only the null version; markers of suspended buckets are null versions too', async () => {
    const store = await openStore();
    await store.engine.put('ver', 'k', chunked(random(10)));
    const kept = await store.engine.put('ver', 'k', chunked(random(20)), versioned);
    await store.engine.put('ver', 'k', chunked(random(30)));
    const rows = (await store.engine.listVersions({ bucket: 'ver', maxKeys: 10 })).entries;
    expect(rows.map((e) => [isNullVersion(e.versionId), e.size, e.isLatest])).toEqual([[true, 30, true], [false, 20, false]]);
    const marker = await store.engine.delete('ver', 'k', { versioning: 'Suspended' });
    expect(marker.deleteMarker).toBe(true);
    const after = (await store.engine.listVersions({ bucket: 'ver', maxKeys: 10 })).entries;
    expect(after.map((e) => [isNullVersion(e.versionId), e.deleted, e.isLatest])).toEqual([[true, true, true], [false, false, false]]);
    expect(after[1]!.versionId).toBe(kept.versionId);
    await store.close();
  });

  it('a delete in a bucket that never had versioning leaves a marker the healer collects once every node has it', async () => {
    const store = await openStore();
    await store.engine.put('ver', 'gone', chunked(random(100)));
    await store.engine.delete('ver', 'gone');
    const files = async () => (await Promise.all(Array.from({ length: 7 }, (_, n) => shelfOf(store, n).list(recordDir('ver', 'gone'))))).flat();
    expect((await files()).length).toBeGreaterThan(0);
    await healerOf(store).pass({ graceMs: 0 });
    await healerOf(store).pass({ graceMs: 0 });
    expect(await files()).toEqual([]);
    expect((await store.engine.listVersions({ bucket: 'ver', maxKeys: 10 })).entries).toEqual([]);
    await expect(store.engine.head('ver', 'gone')).rejects.toMatchObject({ code: 'ERR_NO_SUCH_KEY' });
    await store.close();
  });
});
