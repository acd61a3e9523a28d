/**
 * What both jerasure builds offer, one level below the Codec contract: the
 * codecs are leaves and know nothing of core/, so failures carry a `code`
 * string that the codec plugin turns into Kintsugi's typed errors.
 */
export const TECHNIQUE_IDS = { cauchy_good: 0, cauchy_orig: 1, reed_sol_van: 2 } as const;
export type TechniqueName = keyof typeof TECHNIQUE_IDS;

/** ks_status values from codecs/common/ks_codec.h. */
const STATUS_CODES: Readonly<Record<number, string>> = {
  [-1]: 'ERR_CODEC_PARAMS',
  [-2]: 'ERR_CODEC_NOMEM',
  [-3]: 'ERR_CODEC_SHARD_SIZE',
  [-4]: 'ERR_CODEC_TOO_MANY_ERASURES',
  [-5]: 'ERR_CODEC_DECODE',
};

export class RawCodecError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'RawCodecError';
  }

  static fromStatus(status: number, what: string): RawCodecError {
    const code = STATUS_CODES[status] ?? 'ERR_CODEC';
    return new RawCodecError(code, `jerasure ${what} failed: ${code} (${status})`);
  }
}

export interface RawCodeParams {
  k: number;
  m: number;
  w: number;
  technique: TechniqueName;
  packetSize: number;
}

/** One code with fixed parameters over one build. */
export interface RawCode {
  readonly alignment: number;
  /** data: k shards (read), parity: m shards (overwritten), all the same size */
  encode(data: Uint8Array[], parity: Uint8Array[]): void;
  encodeAsync(data: Uint8Array[], parity: Uint8Array[]): Promise<void>;
  /** shards: k+m, the `erased` ones are overwritten with their contents */
  decode(shards: Uint8Array[], erased: readonly number[]): void;
  decodeAsync(shards: Uint8Array[], erased: readonly number[]): Promise<void>;
  /** buffers this build encodes without copying */
  alloc(count: number, size: number): Uint8Array[];
  release(buffers: Uint8Array[]): void;
  dispose(): void;
}

export interface RawCodecBuild {
  readonly impl: 'native' | 'wasm';
  create(params: RawCodeParams): RawCode;
}
