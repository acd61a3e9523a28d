import type { CodecImpl } from './codec.js';

/** The CRCs of S3's x-amz-checksum-* headers: CRC-32 (gzip), CRC-32C (Castagnoli), CRC-64/NVME. */
export const CRC_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme'] as const;
export type CrcAlgorithm = (typeof CRC_ALGORITHMS)[number];

/** Bits of each CRC's value. */
export const CRC_BITS: Readonly<Record<CrcAlgorithm, 32 | 64>> = { crc32: 32, crc32c: 32, crc64nvme: 64 };

/**
 * CRCs at memory speed, from the same build as the codec (native, or the
 * WASM build of the same C source), so that checking every upload's
 * checksum never slows the upload.
 */
export interface CrcEngine {
  readonly impl: CodecImpl;
  /** The CRC of what `crc` covered (a finished value, 0n before any byte) followed by `data`. */
  update(algorithm: CrcAlgorithm, crc: bigint, data: Uint8Array): bigint;
}
