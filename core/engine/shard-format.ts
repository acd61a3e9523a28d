import { CHECKSUM_BYTES, checksumInto, checksumMatches } from '../checksum.js';
import type { DriveFile } from '../contracts/drive.js';

/**
 * The shard-file format, in one place: a shard file is its framed blocks in
 * stripe order (offsets: Geometry), and a framed block is an xxHash64 of the
 * block followed by the block. A block whose checksum fails, or that is
 * short, is no block at all: it is rebuilt from the others.
 */
export const FRAME_BYTES = CHECKSUM_BYTES;

/** Where a block starts in its slot: 64-byte aligned, its checksum just before it. */
const HEAD = 64;

/**
 * One stripe's worth of block buffers: k+m slots, each [.. checksum | block]
 * so that a block and its checksum go to the file in one write, and every
 * block starts 64-byte aligned (gf-complete's SIMD paths want that).
 */
export class StripeBuffers {
  private readonly backing: Buffer;
  private readonly stride: number;

  constructor(readonly count: number, readonly blockBytes: number) {
    this.stride = Math.ceil((HEAD + blockBytes) / 64) * 64;
    const raw = Buffer.allocUnsafeSlow(this.stride * count + 64);
    const skew = (64 - (raw.byteOffset % 64)) % 64;
    this.backing = raw.subarray(skew);
  }

  block(i: number, bytes = this.blockBytes): Buffer {
    return this.backing.subarray(i * this.stride + HEAD, i * this.stride + HEAD + bytes);
  }

  /** Block i (its first `bytes`) with the checksum room before it: where a framed block is read into. */
  framed(i: number, bytes = this.blockBytes): Buffer {
    return this.backing.subarray(i * this.stride + HEAD - FRAME_BYTES, i * this.stride + HEAD + bytes);
  }

  /** Seals block i (its first `bytes`) with its checksum and returns it framed, as a shard file stores it. */
  seal(i: number, bytes = this.blockBytes): Buffer {
    const framed = this.framed(i, bytes);
    checksumInto(framed.subarray(FRAME_BYTES), framed, 0);
    return framed;
  }
}

/** A block framed in a buffer of its own (a copy): for blocks that do not live in StripeBuffers. */
export function frameBlock(block: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_BYTES + block.byteLength);
  out.set(block, FRAME_BYTES);
  checksumInto(block, out, 0);
  return out;
}

/** The block inside a framed block of `blockBytes`, or null when it is short or fails its checksum. */
export function unframe(framed: Uint8Array, blockBytes: number): Uint8Array | null {
  const block = framed.subarray(FRAME_BYTES);
  return block.byteLength === blockBytes && checksumMatches(block, framed, 0) ? block : null;
}

/** Where a stripe's framed block lies in a shard file, and its size (a Geometry). */
interface BlockPlaces {
  offset(s: number): number;
  blockBytesOf(s: number): number;
}

/**
 * Stripe s's block from a shard file: null when damaged; a read that fails
 * throws. With `into`, the block is read into its slot there (framed, ready
 * to be sealed again) and the result is that slot's block.
 */
export async function readBlock(file: DriveFile, geometry: BlockPlaces, s: number, into?: { buffers: StripeBuffers; slot: number }): Promise<Uint8Array | null> {
  const bytes = geometry.blockBytesOf(s);
  return unframe(await file.read(geometry.offset(s), FRAME_BYTES + bytes, into?.buffers.framed(into.slot, bytes)), bytes);
}
