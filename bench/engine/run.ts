/**
 * Engine benchmark: the object engine on local node folders against plain
 * fs reads and writes of the same bytes on the same disk, in one run.
 *
 *   npm run bench:engine                  SYNC on (as deployed)
 *   npm run bench:engine -- --sync=off    no fsync on either side
 *   npm run bench:engine -- --json FILE   figures and ratios as JSON
 *   npm run bench:engine -- --quick       256 MiB and 1,000 small objects
 *   npm run bench:engine -- --only=list   the listing figures alone
 */
import { randomFillSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parseConfig } from '../../core/config.js';
import { createContainer } from '../../core/container.js';
import { ObjectEngine } from '../../core/engine/object-engine.js';
import { MemoryLogger } from '../../core/logger.js';
import { TOKENS } from '../../core/tokens.js';
import { PLUGINS } from '../../server/plugins.js';
import type { ListPage, VersionPage } from '../../core/contracts/metadata.js';
import { markIncomplete } from '../../plugins/metadata-msgpack/listing-keeper.js';
import { fillListingIndexes, type ExtraVersions } from '../common/listing-fill.js';
import { median } from '../common/rounds.js';
import { fmt, parseBenchArgs, printTable, writeJson } from '../common/report.js';
import { rawRead, rawSmallWrites, rawWrite } from './raw-disk.js';

const { json, flags, values } = parseBenchArgs(process.argv.slice(2));
const sync = (values.get('sync') ?? 'on') !== 'off';
const quick = flags.has('quick');
const BIG = (quick ? 256 : 1024) << 20;
const SMALL = 64 << 10;
const SMALL_COUNT = quick ? 1000 : 8000;
const IN_FLIGHT = 16;
const LIST_KEYS = quick ? 100_000 : 1_000_000;
const K = 4;
const M = 3;
const root = values.get('dir') ?? tmpdir();

const MiB = 1 << 20;
const source = randomFillSync(Buffer.allocUnsafe(64 * MiB));
/** `total` bytes in 1 MiB chunks cycling over 64 MiB of random data. */
async function* body(total: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < total; at += MiB) yield source.subarray(at % source.byteLength, (at % source.byteLength) + Math.min(MiB, total - at));
}
async function drain(it: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const part of it) n += part.byteLength;
  return n;
}
function dropCaches(): void {
  try { writeFileSync('/proc/sys/vm/drop_caches', '3'); } catch { /* not allowed here: reads may come from the page cache */ }
}
const seconds = async (fn: () => Promise<unknown>) => { const t = performance.now(); await fn(); return (performance.now() - t) / 1000; };

async function openEngine(nodePath: string) {
  const config = parseConfig({ NODEPATH: nodePath, SYNC: sync ? 'on' : 'off', DATA: String(K), PARITY: String(M) });
  const container = await createContainer(config, PLUGINS, { logger: new MemoryLogger() });
  const metadata = container.resolve(TOKENS.MetadataStore);
  const nodes = container.resolve(TOKENS.Nodes);
  return { engine: container.resolve(ObjectEngine), metadata, nodes, close: async () => { await metadata.close(); await nodes.close(); } };
}

interface Row { name: string; kintsugi: number; raw?: number; unit: string }
const rows: Row[] = [];
const dir = await mkdtemp(join(root, 'kintsugi-bench-'));
const listOnly = values.get('only') === 'list';
try {
  if (!listOnly) await objectWorkloads();
  await listingWorkloads();
} finally {
  await rm(dir, { recursive: true, force: true });
}

async function objectWorkloads(): Promise<void> {
  // Big object: raw write, put, raw read, get, degraded get.
  const rawDir = join(dir, 'raw');
  const rawW = await rawWrite(rawDir, K + M, BIG / K, source.subarray(0, 256 << 10), sync);
  const { engine, metadata, nodes, close } = await openEngine(join(dir, 'nodes'));
  const putS = await seconds(() => engine.put('bench', 'big', body(BIG)));
  rows.push({ name: `PUT ${BIG / MiB} MiB (${K}+${M})`, kintsugi: BIG / MiB / putS, raw: BIG / MiB / rawW, unit: 'MB/s' });

  dropCaches();
  const rawR = await rawRead(rawDir, K, 256 << 10);
  dropCaches();
  const getS = await seconds(async () => drain((await engine.get('bench', 'big')).body));
  rows.push({ name: `GET ${BIG / MiB} MiB`, kintsugi: BIG / MiB / getS, raw: BIG / MiB / rawR, unit: 'MB/s' });

  const record = await engine.head('bench', 'big');
  const gone = record.shardNodes.slice(0, M); // data shards: every stripe must be rebuilt
  for (const n of gone) await rename(join(dir, 'nodes', `node-${n}`), join(dir, 'nodes', `gone-${n}`));
  dropCaches();
  const degS = await seconds(async () => drain((await engine.get('bench', 'big')).body));
  for (const n of gone) await rename(join(dir, 'nodes', `gone-${n}`), join(dir, 'nodes', `node-${n}`));
  rows.push({ name: `GET ${BIG / MiB} MiB, ${M} data nodes gone`, kintsugi: BIG / MiB / degS, raw: BIG / MiB / rawR, unit: 'MB/s' });
  await rm(rawDir, { recursive: true, force: true });
  await engine.delete('bench', 'big');

  // Small objects, IN_FLIGHT at a time.
  const smallRaw = await rawSmallWrites(join(dir, 'raw-small'), SMALL_COUNT, K + M, SMALL / K, IN_FLIGHT, sync);
  let next = 0;
  const latencies: number[] = [];
  const smallPut = await seconds(() => Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < SMALL_COUNT) {
      const i = next++;
      const t = performance.now();
      await engine.put('bench', `small/${i}`, body(SMALL));
      latencies.push(performance.now() - t);
    }
  })));
  rows.push({ name: `PUT ${SMALL_COUNT} x 64 KiB, ${IN_FLIGHT} in flight`, kintsugi: SMALL_COUNT / smallPut, raw: SMALL_COUNT / smallRaw, unit: 'objects/s' });
  next = 0;
  const smallGet = await seconds(() => Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < SMALL_COUNT) await drain((await engine.get('bench', `small/${next++}`)).body);
  })));
  rows.push({ name: `GET ${SMALL_COUNT} x 64 KiB, ${IN_FLIGHT} in flight`, kintsugi: SMALL_COUNT / smallGet, unit: 'objects/s' });
  rows.push({ name: '  PUT 64 KiB latency p50', kintsugi: median(latencies), unit: 'ms' });
  // A node's listing index not complete (as after an upgrade): rebuilt from that node's records.
  await markIncomplete(nodes.drives[0]!.shelf);
  const rebuildS = await seconds(() => metadata.checkDerived({ wait: true }));
  rows.push({ name: `rebuild one node's listing index from ${SMALL_COUNT} records`, kintsugi: SMALL_COUNT / rebuildS, unit: 'records/s' });
  await close();
}

async function listingWorkloads(): Promise<void> {
  // Listing: LIST_KEYS keys loaded straight into the nodes' indexes, then paged through the engine.
  const lister = await engineWithKeys(join(dir, 'list'));
  // What the primary does at start: every node's index asked whether it is complete (its state row).
  const checkS = await seconds(() => lister.metadata.checkDerived());
  rows.push({ name: `check ${K + M} listing indexes of ${LIST_KEYS.toLocaleString('en')} keys`, kintsugi: checkS * 1000, unit: 'ms' });
  const pageMs = await p50Ms(50, async (prev?: ListPage) => lister.engine.list({ bucket: 'bench', startAfter: prev?.next, maxKeys: 1000 }));
  let folder = 0;
  const delimMs = await p50Ms(20, () => lister.engine.list({ bucket: 'bench', prefix: `dir-0${String(folder++).padStart(2, '0')}/`, delimiter: '/', maxKeys: 1000 }));
  await lister.close();
  rows.push({ name: `LIST page of 1000 from ${LIST_KEYS.toLocaleString('en')} keys, p50`, kintsugi: pageMs, unit: 'ms' });
  rows.push({ name: '  same with prefix and delimiter, p50', kintsugi: delimMs, unit: 'ms' });

  // The same bucket versioned: every 10th key has 10 versions.
  const vLister = await engineWithKeys(join(dir, 'list-versioned'), { every: 10, versions: 10 });
  await vLister.metadata.checkDerived();
  const vPageMs = await p50Ms(50, async (prev?: ListPage) => vLister.engine.list({ bucket: 'bench', startAfter: prev?.next, maxKeys: 1000 }));
  const versionsMs = await p50Ms(50, async (prev?: VersionPage) => vLister.engine.listVersions({
    bucket: 'bench', maxKeys: 1000,
    ...(prev?.nextKeyMarker ? { keyMarker: prev.nextKeyMarker } : {}), ...(prev?.nextVersionIdMarker ? { versionIdMarker: prev.nextVersionIdMarker } : {}),
  }));
  await vLister.close();
  const many = (LIST_KEYS / 10).toLocaleString('en');
  rows.push({ name: `LIST page of 1000, ${many} of the keys with 10 versions, p50`, kintsugi: vPageMs, unit: 'ms' });
  rows.push({ name: '  ListObjectVersions page of 1000 versions, p50', kintsugi: versionsMs, unit: 'ms' });
}

/** An engine over fresh nodes whose indexes hold LIST_KEYS keys, loaded straight in (the nodes are initialised first). */
async function engineWithKeys(nodePath: string, extra?: ExtraVersions) {
  await (await openEngine(nodePath)).close();
  await fillListingIndexes(nodePath, K + M, 'bench', LIST_KEYS, extra);
  return openEngine(nodePath);
}

/** The median milliseconds of `count` calls, the first (warming up) left out; each call gets what the one before returned. */
async function p50Ms<T>(count: number, call: (previous?: T) => Promise<T>): Promise<number> {
  const ms: number[] = [];
  let previous: T | undefined;
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    previous = await call(previous);
    ms.push(performance.now() - t);
  }
  return median(ms.slice(1));
}

printTable(['workload', 'kintsugi', 'raw fs', 'kintsugi/raw', 'unit'],
  rows.map((r) => [r.name, fmt(r.kintsugi, 1), r.raw === undefined ? '-' : fmt(r.raw, 1), r.raw === undefined ? '-' : fmt(r.kintsugi / r.raw), r.unit]));
process.stdout.write(`\nSYNC=${sync ? 'on' : 'off'} on both sides; raw fs writes the same (k+m)/k bytes over ${K + M} files and reads the ${K} data files back. ` +
  'MB/s are object bytes (MiB) per second. Page cache dropped before reads where permitted.\n');
if (json) writeJson(json, { sync, results: rows.map((r) => ({ workload: r.name, kintsugi: r.kintsugi, raw: r.raw, ratio: r.raw === undefined ? undefined : r.kintsugi / r.raw, unit: r.unit })) });
