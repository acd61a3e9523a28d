import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { TOKENS } from '../../core/tokens.js';
import { chunked, collect, openStore, random, sha256, tempDir } from '../helpers/engine.js';

const tmp = () => tempDir('kintsugi-nodes-');

describe('node folders', () => {
  it('carry an identity (cluster id, index, format) written on first start', async () => {
    const path = tmp();
    const store = await openStore({}, path);
    const ids = await Promise.all([0, 1, 6].map(async (i) => JSON.parse(await readFile(join(path, `node-${i}`, '.kintsugi', 'format.json'), 'utf8'))));
    expect(ids.map((x) => x.index)).toEqual([0, 1, 6]);
    expect(new Set(ids.map((x) => x.clusterId)).size).toBe(1);
    expect(ids[0].format).toBe(1);
    await store.close();
  });

  it('refuse a folder of another cluster, keep it untouched and serve from the others', async () => {
    const path = tmp();
    const first = await openStore({}, path);
    const data = random(100_000);
    await first.engine.put('bkt', 'k', chunked(data));
    await first.close();
    const formatFile = join(path, 'node-2', '.kintsugi', 'format.json');
    await writeFile(formatFile, JSON.stringify({ format: 1, clusterId: 'someone-else', index: 2 }));
    const store = await openStore({}, path);
    expect(store.logger.lines.find((l) => l.message === 'node refused')?.fields?.why).toMatch(/node-2 belongs to cluster someone-else, not .*: refused/);
    expect(sha256(await collect((await store.engine.get('bkt', 'k')).body))).toBe(sha256(data));
    expect(JSON.parse(await readFile(formatFile, 'utf8')).clusterId).toBe('someone-else');
    await store.close();
  });

  it('refuse swapped folders (right cluster, wrong index)', async () => {
    const path = tmp();
    await (await openStore({}, path)).close();
    await rename(join(path, 'node-1'), join(path, 'swap'));
    await rename(join(path, 'node-4'), join(path, 'node-1'));
    await rename(join(path, 'swap'), join(path, 'node-4'));
    const store = await openStore({}, path);
    const whys = store.logger.lines.filter((l) => l.message === 'node refused').map((l) => String(l.fields?.why));
    expect(whys).toHaveLength(2);
    expect(whys[0]).toMatch(/node-1 is node 4 of this cluster, not node 1: refused/);
    await store.close();
  });

  it('re-initialise a wiped (new, empty) folder and report it', async () => {
    const path = tmp();
    const first = await openStore({}, path);
    const data = random(300_000);
    await first.engine.put('bkt', 'k', chunked(data));
    await first.close();
    await rm(join(path, 'node-5'), { recursive: true });
    const store = await openStore({}, path);
    expect(store.logger.lines.find((l) => l.message === 'node initialised')?.fields).toMatchObject({ node: 5, why: 'missing or empty folder (new disk)' });
    expect(sha256(await collect((await store.engine.get('bkt', 'k')).body))).toBe(sha256(data));
    await store.close();
  });
});

describe('node health', () => {
  it('a node path turned into a file is offline: operations fail at once without touching it; the folder back, it returns by itself', async () => {
    const path = tmp();
    const store = await openStore({}, path);
    const data = random(200_000);
    await store.engine.put('bkt', 'k', chunked(data));
    const nodes = store.container.resolve(TOKENS.Nodes);
    await rename(store.nodeFolder(3), `${store.nodeFolder(3)}.away`);
    await writeFile(store.nodeFolder(3), 'not a folder');
    await nodes.health.refresh();
    expect(nodes.health.status()[3]).toMatchObject({ state: 'offline', error: expect.stringMatching(/is not a folder/) });
    await expect(nodes.drives[3]!.writeFile('x/y', Buffer.from('z'))).rejects.toMatchObject({ code: 'ERR_NODE_UNAVAILABLE' });
    expect(await readFile(store.nodeFolder(3), 'utf8')).toBe('not a folder');
    // Reads and writes go on without it.
    expect(sha256(await collect((await store.engine.get('bkt', 'k')).body))).toBe(sha256(data));
    await store.engine.put('bkt', 'k2', chunked(data));
    await rm(store.nodeFolder(3));
    await rename(`${store.nodeFolder(3)}.away`, store.nodeFolder(3));
    // The next operation that needs it probes it again, once its recheck interval (200 ms, doubling while probes fail) has passed.
    for (const deadline = Date.now() + 5000; ;) {
      const wrote = await nodes.drives[3]!.writeFile('x/y', Buffer.from('z')).then(() => true, (err: unknown) => {
        if (Date.now() > deadline) throw err;
        return false;
      });
      if (wrote) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(nodes.health.status()[3]!.state).toBe('ok');
    expect(store.logger.lines.map((l) => l.message)).toEqual(expect.arrayContaining(['node degraded', 'node back in service']));
    await store.close();
  });
});

describe('placement changes', () => {
  it('objects written under PLACEMENT=hash read (and list) under PLACEMENT=ring: records say where shards went', async () => {
    const path = tmp();
    const hash = await openStore({ PLACEMENT: 'hash' }, path);
    const objects = Array.from({ length: 12 }, (_, i) => ({ key: `obj-${i}`, data: random(50_000 + i * 100_000) }));
    for (const o of objects) await hash.engine.put('bkt', o.key, chunked(o.data));
    await hash.close();
    const ring = await openStore({ PLACEMENT: 'ring' }, path);
    for (const o of objects) expect(sha256(await collect((await ring.engine.get('bkt', o.key)).body)), o.key).toBe(sha256(o.data));
    expect((await ring.engine.list({ bucket: 'bkt', maxKeys: 100 })).entries).toHaveLength(12);
    await ring.close();
  });
});
