/**
 * Codec benchmark: native jerasure vs the WASM build of the same sources,
 * with ISA-L as the speed-of-light reference, in one run.
 *
 *   npm run bench:codec                  full table
 *   npm run bench:codec -- --json FILE   the same as JSON
 *   npm run bench:codec -- --quick       fewer, shorter rounds (--rounds=N --time=MS)
 *   npm run bench:codec -- --sweep       packet-size and shard-size sweeps
 *   npm run bench:codec -- --checksums   only the checksums (they follow the main table)
 */
import { createHash, randomFillSync } from 'node:crypto';
import { crc32 } from 'node:zlib';

import type { CodecImpl, ExtendedErasureCoder, Technique } from '../../core/contracts/codec.js';
import { DEFAULT_PACKET_SIZE } from '../../core/config.js';
import { artifactPath } from '../../codecs/common/artifact.js';
import { CRC_ALGORITHMS } from '../../core/contracts/crc.js';
import { loadNativeBuild, loadNativeCrc } from '../../codecs/jerasure-native/index.js';
import { loadWasmBuild, loadWasmCrc } from '../../codecs/jerasure-wasm/index.js';
import { JerasureCoder } from '../../plugins/codec-jerasure/erasure-coder.js';
import { fmt, parseBenchArgs, printTable, writeJson } from '../common/report.js';
import { interleaved, medianRatio, type Contender } from '../common/rounds.js';
import { loadIsal } from './isal.js';

type Op = 'encode' | 'reconstruct-1' | 'reconstruct-m';
type Impl = CodecImpl | 'native-async' | 'native-2x' | 'isal' | 'wasm-scalar';
interface Result { impl: Impl; technique: Technique | 'isal_cauchy'; op: Op; k: number; m: number; shardBytes: number; packetSize?: number; gbps: number }

const TECHNIQUES: Technique[] = ['cauchy_good', 'cauchy_orig', 'reed_sol_van'];
const CODES = [[4, 3], [8, 4]] as const;
const SIZES = [64 << 10, 1 << 20, 4 << 20];
const OPS: Op[] = ['encode', 'reconstruct-1', 'reconstruct-m'];

const { json, flags, values } = parseBenchArgs(process.argv.slice(2));
const timeMs = Number(values.get('time') ?? (flags.has('quick') ? 60 : 120));
const rounds = Number(values.get('rounds') ?? (flags.has('quick') ? 3 : 5));
const builds = { native: loadNativeBuild(), wasm: loadWasmBuild() };
const scalarWasm = (() => { try { return loadWasmBuild('scalar'); } catch { return undefined; } })();
const Isal = loadIsal(artifactPath(import.meta.url, ''));

function erasedFor(op: Op, m: number): number[] {
  if (op === 'encode') return [];
  return op === 'reconstruct-1' ? [0] : Array.from({ length: m }, (_, i) => i);
}

/** Shards the coder works on in place (WASM: inside its memory), filled and encoded. */
function stripeFor(coder: ExtendedErasureCoder, size: number): Uint8Array[] {
  const { k, m } = coder.params;
  const shards = coder.allocShards(k + m, size);
  for (const s of shards.slice(0, k)) randomFillSync(s);
  coder.encodeSync(shards.slice(0, k), shards.slice(k));
  return shards;
}

/** A contender running one op on one build; units are bytes of data in (k x shard). */
function coderContender(name: string, coder: ExtendedErasureCoder, size: number, op: Op): Contender {
  const { k, m } = coder.params;
  const shards = stripeFor(coder, size);
  const data = shards.slice(0, k);
  const parity = shards.slice(k);
  const erased = erasedFor(op, m);
  const run = op === 'encode' ? () => coder.encodeSync(data, parity) : () => coder.reconstructSync(shards, erased);
  return { name, run, units: k * size };
}

/**
 * `calls` async encodes on the libuv thread pool with `inFlight` of them
 * outstanding at any time (a new one starts as soon as one finishes, as a
 * streaming put does), so both cores can work at once.
 */
function onThreadPool(name: string, coder: ExtendedErasureCoder, size: number, inFlight: number, calls = 8): Contender {
  const { k } = coder.params;
  const sets = Array.from({ length: inFlight }, () => stripeFor(coder, size));
  const run = async () => {
    let started = 0;
    await Promise.all(sets.map(async (s) => {
      while (started < calls) {
        started++;
        await coder.encode(s.slice(0, k), s.slice(k));
      }
    }));
  };
  return { name, run, units: calls * k * size };
}

function isalContender(k: number, m: number, size: number, op: Op): Contender | undefined {
  if (!Isal) return undefined;
  const code = new Isal(k, m);
  const holder = JerasureCoder.open(builds.native, { k, m, w: 8, technique: 'reed_sol_van', packetSize: 8 });
  const shards = holder.allocShards(k + m, size);
  for (const s of shards.slice(0, k)) randomFillSync(s);
  const data = shards.slice(0, k);
  const parity = shards.slice(k);
  code.encode(data, parity);
  const erased = erasedFor(op, m);
  return { name: 'isal', run: op === 'encode' ? () => code.encode(data, parity) : () => code.decode(shards, erased), units: k * size };
}

const coder = (impl: CodecImpl, technique: Technique, k: number, m: number, packetSize = DEFAULT_PACKET_SIZE) =>
  JerasureCoder.open(builds[impl], { k, m, w: 8, technique, packetSize });

/** bytes per ms to GB/s */
const toGbps = (rate: number) => rate / 1e6;

async function mainTable(): Promise<Result[]> {
  const results: Result[] = [];
  const rows: (string | number)[][] = [];
  for (const technique of TECHNIQUES) {
    for (const [k, m] of CODES) {
      for (const size of SIZES) {
        for (const op of OPS) {
          const nativeCoder = coder('native', technique, k, m);
          const wasmCoder = coder('wasm', technique, k, m);
          const contenders = [
            coderContender('native', nativeCoder, size, op),
            coderContender('wasm', wasmCoder, size, op),
            ...(op === 'encode' ? [onThreadPool('native-async', nativeCoder, size, 1), onThreadPool('native-2x', nativeCoder, size, 2)] : []),
            ...(op === 'encode' && scalarWasm ? [coderContender('wasm-scalar', JerasureCoder.open(scalarWasm, nativeCoder.params), size, op)] : []),
            ...(technique === 'cauchy_good' ? [isalContender(k, m, size, op)].filter((c): c is Contender => !!c) : []),
          ];
          const r = await interleaved(contenders, rounds, timeMs);
          wasmCoder.dispose();
          const native = r.get('native')!;
          const wasm = r.get('wasm')!;
          const twice = r.get('native-2x');
          const once = r.get('native-async');
          const isal = r.get('isal');
          const scalar = r.get('wasm-scalar');
          const base = { technique, op, k, m, shardBytes: size, packetSize: DEFAULT_PACKET_SIZE };
          results.push({ impl: 'native', ...base, gbps: toGbps(native.rate) }, { impl: 'wasm', ...base, gbps: toGbps(wasm.rate) });
          if (twice) results.push({ impl: 'native-2x', ...base, gbps: toGbps(twice.rate) });
          if (once) results.push({ impl: 'native-async', ...base, gbps: toGbps(once.rate) });
          if (scalar) results.push({ impl: 'wasm-scalar', ...base, gbps: toGbps(scalar.rate) });
          if (isal) results.push({ impl: 'isal', technique: 'isal_cauchy', op, k, m, shardBytes: size, gbps: toGbps(isal.rate) });
          rows.push([technique, `${k}+${m}`, `${size >> 10} KiB`, op,
            fmt(toGbps(native.rate)), fmt(toGbps(wasm.rate)), fmt(medianRatio(wasm.perRound, native.perRound)),
            once ? fmt(toGbps(once.rate)) : '-', twice ? fmt(toGbps(twice.rate)) : '-',
            twice && once ? fmt(medianRatio(twice.perRound, once.perRound)) : '-',
            scalar ? fmt(medianRatio(wasm.perRound, scalar.perRound)) : '-',
            isal ? fmt(toGbps(isal.rate)) : '-', isal ? fmt(medianRatio(native.perRound, isal.perRound)) : '-']);
          process.stderr.write('.');
        }
      }
    }
  }
  process.stderr.write('\n');
  printTable(['technique', 'code', 'shard', 'op', 'native', 'wasm', 'wasm/native', 'async-1x', 'async-2x', '2x/1x', 'simd/scalar', 'isal', 'native/isal'], rows);
  process.stdout.write(`\nGB/s of data in (k x shard bytes per call): median over ${rounds} interleaved rounds of ` +
    `tinybench medians (${timeMs} ms each). Ratios: median of per-round ratios. Packet size ${DEFAULT_PACKET_SIZE}. ` +
    'async-1x/2x: native encodeAsync on the libuv pool with one/two calls in flight (8 calls per sample). simd/scalar: the WASM build against one compiled without SIMD. isal: ISA-L ec_encode_data, Cauchy matrix (measured with the cauchy_good rows).\n');
  return results;
}

async function sweep(): Promise<Result[]> {
  const results: Result[] = [];
  const rows: (string | number)[][] = [];
  for (const [k, m] of CODES) {
    const packets = [1024, 2048, 4096, 8192, 16384];
    const contenders = packets.flatMap((ps) => [
      coderContender(`native ${ps}`, coder('native', 'cauchy_good', k, m, ps), 1 << 20, 'encode'),
      coderContender(`wasm ${ps}`, coder('wasm', 'cauchy_good', k, m, ps), 1 << 20, 'encode'),
    ]);
    const r = await interleaved(contenders, rounds, timeMs);
    for (const ps of packets) {
      const n = toGbps(r.get(`native ${ps}`)!.rate);
      const w = toGbps(r.get(`wasm ${ps}`)!.rate);
      rows.push([`packet ${ps}`, `${k}+${m}`, '1024 KiB', fmt(n), fmt(w)]);
      results.push({ impl: 'native', technique: 'cauchy_good', op: 'encode', k, m, shardBytes: 1 << 20, packetSize: ps, gbps: n });
      results.push({ impl: 'wasm', technique: 'cauchy_good', op: 'encode', k, m, shardBytes: 1 << 20, packetSize: ps, gbps: w });
    }
  }
  const sizes = [64 << 10, 128 << 10, 256 << 10, 512 << 10, 1 << 20, 4 << 20];
  const contenders = sizes.flatMap((size) => [
    coderContender(`native ${size}`, coder('native', 'cauchy_good', 4, 3), size, 'encode'),
    coderContender(`wasm ${size}`, coder('wasm', 'cauchy_good', 4, 3), size, 'encode'),
  ]);
  const r = await interleaved(contenders, rounds, timeMs);
  for (const size of sizes) {
    rows.push([`shard ${size >> 10} KiB`, '4+3', `${size >> 10} KiB`, fmt(toGbps(r.get(`native ${size}`)!.rate)), fmt(toGbps(r.get(`wasm ${size}`)!.rate))]);
  }
  printTable(['sweep (cauchy_good encode)', 'code', 'shard', 'native', 'wasm'], rows);
  process.stdout.write(`\nGB/s, median over ${rounds} interleaved rounds (${timeMs} ms each).\n`);
  return results;
}

/**
 * The checksums a put computes as its body streams by, on request-sized
 * chunks (1 MiB): MD5 (every ETag) and the SHAs through OpenSSL beside the
 * CRCs of each build (the native one folding with carry-less multiply,
 * and through its tables alone; WASM has only the tables).
 */
async function checksums(): Promise<{ name: string; gbps: number }[]> {
  const chunk = randomFillSync(Buffer.alloc(1 << 20));
  const native = loadNativeCrc();
  const wasm = loadWasmCrc();
  const digest = (name: string): Contender => ({ name, run: () => createHash(name).update(chunk).digest(), units: chunk.length });
  const contenders: Contender[] = [digest('md5'), digest('sha1'), digest('sha256'), { name: 'zlib crc32', run: () => crc32(chunk), units: chunk.length }];
  for (const algorithm of CRC_ALGORITHMS) {
    contenders.push(
      { name: `native ${algorithm}`, run: () => native.update(algorithm, 0n, chunk), units: chunk.length },
      { name: `native tables ${algorithm}`, run: () => native.update(algorithm, 0n, chunk, true), units: chunk.length },
      { name: `wasm ${algorithm}`, run: () => wasm.update(algorithm, 0n, chunk), units: chunk.length },
    );
  }
  const r = await interleaved(contenders, rounds, timeMs);
  const md5 = r.get('md5')!;
  const rows: (string | number)[][] = ['md5', 'sha1', 'sha256', 'zlib crc32'].map((name) => [name, fmt(toGbps(r.get(name)!.rate)), '-', '-', fmt(medianRatio(r.get(name)!.perRound, md5.perRound))]);
  for (const algorithm of CRC_ALGORITHMS) {
    const n = r.get(`native ${algorithm}`)!;
    const t = r.get(`native tables ${algorithm}`)!;
    const w = r.get(`wasm ${algorithm}`)!;
    rows.push([`${algorithm} native${native.folds ? ' (folding)' : ''}`, fmt(toGbps(n.rate)), fmt(medianRatio(n.perRound, t.perRound)), fmt(medianRatio(n.perRound, w.perRound)), fmt(medianRatio(n.perRound, md5.perRound))]);
    rows.push([`${algorithm} native tables`, fmt(toGbps(t.rate)), '-', '-', fmt(medianRatio(t.perRound, md5.perRound))]);
    rows.push([`${algorithm} wasm`, fmt(toGbps(w.rate)), '-', '-', fmt(medianRatio(w.perRound, md5.perRound))]);
  }
  printTable(['checksum (1 MiB chunks)', 'GB/s', 'fold/tables', 'native/wasm', '/md5'], rows);
  process.stdout.write(`\nGB/s, median over ${rounds} interleaved rounds (${timeMs} ms each); ratios are medians of per-round ratios.\n`);
  return [...r].map(([name, v]) => ({ name, gbps: toGbps(v.rate) }));
}

const results = flags.has('sweep') ? await sweep() : flags.has('checksums') ? [] : await mainTable();
const sums = flags.has('sweep') ? [] : await checksums();
if (json) writeJson(json, { results, checksums: sums });
