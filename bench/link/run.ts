/**
 * The node link's costs, on this machine, in one run:
 *
 * 1. CPU seconds per GiB per hop (both ends of one connection, user + system):
 *    a bare TCP socket over loopback (the calibration), the link framing
 *    alone, and the link sealed (AES-256-GCM) — writes (data frames within
 *    credit) and reads (1 MiB answers, 4 in flight).
 * 2. Small calls to a real `kintsugi node` process: CPU µs per 1 KiB shelf
 *    get (gateway + node), latency p50/p99 on an idle link, and p99 while the
 *    same node receives a 1 GiB shard stream on the bulk lane.
 * 3. Shards written to and read from that node process (1 MiB calls, reads 4
 *    in flight), CPU of both ends per GiB, against the same through a local
 *    folder in this process: what the link adds to a shard.
 *
 *   npm run bench:link               1 GiB per round, 5 rounds
 *   npm run bench:link -- --quick    256 MiB per round, 3 rounds
 *   npm run bench:link -- --json FILE
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { frameCipher, frameCiphers } from '../../plugins/drive-remote/link/seal-native.js';
import { LocalDrive } from '../../plugins/drive-local/index.js';
import { RemoteDrive } from '../../plugins/drive-remote/remote-drive.js';
import { cpuSeconds, startNodeProcess } from '../common/processes.js';
import { fmt, parseBenchArgs, printTable, writeJson } from '../common/report.js';
import { median } from '../common/rounds.js';
import { bareTcp, pullBytes, pushBytes } from './wire.js';

const { json, flags } = parseBenchArgs(process.argv.slice(2));
const quick = flags.has('quick');
const GiB = 1 << 30;
const BYTES = quick ? GiB / 4 : GiB;
const ROUNDS = quick ? 3 : 5;

/** CPU seconds this process spends on `fn`, and the wall seconds. */
async function cpuOf(fn: () => Promise<void>): Promise<{ cpuS: number; wallS: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const c = process.cpuUsage(c0);
  return { cpuS: (c.user + c.system) / 1e6, wallS: (performance.now() - t0) / 1000 };
}

const rows: (string | number)[][] = [];
const results: Record<string, unknown> = {};

// 1. Per GiB, both ends of one hop in this process.
const perGiB = new Map<string, { cpu: number[]; rate: number[] }>();
const runs: [string, () => Promise<void>][] = [
  ['bare TCP socket (calibration)', () => bareTcp(BYTES)],
  ['link write, framing only', () => pushBytes('plain', BYTES)],
  ...frameCiphers.map((c): [string, () => Promise<void>] => [`link write, sealed (${c.name})`, () => pushBytes(c, BYTES)]),
  ['link read, framing only', () => pullBytes('plain', BYTES)],
  ...frameCiphers.map((c): [string, () => Promise<void>] => [`link read, sealed (${c.name})`, () => pullBytes(c, BYTES)]),
];
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of runs) {
    const { cpuS, wallS } = await cpuOf(fn);
    const m = perGiB.get(name) ?? { cpu: [], rate: [] };
    m.cpu.push(cpuS / (BYTES / GiB));
    m.rate.push(BYTES / GiB / wallS);
    perGiB.set(name, m);
  }
}
const bare = median(perGiB.get('bare TCP socket (calibration)')!.cpu);
for (const [name, m] of perGiB) rows.push([name, fmt(median(m.cpu)), fmt(median(m.rate)), fmt(median(m.cpu) / bare)]);
printTable(['per GiB, one hop (both ends)', 'CPU s/GiB', 'GiB/s', '× bare TCP'], rows);
results.perGiB = Object.fromEntries([...perGiB].map(([k, m]) => [k, { cpuSPerGiB: median(m.cpu), gibPerS: median(m.rate) }]));
const sealedWrite = median(perGiB.get(`link write, sealed (${frameCipher.name})`)!.rate);
const plainWrite = median(perGiB.get('link write, framing only')!.rate);
process.stdout.write(`sealing (${frameCipher.name}, the link's) costs ${fmt((1 - sealedWrite / plainWrite) * 100, 1)} % of write throughput on one hop\n\n`);

// 2. Small calls to a real node process.
const folder = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'kintsugi-bench-link-'));
const { proc: node, url } = await startNodeProcess(folder, { SYNC: 'off', CLUSTER_SECRET: 'bench' });
try {
  const drive = new RemoteDrive(0, url, 'bench', 'bench-cluster');
  await drive.probe();
  await drive.shelf.put([{ name: 'meta/b/k/1.rec', bytes: randomBytes(1024) }]);
  const CALLS = quick ? 5_000 : 20_000;
  for (let i = 0; i < 500; i++) await drive.shelf.get('meta/b/k/1.rec');
  const latencies = async (n: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await drive.shelf.get('meta/b/k/1.rec');
      out.push(performance.now() - t);
    }
    return out.sort((a, b) => a - b);
  };
  const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
  const cpuPerCall: number[] = [];
  let idle: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const n0 = cpuSeconds(node.pid!);
    const c0 = process.cpuUsage();
    idle = await latencies(CALLS);
    const c = process.cpuUsage(c0);
    cpuPerCall.push(((c.user + c.system) / 1e6 + cpuSeconds(node.pid!) - n0) / CALLS * 1e6);
  }
  // The same calls while a 1 GiB shard stream goes to the node on the bulk lane.
  const writer = await drive.createWriter('data/bench/big');
  const block = randomBytes(1 << 20);
  let streaming = true;
  const stream = (async () => {
    for (let at = 0; at < GiB; at += block.byteLength) await writer.write(block, at);
    await writer.commit();
    streaming = false;
  })();
  const loaded: number[] = [];
  while (streaming) {
    const t = performance.now();
    await drive.shelf.get('meta/b/k/1.rec');
    loaded.push(performance.now() - t);
  }
  await stream;
  loaded.sort((a, b) => a - b);
  await drive.close();
  const small = [
    ['CPU per 1 KiB shelf get, gateway + node (µs)', fmt(median(cpuPerCall), 0)],
    ['p50 latency, idle link (ms)', fmt(pct(idle, 0.5), 3)],
    ['p99 latency, idle link (ms)', fmt(pct(idle, 0.99), 3)],
    ['p99 latency during a 1 GiB shard stream (ms)', fmt(pct(loaded, 0.99), 3)],
    ['p99 during the stream / p99 idle', fmt(pct(loaded, 0.99) / pct(idle, 0.99))],
  ];
  printTable(['small calls to a `kintsugi node` process', 'median'], small);
  results.smallCalls = { cpuMicrosPerCall: median(cpuPerCall), p50IdleMs: pct(idle, 0.5), p99IdleMs: pct(idle, 0.99), p99LoadedMs: pct(loaded, 0.99), loadedCalls: loaded.length };

  // 3. Shards to and from the node process, against the same through a local folder in this process: what the link adds to a shard.
  mkdirSync(join(folder, 'local'));
  const local = new LocalDrive(0, join(folder, 'local'), false, 'bench-cluster');
  await local.probe();
  const streams: (string | number)[][] = [];
  const perGiBStreams: Record<string, unknown> = {};
  for (const [name, target, nodeProc] of [['node process over the link', drive, node.pid!], ['local folder, this process', local, undefined]] as const) {
    const write: number[] = [];
    const read: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const n0 = nodeProc ? cpuSeconds(nodeProc) : 0;
      const w = await cpuOf(async () => {
        const writer = await target.createWriter(`data/bench/stream-${round}`);
        for (let at = 0; at < BYTES; at += block.byteLength) await writer.write(block, at);
        await writer.commit();
      });
      write.push((w.cpuS + (nodeProc ? cpuSeconds(nodeProc) - n0 : 0)) / (BYTES / GiB));
      const n1 = nodeProc ? cpuSeconds(nodeProc) : 0;
      const r = await cpuOf(async () => {
        const file = (await target.open(`data/bench/stream-${round}`))!;
        const inFlight: Promise<unknown>[] = [];
        for (let at = 0; at < file.size; at += block.byteLength) {
          inFlight.push(file.read(at, block.byteLength));
          if (inFlight.length >= 4) await inFlight.shift();
        }
        await Promise.all(inFlight);
        await file.close();
      });
      read.push((r.cpuS + (nodeProc ? cpuSeconds(nodeProc) - n1 : 0)) / (BYTES / GiB));
      await target.remove(`data/bench/stream-${round}`);
    }
    streams.push([name, fmt(median(write)), fmt(median(read))]);
    perGiBStreams[name] = { writeCpuSPerGiB: median(write), readCpuSPerGiB: median(read) };
  }
  const beyond = (k: 'writeCpuSPerGiB' | 'readCpuSPerGiB') => (perGiBStreams['node process over the link'] as Record<string, number>)[k]! - (perGiBStreams['local folder, this process'] as Record<string, number>)[k]!;
  streams.push(['the link beyond a local folder, per GiB of shards', fmt(beyond('writeCpuSPerGiB')), fmt(beyond('readCpuSPerGiB'))]);
  // A GiB written crosses the link as 7/4 GiB of shards (4+3); a GiB read as 4/4.
  streams.push(['the link per GiB of objects (7/4 of it shards written, 1 read)', fmt(beyond('writeCpuSPerGiB') * 7 / 4), fmt(beyond('readCpuSPerGiB'))]);
  printTable(['1 MiB shard writes and reads (4 in flight), gateway + node', 'write CPU s/GiB', 'read CPU s/GiB'], streams);
  results.shardStreams = perGiBStreams;
} finally {
  node.kill('SIGTERM');
  rmSync(folder, { recursive: true, force: true });
}
if (json) writeJson(json, results);
