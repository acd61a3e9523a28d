/**
 * Many small buffers made for one batch of work (a walk's values copied out
 * of LMDB's shared read buffer, a rebalance batch's record copies): one
 * chunk holds many back to back, so a hundred thousand small values cost a
 * few hundred allocations instead of one each (the allocations and the
 * collector were a fifth of a listing index rebuild's time; Node's 8 KiB
 * pool, refilled every few record copies, a twentieth of a rebalance's). A
 * chunk lives while any buffer in it does: a batch's are let go together.
 * Chunks start small and double, so a batch of a few does not pay for a
 * large one.
 */
export class ByteArena {
  private chunk = Buffer.alloc(0);
  private used = 0;

  constructor(private readonly largestChunk: number) {}

  /** A copy of `bytes`, sharing a chunk with the buffers made before it. */
  copy(bytes: Uint8Array): Buffer {
    const out = this.alloc(bytes.byteLength);
    out.set(bytes);
    return out;
  }

  /** `n` bytes, not zeroed, sharing a chunk with the buffers made before them. */
  alloc(n: number): Buffer {
    // Larger than a quarter of the largest chunk: a buffer of its own (it would waste most of a chunk's tail).
    if (n > this.largestChunk >> 2) return Buffer.allocUnsafeSlow(n);
    if (this.used + n > this.chunk.byteLength) {
      this.chunk = Buffer.allocUnsafe(Math.min(this.largestChunk, Math.max(FIRST_CHUNK, 2 * this.chunk.byteLength, n)));
      this.used = 0;
    }
    const out = this.chunk.subarray(this.used, this.used + n);
    this.used += n;
    return out;
  }
}

/** The first chunk's size: a few small values (Node's pool serves it). */
const FIRST_CHUNK = 2048;
