import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';

import { runCli } from '../helpers/cli.js';
import { folderShelf, tempDir } from '../helpers/engine.js';
import { send, signedHeaders } from '../helpers/sign.js';
import { startServer, type RunningServer } from '../helpers/server.js';

/**
 * Sick nodes, as disks fail before they die: a rotten shelf (records and listing index), a
 * read-only remount, a garbled identity, a node path that is a file. Each on
 * one node and on PARITY nodes at once, before start and while serving: the
 * service must stay up, complete and correct, with no worker crash loop,
 * health naming the node, and heal exiting 0.
 */

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const BUCKET = 'sick';
const ONE = [2];
const PARITY = [1, 3, 5];

let running: RunningServer | undefined;
const mounted: string[] = [];
afterEach(async () => {
  if (process.env.DUMP_LOGS) console.log(running?.logs());
  await running?.stop();
  running = undefined;
  for (const m of mounted.splice(0)) spawnSync('umount', ['-l', m]);
});

const folderOf = (nodePath: string, n: number) => join(nodePath, `node-${n}`);

/** Node n's shelf file: its records, inline shards and listing index, in one LMDB file. */
const shelfFile = (nodePath: string, n: number) => join(folderOf(nodePath, n), '.kintsugi', 'shelf.lmdb');

/** Random bytes over the first 5 KB of node n's shelf (a torn write, a bad sector), in place. */
async function garbleShelf(nodePath: string, n: number): Promise<void> {
  const fh = await open(shelfFile(nodePath, n), 'r+');
  try {
    await fh.write(randomBytes(5 * 1024), 0, 5 * 1024, 0);
  } finally {
    await fh.close();
  }
}

/**
 * Random bytes over both LMDB meta pages but their first 32 bytes (the
 * magic numbers stay): what the meta-page guard cannot see, and what
 * crashes a process that maps the file.
 */
async function garbleBehindMagic(nodePath: string, n: number): Promise<void> {
  const fh = await open(shelfFile(nodePath, n), 'r+');
  try {
    for (const page of [0, 4096]) await fh.write(randomBytes(4000), 0, 4000, page + 32);
  } finally {
    await fh.close();
  }
}

/** A read-only bind mount of node n's folder over itself, or false where mounts are refused. */
function mountReadOnly(nodePath: string, n: number): boolean {
  const folder = folderOf(nodePath, n);
  if (spawnSync('mount', ['--bind', folder, folder]).status !== 0) return false;
  mounted.push(folder);
  return spawnSync('mount', ['-o', 'remount,ro,bind', folder]).status === 0;
}

function remountWritable(nodePath: string, n: number): void {
  const folder = folderOf(nodePath, n);
  expect(spawnSync('mount', ['-o', 'remount,rw,bind', folder]).status).toBe(0);
}

/** Whether this machine lets us make read-only bind mounts (root in a container may not). */
function mountsAllowed(): boolean {
  const dir = tempDir('kintsugi-mount-');
  const ok = spawnSync('mount', ['--bind', dir, dir]).status === 0;
  if (ok) spawnSync('umount', ['-l', dir]);
  return ok;
}
const canMount = mountsAllowed();
if (!canMount) console.log('read-only node tests skipped: bind mounts are refused on this machine');

/** Objects put before the fault: small ones (inline in their records) and large ones (shard files). */
async function seed(s3: S3Client): Promise<Map<string, string>> {
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const objects = new Map<string, string>();
  for (let i = 0; i < 16; i++) {
    const body = randomBytes(i % 4 === 0 ? 2_500_000 + i : 3000 + i);
    const key = `before/${i % 3}/object-${i}`;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    objects.set(key, sha(body));
  }
  return objects;
}

/** Every key of the bucket, listed a few keys a page so that every page merges the indexes anew. */
async function listAll(s3: S3Client): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, MaxKeys: 5, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((c) => c.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

async function readBack(s3: S3Client, key: string): Promise<string> {
  return sha(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
}

/** How many times the primary had to restart a worker. */
const restarts = (server: RunningServer) => server.logs().split('\n').filter((l) => l.includes('"worker exited')).length;

/**
 * The service with `sick` nodes: listings complete, every object bit-exact,
 * new small and large puts land and list, and readiness names the nodes.
 */
async function expectServing(server: RunningServer, objects: Map<string, string>, sick: number[], state?: string): Promise<void> {
  const s3 = server.client();
  for (let round = 0; round < 2; round++) {
    expect((await listAll(s3)).sort()).toEqual([...objects.keys()].sort());
    for (const [key, want] of objects) expect(await readBack(s3, key)).toBe(want);
  }
  for (let i = 0; i < 6; i++) {
    const body = randomBytes(i % 2 ? 3_000_000 : 4000);
    const key = `after/${sick.join('-')}/${objects.size}-${i}`;
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body })).then(() => 200, (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode);
    expect(put).toBe(200);
    objects.set(key, sha(body));
  }
  expect((await listAll(s3)).sort()).toEqual([...objects.keys()].sort());
  for (const [key, want] of objects) if (key.startsWith('after/')) expect(await readBack(s3, key)).toBe(want);
  // Readiness probes every node (a probe already running when the fault came may answer first: ask again).
  const deadline = Date.now() + 10_000;
  let ready = await send(server.port, 'GET', '/_kintsugi/health/ready');
  while (state && sick.some((n) => !ready.body.includes(`node ${n} ${state}`)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    ready = await send(server.port, 'GET', '/_kintsugi/health/ready');
  }
  expect(ready.status).toBe(200);
  if (state) for (const n of sick) expect(ready.body).toContain(`node ${n} ${state}`);
}

/** Readiness until no node is degraded (a repaired node comes back by itself). */
async function expectAllBack(server: RunningServer): Promise<void> {
  const deadline = Date.now() + 20_000;
  let body = '';
  while (Date.now() < deadline) {
    body = (await send(server.port, 'GET', '/_kintsugi/health/ready')).body;
    if (!body.includes('degraded')) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`nodes still degraded: ${body}`);
}

function expectHealExits0(nodePath: string): { indexesRebuilt: string[] } {
  const heal = runCli(['heal', '--json', '--grace=0'], { NODEPATH: nodePath, SYNC: 'off' });
  expect(heal.status, heal.stderr).toBe(0);
  return JSON.parse(heal.stdout) as { indexesRebuilt: string[] };
}

/** A node's set-aside indexes (never deleted), each with why it was set aside. */
function quarantined(nodePath: string, n: number): string[] {
  const dir = join(folderOf(nodePath, n), '.kintsugi', 'quarantine');
  return existsSync(dir) ? readdirSync(dir).map((d) => readFileSync(join(dir, d, 'why.txt'), 'utf8').trim()) : [];
}

async function serverWithObjects(): Promise<{ nodePath: string; objects: Map<string, string> }> {
  const nodePath = tempDir('kintsugi-sick-');
  running = await startServer({ NODEPATH: nodePath, HEAL_INTERVAL: '0' });
  const objects = await seed(running.client());
  return { nodePath, objects };
}

describe('a shelf (records, inline shards, listing index) with garbage over its first 5 KB', () => {
  for (const sick of [ONE, PARITY]) {
    it(`before start (nodes ${sick.join(', ')}): is checked in a child process and set aside; the others serve, heal refills it and its index; nothing crashes`, async () => {
      const { nodePath, objects } = await serverWithObjects();
      await running!.stop();
      for (const n of sick) await garbleShelf(nodePath, n);
      running = await startServer({ NODEPATH: nodePath, HEAL_INTERVAL: '0' });
      await expectServing(running, objects, sick);
      expect(restarts(running)).toBe(0);
      for (const n of sick) expect(quarantined(nodePath, n)).toEqual([expect.stringMatching(/^shelf: /)]);
      await running.stop();
      expectHealExits0(nodePath);
      // The healed nodes' listing indexes hold every key again, beside the records the healer wrote.
      for (const n of sick) {
        const rows = await folderShelf(folderOf(nodePath, n)).rows('listing', { from: Buffer.from(BUCKET), limit: 10_000 });
        const keys = new Set(rows.map((r) => Buffer.from(r.key).toString('utf8').split('\0')[1]));
        expect([...keys].sort()).toEqual([...objects.keys()].sort());
      }
      running = await startServer({ NODEPATH: nodePath, HEAL_INTERVAL: '0' });
      expect((await listAll(running.client())).sort()).toEqual([...objects.keys()].sort());
    }, 120_000);

    for (const [how, garble] of [['over the magic numbers', garbleShelf], ['behind intact magic numbers', garbleBehindMagic]] as const) {
      it(`while the server has it mapped, ${how} (nodes ${sick.join(', ')}): at most one death per worker, the file set aside, no loop`, async () => {
        const { nodePath, objects } = await serverWithObjects();
        const s3 = running!.client();
        // Both workers map every shelf.
        for (let i = 0; i < 6; i++) await listAll(s3);
        for (const n of sick) await garble(nodePath, n);
        // Listings and reads now meet the rotten pages: a worker may die (a signal) or meet a damaged page.
        for (let i = 0; i < 8; i++) await listAll(s3).catch(() => undefined);
        await expectServing(running!, objects, sick);
        const deaths = restarts(running!);
        expect(deaths).toBeLessThanOrEqual(2);
        const log = running!.logs();
        // Traffic goes on without any further death.
        for (let i = 0; i < 10; i++) await listAll(s3);
        expect(restarts(running!)).toBe(deaths);
        for (const n of sick) expect(quarantined(nodePath, n).length).toBeGreaterThanOrEqual(1);
        console.log(`shelf garbled ${how} while mapped on nodes ${sick.join(', ')}: ${deaths} worker deaths; log: ${log.split('\n').filter((l) => /fault|worker|set aside/.test(l)).map((l) => JSON.parse(l).msg).join(' | ')}`);
        expectHealExits0(nodePath);
      }, 120_000);
    }
  }
});

describe.skipIf(!canMount)('a node folder remounted read-only', () => {
  it('while serving (node 4): reads and listings go on, writes skip it, health says read-only; back by itself when remounted read-write', async () => {
    const { nodePath, objects } = await serverWithObjects();
    expect(mountReadOnly(nodePath, 4)).toBe(true);
    await expectServing(running!, objects, [4], 'read-only');
    expect(restarts(running!)).toBe(0);
    // The state, the last error and since when, for operators and for Prometheus.
    const path = '/_kintsugi/admin/status';
    const status = JSON.parse((await send(running!.port, 'GET', path, await signedHeaders(running!.port, 'GET', path, {}))).body) as { nodes: { index: number; state: string; error?: string; sinceMs: number }[] };
    expect(status.nodes[4]).toMatchObject({ state: 'read-only', error: expect.stringMatching(/read-only file system/i) });
    expect(Date.now() - status.nodes[4]!.sinceMs).toBeLessThan(60_000);
    expect(status.nodes.filter((n) => n.state === 'ok')).toHaveLength(6);
    const metrics = (await send(running!.port, 'GET', '/_kintsugi/metrics')).body;
    expect(metrics).toMatch(/^kintsugi_node_state\{worker="\d+",node="4",state="read-only"\} 1$/m);
    expect(metrics).toMatch(/^kintsugi_node_writable\{worker="\d+",node="4"\} 0$/m);
    expectHealExits0(nodePath);
    remountWritable(nodePath, 4);
    await expectAllBack(running!);
    await expectServing(running!, objects, []);
  }, 120_000);

  it(`before start (nodes ${PARITY.join(', ')}): the server starts and serves from the others`, async () => {
    const { nodePath, objects } = await serverWithObjects();
    await running!.stop();
    for (const n of PARITY) expect(mountReadOnly(nodePath, n)).toBe(true);
    running = await startServer({ NODEPATH: nodePath, HEAL_INTERVAL: '0' });
    await expectServing(running, objects, PARITY, 'read-only');
    expectHealExits0(nodePath);
    for (const n of PARITY) remountWritable(nodePath, n);
    await expectAllBack(running);
    expect((await listAll(running.client())).sort()).toEqual([...objects.keys()].sort());
  }, 120_000);
});

describe.skipIf(!canMount)('a full node (its folder on a small tmpfs, filled up)', () => {
  it('before start and while serving (node 6): writes skip it, reads use it, health says full; room made, it returns', async () => {
    const { nodePath, objects } = await serverWithObjects();
    await running!.stop();
    const folder = folderOf(nodePath, 6);
    await rename(folder, `${folder}.disk`);
    await mkdir(folder);
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', folder]).status).toBe(0);
    mounted.push(folder);
    expect(spawnSync('cp', ['-a', `${folder}.disk/.`, folder]).status).toBe(0);
    // Fill what is left: dd stops at ENOSPC.
    spawnSync('dd', ['if=/dev/zero', `of=${join(folder, 'filler')}`, 'bs=1M', 'count=64']);
    running = await startServer({ NODEPATH: nodePath, HEAL_INTERVAL: '0' });
    await expectServing(running, objects, [6], 'full');
    expect(restarts(running)).toBe(0);
    expectHealExits0(nodePath);
    await rm(join(folder, 'filler'));
    await expectAllBack(running);
    await expectServing(running, objects, []);
  }, 120_000);
});

describe('a garbled identity file (.kintsugi/format.json)', () => {
  for (const sick of [ONE, PARITY]) {
    it(`before start (nodes ${sick.join(', ')}): the node is refused and untouched, the server starts; restored, it returns`, async () => {
      const { nodePath, objects } = await serverWithObjects();
      await running!.stop();
      const formats = sick.map((n) => join(folderOf(nodePath, n), '.kintsugi', 'format.json'));
      const saved = await Promise.all(formats.map((f) => readFile(f)));
      for (const f of formats) await writeFile(f, randomBytes(200));
      running = await startServer({ NODEPATH: nodePath, HEAL_INTERVAL: '0' });
      await expectServing(running, objects, sick, 'refused');
      expect(running.logs()).toContain('unreadable identity file');
      expectHealExits0(nodePath);
      await Promise.all(formats.map((f, i) => writeFile(f, saved[i]!)));
      await expectAllBack(running);
      await expectServing(running, objects, []);
    }, 120_000);
  }

  it(`while serving (nodes ${PARITY.join(', ')}): a probe finds it and the nodes are refused`, async () => {
    const { nodePath, objects } = await serverWithObjects();
    for (const n of PARITY) await writeFile(join(folderOf(nodePath, n), '.kintsugi', 'format.json'), '{"format":1,"clusterId":"someone-else","index":0}');
    await expectServing(running!, objects, PARITY, 'refused');
    expect(restarts(running!)).toBe(0);
  }, 120_000);
});

describe('a node path that is a plain file', () => {
  for (const sick of [ONE, PARITY]) {
    it(`before start (nodes ${sick.join(', ')}): the node is offline, the server starts and serves; the folder back, the node returns`, async () => {
      const { nodePath, objects } = await serverWithObjects();
      await running!.stop();
      for (const n of sick) {
        await rename(folderOf(nodePath, n), `${folderOf(nodePath, n)}.moved`);
        await writeFile(folderOf(nodePath, n), 'not a folder');
      }
      running = await startServer({ NODEPATH: nodePath, HEAL_INTERVAL: '0' });
      await expectServing(running, objects, sick, 'offline');
      expect(running.logs()).toContain('is not a folder');
      expectHealExits0(nodePath);
      for (const n of sick) {
        await rm(folderOf(nodePath, n));
        await rename(`${folderOf(nodePath, n)}.moved`, folderOf(nodePath, n));
      }
      await expectAllBack(running);
      await expectServing(running, objects, []);
    }, 120_000);
  }
});

describe('workers that keep dying with no node to blame', () => {
  it('are restarted with a growing delay, logged once, and the service comes back', async () => {
    const { objects } = await serverWithObjects();
    const server = running!;
    const deadline = Date.now() + 30_000;
    while (restarts(server) < 4 && Date.now() < deadline) {
      const pids = server.workerPids();
      if (pids.length) process.kill(pids[0]!, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(restarts(server)).toBeGreaterThanOrEqual(4);
    const lines = server.logs().split('\n');
    expect(lines.filter((l) => l.includes('workers keep dying; restarting them with a delay'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('worker death blamed'))).toHaveLength(0);
    // Back to two workers, serving.
    const back = Date.now() + 30_000;
    while (server.workerPids().length < 2 && Date.now() < back) await new Promise((r) => setTimeout(r, 200));
    await expectServing(server, objects, []);
  }, 90_000);
});

describe('a node folder without permission (the server runs as an unprivileged user)', () => {
  it('before start and while serving (node 5): the node is offline, the server starts and serves; permission back, it returns', async () => {
    const NOBODY = 65534;
    const nodePath = tempDir('kintsugi-sick-');
    spawnSync('chmod', ['0755', nodePath]);
    spawnSync('chown', [`${NOBODY}:${NOBODY}`, nodePath]);
    running = await startServer({ NODEPATH: nodePath, HEAL_INTERVAL: '0' }, { asUser: NOBODY });
    const objects = await seed(running.client());
    // While serving: a probe (the readiness check runs one) finds it.
    spawnSync('chmod', ['000', folderOf(nodePath, 5)]);
    await expectServing(running, objects, [5], 'offline');
    await running.stop();
    // Before start.
    running = await startServer({ NODEPATH: nodePath, HEAL_INTERVAL: '0' }, { asUser: NOBODY });
    await expectServing(running, objects, [5], 'offline');
    expect(running.logs()).toMatch(/"node":5.*permission denied/i);
    spawnSync('chmod', ['0755', folderOf(nodePath, 5)]);
    await expectAllBack(running);
    await expectServing(running, objects, []);
    expect(restarts(running)).toBe(0);
  }, 120_000);
});
