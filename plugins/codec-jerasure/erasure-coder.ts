import type { CodecImpl, CodecParams, EncodedStripe, ExtendedErasureCoder } from '../../core/contracts/codec.js';
import { ShardLayoutError, TooManyErasuresError } from '../../core/errors.js';
import { allocAlignedShards } from '../../codecs/common/aligned.js';
import type { RawCode, RawCodecBuild } from '../../codecs/common/raw-code.js';
import { toTypedError } from './errors.js';

/**
 * Blocks up to this size are coded on the calling thread: handing them to the
 * thread pool cost more than coding them (4+3, 16 KiB blocks, native: 42 µs
 * a call through the pool, 10 µs on the thread), and small objects are most
 * of a put's load.
 */
const ON_THREAD_BLOCK_BYTES = 32 << 10;

/**
 * The ErasureCoder contract (and its extensions) over one jerasure build.
 * Arguments are checked here, before they reach C, so a bad call is a typed
 * error and never an abort; stripes are padded to the code's alignment here
 * too.
 */
export class JerasureCoder implements ExtendedErasureCoder {
  readonly alignment: number;

  private constructor(readonly impl: CodecImpl, readonly params: CodecParams, private readonly raw: RawCode) {
    this.alignment = raw.alignment;
  }

  /** A coder for `params` over `build`; parameters it cannot serve raise CodecParamsError. */
  static open(build: RawCodecBuild, params: CodecParams): JerasureCoder {
    try {
      return new JerasureCoder(build.impl, params, build.create(params));
    } catch (err) {
      throw toTypedError(err, params.m);
    }
  }

  shardSizeFor(dataLength: number): number {
    const perShard = Math.ceil(dataLength / this.params.k);
    return Math.max(1, Math.ceil(perShard / this.alignment)) * this.alignment;
  }

  allocShards(count: number, size: number): Uint8Array[] {
    return this.raw.alloc(count, size);
  }

  releaseShards(shards: Uint8Array[]): void {
    this.raw.release(shards);
  }

  encodeSync(data: Uint8Array[], parity: Uint8Array[]): void {
    this.checkEncode(data, parity);
    this.guard(() => this.raw.encode(data, parity));
  }

  async encode(data: Uint8Array[], parity: Uint8Array[]): Promise<void> {
    this.checkEncode(data, parity);
    if (data[0]!.byteLength <= ON_THREAD_BLOCK_BYTES) this.guard(() => this.raw.encode(data, parity));
    else await this.guardAsync(this.raw.encodeAsync(data, parity));
  }

  reconstructSync(shards: Uint8Array[], erased: readonly number[]): void {
    this.checkReconstruct(shards, erased);
    if (erased.length > 0) this.guard(() => this.raw.decode(shards, erased));
  }

  async reconstruct(shards: Uint8Array[], erased: readonly number[]): Promise<void> {
    this.checkReconstruct(shards, erased);
    if (erased.length === 0) return;
    if (shards[0]!.byteLength <= ON_THREAD_BLOCK_BYTES) this.guard(() => this.raw.decode(shards, erased));
    else await this.guardAsync(this.raw.decodeAsync(shards, erased));
  }

  async encodeStripe(data: Uint8Array): Promise<EncodedStripe> {
    const { k, m } = this.params;
    const shardSize = this.shardSizeFor(data.byteLength);
    const shards = allocAlignedShards(k + m, shardSize);
    for (let i = 0; i < k; i++) {
      const part = data.subarray(i * shardSize, (i + 1) * shardSize);
      shards[i]!.set(part);
      shards[i]!.fill(0, part.byteLength);
    }
    await this.encode(shards.slice(0, k), shards.slice(k));
    return { shards, shardSize, dataLength: data.byteLength };
  }

  async decodeStripe(shards: ReadonlyArray<Uint8Array | null>, dataLength: number): Promise<Uint8Array> {
    const { k, m } = this.params;
    if (shards.length !== k + m) throw new ShardLayoutError(`expected ${k + m} shards, got ${shards.length}`);
    const present = shards.find((s): s is Uint8Array => s !== null);
    if (!present) throw new TooManyErasuresError(k + m, m);
    const size = present.byteLength;
    if (dataLength > size * k) throw new ShardLayoutError(`data length ${dataLength} exceeds ${k} shards of ${size} bytes`);

    const erased = shards.flatMap((s, i) => (s === null ? [i] : []));
    let full = shards as Uint8Array[];
    if (erased.some((i) => i < k)) {
      const fresh = allocAlignedShards(erased.length, size);
      full = shards.map((s) => s ?? fresh.shift()!);
      await this.reconstruct(full, erased);
    }
    const out = Buffer.allocUnsafe(dataLength);
    for (let i = 0, at = 0; at < dataLength; i++) {
      const take = Math.min(size, dataLength - at);
      out.set(full[i]!.subarray(0, take), at);
      at += take;
    }
    return out;
  }

  dispose(): void {
    this.raw.dispose();
  }

  private checkEncode(data: Uint8Array[], parity: Uint8Array[]): void {
    const { k, m } = this.params;
    if (data.length !== k) throw new ShardLayoutError(`expected ${k} data shards, got ${data.length}`);
    if (parity.length !== m) throw new ShardLayoutError(`expected ${m} parity shards, got ${parity.length}`);
    this.checkSizes([...data, ...parity]);
  }

  private checkReconstruct(shards: Uint8Array[], erased: readonly number[]): void {
    const { k, m } = this.params;
    if (shards.length !== k + m) throw new ShardLayoutError(`expected ${k + m} shards, got ${shards.length}`);
    this.checkSizes(shards);
    const seen = new Set<number>();
    for (const e of erased) {
      if (!Number.isInteger(e) || e < 0 || e >= k + m) throw new ShardLayoutError(`erased index ${e} is not a shard of ${k}+${m}`);
      if (seen.has(e)) throw new ShardLayoutError(`erased index ${e} is listed twice`);
      seen.add(e);
    }
    if (erased.length > m) throw new TooManyErasuresError(erased.length, m);
  }

  private checkSizes(shards: Uint8Array[]): void {
    if (!shards.every((s) => s instanceof Uint8Array)) throw new ShardLayoutError('shards must be Uint8Arrays');
    const size = shards[0]?.byteLength ?? 0;
    if (!shards.every((s) => s.byteLength === size)) throw new ShardLayoutError('shards differ in size');
    if (size === 0 || size % this.alignment !== 0) {
      throw new ShardLayoutError(`shard size ${size} is not a positive multiple of ${this.alignment}`);
    }
  }

  private guard(fn: () => void): void {
    try { fn(); } catch (err) { throw toTypedError(err, this.params.m); }
  }

  private async guardAsync(p: Promise<void>): Promise<void> {
    try { await p; } catch (err) { throw toTypedError(err, this.params.m); }
  }
}
