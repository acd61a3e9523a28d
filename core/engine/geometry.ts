import { CHECKSUM_BYTES } from '../checksum.js';
import type { ErasureCoder } from '../contracts/codec.js';

/**
 * How an object's bytes map onto stripes and shard files. Every stripe but
 * the last holds `stripeBytes` = k x shardBytes; the last holds the rest in
 * shards of its own (smaller, still aligned) size. Shard file i stores, for
 * each stripe, an 8-byte xxHash64 and then the stripe's block of shard i.
 */
export class Geometry {
  readonly stripes: number;
  readonly shardBytes: number;
  readonly lastShardBytes: number;
  readonly stripeBytes: number;

  constructor(readonly size: number, stripeBytes: number, coder: ErasureCoder) {
    this.stripeBytes = stripeBytes;
    this.shardBytes = stripeBytes / coder.params.k;
    this.stripes = Math.ceil(size / stripeBytes);
    const last = size - (this.stripes - 1) * stripeBytes;
    this.lastShardBytes = this.stripes === 0 ? 0 : coder.shardSizeFor(last);
  }

  /** Data bytes held by stripe i. */
  dataBytes(i: number): number {
    return i < this.stripes - 1 ? this.stripeBytes : this.size - (this.stripes - 1) * this.stripeBytes;
  }

  /** Bytes of each shard block of stripe i. */
  blockBytes(i: number): number {
    return i < this.stripes - 1 ? this.shardBytes : this.lastShardBytes;
  }

  /** Offset of stripe i's checksum in a shard file. */
  offset(i: number): number {
    return i * (this.shardBytes + CHECKSUM_BYTES);
  }

  /** Size every shard file has when complete. */
  get shardFileBytes(): number {
    return this.stripes === 0 ? 0 : this.offset(this.stripes - 1) + CHECKSUM_BYTES + this.lastShardBytes;
  }
}

/**
 * The Cauchy packet size for an object that fits in one stripe: the largest
 * power of two (64..configured) whose alignment (8 packets) does not exceed a
 * data shard, so a 64 KiB object at 4+3 is stored as 7 x 16 KiB, not padded
 * to 7 x 32 KiB. Larger objects use the configured size.
 */
export function packetSizeFor(size: number, k: number, configured: number): number {
  const perShard = Math.ceil(size / k);
  let p = 64;
  while (p * 2 <= configured && p * 2 * 8 <= perShard) p *= 2;
  return Math.min(p, configured);
}
