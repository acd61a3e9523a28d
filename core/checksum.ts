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

/** A block as shard files store it: its checksum, then the block (a copy). */
export function framedBlock(block: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(CHECKSUM_BYTES + block.byteLength);
  out.set(block, CHECKSUM_BYTES);
  checksumInto(block, out, 0);
  return out;
}
