import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { ScrubReport } from '../../core/contracts/metadata.js';
import { BucketStore } from '../../core/engine/buckets.js';
import { Healer } from '../../core/engine/healer.js';
import { recordPath, shardPath } from '../../core/layout.js';
import { TOKENS } from '../../core/tokens.js';
import { runCli } from '../helpers/cli.js';
import { chunked, collect, openStore, random, sha256, shelfOf, tempDir, type TestStore } from '../helpers/engine.js';

const FAST = { rateBytes: 1e12, periodMs: 3600_000 };
const metadataOf = (store: TestStore) => store.container.resolve(TOKENS.MetadataStore);

/** Asks every node's scrub until each has finished a pass; returns what they reported, damage gathered over the rounds. */
async function scrubbed(store: TestStore, pace = FAST): Promise<{ reports: ScrubReport[]; damaged: ScrubReport['damaged'][number][] }> {
  const damaged = [];
  for (let i = 0; i < 200; i++) {
    const reports = await metadataOf(store).scrub(pace);
    damaged.push(...reports.flatMap((r) => r.damaged.map((d) => ({ ...d, node: r.node }))));
    if (reports.every((r) => r.lastPass)) return { reports, damaged };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the scrubs did not finish a pass');
}

describe('the node-side scrub', () => {
  it('reads every shard file and record copy on each node against its checksums, with no gateway reads, and reports what fails', async () => {
    const store = await openStore();
    await store.container.resolve(BucketStore).create('scrub');
    const big = random(3 << 20);
    const record = await store.engine.put('scrub', 'big', chunked(big));
    await store.engine.put('scrub', 'small', chunked(random(3000)));
    const node = record.shardNodes[2]!;
    const shard = join(store.nodeFolder(node), ...shardPath('scrub', 'big', record.versionId, 2).split('/'));
    const bytes = await readFile(shard);
    bytes[bytes.length - 10]! ^= 1;
    await writeFile(shard, bytes);

    const { reports, damaged } = await scrubbed(store);
    expect(damaged).toEqual([expect.objectContaining({ node, bucket: 'scrub', key: 'big', versionId: record.versionId, what: expect.stringMatching(/fails its checksum/) })]);
    for (const r of reports) {
      expect(r.state).toBe('waiting');
      // Each node read its records and the shard files they place on it.
      expect(r.lastPass!.items).toBeGreaterThanOrEqual(2);
      expect(r.lastPass!.bytes).toBeGreaterThan(big.length / 4);
      expect(r.lastPass!.damaged).toBe(r.node === node ? 1 : 0);
      expect(r.dueMs).toBe(r.lastPass!.startedMs + FAST.periodMs);
    }
    await store.close();
  });

  it('hands what it found to the healer, which repairs those objects only; a restart remembers the last pass and waits until the next is due', async () => {
    const path = tempDir('kintsugi-scrub-');
    let store = await openStore({}, path);
    await store.container.resolve(BucketStore).create('scrub');
    const big = random(2 << 20);
    const record = await store.engine.put('scrub', 'big', chunked(big));
    const small = await store.engine.put('scrub', 'small', chunked(random(2000)));
    const shard = join(store.nodeFolder(record.shardNodes[0]!), ...shardPath('scrub', 'big', record.versionId, 0).split('/'));
    const garbled = await readFile(shard);
    garbled[100]! ^= 1;
    await writeFile(shard, garbled);
    // A record copy rotten on its node: the shelf reads it as nothing.
    const copyNode = small.shardNodes[5]!;
    await shelfOf(store, copyNode).put([{ name: recordPath('scrub', 'small', small.versionId), bytes: Buffer.from('rot') }]);

    const healer = store.container.resolve(Healer);
    healer.startScrub(FAST, 50);
    for (let i = 0; i < 200 && Buffer.compare(await readFile(shard), garbled) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    healer.stopScanner();
    await healer.idle();
    expect(Buffer.compare(await readFile(shard), garbled)).not.toBe(0);
    expect(healer.status().scrub!.map((s) => s.state)).toEqual(Array(7).fill('waiting'));
    expect(sha256(await collect((await store.engine.get('scrub', 'big')).body))).toBe(sha256(big));
    // The rotten copy was reported for its key and written back whole.
    expect(await metadataOf(store).missingCopies(small)).toEqual([]);
    const before = (await metadataOf(store).scrub(FAST))[0]!.lastPass!;
    await store.close();

    store = await openStore({}, path);
    const after = (await metadataOf(store).scrub(FAST))[0]!;
    expect(after).toMatchObject({ state: 'waiting', lastPass: before });
    await store.close();
  });

  it('runs a pass now from the command line on the nodes named, prints what each read and what is damaged, exits 0 only when nothing is (built code)', async () => {
    const path = tempDir('kintsugi-scrub-cli-');
    const store = await openStore({}, path);
    await store.container.resolve(BucketStore).create('scrub');
    const record = await store.engine.put('scrub', 'big', chunked(random(2 << 20)));
    const [rotten, clean] = [record.shardNodes[1]!, record.shardNodes[6]!];
    const shard = join(store.nodeFolder(rotten), ...shardPath('scrub', 'big', record.versionId, 1).split('/'));
    await store.close();
    const bytes = await readFile(shard);
    bytes[4000]! ^= 1;
    await writeFile(shard, bytes);

    const env = { NODEPATH: path, SYNC: 'off' };
    const ok = runCli(['scrub', `--node=${clean}`], env);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^node ${clean}  \\d+ items, [\\d.]+ MB in [\\d.]+ s \\([\\d.]+ MB/s\\), 0 damaged$`, 'm'));
    const bad = runCli(['scrub', '--json'], env);
    expect(bad.status, bad.stderr).toBe(1);
    const report = JSON.parse(bad.stdout) as { nodes: { node: number; damaged: number }[]; damaged: { node: number; key: string; what: string }[] };
    expect(report.nodes.map((n) => n.node)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(report.nodes.map((n) => n.damaged)).toEqual([0, 1, 2, 3, 4, 5, 6].map((n) => (n === rotten ? 1 : 0)));
    expect(report.damaged).toEqual([expect.objectContaining({ node: rotten, key: 'big', what: expect.stringMatching(/block 0 fails its checksum/) })]);
    expect(runCli(['scrub', '--node=9'], env).status).toBe(2);
  });
});
