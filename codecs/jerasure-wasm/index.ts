import { readFileSync } from 'node:fs';

import { artifactPath } from '../common/artifact.js';
import { CRC_KINDS, type RawCrcBuild } from '../common/raw-crc.js';
import {
  RawCodecError, TECHNIQUE_IDS,
  type RawCode, type RawCodecBuild, type RawCodeParams,
} from '../common/raw-code.js';

/** `simd` (what the store uses) or `scalar` (built for the codec bench's comparison). */
export type WasmVariant = 'simd' | 'scalar';
const MODULE_PATHS: Record<WasmVariant, string> = {
  simd: 'codecs/jerasure-wasm/build/jerasure.wasm',
  scalar: 'codecs/jerasure-wasm/build/jerasure-scalar.wasm',
};

/** Exports of wasm_api.c (pointers are byte offsets into `memory`). */
interface Exports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  ks_alloc(bytes: number): number;
  ks_free(ptr: number): void;
  ks_new(k: number, m: number, w: number, technique: number, packetSize: number): number;
  ks_delete(handle: number): void;
  ks_alignment(handle: number): number;
  ks_encode_ptrs(handle: number, ptrs: number, size: number): number;
  ks_decode_ptrs(handle: number, ptrs: number, erased: number, nErased: number, size: number): number;
  ks_crc_update_at(kind: number, crc: number, data: number, len: number): void;
}

const POINTER_BYTES = 4;

/**
 * One instance per process. The module is built standalone (no emscripten JS
 * loader, whose fetch() of a file path fails under Node 20): we hand it the
 * bytes and the few WASI calls its libc can make. stderr text (gf-complete
 * prints before it asserts) is kept for the error message.
 */
class WasmInstance {
  readonly exports: Exports;
  private stderr = '';

  constructor(bytes: Uint8Array) {
    const fdWrite = (fd: number, iov: number, iovcnt: number, written: number): number => {
      const view = new DataView(this.exports.memory.buffer);
      let total = 0;
      for (let i = 0; i < iovcnt; i++) {
        const ptr = view.getUint32(iov + i * 8, true);
        const len = view.getUint32(iov + i * 8 + 4, true);
        if (fd === 2) this.stderr += Buffer.from(this.exports.memory.buffer, ptr, len).toString('utf8');
        total += len;
      }
      view.setUint32(written, total, true);
      return 0;
    };
    const imports = {
      wasi_snapshot_preview1: {
        fd_write: fdWrite,
        fd_close: () => 0,
        fd_seek: () => 0,
        proc_exit: (code: number) => { throw new RawCodecError('ERR_CODEC_ABORT', `jerasure (wasm) exited with ${code}`); },
      },
      env: { emscripten_notify_memory_growth: () => undefined },
    };
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
    this.exports = instance.exports as unknown as Exports;
    this.exports._initialize();
  }

  get memory(): ArrayBuffer {
    return this.exports.memory.buffer;
  }

  /** Runs a call into the module; a trap (abort) becomes a RawCodecError. */
  call<T>(what: string, fn: () => T): T {
    this.stderr = '';
    try {
      return fn();
    } catch (err) {
      if (err instanceof RawCodecError) throw err;
      const detail = this.stderr.trim();
      throw new RawCodecError('ERR_CODEC_ABORT', `jerasure (wasm) ${what} aborted: ${(err as Error).message}${detail ? ` (${detail})` : ''}`);
    }
  }

  alloc(bytes: number): number {
    const ptr = this.exports.ks_alloc(bytes);
    if (ptr === 0) throw new RawCodecError('ERR_CODEC_NOMEM', `wasm memory exhausted allocating ${bytes} bytes`);
    return ptr;
  }
}

class WasmCode implements RawCode {
  readonly alignment: number;
  private readonly n: number;
  /** k+m shard pointers, then up to 256 erased indexes */
  private readonly argBlock: number;
  /** bounce area for shards that live outside wasm memory */
  private scratch = 0;
  private scratchBytes = 0;
  private handle: number;

  constructor(private readonly wasm: WasmInstance, private readonly p: RawCodeParams) {
    this.handle = wasm.call('init', () => wasm.exports.ks_new(p.k, p.m, p.w, TECHNIQUE_IDS[p.technique], p.packetSize));
    if (this.handle < 0) throw RawCodecError.fromStatus(this.handle, 'init');
    this.alignment = wasm.exports.ks_alignment(this.handle);
    this.n = p.k + p.m;
    this.argBlock = wasm.alloc((this.n + 256) * POINTER_BYTES);
  }

  encode(data: Uint8Array[], parity: Uint8Array[]): void {
    const size = this.checkShards(data, this.p.k, parity, this.p.m);
    const shards = [...data, ...parity];
    const ptrs = this.stage(shards, size, data.length);
    const rc = this.wasm.call('encode', () => this.wasm.exports.ks_encode_ptrs(this.handle, this.argBlock, size));
    if (rc !== 0) throw RawCodecError.fromStatus(rc, 'encode');
    this.unstage(shards, ptrs, size, range(this.p.k, this.n));
  }

  async encodeAsync(data: Uint8Array[], parity: Uint8Array[]): Promise<void> {
    this.encode(data, parity);
  }

  decode(shards: Uint8Array[], erased: readonly number[]): void {
    const size = this.checkShards(shards, this.n);
    if (erased.length > 256) throw RawCodecError.fromStatus(-4, 'decode');
    // Erased shards are outputs only: nothing to copy in.
    const ptrs = this.stage(shards, size, 0, new Set(erased));
    const mem = new Int32Array(this.wasm.memory, this.argBlock + this.n * POINTER_BYTES, erased.length);
    mem.set(erased.map((e) => (Number.isInteger(e) ? e : -1)));
    const rc = this.wasm.call('decode', () =>
      this.wasm.exports.ks_decode_ptrs(this.handle, this.argBlock, this.argBlock + this.n * POINTER_BYTES, erased.length, size));
    if (rc !== 0) throw RawCodecError.fromStatus(rc, 'decode');
    this.unstage(shards, ptrs, size, erased);
  }

  async decodeAsync(shards: Uint8Array[], erased: readonly number[]): Promise<void> {
    this.decode(shards, erased);
  }

  alloc(count: number, size: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) out.push(new Uint8Array(this.wasm.memory, this.wasm.alloc(size), size));
    return out;
  }

  release(buffers: Uint8Array[]): void {
    for (const b of buffers) if (b.buffer === this.wasm.memory) this.wasm.exports.ks_free(b.byteOffset);
  }

  dispose(): void {
    if (this.handle <= 0) return;
    this.wasm.exports.ks_delete(this.handle);
    this.wasm.exports.ks_free(this.argBlock);
    if (this.scratch) this.wasm.exports.ks_free(this.scratch);
    this.handle = 0;
  }

  private checkShards(a: Uint8Array[], na: number, b: Uint8Array[] = [], nb = 0): number {
    if (!Array.isArray(a) || a.length !== na || !Array.isArray(b) || b.length !== nb) {
      throw new RawCodecError('ERR_CODEC_ARGS', 'wrong number of shards');
    }
    const all = [...a, ...b];
    if (!all.every((s) => s instanceof Uint8Array)) throw new RawCodecError('ERR_CODEC_ARGS', 'shards must be Uint8Arrays');
    const size = all[0]!.byteLength;
    if (!all.every((s) => s.byteLength === size)) throw new RawCodecError('ERR_CODEC_ARGS', 'shards differ in size');
    return size;
  }

  /**
   * Writes the shard pointers into argBlock. Shards already in wasm memory
   * (from `alloc`) are used in place; the others get a slot in the scratch
   * area, and the first `copyIn` of them (inputs) are copied there, skipping
   * any index in `outputsOnly`.
   */
  private stage(shards: Uint8Array[], size: number, copyIn: number, outputsOnly?: Set<number>): number[] {
    const foreign = shards.filter((s) => s.buffer !== this.wasm.memory).length;
    if (foreign > 0) this.ensureScratch(foreign * size);
    const mem = this.wasm.memory;
    const ptrs: number[] = [];
    let slot = 0;
    shards.forEach((s, i) => {
      if (s.buffer === mem) {
        ptrs.push(s.byteOffset);
        return;
      }
      const ptr = this.scratch + slot++ * size;
      const isInput = outputsOnly ? !outputsOnly.has(i) : i < copyIn;
      if (isInput) new Uint8Array(mem, ptr, size).set(s);
      ptrs.push(ptr);
    });
    new Uint32Array(mem, this.argBlock, shards.length).set(ptrs);
    return ptrs;
  }

  /** Copies written shards that live outside wasm memory back out. */
  private unstage(shards: Uint8Array[], ptrs: number[], size: number, written: Iterable<number>): void {
    const mem = this.wasm.memory;
    for (const i of written) {
      const s = shards[i]!;
      if (s.buffer !== mem) s.set(new Uint8Array(mem, ptrs[i]!, size));
    }
  }

  private ensureScratch(bytes: number): void {
    if (this.scratchBytes >= bytes) return;
    if (this.scratch) this.wasm.exports.ks_free(this.scratch);
    this.scratch = 0;
    this.scratchBytes = 0;
    this.scratch = this.wasm.alloc(bytes);
    this.scratchBytes = bytes;
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

const instances = new Map<WasmVariant, WasmInstance>();

function instanceOf(variant: WasmVariant): WasmInstance {
  let wasm = instances.get(variant);
  if (!wasm) {
    wasm = new WasmInstance(readFileSync(artifactPath(import.meta.url, MODULE_PATHS[variant])));
    instances.set(variant, wasm);
  }
  return wasm;
}

/** Instantiates the WASM build (once per process and variant); throws when it is not built. */
export function loadWasmBuild(variant: WasmVariant = 'simd'): RawCodecBuild {
  const instance = instanceOf(variant);
  return { impl: 'wasm', create: (p) => new WasmCode(instance, p) };
}

/** Bytes a CRC call copies into the module's memory at a time. */
const CRC_PIECE = 1 << 20;

/**
 * The WASM build's CRCs (tables: WASM has no carry-less multiply). The
 * bytes pass through a piece of the module's memory, the CRC value through
 * two 32-bit words beside it.
 */
export function loadWasmCrc(variant: WasmVariant = 'simd'): RawCrcBuild {
  const wasm = instanceOf(variant);
  if (typeof wasm.exports.ks_crc_update_at !== 'function') throw new Error('the WASM build has no CRCs (built before them: npm run setup)');
  let area = 0;
  return {
    impl: 'wasm',
    folds: false,
    update(algorithm, crc, data) {
      area ||= wasm.alloc(8 + CRC_PIECE);
      const words = new Uint32Array(wasm.memory, area, 2);
      words[0] = Number(crc & 0xffffffffn);
      words[1] = Number(crc >> 32n);
      for (let at = 0; at < data.byteLength; at += CRC_PIECE) {
        const piece = data.subarray(at, at + CRC_PIECE);
        new Uint8Array(wasm.memory, area + 8, piece.byteLength).set(piece);
        wasm.call('crc', () => wasm.exports.ks_crc_update_at(CRC_KINDS[algorithm], area, area + 8, piece.byteLength));
      }
      const out = new Uint32Array(wasm.memory, area, 2);
      return (BigInt(out[1]!) << 32n) | BigInt(out[0]!);
    },
  };
}
