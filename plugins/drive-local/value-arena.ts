/**
 * Where a walk's values are copied out of LMDB's shared read buffer: one
 * chunk holds many values back to back, so a walk of a hundred thousand
 * small values allocates a few hundred chunks instead of a buffer each
 * (the allocations and the collector were a fifth of a listing index
 * rebuild's time). A chunk lives while any value in it does: a walk's
 * values are held for one batch, then let go together. Chunks start small
 * and double, so a walk of a few rows does not pay for a large one.
 */
export class ValueArena {
  private chunk = Buffer.alloc(0);
  private used = 0;

  constructor(private readonly largestChunk: number) {}

  /** A copy of `bytes`, sharing a chunk with the values copied before it. */
  copy(bytes: Uint8Array): Buffer {
    const n = bytes.byteLength;
    // A value larger than a quarter of the largest chunk gets its own buffer: it would waste most of a chunk's tail.
    if (n > this.largestChunk >> 2) return Buffer.from(bytes);
    if (this.used + n > this.chunk.byteLength) {
      this.chunk = Buffer.allocUnsafe(Math.min(this.largestChunk, Math.max(FIRST_CHUNK, 2 * this.chunk.byteLength, n)));
      this.used = 0;
    }
    const out = this.chunk.subarray(this.used, this.used + n);
    out.set(bytes);
    this.used += n;
    return out;
  }
}

/** The first chunk's size: a few small values (Node's pool serves it). */
const FIRST_CHUNK = 2048;
