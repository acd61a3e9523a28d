/**
 * Where a walk's values are copied out of LMDB's shared read buffer: one
 * chunk holds many values back to back, so a walk of a hundred thousand
 * small values allocates a few hundred chunks instead of a buffer each
 * (the allocations and the collector were a fifth of a listing index
 * rebuild's time). A chunk lives while any value in it does: a walk's
 * values are held for one batch, then let go together.
 */
export class ValueArena {
  private chunk = Buffer.alloc(0);
  private used = 0;

  constructor(private readonly chunkBytes: number) {}

  /** A copy of `bytes`, sharing a chunk with the values copied before it. */
  copy(bytes: Uint8Array): Buffer {
    const n = bytes.byteLength;
    // A value larger than a quarter chunk gets its own buffer: it would waste most of a chunk's tail.
    if (n > this.chunkBytes >> 2) return Buffer.from(bytes);
    if (this.used + n > this.chunk.byteLength) {
      this.chunk = Buffer.allocUnsafeSlow(this.chunkBytes);
      this.used = 0;
    }
    const out = this.chunk.subarray(this.used, this.used + n);
    out.set(bytes);
    this.used += n;
    return out;
  }
}
