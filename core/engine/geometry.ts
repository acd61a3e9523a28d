import type { ErasureCoder } from '../contracts/codec.js';
import { FRAME_BYTES } from './shard-format.js';

/*
 * Glossary of the data path — one name per quantity:
 *
 *   stripe          k data blocks and m parity blocks coded together; an
 *                   object is a sequence of stripes.
 *   stripeBytes     object bytes a full stripe holds: k × blockBytes. Set by
 *                   BLOCKSIZE (rounded to the code's alignment); kept per span.
 *   block           one shard's part of one stripe (data or parity).
 *   blockBytes      bytes of a full stripe's block. The last stripe of a span
 *                   may be short: its blocks are `lastBlockBytes`, still
 *                   aligned (see ErasureCoder.shardSizeFor).
 *   framed block    a block as a shard file stores it: its checksum
 *                   (FRAME_BYTES) then the block (shard-format.ts).
 *   shard file      shard i's framed blocks of every stripe, in order; stripe
 *                   s starts at offset(s) = s × (FRAME_BYTES + blockBytes).
 *   shardFileBytes  the size of a complete shard file.
 *   span            one run of stripes with one code and one stripeBytes: a
 *                   whole object, or one part of a multipart upload.
 */

/** Where stripe s's framed block starts in a shard file whose full blocks are `blockBytes`. */
export function blockOffset(s: number, blockBytes: number): number {
  return s * (FRAME_BYTES + blockBytes);
}

/** How a span's bytes map onto stripes, blocks and shard files (see the glossary above). */
export class Geometry {
  readonly stripes: number;
  readonly blockBytes: number;
  readonly lastBlockBytes: number;

  constructor(readonly size: number, readonly stripeBytes: number, coder: ErasureCoder) {
    this.blockBytes = stripeBytes / coder.params.k;
    this.stripes = Math.ceil(size / stripeBytes);
    const last = size - (this.stripes - 1) * stripeBytes;
    this.lastBlockBytes = this.stripes === 0 ? 0 : coder.shardSizeFor(last);
  }

  /** Object bytes held by stripe s. */
  dataBytesOf(s: number): number {
    return s < this.stripes - 1 ? this.stripeBytes : this.size - (this.stripes - 1) * this.stripeBytes;
  }

  /** Bytes of each block of stripe s. */
  blockBytesOf(s: number): number {
    return s < this.stripes - 1 ? this.blockBytes : this.lastBlockBytes;
  }

  /** Where stripe s's framed block starts in a shard file. */
  offset(s: number): number {
    return blockOffset(s, this.blockBytes);
  }

  /** Size every shard file has when complete. */
  get shardFileBytes(): number {
    return this.stripes === 0 ? 0 : this.offset(this.stripes - 1) + FRAME_BYTES + this.lastBlockBytes;
  }
}

/**
 * The Cauchy packet size for an object that fits in one stripe: the largest
 * power of two (8..configured; jerasure needs a multiple of 8 bytes) whose
 * alignment (8 packets) fits a data block eight times, so padding a block
 * to the alignment adds at most an eighth: a 64 KiB object at 4+3 is
 * stored as 7 x 16 KiB, and a 3,000-byte one as 7 x 768 bytes, not 7 x 1
 * KiB (a small object's padding is stored seven times). Larger objects use
 * the configured size.
 */
export function packetSizeFor(size: number, k: number, configured: number): number {
  const perShard = Math.ceil(size / k);
  let p = 8;
  while (p * 2 <= configured && p * 2 * 8 * 8 <= perShard) p *= 2;
  return Math.min(p, configured);
}
