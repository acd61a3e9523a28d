import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { DegradedRead } from '../../core/engine/object-engine.js';
import { DataUnavailableError, NoSuchKeyError, WriteQuorumError } from '../../core/errors.js';
import { shardPath } from '../../core/layout.js';
import { subsetsUpTo } from '../helpers/codecs.js';
import { chunked, collect, md5, openStore, random, sha256, type TestStore } from '../helpers/engine.js';

const STRIPE = 1 << 20;

/** Moves node folders away for the duration of `fn` (a lost disk), then back. */
async function withNodesGone<T>(store: TestStore, nodes: number[], fn: () => Promise<T>): Promise<T> {
  for (const n of nodes) await rename(store.nodeFolder(n), `${store.nodeFolder(n)}.away`);
  try {
    return await fn();
  } finally {
    for (const n of nodes) await rename(`${store.nodeFolder(n)}.away`, store.nodeFolder(n));
  }
}

describe('reads under faults (4+3)', () => {
  let store: TestStore;
  const data = random(2 * STRIPE + 4321);
  beforeAll(async () => {
    store = await openStore();
    await store.engine.put('bucket', 'precious', chunked(data));
  });
  afterAll(async () => { await store.close(); });

  const read = async () => sha256(await collect((await store.engine.get('bucket', 'precious')).body));

  it('reads back bit-exact with every pattern of up to 3 node folders lost (63 patterns)', async () => {
    const patterns = subsetsUpTo(7, 3);
    expect(patterns).toHaveLength(63);
    for (const lost of patterns) {
      expect(await withNodesGone(store, lost, read), `nodes ${lost} lost`).toBe(sha256(data));
    }
  });

  it('finds the metadata when all METACOPIES replicas are gone, from the copies beside the shards', async () => {
    const meta = (store.engine as unknown as { metadata: { metaNodes(b: string, k: string): number[] } }).metadata.metaNodes('bucket', 'precious');
    expect(meta).toHaveLength(3);
    expect(await withNodesGone(store, meta, read)).toBe(sha256(data));
  });

  it('fails with a clear error when more than PARITY shards are lost', async () => {
    const record = await store.engine.head('bucket', 'precious');
    const lost = record.shardNodes.slice(0, 4);
    await withNodesGone(store, lost, async () => {
      const { body } = await store.engine.get('bucket', 'precious');
      await expect(collect(body)).rejects.toBeInstanceOf(DataUnavailableError);
      await expect(collect((await store.engine.get('bucket', 'precious')).body)).rejects.toThrow(/4 of 7 shards lost, at most 3 can be rebuilt/);
    });
  });

  it('detects rotten bytes in shard files by checksum, rebuilds them on read and reports the damage', async () => {
    const record = await store.engine.head('bucket', 'precious');
    const damaged: number[] = [];
    const originals = new Map<string, Buffer>();
    for (const shard of [0, 2, 5]) {
      const file = join(store.nodeFolder(record.shardNodes[shard]!), ...shardPath('bucket', 'precious', record.versionId, shard).split('/'));
      const bytes = await readFile(file);
      originals.set(file, Buffer.from(bytes));
      bytes[100 + shard * 7]! ^= 0x40; // one flipped bit in the first stripe's block
      await writeFile(file, bytes);
      damaged.push(shard);
    }
    const events: DegradedRead[] = [];
    store.engine.on('degraded', (e: DegradedRead) => events.push(e));
    expect(await read()).toBe(sha256(data));
    expect(events).toHaveLength(1);
    expect([...events[0]!.damage.shards].sort()).toEqual(damaged);
    for (const [file, bytes] of originals) await writeFile(file, bytes);
    store.engine.removeAllListeners('degraded');
  });
});

describe('failed writes', () => {
  it('leave the previous version intact and no temporary files behind', async () => {
    const store = await openStore();
    const first = random(3 * STRIPE);
    await store.engine.put('bucket', 'k', chunked(first));
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield random(STRIPE);
      yield random(STRIPE);
      throw new Error('client went away');
    }
    await expect(store.engine.put('bucket', 'k', broken())).rejects.toThrow('client went away');
    expect(sha256(await collect((await store.engine.get('bucket', 'k')).body))).toBe(sha256(first));
    for (let n = 0; n < 7; n++) expect(await readdir(join(store.nodeFolder(n), '.tmp'))).toEqual([]);
    await store.close();
  });

  it('give back their hashing buffers, so that many failed large puts do not stall the next one', async () => {
    const store = await openStore();
    async function* failsLate(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 40; i++) yield random(64 << 10);
      throw new Error('client went away');
    }
    for (let i = 0; i < 20; i++) await expect(store.engine.put('bucket', 'flaky', failsLate())).rejects.toThrow('client went away');
    const data = random(3 * STRIPE + 5);
    expect((await store.engine.put('bucket', 'flaky', chunked(data))).etag).toBe(md5(data));
    await store.close();
  });

  const metaNodes = (store: TestStore, key: string) =>
    (store.engine as unknown as { metadata: { metaNodes(b: string, k: string): number[] } }).metadata.metaNodes('bucket', key);

  it('succeed with PARITY nodes down while a majority of the key\'s metadata replicas is up, and read back once they return', async () => {
    for (const size of [STRIPE + 5, 1000]) {
      // A store each: the read below repairs replicas in the background,
      // which must not race the next round's node folders going away.
      const store = await openStore();
      const key = `while-down-${size}`;
      const meta = metaNodes(store, key);
      // Three nodes down: one metadata replica and two other nodes.
      const down = [meta[0]!, ...[0, 1, 2, 3, 4, 5, 6].filter((n) => !meta.includes(n)).slice(0, 2)];
      const data = random(size);
      await withNodesGone(store, down, () => store.engine.put('bucket', key, chunked(data)));
      expect(sha256(await collect((await store.engine.get('bucket', key)).body))).toBe(sha256(data));
      await store.close();
    }
  });

  it('succeed when most of the key\'s metadata replicas are down, and the stale replicas back do not hide the new version', async () => {
    for (const size of [STRIPE + 5, 700]) {
      const store = await openStore();
      const key = `meta-down-${size}`;
      const old = random(500);
      await store.engine.put('bucket', key, chunked(old));
      const meta = metaNodes(store, key);
      // Two of three replicas and one more node: PARITY nodes down, the replicas keep the old version.
      const down = [meta[0]!, meta[1]!, [0, 1, 2, 3, 4, 5, 6].find((n) => !meta.includes(n))!];
      const data = random(size);
      await withNodesGone(store, down, () => store.engine.put('bucket', key, chunked(data)));
      // A fresh reader (another process, say) that knows nothing of the outage.
      const other = await openStore({}, store.config.nodePath);
      expect(sha256(await collect((await other.engine.get('bucket', key)).body))).toBe(sha256(data));
      expect((await other.engine.list({ bucket: 'bucket', prefix: key, maxKeys: 5 })).entries.map((e) => e.etag)).toEqual([md5(data)]);
      await other.close();
      await store.close();
    }
  });

  it('with a condition, are refused at once (quorum, not a conflict) when most of the key\'s metadata replicas take no writes', async () => {
    const store = await openStore();
    const meta = metaNodes(store, 'conditional');
    await withNodesGone(store, meta.slice(0, 2), async () => {
      const started = Date.now();
      const absent = (current: unknown) => { if (current) throw new Error('exists'); };
      await expect(store.engine.put('bucket', 'conditional', chunked(random(100)), { condition: absent })).rejects.toBeInstanceOf(WriteQuorumError);
      expect(Date.now() - started).toBeLessThan(3000);
    });
    await store.close();
  });

  it('are refused when fewer nodes than the write quorum are up', async () => {
    const store = await openStore();
    await withNodesGone(store, [0, 1, 2, 3], async () => {
      const big = await store.engine.put('bucket', 'nope', chunked(random(STRIPE + 5))).catch((err: unknown) => err);
      expect(big).toBeInstanceOf(WriteQuorumError);
      expect((big as Error).message).toMatch(/nodes can take shards, 4 needed/);
      // The error names each node that failed, and why.
      expect((big as WriteQuorumError).failures.map((f) => f.node).sort()).toEqual([0, 1, 2, 3]);
      for (const n of [0, 1, 2, 3]) expect((big as Error).message).toMatch(new RegExp(`node ${n}: .*node-${n}`));
      // An inline object is refused by the metadata quorum, before any shard count matters; it names the nodes too.
      const small = await store.engine.put('bucket', 'nope', chunked(random(10))).catch((err: unknown) => err);
      expect(small).toBeInstanceOf(WriteQuorumError);
      expect((small as WriteQuorumError).failures.length).toBeGreaterThan(0);
    });
    await expect(store.engine.head('bucket', 'nope')).rejects.toBeInstanceOf(NoSuchKeyError);
    await store.close();
  });
});
