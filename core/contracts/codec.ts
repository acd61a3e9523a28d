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

/** One stripe after encoding (ErasureCoderExtensions.encodeStripe): k data blocks then m parity blocks, all `shardSize` bytes. */
export interface EncodedStripe {
  readonly shards: Uint8Array[];
  readonly shardSize: number;
  /** bytes of real data; the tail of the last data shards is zero padding */
  readonly dataLength: number;
}

/**
 * An erasure code with fixed parameters: what the engine codes with. Blocks
 * are equal-sized byte arrays of `shardSizeFor(...)` bytes (a multiple of
 * the build's alignment).
 */
export interface ErasureCoder {
  readonly params: CodecParams;

  /** Size of each block for a stripe holding `dataLength` bytes (padded to the alignment). */
  shardSizeFor(dataLength: number): number;

  /** Overwrites `parity` (m blocks) from `data` (k blocks); `data` is only read. */
  encode(data: Uint8Array[], parity: Uint8Array[]): Promise<void>;

  /**
   * Rebuilds the blocks at the `erased` indexes (0..k-1 data, k..k+m-1 parity)
   * in place from the others, which must be intact. At most m may be erased.
   */
  reconstruct(shards: Uint8Array[], erased: readonly number[]): Promise<void>;
}

/**
 * What a build offers beyond the engine's needs — for the codec tests, the
 * benchmarks and the demo — kept out of ErasureCoder so that another code
 * need not offer it (the way klauspost/reedsolomon keeps `Extensions` apart
 * from `Encoder`). A coder that has it says so: see `extensionsOf`.
 */
export interface ErasureCoderExtensions {
  readonly impl: CodecImpl;
  /** every block size is a multiple of this */
  readonly alignment: number;

  /**
   * Block buffers the coder can work on without copying (aligned, and for the
   * WASM build inside its memory). Give them back with `releaseShards`.
   */
  allocShards(count: number, size: number): Uint8Array[];
  releaseShards(shards: Uint8Array[]): void;

  /** `encode` on the calling thread. */
  encodeSync(data: Uint8Array[], parity: Uint8Array[]): void;
  /** `reconstruct` on the calling thread. */
  reconstructSync(shards: Uint8Array[], erased: readonly number[]): void;

  /** Splits `data` into k padded blocks and computes the m parity blocks. */
  encodeStripe(data: Uint8Array): Promise<EncodedStripe>;

  /**
   * The stripe's `dataLength` bytes from its blocks (k+m entries, `null` where
   * missing). Healthy data blocks are concatenated without decoding.
   */
  decodeStripe(shards: ReadonlyArray<Uint8Array | null>, dataLength: number): Promise<Uint8Array>;

  /** Frees what the build holds for these parameters. */
  dispose(): void;
}

/** A coder with the extensions. */
export type ExtendedErasureCoder = ErasureCoder & ErasureCoderExtensions;

/** The coder's extensions, or undefined when it has none. */
export function extensionsOf(coder: ErasureCoder): ExtendedErasureCoder | undefined {
  const c = coder as Partial<ExtendedErasureCoder>;
  return typeof c.encodeStripe === 'function' && typeof c.decodeStripe === 'function' && typeof c.encodeSync === 'function' ? (coder as ExtendedErasureCoder) : undefined;
}

/** The Codec contract: hands out coders for any parameters, cached per parameter set. */
export interface Codec {
  readonly impl: CodecImpl;
  /** why this build was chosen (shown at start) */
  readonly reason: string;
  coder(params: CodecParams): ErasureCoder;
}
