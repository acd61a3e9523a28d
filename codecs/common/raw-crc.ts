import type { CrcAlgorithm } from '../../core/contracts/crc.js';

/** ks_crc.h's kinds. */
export const CRC_KINDS: Readonly<Record<CrcAlgorithm, number>> = { crc32: 0, crc32c: 1, crc64nvme: 2 };

/** A build's CRCs (codecs/common/ks_crc.c). */
export interface RawCrcBuild {
  readonly impl: 'native' | 'wasm';
  /** whether this build folds with carry-less multiplication here (else eight bytes at a time through tables) */
  readonly folds: boolean;
  /** `tables`: the table path even where the build folds (benchmarks compare them) */
  update(algorithm: CrcAlgorithm, crc: bigint, data: Uint8Array, tables?: boolean): bigint;
}
