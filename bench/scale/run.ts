/**
 * Scale benchmark: what grows with the object count. At two sizes (N/10 and
 * N) a fresh store is loaded through S3 with small objects (1–4 KiB) at high
 * concurrency, then: full and delimiter listings, restart to ready, a node
 * wiped and healed while the server serves (with and without client load),
 * a wiped node's large objects healed, each node's scrub, the space used
 * per object, three nodes added (`kintsugi layout add`) and rebalanced,
 * and one node drained. Every figure is printed at both sizes with how it grows.
 *
 *   npm run bench:scale                    N = 100,000 (and 10,000)
 *   npm run bench:scale -- --million       N = 1,000,000 (and 100,000)
 *   npm run bench:scale -- --objects=N     another N
 *   npm run bench:scale -- --sync=off      no fsync (SYNC on by default, as deployed)
 *   npm run bench:scale -- --dir=/dev/shm  node folders on tmpfs
 *   npm run bench:scale -- --json FILE     figures as JSON
 *   npm run bench:scale -- --large-only    the large objects' heal alone
 *   npm run bench:scale -- --server-log=FILE   the servers' logs appended to FILE
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { openSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { artifactPath } from '../../codecs/common/artifact.js';
import { parseConfig } from '../../core/config.js';
import { createContainer } from '../../core/container.js';
import { MemoryLogger } from '../../core/logger.js';
import { TOKENS } from '../../core/tokens.js';
import { settlesWithin } from '../../core/waiting.js';
import { openLocalNodes } from '../../plugins/drive-local/index.js';
import { markIncomplete } from '../../plugins/metadata-msgpack/listing-keeper.js';
import { PLUGINS } from '../../server/plugins.js';
import { signHeaders } from '../../plugins/transport-h3/auth/sigv4-sign.js';
import { freePort } from '../common/processes.js';
import { fmt, parseBenchArgs, printTable, writeJson } from '../common/report.js';
import { median } from '../common/rounds.js';
import { call, getText, sustained } from '../e2e/http-load.js';
import { presignUrl } from '../e2e/presign.js';

const { json, flags, values } = parseBenchArgs(process.argv.slice(2));
const N = Number(values.get('objects') ?? (flags.has('million') ? 1_000_000 : 100_000));
const SIZES = [Math.max(1000, Math.round(N / 10)), N];
const sync = (values.get('sync') ?? 'on') !== 'off';
const root = values.get('dir') ?? tmpdir();
const IN_FLIGHT = 64;
const serverLog = values.has('server-log') ? openSync(values.get('server-log')!, 'a') : undefined;
const BIG_OBJECTS = 8;
const BIG = 64 << 20;
/** The rate (MB/s) a throttled scrub is held to. */
const SCRUB_SHARE = 50;
const KEY = 'scalekey';
const SECRET = 'scalesecret';
const cli = join(artifactPath(import.meta.url, ''), 'dist/server/cli.js');

const payload = randomFillSync(Buffer.allocUnsafe(4096 + BIG));
const keyOf = (i: number) => `obj/${String(i % 100).padStart(2, '0')}/${String(i).padStart(8, '0')}`;

interface Server { proc: ChildProcess; port: number; endpoint: string }
/** Servers started and not yet stopped. */
const running = new Set<Server>();

async function startServer(nodePath: string, env: Record<string, string> = {}): Promise<{ server: Server; readyMs: number }> {
  const port = await freePort();
  const started = performance.now();
  const proc = spawn(process.execPath, [cli, 'server'], {
    env: { ...process.env, NODEPATH: nodePath, PORT: String(port), HOST: '127.0.0.1', SYNC: sync ? 'on' : 'off', ACCESS_KEY: KEY, SECRET_KEY: SECRET, HEAL_INTERVAL: '0', SCRUB_PERIOD: '0', ...env },
    // The log says what a figure alone does not (a node set aside, a pass deferring): kept when asked for.
    stdio: ['ignore', 'pipe', serverLog === undefined ? 'ignore' : serverLog],
  });
  const server = { proc, port, endpoint: `http://127.0.0.1:${port}` };
  running.add(server);
  // Ready: it answers a signed read of an object it holds (or, before any, a listing).
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`the server exited ${proc.exitCode}`);
    const ok = await call(presignUrl(server.endpoint, 'GET', 'scale', keyOf(0), KEY, SECRET), 'GET').then((r) => r.status === 200 || r.status === 404, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return { server, readyMs: performance.now() - started };
}

async function stop(server: Server): Promise<void> {
  running.delete(server);
  server.proc.kill('SIGTERM');
  if (server.proc.exitCode === null) await new Promise((r) => server.proc.once('exit', r));
}

/** A signed request to the admin endpoint; the body as JSON. */
function admin(server: Server, method: string, path: string, query: Record<string, string> = {}): Promise<unknown> {
  const q = new URLSearchParams(query);
  const headers = signHeaders({ method, rawPath: path, query: q, host: `127.0.0.1:${server.port}` }, { accessKey: KEY, secretKey: SECRET }, { emptyBody: true });
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path: `${path}${q.size ? `?${q}` : ''}`, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d; });
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`${method} ${path}: ${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

interface HealStatus { scanning: boolean; lastPass?: { startedMs?: number; finishedMs: number; objectsChecked: number; shardsRebuilt: number; bytesRewritten: number; unrecoverable: string[] }; scrub?: { node: number; state: string; passStartedMs?: number; bytes?: number; lastPass?: { startedMs: number; finishedMs: number; bytes: number } }[] }
const healStatus = async (server: Server) => ((await admin(server, 'GET', '/_kintsugi/admin/status')) as { heal: HealStatus }).heal;

interface RebalanceStatus { state: string; progress?: { version: number; startedMs: number; finishedMs?: number; keys: number; shardsMoved: number; bytesMoved: number; deferred: number }; draining: { node: number; empty: boolean }[] }

/** Waits for the server's rebalance towards layout `version` to finish; what it moved, in how long, and whether draining nodes are empty. */
async function rebalanced(server: Server, version: number): Promise<{ keys: number; seconds: number; shardsMoved: number; bytesMoved: number; empty: boolean }> {
  // A rebalance that keeps deferring starts its pass again and again: reported, not waited for forever.
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`the rebalance to layout ${version} did not finish in 15 minutes`);
    await new Promise((r) => setTimeout(r, 500));
    const r = ((await admin(server, 'GET', '/_kintsugi/admin/status').catch(() => undefined)) as { rebalance?: RebalanceStatus } | undefined)?.rebalance;
    const p = r?.progress;
    if (r?.state === 'done' && p?.version === version && p.finishedMs) {
      if (p.deferred > 0) throw new Error(`the rebalance deferred ${p.deferred} versions`);
      return { keys: p.keys, seconds: (p.finishedMs - p.startedMs) / 1000, shardsMoved: p.shardsMoved, bytesMoved: p.bytesMoved, empty: r.draining.every((d) => d.empty) };
    }
  }
}

/** Starts a heal pass through the running server and waits for it; its summary and seconds. */
async function healPass(server: Server): Promise<{ objects: number; seconds: number; bytes: number; shards: number; unrecoverable: number }> {
  const before = (await healStatus(server)).lastPass?.finishedMs ?? 0;
  await admin(server, 'POST', '/_kintsugi/admin/heal', { rate: '0', start: 'pass' });
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const last = (await healStatus(server)).lastPass;
    if (last && last.finishedMs > before) {
      // The buckets are counted after a pass (not in its time): what is measured next waits for that too.
      await usageCountedSince(server, last.finishedMs);
      return { objects: last.objectsChecked, seconds: (last.finishedMs - last.startedMs!) / 1000, bytes: last.bytesRewritten, shards: last.shardsRebuilt, unrecoverable: last.unrecoverable.length };
    }
  }
}

/** Waits until the bench's bucket has a usage count published since `ms`. */
async function usageCountedSince(server: Server, ms: number): Promise<void> {
  for (;;) {
    const { buckets } = (await admin(server, 'GET', '/_kintsugi/admin/status')) as { buckets?: { name: string; usage?: { countedMs: number } }[] };
    if ((buckets?.find((b) => b.name === 'scale')?.usage?.countedMs ?? 0) >= ms) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** How long a PUT may go unanswered before the run fails: a server that stopped answering fails the bench, it does not hang it. */
const PUT_TIMEOUT_MS = 120_000;

/** A PUT; a kept-alive connection the server closed just as it was reused is tried once more (a PUT may be repeated). */
async function put(server: Server, key: string, body: Buffer): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const answer = call(presignUrl(server.endpoint, 'PUT', 'scale', key, KEY, SECRET), 'PUT', body);
    if (!(await settlesWithin(answer, PUT_TIMEOUT_MS))) throw new Error(`PUT ${key}: no answer in ${PUT_TIMEOUT_MS / 1000} s (the server's log, --server-log, says why)`);
    const r = await answer.catch((err: NodeJS.ErrnoException) => {
      if (attempt === 0 && err.code === 'ECONNRESET') return undefined;
      throw err;
    });
    if (!r) continue;
    if (r.status !== 200) throw new Error(`PUT ${key}: ${r.status}`);
    return;
  }
}

/** Loads `count` small objects with IN_FLIGHT in flight; objects a second. */
async function load(server: Server, count: number): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < count) {
      const i = next++;
      const size = 1024 + ((i * 2654435761) % 3072);
      await put(server, keyOf(i), payload.subarray(i % 4096, (i % 4096) + size));
    }
  }));
  return count / ((performance.now() - t) / 1000);
}

/** Pages of a full listing (1,000 keys each, optionally by delimiter under a prefix); ms per page (median) and keys seen. */
async function listing(server: Server, query: [string, string][]): Promise<{ msPerPage: number; keys: number }> {
  const times: number[] = [];
  let keys = 0;
  let token: string | undefined;
  for (;;) {
    const q: [string, string][] = [['list-type', '2'], ['max-keys', '1000'], ...query, ...(token ? [['continuation-token', token] as [string, string]] : [])];
    const t = performance.now();
    const { status, text } = await getText(presignUrl(server.endpoint, 'GET', 'scale', '', KEY, SECRET, q));
    times.push(performance.now() - t);
    if (status !== 200) throw new Error(`listing: ${status} ${text.slice(0, 300)}`);
    keys += (text.match(/<Key>/g) ?? []).length + (text.match(/<CommonPrefixes>/g) ?? []).length;
    token = /<NextContinuationToken>([^<]+)</.exec(text)?.[1];
    if (!token) break;
  }
  return { msPerPage: median(times), keys };
}

/** Empties a node folder as a replaced disk would be: nothing at its mount point. */
async function wipe(folder: string): Promise<void> {
  // The server reads its layout from every node every 2 s: a read may recreate a file while the tree goes.
  await rm(folder, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  await mkdir(folder);
}

/** Bytes under a folder (du), for the space per object. */
function du(path: string): number {
  const out = spawnSync('du', ['-sb', path], { encoding: 'utf8' }).stdout;
  return Number(out.split('\t')[0]);
}

/**
 * Seconds to rebuild node 0's listing index from its records, in this
 * process: marked incomplete (an interrupted rebuild: the rows are there,
 * only what differs is written) or, `dropRows`, with every row gone (an
 * upgrade from the separate index: every row is written).
 */
async function rebuildIndex(nodePath: string, dropRows: boolean): Promise<number> {
  const { drives } = await openLocalNodes(nodePath, 7, sync, { info() {}, warn() {}, error() {} }, 0);
  await markIncomplete(drives[0]!.shelf, dropRows);
  for (const d of drives) await d.close?.();
  const container = await createContainer(parseConfig({ NODEPATH: nodePath, SYNC: sync ? 'on' : 'off' }), PLUGINS, { logger: new MemoryLogger() });
  const metadata = container.resolve(TOKENS.MetadataStore);
  const t = performance.now();
  const reports = await metadata.checkDerived({ wait: true });
  const seconds = (performance.now() - t) / 1000;
  await metadata.close();
  await container.resolve(TOKENS.Nodes).close();
  if (reports[0]?.state !== 'rebuilt') throw new Error(`node 0's index: ${JSON.stringify(reports[0])}`);
  return seconds;
}

/** Node 0 scrubbed alone by `kintsugi scrub` at most `rateMB` MB/s: what it read per second. */
function scrubAlone(nodePath: string, rateMB: number): number {
  const run = spawnSync(process.execPath, [cli, 'scrub', '--node=0', `--rate=${rateMB}`, '--json'], { env: { ...process.env, NODEPATH: nodePath, SYNC: sync ? 'on' : 'off' }, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`kintsugi scrub: ${run.status} ${run.stderr}`);
  const { nodes } = JSON.parse(run.stdout) as { nodes: { node: number; mbPerSecond: number }[] };
  return nodes[0]!.mbPerSecond;
}

type Figures = Record<string, { value: number; unit: string }>;

async function measure(count: number): Promise<Figures> {
  const dir = await mkdtemp(join(root, 'kintsugi-scale-'));
  const f: Figures = {};
  const set = (name: string, value: number, unit: string) => { f[name] = { value, unit }; process.stdout.write(`  ${name}: ${fmt(value)} ${unit}\n`); };
  process.stdout.write(`\n${count.toLocaleString('en')} objects (${dir}, SYNC ${sync ? 'on' : 'off'})\n`);
  try {
    let { server } = await startServer(dir);
    await call(presignUrl(server.endpoint, 'PUT', 'scale', '', KEY, SECRET), 'PUT');
    set('load through S3 (1-4 KiB, 64 in flight)', await load(server, count), 'objects/s');
    set('full listing, pages of 1,000', (await listing(server, [])).msPerPage, 'ms/page');
    set('delimiter listing under a prefix', (await listing(server, [['prefix', 'obj/07/'], ['delimiter', '/']])).msPerPage, 'ms/page');
    // A bucket's usage counted from its listing (GET admin/usage): what a quota check needing a fresh count costs.
    const counting = performance.now();
    const counted = ((await admin(server, 'GET', '/_kintsugi/admin/usage', { bucket: 'scale' })) as { usage: { versions: number } }).usage.versions;
    if (counted !== count) throw new Error(`the usage count found ${counted} versions of ${count}`);
    set('usage count of the bucket', count / ((performance.now() - counting) / 1000), 'versions/s');
    const nodes = Array.from({ length: 7 }, (_, n) => join(dir, `node-${n}`));
    set('space per object per node', nodes.reduce((sum, n) => sum + du(n), 0) / 7 / count, 'bytes');

    // One node's listing index rebuilt from its records (every small object has a record copy on each node).
    await stop(server);
    set('listing index rebuild, one node, rows there', count / (await rebuildIndex(dir, false)), 'records/s');
    set('listing index rebuild, one node, rows gone', count / (await rebuildIndex(dir, true)), 'records/s');

    // Restart to ready: a clean stop, then the time until a signed read is answered.
    const restarted = await startServer(dir);
    server = restarted.server;
    set('restart to ready', restarted.readyMs, 'ms');

    // A node wiped while the server serves, healed by a pass the admin endpoint starts.
    await wipe(nodes[3]!);
    const idle = await healPass(server);
    if (idle.shards < count) throw new Error(`the heal rebuilt ${idle.shards} shards of ${count}`);
    set('heal of a wiped node, small objects', idle.objects / idle.seconds, 'objects/s');
    // Again with clients reading meanwhile: the heal's rate and the clients'.
    const alone = await sustained(5000, 16, (i) => call(presignUrl(server.endpoint, 'GET', 'scale', keyOf((i * 7919) % count), KEY, SECRET), 'GET'));
    await wipe(nodes[3]!);
    let loaded: Awaited<ReturnType<typeof healPass>> | undefined;
    const healing = healPass(server).then((r) => { loaded = r; });
    const during = await sustained(5000, 16, (i) => call(presignUrl(server.endpoint, 'GET', 'scale', keyOf((i * 7919) % count), KEY, SECRET), 'GET'));
    await healing;
    // Reads that met the empty node healed some objects themselves: a pass after finds nothing left to do.
    const after = await healPass(server);
    if (after.shards > 0 || after.unrecoverable > 0) throw new Error(`a pass after the heal under load still rebuilt ${after.shards} shards`);
    set('heal under client load', loaded!.objects / loaded!.seconds, 'objects/s');
    set('client GETs during the heal / without', during.perSecond / alone.perSecond, 'ratio');

    // Large objects: a wiped node's shards rebuilt (each rebuilt byte reads k others).
    for (let i = 0; i < BIG_OBJECTS; i++) await put(server, `big/${i}`, payload.subarray(i, i + BIG));
    await healPass(server);
    await wipe(nodes[3]!);
    const big = await healPass(server);
    if (big.shards < count + BIG_OBJECTS) throw new Error(`the heal rebuilt ${big.shards} shards of ${count + BIG_OBJECTS}`);
    set('heal of a wiped node, small and large objects', big.objects / big.seconds, 'objects/s');
    set('heal of a wiped node, large objects', big.bytes / 1e6 / big.seconds, 'MB/s rebuilt');

    // Each node's scrub, every node at once on this one disk: its own bytes per second.
    await stop(server);
    ({ server } = await startServer(dir, { SCRUB_PERIOD: '30', SCRUB_RATE: '100000' }));
    let scrubs: NonNullable<HealStatus['scrub']> = [];
    while (!(scrubs.length === 7 && scrubs.every((s) => s.lastPass))) {
      await new Promise((r) => setTimeout(r, 500));
      scrubs = (await healStatus(server)).scrub ?? [];
    }
    const rates = scrubs.map((s) => s.lastPass!.bytes / 1e6 / Math.max(0.001, (s.lastPass!.finishedMs - s.lastPass!.startedMs) / 1000));
    set('scrub per node, 7 at once (median)', median(rates), 'MB/s');
    set('scrub, all nodes together', scrubs.reduce((sum, s) => sum + s.lastPass!.bytes, 0) / 1e6 / ((Math.max(...scrubs.map((s) => s.lastPass!.finishedMs)) - Math.min(...scrubs.map((s) => s.lastPass!.startedMs))) / 1000), 'MB/s');
    await stop(server);
    // One node scrubbing alone (`kintsugi scrub --node=0`), unthrottled and held to a set rate.
    set('scrub, one node alone', scrubAlone(dir, 100_000), 'MB/s');
    set(`scrub, one node held to ${SCRUB_SHARE} MB/s`, scrubAlone(dir, SCRUB_SHARE), 'MB/s');

    // Three nodes added beside the running server (`kintsugi layout add`): it moves onto them and rebalances.
    // Small objects only, to set beside the heal of small objects (a large object's shards move at copy speed).
    ({ server } = await startServer(dir));
    for (let i = 0; i < BIG_OBJECTS; i++) {
      const r = await call(presignUrl(server.endpoint, 'DELETE', 'scale', `big/${i}`, KEY, SECRET), 'DELETE');
      if (r.status !== 204) throw new Error(`DELETE big/${i}: ${r.status}`);
    }
    const layoutEnv = { ...process.env, NODEPATH: dir, NUMNODES: '10', SYNC: sync ? 'on' : 'off' };
    const added = spawnSync(process.execPath, [cli, 'layout', 'add'], { env: layoutEnv, encoding: 'utf8' });
    if (added.status !== 0) throw new Error(`layout add: ${added.stderr}`);
    const grown = await rebalanced(server, 2);
    const shards = count * 7;
    set('rebalance after adding 3 nodes to 7', grown.keys / grown.seconds, 'objects/s');
    set('rebalance / heal of a wiped node (small)', grown.keys / grown.seconds / (idle.objects / idle.seconds), 'ratio');
    set('shards moved by adding 3 nodes to 7', grown.shardsMoved / shards, 'share');
    const drain = spawnSync(process.execPath, [cli, 'layout', 'drain', '3'], { env: layoutEnv, encoding: 'utf8' });
    if (drain.status !== 0) throw new Error(`layout drain: ${drain.stderr}`);
    const drained = await rebalanced(server, 4);
    if (!drained.empty) throw new Error('node 3 did not report empty after its drain');
    set('drain one node of 10', drained.keys / drained.seconds, 'objects/s');
    set('drain one node of 10, time', drained.seconds, 's');
    await stop(server);
  } finally {
    // A failed step leaves its server running: it goes with the folders.
    for (const server of running) await stop(server);
    await rm(dir, { recursive: true, force: true });
  }
  return f;
}

/** Wipe-and-heal rounds of the large objects alone: each takes about a second, so one alone is mostly noise. */
const LARGE_ROUNDS = 5;

/**
 * Large objects alone: a store holding only BIG_OBJECTS × 64 MiB, one node
 * wiped and healed (each rebuilt byte reads the six other shards, all on
 * this one disk), LARGE_ROUNDS times over with another node each time;
 * the rates (MB/s of rebuilt shards) in round order.
 */
async function largeHeal(): Promise<number[]> {
  const dir = await mkdtemp(join(root, 'kintsugi-scale-'));
  try {
    const { server } = await startServer(dir);
    await call(presignUrl(server.endpoint, 'PUT', 'scale', '', KEY, SECRET), 'PUT');
    for (let i = 0; i < BIG_OBJECTS; i++) await put(server, `big/${i}`, payload.subarray(i, i + BIG));
    await healPass(server);
    const rates: number[] = [];
    for (let round = 0; round < LARGE_ROUNDS; round++) {
      await wipe(join(dir, `node-${1 + round}`));
      const healed = await healPass(server);
      if (healed.shards < BIG_OBJECTS) throw new Error(`the heal rebuilt ${healed.shards} shards of ${BIG_OBJECTS}`);
      rates.push(healed.bytes / 1e6 / healed.seconds);
    }
    await stop(server);
    return rates;
  } finally {
    for (const server of running) await stop(server);
    await rm(dir, { recursive: true, force: true });
  }
}

process.stdout.write(`\n${BIG_OBJECTS} x ${BIG >> 20} MiB objects alone, ${LARGE_ROUNDS} rounds\n`);
const largeRounds = await largeHeal();
const largeAlone = median(largeRounds);
process.stdout.write(`  heal of a wiped node, large objects alone: ${fmt(largeAlone)} MB/s rebuilt, median of ${largeRounds.map((r) => fmt(r)).join(', ')}\n`);
if (flags.has('large-only')) process.exit(0);
const results: Figures[] = [];
for (const count of SIZES) results.push(await measure(count));
process.stdout.write('\n');
const names = Object.keys(results[0]!);
printTable(['figure', `${SIZES[0]!.toLocaleString('en')}`, `${SIZES[1]!.toLocaleString('en')}`, 'unit', 'grows ×'], [
  ...names.map((n) => [n, fmt(results[0]![n]!.value), fmt(results[1]![n]!.value), results[0]![n]!.unit, fmt(results[1]![n]!.value / results[0]![n]!.value)]),
]);
process.stdout.write(`\nSmall objects 1-4 KiB through presigned PUTs (${IN_FLIGHT} in flight); heals started with POST /_kintsugi/admin/heal?start=pass at rate 0; large objects ${BIG_OBJECTS} x ${BIG >> 20} MiB.\n`);
process.stdout.write(`Heal of a wiped node holding only large objects: ${fmt(largeAlone)} MB/s rebuilt.\n`);
if (json) writeJson(json, { sizes: SIZES, sync, figures: results, largeObjectsAlone: { heal: { value: largeAlone, rounds: largeRounds, unit: 'MB/s rebuilt' } } });
