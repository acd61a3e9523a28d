/** Erasure-code techniques offered by the jerasure builds (w = 8). */
export const TECHNIQUES = ['cauchy_good', 'cauchy_orig', 'reed_sol_van'] as const;
export type Technique = (typeof TECHNIQUES)[number];

/** Which build of the codec does the work. */
export type CodecImpl = 'native' | 'wasm';

/** Everything needed to re-create the code an object was written with. */
export interface CodecParams {
  /** data shards */
  readonly k: number;
  /** parity shards */
  readonly m: number;
  /** Galois field width in bits; only 8 is offered */
  readonly w: number;
  readonly technique: Technique;
  /** bytes per packet of the Cauchy XOR schedule (ignored by reed_sol_van) */
  readonly packetSize: number;
}

/** One stripe after encoding: k data shards then m parity shards, all `shardSize` bytes. */
export interface EncodedStripe {
  readonly shards: Uint8Array[];
  readonly shardSize: number;
  /** bytes of real data; the tail of the last data shards is zero padding */
  readonly dataLength: number;
}

/**
 * An erasure code with fixed parameters. Shards are equal-sized byte arrays
 * whose size is a positive multiple of `alignment`. A missing shard is `null`.
 */
export interface ErasureCoder {
  readonly impl: CodecImpl;
  readonly params: CodecParams;
  readonly alignment: number;

  /** Size of each shard for a stripe holding `dataLength` bytes (padded to the alignment). */
  shardSizeFor(dataLength: number): number;

  /**
   * Shard buffers the coder can work on without copying (aligned, and for the
   * WASM build inside its memory). Give them back with `releaseShards`.
   */
  allocShards(count: number, size: number): Uint8Array[];
  releaseShards(shards: Uint8Array[]): void;

  /** Overwrites `parity` (m shards) from `data` (k shards); `data` is only read. */
  encode(data: Uint8Array[], parity: Uint8Array[]): Promise<void>;
  encodeSync(data: Uint8Array[], parity: Uint8Array[]): void;

  /**
   * Rebuilds the shards at the `erased` indexes (0..k-1 data, k..k+m-1 parity)
   * in place from the others, which must be intact. At most m may be erased.
   */
  reconstruct(shards: Uint8Array[], erased: readonly number[]): Promise<void>;
  reconstructSync(shards: Uint8Array[], erased: readonly number[]): void;

  /** Splits `data` into k padded shards and computes the m parity shards. */
  encodeStripe(data: Uint8Array): Promise<EncodedStripe>;

  /**
   * The stripe's `dataLength` bytes from its shards (k+m entries, `null` where
   * missing). Healthy data shards are concatenated without decoding.
   */
  decodeStripe(shards: ReadonlyArray<Uint8Array | null>, dataLength: number): Promise<Uint8Array>;

  /** Frees what the build holds for these parameters. */
  dispose(): void;
}

/** The Codec contract: hands out coders for any parameters, cached per parameter set. */
export interface Codec {
  readonly impl: CodecImpl;
  /** why this build was chosen (shown at start) */
  readonly reason: string;
  coder(params: CodecParams): ErasureCoder;
}
