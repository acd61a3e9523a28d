import { createHash, randomBytes } from 'node:crypto';

import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { listKeys } from '../helpers/listing.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { seededRandom, testSeed } from '../helpers/seed.mjs';
import { NetLab, type LabHost } from '../helpers/netns.js';
import { CLUSTER_SECRET, startNode, stopNode, type NodeProcess } from '../helpers/nodes.js';
import { startServer, type RunningServer } from '../helpers/server.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const NODE_PORT = 7480;

/**
 * Seven `kintsugi node` hosts and two gateway hosts, each in its own network
 * namespace on one bridge: real TCP between hosts, partitions by taking a
 * host's link down. Gateway B reaches nodes 5 and 6 through a fault proxy
 * (latency and loss-like stalls).
 */
describe('nodes and gateways on separate hosts (network namespaces)', () => {
  let lab: NetLab;
  const nodeHosts: LabHost[] = [];
  const nodes: NodeProcess[] = [];
  const proxies: FaultProxy[] = [];
  let gwA: RunningServer;
  let gwB: RunningServer;
  let hostA: LabHost;
  let viaA: S3Client;
  let viaB: S3Client;
  const acknowledged = new Map<string, string>();
  const direct = () => nodeHosts.map((h) => `http://${h.address}:${NODE_PORT}`);

  beforeAll(async () => {
    lab = new NetLab();
    for (let i = 0; i < 7; i++) {
      const host = lab.add(`n${i}`);
      nodeHosts.push(host);
      nodes.push(await startNode(tempDir(`kintsugi-ns-node-${i}-`), { host: host.address, port: NODE_PORT, wrap: host.wrap }));
    }
    const random = seededRandom(testSeed('latency and loss between gateways and nodes'));
    for (const i of [5, 6]) {
      proxies.push(new FaultProxy({ host: nodeHosts[i]!.address, port: NODE_PORT }, { latencyMs: 3, lossRate: 0.02, retransmitMs: 200 }, random));
    }
    const viaProxies = await Promise.all(proxies.map((p) => p.listen(lab.gateway)));
    hostA = lab.add('gwa');
    const hostB = lab.add('gwb');
    gwA = await startServer({ HOST: hostA.address, NODES: direct().join(','), CLUSTER_SECRET }, { wrap: hostA.wrap });
    gwB = await startServer({ HOST: hostB.address, NODES: [...direct().slice(0, 5), ...viaProxies].join(','), CLUSTER_SECRET }, { wrap: hostB.wrap });
    viaA = gwA.client();
    viaB = gwB.client();
    await viaA.send(new CreateBucketCommand({ Bucket: 'hosts' }));
  }, 120_000);

  afterAll(async () => {
    await gwA?.stop();
    await gwB?.stop();
    for (const n of nodes) await stopNode(n);
    for (const p of proxies) await p.close();
    lab?.destroy();
  });

  /** Uploads `count` objects per writer, through both gateways (or `only` one), recording each acknowledged one; failures are counted, not fatal. */
  async function upload(prefix: string, writers: number, count: number, only?: S3Client): Promise<{ ok: number; failed: number }> {
    let ok = 0;
    let failed = 0;
    await Promise.all(Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < count; i++) {
        const Key = `${prefix}/${w}/${i}`;
        const body = randomBytes(i % 3 === 0 ? 600 * 1024 : 4000);
        try {
          await (only ?? (w % 2 ? viaA : viaB)).send(new PutObjectCommand({ Bucket: 'hosts', Key, Body: body }));
          acknowledged.set(Key, sha(body));
          ok++;
        } catch {
          failed++;
        }
      }
    }));
    return { ok, failed };
  }

  async function readsAll(client: S3Client): Promise<void> {
    for (const [Key, digest] of acknowledged) {
      expect(sha(await (await client.send(new GetObjectCommand({ Bucket: 'hosts', Key }))).Body!.transformToByteArray()), Key).toBe(digest);
    }
  }

  const listAll = (client: S3Client) => listKeys(client, 'hosts');

  it('serves through both gateways over real links, with latency and stalls on two of them', async () => {
    const { ok } = await upload('calm', 4, 5);
    expect(ok).toBe(20);
    await readsAll(viaA);
    await readsAll(viaB);
    expect(proxies.reduce((n, p) => n + p.chunks, 0)).toBeGreaterThan(0);
  }, 120_000);

  it('a node partitioned in the middle of uploads: acknowledged uploads survive, the node comes back and is healed', async () => {
    const running = upload('partition', 4, 8);
    await new Promise((r) => setTimeout(r, 500));
    lab.cut(nodeHosts[2]!);
    await new Promise((r) => setTimeout(r, 4000));
    lab.mend(nodeHosts[2]!);
    const { ok } = await running;
    // One node of seven gone does not stop writes: every upload was acknowledged.
    expect(ok).toBe(32);
    await readsAll(viaB);
    // The healer (on the test's own host) brings the partitioned node up to date.
    const heal = runCli(['heal', '--json', '--grace=0'], { NODES: direct().join(','), CLUSTER_SECRET, SYNC: 'off' });
    expect(heal.status, heal.stderr.slice(-2000)).toBe(0);
    expect(JSON.parse(heal.stdout)).toMatchObject({ unrecoverable: [] });
    // The node is back in service for both gateways.
    for (const gw of [gwA, gwB]) {
      await expect.poll(async () => (await fetch(`${gw.endpoint}/_kintsugi/metrics`)).text(), { timeout: 40_000, interval: 500 })
        .toMatch(/kintsugi_node_state\{[^}]*node="2",state="ok"\} 1/);
    }
  }, 180_000);

  it('a gateway host cut off: the other serves on, and the first is right again once it is back', async () => {
    lab.cut(hostA);
    try {
      const { ok } = await upload('gateway-cut', 2, 3, viaB);
      expect(ok).toBe(6);
      // What A cannot know, it does not make up: 503, not NoSuchBucket or NoSuchKey.
      const cutOff = await fetch(`${gwA.endpoint}/_kintsugi/health/ready`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status, () => 'unreachable');
      expect(cutOff).toBe('unreachable');
    } finally {
      lab.mend(hostA);
    }
    // Back once a probe reaches the nodes (the readiness check probes them all).
    await expect.poll(async () => (await fetch(`${gwA.endpoint}/_kintsugi/health/ready`)).status, { timeout: 40_000, interval: 500 }).toBe(200);
    await readsAll(viaA);
    expect(await listAll(viaA)).toEqual([...acknowledged.keys()].sort());
    expect(await listAll(viaB)).toEqual([...acknowledged.keys()].sort());
  }, 180_000);
});
