import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { addNodes, drainNodes, fillingNodes, removeNodes, reweigh, type ClusterLayout } from '../../core/cluster-layout.js';
import type { ObjectRecord } from '../../core/contracts/metadata.js';
import { BucketStore } from '../../core/engine/buckets.js';
import { Healer } from '../../core/engine/healer.js';
import { Rebalancer } from '../../core/engine/rebalancer.js';
import { keepChosen } from '../../core/engine/set-placement.js';
import { LayoutError, LayoutOutdatedError, nodeFault } from '../../core/errors.js';
import { recordPath } from '../../core/layout.js';
import { readLayouts, writeLayout } from '../../core/layout-store.js';
import { TOKENS } from '../../core/tokens.js';
import { chunked, collect, openMemoryStore, openStore, random, sha256, shelfOf, type TestStore } from '../helpers/engine.js';
import { tempDir } from '../helpers/engine.js';

const SHAPE = { data: 4, parity: 3, metaCopies: 3 };

/** Small objects (inline), large ones (several stripes) and a versioned key with a delete marker. */
async function fill(store: TestStore): Promise<Map<string, Buffer>> {
  await store.container.resolve(BucketStore).create('grow');
  const objects = new Map<string, Buffer>();
  for (let i = 0; i < 120; i++) objects.set(`small/${i}`, random(1000 + ((i * 37) % 3000)));
  for (let i = 0; i < 8; i++) objects.set(`large/${i}`, random(300_000 + i * 400_000));
  await Promise.all([...objects].map(([key, data]) => store.engine.put('grow', key, chunked(data))));
  return objects;
}

async function readsBack(store: TestStore, objects: Map<string, Buffer>): Promise<string[]> {
  const wrong: string[] = [];
  for (const [key, data] of objects) {
    const got = await store.engine.get('grow', key).then((r) => collect(r.body), () => Buffer.alloc(0));
    if (sha256(got) !== sha256(data)) wrong.push(key);
  }
  return wrong;
}

/** Shard files under a node folder's data folder. */
async function shardFiles(folder: string): Promise<number> {
  const entries = await readdir(join(folder, 'data'), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).length;
}

const record = (store: TestStore, key: string) => store.container.resolve(TOKENS.MetadataStore).get('grow', key) as Promise<ObjectRecord>;

/** A layout change as `kintsugi layout` makes it: written to the nodes over the one in use, then used by this store. */
async function adoptLayout(store: TestStore, next: ClusterLayout): Promise<void> {
  const view = store.container.resolve(TOKENS.Layout);
  await writeLayout(store.container.resolve(TOKENS.Nodes), next, view.layout.version);
  view.adopt(next);
}

/** What `kintsugi layout add` does: the configuration names more nodes; the stored layout takes them. */
async function openGrown(path: string, numNodes: number): Promise<TestStore> {
  const store = await openStore({ NUMNODES: String(numNodes) }, path, undefined, { checkLayout: false });
  const view = store.container.resolve(TOKENS.Layout);
  const grown = addNodes(view.layout, Array.from({ length: numNodes - view.layout.nodes.length }, (_, i) => `node-${view.layout.nodes.length + i}`));
  await adoptLayout(store, grown);
  return store;
}

/** A 7-node store filled (see fill) and closed, then opened grown to `numNodes` as `kintsugi layout add` leaves it. */
async function filledThenGrown(prefix: string, numNodes: number): Promise<{ path: string; objects: Map<string, Buffer>; store: TestStore }> {
  const path = tempDir(prefix);
  const first = await openStore({}, path);
  const objects = await fill(first);
  await first.close();
  return { path, objects, store: await openGrown(path, numNodes) };
}

describe('set placement', () => {
  it('keeps a shard on its node while that node is still chosen; the others go to chosen nodes holding none', () => {
    expect(keepChosen([0, 1, 2, 3, 4, 5, 6], [7, 0, 2, 8, 3, 5, 6])).toEqual([0, 7, 2, 3, 8, 5, 6]);
    expect(keepChosen([4, 1, 2], [1, 2, 4])).toEqual([4, 1, 2]);
  });
});

describe('the cluster layout', () => {
  it('is made from the configuration at first start and stored on every node; a configuration that disagrees later is refused with what to set', async () => {
    const path = tempDir('kintsugi-layout-');
    const store = await openStore({}, path);
    const stored = await readLayouts(store.container.resolve(TOKENS.Nodes));
    expect(stored.versions).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(stored.newest?.nodes.map((n) => [n.index, n.location, n.role, n.weight])).toEqual(Array.from({ length: 7 }, (_, i) => [i, `node-${i}`, 'active', 1]));
    // A replaced disk lacks it: the primary's watch (or a heal) gives it a copy.
    await shelfOf(store, 2).remove(['cluster/layout']);
    expect((await readLayouts(store.container.resolve(TOKENS.Nodes))).versions[2]).toBe(0);
    await store.container.resolve(TOKENS.Layout).refresh(true);
    expect((await readLayouts(store.container.resolve(TOKENS.Nodes))).versions).toEqual([1, 1, 1, 1, 1, 1, 1]);
    await store.close();
    await expect(openStore({ NUMNODES: '9' }, path)).rejects.toThrow(/layout stored on the nodes \(version 1\) wins over the configuration: the configuration names 9 nodes, the layout 7\. Set NUMNODES=7/);
  });

  it('refuses a drain that would leave fewer active nodes than a stripe or the metadata copies need, and a removal before a drain', async () => {
    const path = tempDir('kintsugi-layout-');
    const store = await openStore({}, path);
    const layout = store.container.resolve(TOKENS.Layout).layout;
    expect(() => drainNodes(layout, [3], SHAPE)).toThrow(LayoutError);
    expect(() => drainNodes(layout, [3], SHAPE)).toThrow(/would leave 6 active nodes; every stripe needs DATA\+PARITY = 7/);
    expect(() => removeNodes(layout, [3], SHAPE)).toThrow(/drain it first/);
    const grown = addNodes(layout, ['node-7']);
    expect(drainNodes(grown, [3], SHAPE).nodes[3]!.role).toBe('draining');
    expect(() => drainNodes(grown, [3, 4], SHAPE)).toThrow(/would leave 6 active nodes/);
    expect(() => drainNodes({ ...grown, nodes: grown.nodes }, [9], SHAPE)).toThrow(/there is no node 9/);
    // Filling until the rebalance is done, unless lost and removed before then: nothing waits on it any more.
    const twoAdded = addNodes(layout, ['node-7', 'node-8']);
    expect(fillingNodes(twoAdded)).toEqual([7, 8]);
    expect(fillingNodes(removeNodes(twoAdded, [8], SHAPE, true))).toEqual([7]);
    await store.close();
  });

  it('grows from 7 to 10 nodes: a rebalance moves about 3/10 of the shards, the new nodes settle, and every object reads back with 3 nodes lost', async () => {
    const path = tempDir('kintsugi-grow-');
    const first = await openStore({}, path);
    const objects = await fill(first);
    const before = await record(first, 'large/7');
    await first.close();

    const store = await openGrown(path, 10);
    // Before any move: everything readable, writes placed over all ten nodes.
    expect(await readsBack(store, objects)).toEqual([]);
    const rebalancer = store.container.resolve(Rebalancer);
    const p = (await rebalancer.pass({ settleMs: 0 }))!;
    const totalShards = objects.size * 7;
    console.log(`7 -> 10 nodes: ${p.shardsMoved} of ${totalShards} shards moved (${(p.shardsMoved / totalShards * 100).toFixed(1)}%), ${p.copiesMoved} record copies written`);
    expect(p.deferred).toBe(0);
    expect(p.keys).toBe(objects.size);
    // The moves wrote the new nodes' copies without index entries; their indexes were rebuilt before they settled.
    expect(p.reindexed).toEqual([7, 8, 9]);
    const page = await store.engine.list({ bucket: 'grow', maxKeys: 1000 });
    expect(page.entries.map((e) => e.key).sort()).toEqual([...objects.keys()].sort());
    // Set placement moves each shard whose node is no longer chosen: about 3/10 of them.
    expect(p.shardsMoved / totalShards).toBeGreaterThan(0.2);
    expect(p.shardsMoved / totalShards).toBeLessThan(0.4);
    const view = store.container.resolve(TOKENS.Layout);
    expect(view.layout.version).toBe(3);
    expect(view.layout.nodes.some((n) => n.filling)).toBe(false);
    expect(view.layout.change).toMatch(/rebalanced/);
    // The new nodes hold their share of large shards; a moved record names its new nodes.
    for (const n of [7, 8, 9]) expect(await shardFiles(store.nodeFolder(n))).toBeGreaterThan(0);
    const after = await record(store, 'large/7');
    expect(after.shardNodes.filter((n, i) => n !== before.shardNodes[i]).every((n) => n >= 7)).toBe(true);
    // Shard files are where the records say, and nowhere else.
    let files = 0;
    for (let n = 0; n < 10; n++) files += await shardFiles(store.nodeFolder(n));
    expect(files).toBe(8 * 7);
    // A second pass finds nothing to move.
    expect(await rebalancer.pass({ settleMs: 0 })).toBeUndefined();
    await store.close();

    // Any three nodes lost, old or new: still every object.
    for (const n of [1, 7, 9]) await rm(join(path, `node-${n}`), { recursive: true });
    const reopened = await openStore({ NUMNODES: '10' }, path);
    expect(await readsBack(reopened, objects)).toEqual([]);
    await reopened.close();
  });

  it('doubles from 7 to 14 nodes: buckets stay found while the new nodes hold none, and the rebalance gives them theirs', async () => {
    const { objects, store } = await filledThenGrown('kintsugi-double-', 14);
    const nodes = store.container.resolve(TOKENS.Nodes);
    // Seven nodes hold the bucket, seven (filling) do not: only the settled ones vote.
    expect(await store.container.resolve(BucketStore).get('grow')).toMatchObject({ name: 'grow' });
    await store.engine.put('grow', 'while/filling', chunked(random(3000)));
    const p = (await store.container.resolve(Rebalancer).pass({ settleMs: 0 }))!;
    expect(p.deferred).toBe(0);
    for (let n = 7; n < 14; n++) expect(await nodes.drives[n]!.readFile('buckets/grow'), `node ${n}`).toBeDefined();
    expect(await readsBack(store, objects)).toEqual([]);
    await store.close();
  });

  it('a weight change moves data to match: a node given weight 3 ends up in more stripes than the others (at most all of them, with 7 of 9 nodes in each)', async () => {
    const { objects, store } = await filledThenGrown('kintsugi-weight-', 9);
    const rebalancer = store.container.resolve(Rebalancer);
    await rebalancer.pass({ settleMs: 0 });
    const view = store.container.resolve(TOKENS.Layout);
    const heavier = reweigh(view.layout, 0, 3);
    expect(heavier.moving).toBe(true);
    await adoptLayout(store, heavier);
    const p = (await rebalancer.pass({ settleMs: 0 }))!;
    expect(p.deferred).toBe(0);
    expect(view.layout.moving).toBeUndefined();
    // Shards per node over every record (inline ones included).
    const load = new Array<number>(9).fill(0);
    for (const key of objects.keys()) for (const n of (await record(store, key)).shardNodes) load[n]!++;
    const others = load.slice(1).reduce((a, b) => a + b, 0) / 8;
    expect(load[0]! / others).toBeGreaterThan(1.15);
    expect(await readsBack(store, objects)).toEqual([]);
    await store.close();
  });

  it('drains a node: everything moves off it, it reports empty, is removed, and its folder can go', async () => {
    const { path, objects, store } = await filledThenGrown('kintsugi-drain-', 8);
    const rebalancer = store.container.resolve(Rebalancer);
    await rebalancer.pass({ settleMs: 0 });
    const view = store.container.resolve(TOKENS.Layout);
    const nodes = store.container.resolve(TOKENS.Nodes);
    const draining = drainNodes(view.layout, [2], SHAPE);
    await adoptLayout(store, draining);
    expect((await rebalancer.drainReport(2)).empty).toBe(false);
    // Writes during a drain go to the active nodes only.
    objects.set('during/drain', random(900_000));
    await store.engine.put('grow', 'during/drain', chunked(objects.get('during/drain')!));
    expect((await record(store, 'during/drain')).shardNodes).not.toContain(2);
    const p = (await rebalancer.pass({ settleMs: 0 }))!;
    expect(p.deferred).toBe(0);
    expect(await rebalancer.drainReport(2)).toEqual({ node: 2, records: 0, files: 0, empty: true });
    expect(rebalancer.status().draining).toEqual([{ node: 2, records: 0, files: 0, empty: true }]);
    expect(await readsBack(store, objects)).toEqual([]);
    const removed = removeNodes(view.layout, [2], SHAPE);
    await writeLayout(nodes, removed, view.layout.version);
    await store.close();

    await rm(join(path, 'node-2'), { recursive: true });
    const after = await openStore({ NUMNODES: '8' }, path);
    expect(after.container.resolve(TOKENS.Nodes).health.status()[2]!.state).toBe('removed');
    expect(await readsBack(after, objects)).toEqual([]);
    // Still writable, and a listing still finds every key with node 2 gone for good.
    await after.engine.put('grow', 'after/removal', chunked(random(5000)));
    const listed = await after.container.resolve(TOKENS.MetadataStore).list({ bucket: 'grow', maxKeys: 1000 });
    expect(listed.entries.length).toBe(objects.size + 1);
    await after.close();
  });

  it('drains a node while PARITY nodes answer late and clients read and write: no request fails, nothing is lost', async () => {
    const { store, drives } = await openMemoryStore(10);
    const objects = await fill(store);
    // Three nodes (PARITY) answer every call 15 ms late, the drained one among them.
    for (const n of [1, 4, 8]) drives.drives[n]!.inject({ action: 'slow', ms: 15 });
    const view = store.container.resolve(TOKENS.Layout);
    const draining = drainNodes(view.layout, [4], SHAPE);
    await adoptLayout(store, draining);
    const rebalancer = store.container.resolve(Rebalancer);
    let done = false;
    const moving = rebalancer.pass({ settleMs: 0 }).finally(() => { done = true; });
    const failures: string[] = [];
    const keys = [...objects.keys()];
    for (let i = 0; !done; i++) {
      const key = keys[(i * 7) % keys.length]!;
      const got = await store.engine.get('grow', key).then((r) => collect(r.body), (err: Error) => { failures.push(`${key}: ${err.message}`); return undefined; });
      if (got && sha256(got) !== sha256(objects.get(key)!)) failures.push(`${key}: wrong bytes`);
      const fresh = random(2000 + i * 1000);
      await store.engine.put('grow', `during/${i}`, chunked(fresh)).then(() => objects.set(`during/${i}`, fresh), (err: Error) => failures.push(`put ${i}: ${err.message}`));
    }
    const p = (await moving)!;
    expect(failures).toEqual([]);
    expect(keys.length).toBeLessThan(objects.size); // clients wrote while it moved
    expect(p.deferred).toBe(0);
    // What was written during the move went to active nodes; a second pass takes what the first had passed by.
    await rebalancer.pass({ settleMs: 0 });
    expect((await rebalancer.drainReport(4)).empty).toBe(true);
    for (const d of drives.drives) d.faults.clear();
    expect(await readsBack(store, objects)).toEqual([]);
    await store.close();
  });

  it('leaves the versions it cannot move now where they are, says why, tries again later, and finishes once the node is back', async () => {
    const { store, drives } = await openMemoryStore(10);
    const objects = await fill(store);
    const view = store.container.resolve(TOKENS.Layout);
    const health = store.container.resolve(TOKENS.NodeHealth);
    const draining = drainNodes(view.layout, [4], SHAPE);
    await adoptLayout(store, draining);
    // Node 7 turns read-only: what would move onto it waits.
    drives.drives[7]!.inject({ action: 'fail', code: 'EROFS', calls: ['shelf.put', 'writeFile', 'createWriter', 'createFile', 'rename'] });
    health.report(7, nodeFault('EROFS', 'read-only file system'));
    const rebalancer = store.container.resolve(Rebalancer);
    const first = (await rebalancer.pass({ settleMs: 0 }))!;
    expect(first.deferred).toBeGreaterThan(0);
    expect(first.deferredWhy).toEqual({ 'a target node takes no writes': first.deferred });
    expect(rebalancer.status().retryAtMs).toBeGreaterThan(Date.now());
    expect((await rebalancer.drainReport(4)).empty).toBe(false);
    expect(await readsBack(store, objects)).toEqual([]);
    drives.drives[7]!.faults.clear();
    await health.probe(7);
    const second = (await rebalancer.pass({ settleMs: 0 }))!;
    expect(second.deferred).toBe(0);
    expect(rebalancer.status().retryAtMs).toBeUndefined();
    expect((await rebalancer.drainReport(4)).empty).toBe(true);
    expect(await readsBack(store, objects)).toEqual([]);
    await store.close();
  });

  it('does not wait on a copy missing where nothing moves (a write still landing): the new nodes settle, and the healer restores it', async () => {
    const { objects, store } = await filledThenGrown('kintsugi-landing-', 10);
    // Written under the new layout, one copy (and its inline shard) not there yet.
    const late = random(2000);
    await store.engine.put('grow', 'late', chunked(late));
    objects.set('late', late);
    const placed = await record(store, 'late');
    const lacking = placed.shardNodes[2]!;
    await shelfOf(store, lacking).remove([recordPath('grow', 'late', placed.versionId)]);
    const p = (await store.container.resolve(Rebalancer).pass({ settleMs: 0 }))!;
    expect(p.deferred).toBe(0);
    expect(store.container.resolve(TOKENS.Layout).layout.nodes.some((n) => n.filling)).toBe(false);
    expect(await readsBack(store, objects)).toEqual([]);
    const healed = await store.container.resolve(Healer).pass();
    expect(healed.replicasRepaired).toBeGreaterThan(0);
    expect(await store.container.resolve(TOKENS.MetadataStore).missingCopies(placed)).toEqual([]);
    await store.close();
  });

  it('a gateway whose layout is older than the nodes\' refuses writes (503 ServiceUnavailable) and still serves reads', async () => {
    const path = tempDir('kintsugi-old-layout-');
    const store = await openStore({}, path);
    const objects = await fill(store);
    const view = store.container.resolve(TOKENS.Layout);
    // Another process added nodes this one has not opened.
    const grown = addNodes(view.layout, ['node-7']);
    expect(view.adopt(grown)).toBe(true);
    expect(view.layout.version).toBe(1);
    const refused = await store.engine.put('grow', 'new', chunked(random(1000))).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(LayoutOutdatedError);
    expect((refused as LayoutOutdatedError).code).toBe('ERR_LAYOUT_OUTDATED');
    expect((refused as Error).message).toMatch(/uses cluster layout version 1, the nodes have version 2/);
    expect(await readsBack(store, objects)).toEqual([]);
    await store.close();
  });
});

