import { xxh64 } from '@node-rs/xxhash';

/**
 * xxHash64 guards every shard block and metadata record against bit rot. It
 * is not cryptographic (it need not be: it detects decay, not attackers) and
 * runs at memory speed, so it never competes with encoding for the CPU.
 */
export const CHECKSUM_BYTES = 8;

export function checksumInto(data: Uint8Array, out: Uint8Array, at = 0): void {
  const h = xxh64(data);
  new DataView(out.buffer, out.byteOffset + at, CHECKSUM_BYTES).setBigUint64(0, h);
}

export function checksumMatches(data: Uint8Array, stored: Uint8Array, at = 0): boolean {
  if (stored.byteLength < at + CHECKSUM_BYTES) return false;
  return new DataView(stored.buffer, stored.byteOffset + at, CHECKSUM_BYTES).getBigUint64(0) === xxh64(data);
}
