/**
 * End-to-end benchmark through the S3 API, as a user would see it: the
 * Kintsugi server (WORKERS as configured) against s3rver (plain files, no
 * erasure coding) on the same disk, with plain fs and a bare node:http
 * server as ceilings, all in one run. Requests are streamed by a thin HTTP
 * client over presigned URLs, so the client costs the same for every target.
 *
 *   npm run bench:e2e                    SYNC=on, 1 GiB, 20 s small-object runs
 *   npm run bench:e2e -- --quick         256 MiB, 5 s runs, 100k-key listing
 *   npm run bench:e2e -- --sync=off      no fsync in Kintsugi (s3rver never syncs)
 *   npm run bench:e2e -- --dir=/dev/shm  node folders (and s3rver's) on tmpfs
 *   npm run bench:e2e -- --only=small    a subset: big, small, rss, list
 *   npm run bench:e2e -- --json FILE    the table as JSON (default bench/results/e2e-sync-on|off.json) and an SVG chart beside it
 *   npm run bench:e2e -- --nodes=remote  also Kintsugi with its 7 nodes as `kintsugi node` processes on loopback
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand,
  PutObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

import { artifactPath } from '../../codecs/common/artifact.js';
import { fillListingIndexes } from '../common/listing-fill.js';
import { cpuSeconds, freePort, startNodeProcess, waitFor } from '../common/processes.js';
import { barChart, writeChart } from '../common/chart.js';
import { fmt, parseBenchArgs, printTable, writeJson } from '../common/report.js';
import { rawRead, rawWrite } from '../engine/raw-disk.js';
import { call, getText, getTimed, putFile, sustained } from './http-load.js';
import { presignUrl } from './presign.js';

const { json, flags, values } = parseBenchArgs(process.argv.slice(2));
const quick = flags.has('quick');
const sync = (values.get('sync') ?? 'on') !== 'off';
const MiB = 1 << 20;
const BIG = (quick ? 256 : 1024) * MiB;
const HUGE = quick ? BIG * 2 : 5 * 1024 * MiB;
const RUN_MS = (quick ? 5 : 20) * 1000;
const LIST_KEYS = quick ? 100_000 : 1_000_000;
const root = artifactPath(import.meta.url, '');
/** `--only=small,big,rss,list`: a subset of the workloads, for iterating on one of them. */
const only = new Set((values.get('only') ?? 'big,small,rss,list').split(','));

interface Target { name: string; client: S3Client; proc: ChildProcess; endpoint: string; key: string; secret: string; nodes?: ChildProcess[] }

/** `--nodes=remote`: the same workloads again with the nodes behind `kintsugi node` processes. */
const remoteNodes = values.get('nodes') === 'remote';
const CLUSTER_SECRET = 'bench cluster secret';

/** Seven `kintsugi node` processes serving nodePath/node-0..6 on loopback, and their URLs. */
async function startNodes(nodePath: string): Promise<{ procs: ChildProcess[]; urls: string[] }> {
  const nodes = [];
  for (let i = 0; i < 7; i++) nodes.push(await startNodeProcess(join(nodePath, `node-${i}`), { SYNC: sync ? 'on' : 'off', CLUSTER_SECRET }));
  return { procs: nodes.map((n) => n.proc), urls: nodes.map((n) => n.url) };
}

async function startKintsugiRemote(nodePath: string): Promise<Target> {
  const { procs, urls } = await startNodes(nodePath);
  const t = await startKintsugi(nodePath, { NODES: urls.join(','), CLUSTER_SECRET });
  return { ...t, name: 'kintsugi-remote', nodes: procs };
}


const client = (endpoint: string, key: string, secret: string) => new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: key, secretAccessKey: secret } });

async function startKintsugi(nodePath: string, extraEnv: Record<string, string> = {}): Promise<Target> {
  const port = await freePort();
  const proc = spawn(process.execPath, [join(root, 'dist/server/cli.js'), 'server'], {
    env: { ...process.env, NODEPATH: nodePath, PORT: String(port), HOST: '127.0.0.1', SYNC: sync ? 'on' : 'off', ACCESS_KEY: 'benchkey', SECRET_KEY: 'benchsecret', HEAL_INTERVAL: '0', ...extraEnv },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await waitFor(proc, 'Kintsugi S3 endpoint');
  const endpoint = `http://127.0.0.1:${port}`;
  return { name: 'kintsugi', proc, endpoint, client: client(endpoint, 'benchkey', 'benchsecret'), key: 'benchkey', secret: 'benchsecret' };
}

async function startS3rver(dir: string): Promise<Target> {
  const port = await freePort();
  const proc = spawn(process.execPath, [join(root, 'node_modules/s3rver/bin/s3rver.js'), '-d', dir, '-p', String(port), '-a', '127.0.0.1', '--silent'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((r) => setTimeout(r, 1500));
  const endpoint = `http://127.0.0.1:${port}`;
  return { name: 's3rver', proc, endpoint, client: client(endpoint, 'S3RVER', 'S3RVER'), key: 'S3RVER', secret: 'S3RVER' };
}

/** Resident memory of a process and its children, in MiB. */
function rssMiB(pid: number): number {
  const out = spawnSync('ps', ['-o', 'rss=', '-p', String(pid), '--ppid', String(pid)], { encoding: 'utf8' }).stdout;
  return out.split('\n').map((l) => Number(l.trim())).filter((n) => n > 0).reduce((a, b) => a + b, 0) / 1024;
}

const presign = (t: Target, cmd: PutObjectCommand | GetObjectCommand | UploadPartCommand) => getSignedUrl(t.client, cmd as never, { expiresIn: 3600 });

type Op = 'put' | 'get' | 'head';
type Rate = { perSecond: number; p50: number; p99: number };
type Small = Record<Op, Rate>;

interface Row { name: string; unit: string; kintsugi?: number; s3rver?: number; ceiling?: number; ceilingName?: string }
const rows: Row[] = [];
const mbps = (bytes: number, s: number) => bytes / MiB / s;


/** CPU seconds per GiB moved that `run` cost the gateway's processes and (remote) the node processes. */
async function withCpu<T>(t: Target, bytes: number, run: () => Promise<T>): Promise<{ result: T; gateway: number; nodes: number }> {
  const nodesCpu = () => (t.nodes ?? []).reduce((sum, n) => sum + cpuSeconds(n.pid!), 0);
  const [g0, n0] = [cpuSeconds(t.proc.pid!), nodesCpu()];
  const result = await run();
  const gib = bytes / (1024 * MiB);
  return { result, gateway: (cpuSeconds(t.proc.pid!) - g0) / gib, nodes: (nodesCpu() - n0) / gib };
}

async function bigObjects(t: Target, file: string): Promise<Record<string, number>> {
  const putRun = await withCpu(t, BIG, async () => putFile(await presign(t, new PutObjectCommand({ Bucket: 'bench', Key: 'big' })), file));
  const getRun = await withCpu(t, BIG, async () => getTimed(await presign(t, new GetObjectCommand({ Bucket: 'bench', Key: 'big' }))));
  const [put, get] = [putRun.result, getRun.result];
  // Multipart with 8 parts in flight.
  const { UploadId } = await t.client.send(new CreateMultipartUploadCommand({ Bucket: 'bench', Key: 'multi' }));
  const partSize = BIG / 8;
  const t0 = performance.now();
  const parts = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
    const url = await presign(t, new UploadPartCommand({ Bucket: 'bench', Key: 'multi', UploadId, PartNumber: i + 1 }));
    const r = await putFile(url, file, i * partSize, (i + 1) * partSize - 1);
    return { PartNumber: i + 1, ETag: r.etag };
  }));
  await t.client.send(new CompleteMultipartUploadCommand({ Bucket: 'bench', Key: 'multi', UploadId, MultipartUpload: { Parts: parts } }));
  const multi = (performance.now() - t0) / 1000;
  return {
    put: mbps(BIG, put.seconds), get: mbps(get.bytes, get.seconds), multi: mbps(BIG, multi),
    putCpuGateway: putRun.gateway, putCpuNodes: putRun.nodes, getCpuGateway: getRun.gateway, getCpuNodes: getRun.nodes,
  };
}

/** Rounds the small-object phases are split into, alternating between the servers. */
const ROUNDS = 3;

/**
 * 64 KiB PUT, GET and HEAD at 32 in flight on every target, interleaved:
 * each phase runs ROUNDS times per target, alternating targets, and the
 * median round is reported, so a noisy minute on the shared machine does
 * not land on one server only.
 */
async function smallObjects(targets: Target[]): Promise<Map<string, Small>> {
  const body = randomFillSync(Buffer.alloc(64 << 10));
  const phaseMs = RUN_MS / ROUNDS;
  const rounds = new Map(targets.map((t) => [t.name, { put: [], get: [], head: [] } as Record<Op, Rate[]>]));
  const written = new Map(targets.map((t) => [t.name, 0]));
  const url = (t: Target, method: string, key: string) => presignUrl(t.endpoint, method, 'bench', key, t.key, t.secret);
  const expect200 = (r: { status: number }) => { if (r.status !== 200) throw new Error(String(r.status)); };
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of targets) {
      let next = written.get(t.name)!;
      const put = await sustained(phaseMs, 32, async () => {
        const i = next++;
        expect200(await call(url(t, 'PUT', `small/${i}`), 'PUT', body));
      });
      // Only keys below every put still in flight at the end are known to exist.
      written.set(t.name, Math.max(written.get(t.name)!, next - 64));
      rounds.get(t.name)!.put.push(put);
    }
    for (const op of ['get', 'head'] as const) {
      for (const t of targets) {
        const count = written.get(t.name)!;
        rounds.get(t.name)![op].push(await sustained(phaseMs, 32, async (i) => {
          expect200(await call(url(t, op.toUpperCase(), `small/${i % count}`), op.toUpperCase()));
        }));
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return new Map(targets.map((t) => {
    const r = rounds.get(t.name)!;
    const summary = (op: Op) => ({ perSecond: median(r[op].map((x) => x.perSecond)), p50: median(r[op].map((x) => x.p50)), p99: median(r[op].map((x) => x.p99)) });
    return [t.name, { put: summary('put'), get: summary('get'), head: summary('head') }];
  }));
}

/** A file of `bytes` random bytes, made once per size and kept in bench/.cache. */
async function dataFile(bytes: number): Promise<string> {
  const dir = join(root, 'bench/.cache');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `random-${bytes}.bin`);
  if (existsSync(file)) return file;
  const ws = createWriteStream(file);
  const chunk = Buffer.alloc(MiB);
  for (let at = 0; at < bytes; at += MiB) { randomFillSync(chunk); if (!ws.write(Buffer.from(chunk))) await new Promise<void>((r) => ws.once('drain', () => r())); }
  await new Promise((r) => ws.end(r));
  return file;
}

/** A node folder set whose listing indexes hold LIST_KEYS keys, made once and kept in bench/.cache. */
async function listingNodes(): Promise<string> {
  const dir = join(root, `bench/.cache/list-v3-${LIST_KEYS}`);
  if (existsSync(join(dir, 'ready'))) return dir;
  const t = await startKintsugi(dir);
  await t.client.send(new CreateBucketCommand({ Bucket: 'list' }));
  t.proc.kill('SIGTERM');
  await new Promise((r) => t.proc.once('exit', r));
  await fillListingIndexes(dir, 7, 'list', LIST_KEYS);
  await (await import('node:fs/promises')).writeFile(join(dir, 'ready'), '');
  return dir;
}

async function stop(t: Target): Promise<void> {
  t.proc.kill('SIGTERM');
  await new Promise((r) => t.proc.once('exit', r));
  for (const n of t.nodes ?? []) {
    if (n.exitCode !== null || n.signalCode !== null) continue;
    n.kill('SIGTERM');
    await new Promise((r) => n.once('exit', r));
  }
}

/** Transport ceiling: a bare node:http server streaming one file in and out. */
async function transportCeiling(work: string, file: string): Promise<{ put: number; get: number }> {
  const barePort = await freePort();
  mkdirSync(join(work, 'bare'));
  const bare = spawn(process.execPath, [join(root, 'dist/bench/e2e/bare-server.js'), join(work, 'bare'), String(barePort)], { stdio: ['ignore', 'pipe', 'ignore'] });
  await waitFor(bare, 'ready');
  const bareUrl = `http://127.0.0.1:${barePort}/big`;
  const w = await putFile(bareUrl, file);
  const r = await getTimed(bareUrl);
  bare.kill();
  await rm(join(work, 'bare'), { recursive: true, force: true });
  return { put: mbps(BIG, w.seconds), get: mbps(r.bytes, r.seconds) };
}

/** Peak RSS of the server's processes during a HUGE streamed PUT. */
async function peakRss(work: string): Promise<number> {
  const fresh = await startKintsugi(join(work, 'rss'));
  await fresh.client.send(new CreateBucketCommand({ Bucket: 'bench' }));
  let peak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, rssMiB(fresh.proc.pid!)); }, 100);
  const hugeUrl = new URL(await presign(fresh, new PutObjectCommand({ Bucket: 'bench', Key: 'huge' })));
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest({ host: hugeUrl.hostname, port: hugeUrl.port, path: hugeUrl.pathname + hugeUrl.search, method: 'PUT', headers: { 'content-length': String(HUGE) } }, (res) => { res.resume(); res.on('end', () => resolve()); });
    req.on('error', reject);
    const chunk = randomFillSync(Buffer.alloc(MiB));
    let sent = 0;
    const pump = () => { while (sent < HUGE) { sent += MiB; if (!req.write(chunk)) { req.once('drain', pump); return; } } req.end(); };
    pump();
  });
  clearInterval(sampler);
  await stop(fresh);
  await rm(join(work, 'rss'), { recursive: true, force: true });
  return peak;
}

/**
 * Median ms of 50 consecutive ListObjectsV2 pages of 1000 keys, each timed
 * until its whole XML body has arrived (the thin client again: the SDK's XML
 * parsing of 1000 entries costs the client more than the server's page).
 */
async function listPages(): Promise<number> {
  const lister = await startKintsugi(await listingNodes());
  const pageMs: number[] = [];
  let token: string | undefined;
  // The first 10 pages (about 5 a worker) open each worker's indexes and
  // fault their pages in: a once-per-process cost, left out of the median.
  for (let p = -10; p < 50; p++) {
    if (p === 0) token = undefined;
    const query: [string, string][] = [['list-type', '2'], ['max-keys', '1000'], ...(token ? [['continuation-token', token] as [string, string]] : [])];
    const url = presignUrl(lister.endpoint, 'GET', 'list', '', lister.key, lister.secret, query);
    const t0 = performance.now();
    const page = await getText(url);
    if (p >= 0) pageMs.push(performance.now() - t0);
    if (page.status !== 200) throw new Error(`list page ${p}: ${page.status} ${page.text.slice(0, 200)}`);
    token = /<NextContinuationToken>([^<]+)</.exec(page.text)?.[1];
    if ((page.text.match(/<Contents>/g) ?? []).length !== 1000) throw new Error(`list page ${p} did not hold 1000 keys`);
  }
  await stop(lister);
  pageMs.sort((a, b) => a - b);
  return pageMs[Math.floor(pageMs.length / 2)]!;
}

const work = await mkdtemp(join(values.get('dir') ?? tmpdir(), 'kintsugi-e2e-'));
try {
  const file = await dataFile(only.has('big') ? BIG : MiB);

  // Ceilings: plain fs with the same bytes and sync policy, and a bare node:http server.
  let rawW = NaN;
  let rawR = NaN;
  let transport = { put: NaN, get: NaN };
  if (only.has('big')) {
    rawW = await rawWrite(join(work, 'raw'), 7, BIG / 4, randomFillSync(Buffer.alloc(256 << 10)), sync);
    rawR = await rawRead(join(work, 'raw'), 4, 256 << 10);
    await rm(join(work, 'raw'), { recursive: true, force: true });
    transport = await transportCeiling(work, file);
  }

  const results: Record<string, { big?: Record<string, number>; small?: Small }> = { kintsugi: {}, s3rver: {}, 'kintsugi-remote': {} };
  const starters = remoteNodes ? [startKintsugi, startS3rver, startKintsugiRemote] : [startKintsugi, startS3rver];
  if (only.has('big')) {
    for (const start of starters) {
      const folder = join(work, start === startS3rver ? 's3rver' : 'nodes');
      const t = await start(folder);
      await t.client.send(new CreateBucketCommand({ Bucket: 'bench' })).catch(() => undefined);
      const r = results[t.name]!;
      r.big = await bigObjects(t, file);
      if (t.name !== 's3rver') {
        // Degraded: three nodes gone while the server runs — their folders removed, or (remote) their processes stopped.
        for (const n of [0, 1, 2]) {
          const proc = t.nodes?.[n];
          if (proc) { proc.kill('SIGKILL'); await new Promise((r) => proc.once('exit', r)); } else await rm(join(folder, `node-${n}`), { recursive: true, force: true, maxRetries: 50, retryDelay: 50 });
        }
        // A read that fails (more shards lost than the code rebuilds) is reported, not waited on.
        const deg = await getTimed(await presign(t, new GetObjectCommand({ Bucket: 'bench', Key: 'big' }))).catch((err: Error) => {
          process.stderr.write(`${t.name}: GET with three nodes gone failed: ${err.message}\n`);
          return { bytes: 0, seconds: NaN };
        });
        r.big.degraded = mbps(deg.bytes, deg.seconds);
      }
      await stop(t);
      await rm(folder, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    }
  }
  if (only.has('small')) {
    const targets = [await startKintsugi(join(work, 'small-nodes')), await startS3rver(join(work, 'small-s3rver'))];
    if (remoteNodes) targets.push(await startKintsugiRemote(join(work, 'small-remote')));
    for (const t of targets) await t.client.send(new CreateBucketCommand({ Bucket: 'bench' })).catch(() => undefined);
    const small = await smallObjects(targets);
    for (const t of targets) {
      results[t.name]!.small = small.get(t.name)!;
      await stop(t);
    }
  }
  // Listing first: the 5 GiB put leaves gigabytes of writeback that would slow it.
  const listMs = only.has('list') ? await listPages() : NaN;
  const peak = only.has('rss') ? await peakRss(work) : NaN;

  const k = results.kintsugi!;
  const s = results.s3rver!;
  const disk = Math.min(mbps(BIG, rawW), transport.put);
  if (k.big && s.big) {
    rows.push(
      { name: `PUT ${BIG / MiB} MiB`, unit: 'MB/s', kintsugi: k.big.put, s3rver: s.big.put, ceiling: disk, ceilingName: 'min(disk, transport)' },
      { name: `PUT ${BIG / MiB} MiB, multipart 8 in flight`, unit: 'MB/s', kintsugi: k.big.multi, s3rver: s.big.multi, ceiling: disk, ceilingName: 'min(disk, transport)' },
      { name: `GET ${BIG / MiB} MiB`, unit: 'MB/s', kintsugi: k.big.get, s3rver: s.big.get, ceiling: transport.get, ceilingName: 'transport' },
      { name: `GET ${BIG / MiB} MiB, 3 nodes gone`, unit: 'MB/s', kintsugi: k.big.degraded, ceiling: transport.get, ceilingName: 'transport' },
    );
  }
  if (k.small && s.small) {
    rows.push(...(['put', 'get', 'head'] as const).flatMap((op) => [
      { name: `${op.toUpperCase()} 64 KiB, 32 in flight`, unit: 'objects/s', kintsugi: k.small![op]!.perSecond, s3rver: s.small![op]!.perSecond },
      { name: `  p50 / p99 latency`, unit: 'ms', kintsugi: k.small![op]!.p50, s3rver: s.small![op]!.p50, ceiling: k.small![op]!.p99, ceilingName: 'kintsugi p99' },
    ]));
  }
  if (k.big) {
    // What the data path costs: CPU seconds per GiB of object, every thread of the server's processes.
    rows.push(
      { name: `CPU s/GiB PUT ${BIG / MiB} MiB (server processes)`, unit: 'CPU s/GiB', kintsugi: k.big.putCpuGateway },
      { name: `CPU s/GiB GET ${BIG / MiB} MiB (server processes)`, unit: 'CPU s/GiB', kintsugi: k.big.getCpuGateway },
    );
  }
  const remote = results['kintsugi-remote']!;
  if (remote.big && k.big) {
    rows.push(...(['put', 'get', 'degraded'] as const).map((op) => (
      { name: `${op === 'degraded' ? 'GET, 3 nodes gone' : op.toUpperCase()} ${BIG / MiB} MiB, remote nodes`, unit: 'MB/s', kintsugi: remote.big![op]!, ceiling: k.big![op]!, ceilingName: 'local nodes' })));
  }
  if (remote.big && k.big) {
    // What the node protocol costs: CPU per GiB of the gateway and node processes, against the same gateway over folders.
    for (const op of ['put', 'get'] as const) {
      const remoteCpu = remote.big[`${op}CpuGateway`]! + remote.big[`${op}CpuNodes`]!;
      const localCpu = k.big[`${op}CpuGateway`]!;
      rows.push({ name: `CPU s/GiB ${op.toUpperCase()}, remote (gateway ${fmt(remote.big[`${op}CpuGateway`]!, 2)} + nodes ${fmt(remote.big[`${op}CpuNodes`]!, 2)}) vs local`, unit: 'CPU s/GiB', kintsugi: remoteCpu, ceiling: localCpu, ceilingName: `local; protocol ${fmt(remoteCpu - localCpu, 2)}` });
    }
  }
  if (remote.small && k.small) {
    for (const op of ['put', 'get', 'head'] as const) {
      rows.push({ name: `${op.toUpperCase()} 64 KiB, remote nodes (/ local ${fmt(remote.small[op]!.perSecond / k.small[op]!.perSecond)})`, unit: 'objects/s', kintsugi: remote.small[op]!.perSecond, ceiling: k.small[op]!.perSecond, ceilingName: 'local nodes' });
    }
  }
  if (only.has('list')) rows.push({ name: `LIST 1000 of ${LIST_KEYS.toLocaleString('en')} keys, p50`, unit: 'ms', kintsugi: listMs });
  if (only.has('rss')) rows.push({ name: `peak server RSS, ${HUGE / MiB / 1024} GiB PUT`, unit: 'MiB', kintsugi: peak });
  if (only.has('big')) rows.push({ name: 'ceilings: disk write / read, transport PUT / GET', unit: 'MB/s', kintsugi: mbps(BIG, rawW), s3rver: mbps(BIG, rawR), ceiling: transport.put, ceilingName: `transport GET ${fmt(transport.get, 0)}` });
  printTable(['workload', 'kintsugi', 's3rver', 'kintsugi/s3rver', 'ceiling', 'kintsugi/ceiling', 'unit'], rows.map((r) => [
    r.name, fmt(r.kintsugi, 1), fmt(r.s3rver, 1), r.s3rver !== undefined && r.kintsugi !== undefined && r.unit !== 'ms' ? fmt(r.kintsugi / r.s3rver) : '-',
    r.ceiling !== undefined ? `${fmt(r.ceiling, 1)}${r.ceilingName ? ` (${r.ceilingName})` : ''}` : '-',
    r.ceiling !== undefined && r.kintsugi !== undefined && r.unit === 'MB/s' && !r.name.startsWith('ceilings') ? fmt(r.kintsugi / r.ceiling) : '-', r.unit,
  ]));
  process.stdout.write(`\nKintsugi SYNC=${sync ? 'on' : 'off'}, WORKERS=${process.env.WORKERS ?? 'default'}, 4+3 on 7 node folders under ${work}; s3rver writes each byte once and never syncs. ` +
    'Client: streaming node:http over presigned URLs. Disk ceiling: plain fs writes of 7/4 of the object over 7 files, same sync policy.\n');
  // The table as JSON and as a chart beside it (bench/results/ unless --json names the file).
  const jsonFile = json ?? join(root, 'bench/results', `e2e-sync-${sync ? 'on' : 'off'}.json`);
  writeJson(jsonFile, { sync, dir: values.get('dir') ?? tmpdir(), rows });
  const chartRows = rows.filter((r) => !r.name.startsWith('ceilings')).map((r) => ({
    name: r.name.trim(), unit: r.unit, values: { kintsugi: r.kintsugi, s3rver: r.s3rver }, ...(r.ceiling !== undefined ? { ceiling: r.ceiling, ceilingName: r.ceilingName } : {}),
  }));
  writeChart(jsonFile.replace(/\.json$/, '') + '.svg', barChart(`bench:e2e, Kintsugi SYNC=${sync ? 'on' : 'off'} (4+3, 7 nodes) against s3rver`, ['kintsugi', 's3rver'], chartRows));
} finally {
  await rm(work, { recursive: true, force: true });
}
