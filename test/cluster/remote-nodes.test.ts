import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { recordDir } from '../../core/layout.js';
import { runCli } from '../helpers/cli.js';
import { folderShelf, tempDir } from '../helpers/engine.js';
import { CLUSTER_SECRET as SECRET, restartNode, startNode, stopNode, type NodeProcess } from '../helpers/nodes.js';
import { failure, startServer, type RunningServer } from '../helpers/server.js';
import { send, signedHeaders } from '../helpers/sign.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('a gateway over seven `kintsugi node` processes (loopback)', () => {
  const nodes: NodeProcess[] = [];
  let gateway: RunningServer;
  let s3: S3Client;
  beforeAll(async () => {
    for (let i = 0; i < 7; i++) nodes.push(await startNode(tempDir(`kintsugi-node-${i}-`)));
    gateway = await startServer({ NODES: nodes.map((n) => `http://127.0.0.1:${n.port}`).join(','), CLUSTER_SECRET: SECRET });
    s3 = gateway.client();
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    for (const n of nodes) await stopNode(n);
  });

  it('stores and reads back small and erasure-coded objects, and still does with PARITY nodes killed', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'remote' })).catch((err) => { throw new Error(`${(err as Error).message}\n${gateway.logs().slice(-3000)}`); });
    const objects = new Map<string, Buffer>([['small', randomBytes(1000)], ['large', randomBytes(3 << 20)], ['empty', Buffer.alloc(0)]]);
    for (const [Key, Body] of objects) await s3.send(new PutObjectCommand({ Bucket: 'remote', Key, Body }));
    const readAll = async () => {
      for (const [Key, body] of objects) {
        const got = await s3.send(new GetObjectCommand({ Bucket: 'remote', Key }));
        expect(sha(await got.Body!.transformToByteArray())).toBe(sha(body));
      }
    };
    await readAll();
    const listed = async () => ((await s3.send(new ListObjectsV2Command({ Bucket: 'remote' }))).Contents ?? []).map((c) => c.Key);
    // Each node keeps its own listing index: listings merge them over the network.
    expect(await listed()).toEqual(['empty', 'large', 'small']);
    for (const n of [nodes[1]!, nodes[3]!, nodes[5]!]) await stopNode(n, 'SIGKILL');
    await readAll();
    expect(await listed()).toEqual(['empty', 'large', 'small']);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'remote', Key: 'large' }))).ContentLength).toBe(3 << 20);
    // The operators' view names each node by location, with its state and last error.
    const status = JSON.parse((await send(gateway.port, 'GET', '/_kintsugi/admin/status', await signedHeaders(gateway.port, 'GET', '/_kintsugi/admin/status', {}))).body) as { nodes: { location: string; state: string; error?: string; lastSuccessMs?: number }[] };
    expect(status.nodes.map((n) => n.location)).toEqual(nodes.map((n) => `http://127.0.0.1:${n.port}`));
    for (const i of [1, 3, 5]) expect([status.nodes[i]!.state, status.nodes[i]!.error]).toEqual(['offline', expect.stringContaining(`node ${i} at`)]);
    expect(status.nodes[0]!.lastSuccessMs).toBeGreaterThan(0);
    const metrics = (await send(gateway.port, 'GET', '/_kintsugi/metrics')).body;
    expect(metrics).toMatch(/kintsugi_node_latency_seconds\{[^}]*node="0"\}/);
    expect(metrics).toMatch(/kintsugi_node_errors_total\{[^}]*node="1"\} [1-9]/);
    // Back on the same folders and ports.
    for (const i of [1, 3, 5]) nodes[i] = await restartNode(nodes[i]!);
    await readAll();
  }, 60_000);

  it('kintsugi demo erasure-codes onto the remote nodes and reconstructs bit-exact', () => {
    const r = runCli(['demo'], { NODES: nodes.map((n) => n.url).join(','), CLUSTER_SECRET: SECRET });
    expect(r.stdout).toMatch(/reconstructed 8388608 bytes: bit-exact/);
    expect(r.status).toBe(0);
  });

  it('a gateway with the wrong secret gets nothing from any node', async () => {
    const intruder = await startServer({ NODES: nodes.map((n) => `http://127.0.0.1:${n.port}`).join(','), CLUSTER_SECRET: 'guessed' });
    try {
      const status = await failure(intruder.client().send(new GetObjectCommand({ Bucket: 'remote', Key: 'small' })));
      expect(status.status).toBeGreaterThanOrEqual(400);
      expect(intruder.logs()).toMatch(/CLUSTER_SECRET differs/);
    } finally {
      await intruder.stop();
    }
  }, 60_000);

  it('a node whose folder was swapped with another is refused, and the data still reads', async () => {
    // Nodes 5 and 6 come back with each other's folders: both answer 412 to the gateway.
    await stopNode(nodes[5]!);
    await stopNode(nodes[6]!);
    const swapped = [await startNode(nodes[6]!.folder, { port: nodes[5]!.port }), await startNode(nodes[5]!.folder, { port: nodes[6]!.port })];
    try {
      const gw = await startServer({ NODES: nodes.map((n) => n.url).join(','), CLUSTER_SECRET: SECRET });
      try {
        const got = await gw.client().send(new GetObjectCommand({ Bucket: 'remote', Key: 'large' }));
        expect((await got.Body!.transformToByteArray()).byteLength).toBe(3 << 20);
        const status = JSON.parse((await send(gw.port, 'GET', '/_kintsugi/admin/status', await signedHeaders(gw.port, 'GET', '/_kintsugi/admin/status', {}))).body) as { nodes: { state: string; error?: string }[] };
        for (const i of [5, 6]) expect([status.nodes[i]!.state, status.nodes[i]!.error]).toEqual(['refused', expect.stringMatching(/refused/)]);
        // Nothing was written into the swapped folders.
        await gw.client().send(new PutObjectCommand({ Bucket: 'remote', Key: 'after-swap', Body: 'x' }));
        const copies = async (i: number) => (await folderShelf(nodes[i]!.folder).list(recordDir('remote', 'after-swap'))).length;
        for (const i of [5, 6]) expect(await copies(i)).toBe(0);
        expect((await Promise.all([0, 1, 2, 3, 4].map(copies))).some((c) => c > 0)).toBe(true);
      } finally {
        await gw.stop();
      }
    } finally {
      for (const n of swapped) await stopNode(n);
      nodes[5] = await restartNode(nodes[5]!);
      nodes[6] = await restartNode(nodes[6]!);
    }
  }, 60_000);
});
