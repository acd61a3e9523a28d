import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { BucketStore } from '../../core/engine/buckets.js';
import { Healer } from '../../core/engine/healer.js';
import { objectDir, recordPath, shardPath } from '../../core/layout.js';
import { runCli } from '../helpers/cli.js';
import { chunked, collect, openStore, random, sha256, shelfOf, tempDir, type TestStore } from '../helpers/engine.js';

const MiB = 1 << 20;
const healerOf = (store: TestStore) => store.container.resolve(Healer);
const file = (store: TestStore, node: number, path: string) => join(store.nodeFolder(node), ...path.split('/'));

async function fill(store: TestStore, count: number): Promise<Map<string, Buffer>> {
  const objects = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const data = random(i * 700_000 + 1000);
    await store.engine.put('heal', `obj-${i}`, chunked(data));
    objects.set(`obj-${i}`, data);
  }
  return objects;
}

async function readsBack(store: TestStore, objects: Map<string, Buffer>): Promise<boolean> {
  for (const [key, data] of objects) {
    if (sha256(await collect((await store.engine.get('heal', key)).body)) !== sha256(data)) return false;
  }
  return true;
}

describe('the healer', () => {
  it('refills a wiped node folder, after which PARITY other nodes can be lost', async () => {
    const path = tempDir('kintsugi-heal-');
    const first = await openStore({}, path);
    const objects = await fill(first, 6);
    await first.close();
    await rm(join(path, 'node-2'), { recursive: true });

    const store = await openStore({}, path);
    const summary = await healerOf(store).pass({ graceMs: 0 });
    expect(summary.objectsChecked).toBe(6);
    expect(summary.shardsRebuilt).toBe(6); // with 4+3 on 7 nodes every object has one shard on node 2
    expect(summary.replicasRepaired).toBeGreaterThanOrEqual(6);
    expect(summary.bytesRewritten).toBeGreaterThan(0);
    expect(summary.unrecoverable).toEqual([]);
    for (const n of [0, 4, 6]) await rm(join(path, `node-${n}`), { recursive: true });
    expect(await readsBack(store, objects)).toBe(true);
    await store.close();
  });

  it('refills a wiped node of small objects a batch at a time: one commit per batch on the node, no read per object', async () => {
    const path = tempDir('kintsugi-heal-batch-');
    const first = await openStore({}, path);
    await first.container.resolve(BucketStore).create('heal');
    const objects = new Map<string, Buffer>();
    for (let i = 0; i < 1200; i++) objects.set(`small-${i}`, random(100 + (i % 4000)));
    await Promise.all([...objects].map(([key, data]) => first.engine.put('heal', key, chunked(data))));
    await first.close();
    await rm(join(path, 'node-2'), { recursive: true });

    const store = await openStore({}, path);
    const shelf = shelfOf(store, 2);
    const calls = { put: 0, get: 0, list: 0 };
    for (const op of ['put', 'get', 'list'] as const) {
      const real = shelf[op].bind(shelf) as (...a: unknown[]) => Promise<unknown>;
      (shelf as unknown as Record<string, unknown>)[op] = (...a: unknown[]) => { calls[op]++; return real(...a); };
    }
    const summary = await healerOf(store).pass({ graceMs: 0 });
    expect(summary).toMatchObject({ objectsChecked: 1200, shardsRebuilt: 1200, unrecoverable: [], deferred: 0 });
    // 1,200 keys in batches of 512: three commits of copies, besides the pass's own few.
    expect(calls.put).toBeLessThanOrEqual(6);
    expect(calls.get + calls.list).toBeLessThanOrEqual(10);
    // Node 2 holds every copy again: three other nodes can go.
    for (const n of [0, 4, 6]) await rm(join(path, `node-${n}`), { recursive: true });
    expect(await readsBack(store, objects)).toBe(true);
    await store.close();
  });

  it('rebuilds the shards of an offline node onto a spare node and records where they went (4+3 on 8 nodes)', async () => {
    const path = tempDir('kintsugi-heal-spare-');
    const first = await openStore({ NUMNODES: '8' }, path);
    const objects = await fill(first, 5);
    await first.close();
    // Node 2 now belongs to another cluster: refused, offline, untouched.
    await writeFile(join(path, 'node-2', '.kintsugi', 'format.json'), JSON.stringify({ format: 1, clusterId: 'elsewhere', index: 2 }));
    const store = await openStore({ NUMNODES: '8' }, path);
    const summary = await healerOf(store).pass({ graceMs: 0 });
    expect(summary.unrecoverable).toEqual([]);
    expect(summary.shardsRebuilt).toBeGreaterThan(0);
    for (const key of objects.keys()) expect((await store.engine.head('heal', key)).shardNodes).not.toContain(2);
    // Node 2 is still gone; three more can go now.
    const survivors = [0, 1, 3, 4, 5, 6, 7];
    for (const n of survivors.slice(0, 3)) await rm(join(path, `node-${n}`, 'data'), { recursive: true });
    expect(await readsBack(store, objects)).toBe(true);
    await store.close();
  });

  it('rebuilds a rotten shard file (a deep pass reads every block) and a missing metadata copy; a second pass finds nothing to do', async () => {
    const store = await openStore();
    const objects = await fill(store, 3);
    const record = await store.engine.head('heal', 'obj-2');
    const shard = file(store, record.shardNodes[1]!, shardPath('heal', 'obj-2', record.versionId, 1));
    const bytes = await readFile(shard);
    bytes[5000]! ^= 1;
    await writeFile(shard, bytes);
    const copy = recordPath('heal', 'obj-2', record.versionId);
    await shelfOf(store, record.shardNodes[4]!).remove([copy]);

    const summary = await healerOf(store).pass({ graceMs: 0, deep: true });
    expect(summary).toMatchObject({ objectsChecked: 3, shardsRebuilt: 1, replicasRepaired: 1, unrecoverable: [] });
    expect(Buffer.compare(await readFile(shard), bytes)).not.toBe(0);
    expect(await shelfOf(store, record.shardNodes[4]!).get(copy)).toBeDefined();
    expect(await healerOf(store).pass({ graceMs: 0 })).toMatchObject({ shardsRebuilt: 0, replicasRepaired: 0 });
    expect(await readsBack(store, objects)).toBe(true);
    await store.close();
  });

  it('rewrites shard files found rotten in an early and in a later stripe while rebuilding a missing one: all come back as they were written', async () => {
    const store = await openStore();
    await store.container.resolve(BucketStore).create('heal');
    const data = random(9 * MiB + 12345);
    await store.engine.put('heal', 'striped', chunked(data));
    const record = await store.engine.head('heal', 'striped');
    expect(data.byteLength / record.stripeBytes).toBeGreaterThan(2);
    const shard = (i: number) => file(store, record.shardNodes[i]!, shardPath('heal', 'striped', record.versionId, i));
    const [missing, rottenLate, rottenEarly] = [await readFile(shard(3)), await readFile(shard(1)), await readFile(shard(5))];
    await rm(shard(3));
    const late = Buffer.from(rottenLate);
    late[late.length - 100]! ^= 1;
    await writeFile(shard(1), late);
    // In the second of ten stripes: found among the first stripes read together.
    const early = Buffer.from(rottenEarly);
    early[Math.floor(early.length * 0.15)]! ^= 1;
    await writeFile(shard(5), early);

    // Not deep: the missing file sends the heal through the span, and it reads every block on the way.
    const summary = await healerOf(store).pass({ graceMs: 0 });
    expect(summary).toMatchObject({ shardsRebuilt: 3, unrecoverable: [] });
    expect(Buffer.compare(await readFile(shard(3)), missing)).toBe(0);
    expect(Buffer.compare(await readFile(shard(1)), rottenLate)).toBe(0);
    expect(Buffer.compare(await readFile(shard(5)), rottenEarly)).toBe(0);
    expect(await healerOf(store).pass({ graceMs: 0, deep: true })).toMatchObject({ shardsRebuilt: 0 });
    expect(sha256(await collect((await store.engine.get('heal', 'striped')).body))).toBe(sha256(data));
    await store.close();
  });

  it('removes leftovers older than the grace period: temporary files, unreferenced versions, data without a record', async () => {
    const store = await openStore();
    await fill(store, 1);
    const record = await store.engine.head('heal', 'obj-0');
    const staleVersion = file(store, record.shardNodes[0]!, `${objectDir('heal', 'obj-0')}/000000000001000000000000`);
    const noRecord = file(store, 3, `${objectDir('heal', 'never-committed')}/000000000001000000000000`);
    const tmp = join(store.nodeFolder(5), '.tmp', 'crashed-write');
    for (const d of [staleVersion, noRecord]) { await mkdir(d, { recursive: true }); await writeFile(join(d, 'part.0'), 'x'); }
    await writeFile(tmp, 'x');

    expect((await healerOf(store).pass()).orphansRemoved).toBe(0); // default grace: an hour
    const summary = await healerOf(store).pass({ graceMs: 0 });
    expect(summary.orphansRemoved).toBe(3);
    expect([staleVersion, noRecord, tmp].map(existsSync)).toEqual([false, false, false]);
    expect(await readsBack(store, new Map())).toBe(true);
    await store.close();
  });

  it('runs as a background scanner at a set pace, and reports its last pass', async () => {
    const store = await openStore();
    await fill(store, 2);
    const record = await store.engine.head('heal', 'obj-1');
    const shard = file(store, record.shardNodes[6]!, shardPath('heal', 'obj-1', record.versionId, 6));
    await rm(shard);
    const healer = healerOf(store);
    healer.startScanner(100, 50);
    for (let i = 0; i < 100 && !healer.status().lastPass; i++) await new Promise((r) => setTimeout(r, 50));
    healer.stopScanner();
    expect(healer.status().lastPass).toMatchObject({ objectsChecked: 2, shardsRebuilt: 1 });
    expect(existsSync(shard)).toBe(true);
    await store.close();
  });

  it('names objects with more than PARITY shards lost as unrecoverable', async () => {
    const store = await openStore();
    await fill(store, 2);
    const record = await store.engine.head('heal', 'obj-1');
    for (const i of [0, 1, 2, 3]) await rm(file(store, record.shardNodes[i]!, shardPath('heal', 'obj-1', record.versionId, i)));
    const summary = await healerOf(store).pass({ graceMs: 0 });
    expect(summary.unrecoverable).toEqual(['heal/obj-1']);
    await store.close();
  });

  it('heals in the background an object that a read had to reconstruct', async () => {
    const store = await openStore();
    const objects = await fill(store, 2);
    const healer = healerOf(store);
    healer.watch();
    const record = await store.engine.head('heal', 'obj-1');
    const shard = file(store, record.shardNodes[0]!, shardPath('heal', 'obj-1', record.versionId, 0));
    await rm(shard);
    expect(await readsBack(store, objects)).toBe(true);
    await healer.idle();
    expect(existsSync(shard)).toBe(true);
    await store.close();
  });
});

describe('kintsugi heal (built code)', () => {
  it('prints a summary (or JSON) and exits 0 only when nothing is unrecoverable', async () => {
    const path = tempDir('kintsugi-heal-cli-');
    const store = await openStore({}, path);
    await fill(store, 2);
    const record = await store.engine.head('heal', 'obj-1');
    await store.close();
    const env = { NODEPATH: path, SYNC: 'off' };
    await rm(join(path, 'node-1'), { recursive: true });
    const ok = runCli(['heal'], env);
    expect(ok.stdout).toMatch(/objects checked\s+2/);
    expect(ok.stdout).toMatch(/unrecoverable\s+0/);
    expect(ok.status).toBe(0);
    for (const i of [0, 1, 2, 3]) await rm(join(path, `node-${record.shardNodes[i]}`, ...shardPath('heal', 'obj-1', record.versionId, i).split('/')), { force: true });
    const bad = runCli(['heal', '--json'], env);
    expect(JSON.parse(bad.stdout)).toMatchObject({ objectsChecked: 2, unrecoverable: ['heal/obj-1'] });
    expect(bad.status).toBe(1);
  });

  it('shows its progress: objects checked of the total the listing indexes hold, rate and time left, a plain line per tenth off a terminal', async () => {
    const path = tempDir('kintsugi-heal-progress-');
    const store = await openStore({}, path);
    await store.container.resolve(BucketStore).create('progress');
    for (let i = 0; i < 20; i++) await store.engine.put('progress', `obj-${i}`, chunked(random(1000 + i)));
    await store.close();
    const run = runCli(['heal'], { NODEPATH: path, SYNC: 'off' });
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('heal: '));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBeLessThanOrEqual(11);
    for (const line of lines) expect(line).toMatch(/^heal: \d+ of 20 objects checked \(\d+ %\), [\d.]+ MB rebuilt, \d+\/s, (\d+:\d\d|-:--) left$/);
    expect(lines[lines.length - 1]).toMatch(/^heal: 20 of 20 objects checked \(100 %\)/);
  });
});
