import { createHash, randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

import {
  CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';

import { BucketStore } from '../../core/engine/buckets.js';
import { runCli } from '../helpers/cli.js';
import { chunked, collect, openStore, sha256, tempDir } from '../helpers/engine.js';
import { ACCESS_KEY, SECRET_KEY, startServer } from '../helpers/server.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Shard files under a node folder's data folder. */
async function shardFiles(folder: string): Promise<number> {
  const entries = await readdir(join(folder, 'data'), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).length;
}

interface Shown {
  layout: { version: number; change: string; nodes: { index: number; role: string; filling?: boolean }[] };
  rebalance?: { version: number; keys: number; finishedMs?: number; resumed: number; shardsMoved: number; deferred: number };
  draining: { node: number; empty: boolean }[];
}

const show = (env: Record<string, string>): Shown => {
  const r = runCli(['layout', 'show', '--json'], env);
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Shown;
};

async function until<T>(what: string, probe: () => T | undefined, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('growing and shrinking a cluster while it serves', () => {
  it('adds three nodes to a running server, drains and removes one: every read and write succeeds throughout, nothing is lost', async () => {
    const server = await startServer({ HEAL_INTERVAL: '0' });
    const env = { NODEPATH: server.nodePath, ACCESS_KEY, SECRET_KEY };
    // A client as SDKs are used against a store that sheds load: 503s are retried.
    const client = new S3Client({
      endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 10,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    });
    await client.send(new CreateBucketCommand({ Bucket: 'grow' }));
    const acknowledged = new Map<string, string>();
    const put = async (Key: string, Body: Buffer) => {
      await client.send(new PutObjectCommand({ Bucket: 'grow', Key, Body }));
      acknowledged.set(Key, sha(Body));
    };
    const read = async (Key: string) => sha(await (await client.send(new GetObjectCommand({ Bucket: 'grow', Key }))).Body!.transformToByteArray());
    for (let i = 0; i < 40; i++) await put(`small/${i}`, randomBytes(1000 + i * 50));
    for (let i = 0; i < 6; i++) await put(`large/${i}`, randomBytes(1_500_000 + i * 100_000));
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: 'grow', Key: 'multi' }));
    const parts = [randomBytes(5 << 20), randomBytes(1 << 20)];
    const etags = [];
    for (const [i, Body] of parts.entries()) etags.push((await client.send(new UploadPartCommand({ Bucket: 'grow', Key: 'multi', UploadId, PartNumber: i + 1, Body }))).ETag!);
    await client.send(new CompleteMultipartUploadCommand({ Bucket: 'grow', Key: 'multi', UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
    acknowledged.set('multi', sha(Buffer.concat(parts)));

    // Clients keep reading and writing through every change below.
    const failures: string[] = [];
    let clients = true;
    const traffic = (async () => {
      for (let i = 0; clients; i++) {
        const keys = [...acknowledged.keys()];
        const key = keys[(i * 13) % keys.length]!;
        const want = acknowledged.get(key);
        await read(key).then((got) => { if (got !== want) failures.push(`${key}: wrong bytes`); }, (err: Error) => failures.push(`get ${key}: ${err.name} ${err.message}`));
        await put(`during/${i}`, randomBytes(500 + (i % 20) * 5000)).catch((err: Error) => failures.push(`put during/${i}: ${err.name} ${err.message}`));
      }
    })();

    try {
      // The configuration names three more nodes; `layout add` takes them into the stored layout.
      const added = runCli(['layout', 'add'], { ...env, NUMNODES: '10' });
      expect(added.stderr).toBe('');
      expect(added.status).toBe(0);
      expect(added.stdout).toMatch(/version 2 .*added node 7, node 8, node 9/);
      expect(added.stdout).toMatch(/node 9 +active +filling/);
      // The server moves onto the ten nodes by itself, rebalances, and the new nodes settle.
      const settled = await until('the rebalance to settle the new nodes', () => {
        const s = show({ ...env, NUMNODES: '10' });
        return s.layout.version >= 3 ? s : undefined;
      }, 120_000);
      expect(settled.layout.change).toMatch(/rebalanced \(node 7, 8, 9 filled\)/);
      expect(settled.rebalance).toMatchObject({ version: 2, deferred: 0 });
      expect(settled.rebalance!.shardsMoved).toBeGreaterThan(0);
      for (const n of [7, 8, 9]) expect(await shardFiles(join(server.nodePath, `node-${n}`))).toBeGreaterThan(0);
      expect(server.logs()).toMatch(/the cluster layout names new nodes: the gateway moves onto them/);
      // The workers take the settled layout within a poll or two.
      const status = await until('the workers to use version 3', () => {
        const out = runCli(['status', `--endpoint=${server.endpoint}`], { ...env, NUMNODES: '10' }).stdout;
        return /layout: version 3/.test(out) ? out : undefined;
      });
      expect(status).toMatch(/layout: version 3, 10 active, 0 draining, 0 removed; rebalanced/);

      // Draining four would leave six active nodes: refused, with why.
      const tooMany = runCli(['layout', 'drain', '3,4,5,6'], { ...env, NUMNODES: '10' });
      expect(tooMany.status).toBe(2);
      expect(tooMany.stderr).toMatch(/would leave 6 active nodes; every stripe needs DATA\+PARITY = 7 nodes/);
      // Removing before draining: refused.
      expect(runCli(['layout', 'remove', '3'], { ...env, NUMNODES: '10' }).stderr).toMatch(/drain it first/);
      const drained = runCli(['layout', 'drain', '3'], { ...env, NUMNODES: '10' });
      expect(drained.status).toBe(0);
      expect(drained.stdout).toMatch(/node 3 +draining/);
      await until('node 3 to report empty', () => {
        const s = show({ ...env, NUMNODES: '10' });
        return s.draining.find((d) => d.node === 3)?.empty ? true : undefined;
      }, 120_000);
      const removed = runCli(['layout', 'remove', '3'], { ...env, NUMNODES: '10' });
      expect(removed.stderr).toBe('');
      expect(removed.stdout).toMatch(/node 3 +removed/);
      // Out of the layout, node 3 no longer counts (nor shows as sick) once the workers take the change.
      let ready = '';
      for (let i = 0; i < 40 && !/^OK 9 of 9 nodes writable\n$/.test(ready); i++) {
        ready = await (await fetch(`${server.endpoint}/_kintsugi/health/ready`)).text();
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(ready).toBe('OK 9 of 9 nodes writable\n');
    } finally {
      clients = false;
      await traffic;
    }
    expect(failures).toEqual([]);
    expect(acknowledged.size).toBeGreaterThan(47);
    for (const [key, digest] of acknowledged) expect(await read(key), key).toBe(digest);
    await server.stop();

    // Node 3's folder can go; a start with the old node count is refused and says what to set.
    await rm(join(server.nodePath, 'node-3'), { recursive: true });
    await expect(startServer({ NODEPATH: server.nodePath, HEAL_INTERVAL: '0' })).rejects.toThrow(/wins over the configuration: the configuration names 7 nodes, the layout 10\. Set NUMNODES=10/);
    const again = await startServer({ NODEPATH: server.nodePath, NUMNODES: '10', HEAL_INTERVAL: '0' });
    const after = new S3Client({ endpoint: again.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY } });
    for (const [key, digest] of acknowledged) expect(sha(await (await after.send(new GetObjectCommand({ Bucket: 'grow', Key: key }))).Body!.transformToByteArray()), key).toBe(digest);
    await again.stop();
  }, 300_000);

  it('a rebalance killed with -9 mid-move leaves every object readable and resumes where it was, leaving nothing behind', async () => {
    const path = tempDir('kintsugi-resume-');
    const store = await openStore({}, path);
    await store.container.resolve(BucketStore).create('grow');
    const objects = new Map<string, Buffer>();
    for (let i = 0; i < 1500; i++) objects.set(`small/${i}`, randomBytes(500 + (i % 40) * 90));
    for (let i = 0; i < 6; i++) objects.set(`large/${i}`, randomBytes(700_000 + i * 300_000));
    await Promise.all([...objects].map(([key, data]) => store.engine.put('grow', key, chunked(data))));
    await store.close();
    const env = { NODEPATH: path, NUMNODES: '10', SYNC: 'off' };
    expect(runCli(['layout', 'add'], env).status).toBe(0);

    // Killed twice, exactly between two steps of a move (failpoints: the process SIGKILLs itself there):
    // once after a batch's new record copies are written and before the old ones are dropped,
    // once after a large object's record names its new nodes and before the old shard files go.
    for (const point of ['rebalance-copies-written:1', 'rebalance-files-recorded:1']) {
      const crashed = runCli(['layout', 'rebalance'], { ...env, KINTSUGI_FAILPOINT: point });
      expect(crashed.status, point).toBe(null); // killed by a signal
      const p = show(env).rebalance!;
      expect(p.finishedMs, point).toBeUndefined();
      expect(p.keys, point).toBeLessThan(objects.size);
      // Half moved: everything reads back.
      const mid = await openStore({ NUMNODES: '10' }, path);
      for (const [key, data] of objects) expect(sha256(await collect((await mid.engine.get('grow', key)).body)), `${point} ${key}`).toBe(sha256(data));
      await mid.close();
    }

    const resumed = runCli(['layout', 'rebalance', '--json'], env);
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    const summary = JSON.parse(resumed.stdout) as { progress: NonNullable<Shown['rebalance']> };
    expect(summary.progress.resumed).toBe(2);
    expect(summary.progress.keys).toBe(objects.size);
    expect(summary.progress.deferred).toBe(0);
    expect(show(env).layout.change).toMatch(/rebalanced/);
    // No shard file was left behind on a node its record no longer names.
    let files = 0;
    for (let n = 0; n < 10; n++) files += await shardFiles(join(path, `node-${n}`));
    expect(files).toBe(6 * 7);
    const done = await openStore({ NUMNODES: '10' }, path);
    for (const [key, data] of objects) expect(sha256(await collect((await done.engine.get('grow', key)).body)), key).toBe(sha256(data));
    await done.close();
  }, 180_000);
});
