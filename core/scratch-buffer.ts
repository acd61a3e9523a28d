/**
 * One buffer reused for work that is done with it before the next use (a
 * read checked at once, a value the database copies before the call
 * returns): a fresh large buffer per use costs page faults, then the
 * collector unmapping it. It grows, never shrinks, until released.
 */
export class ScratchBuffer {
  private buffer: Buffer | undefined;

  constructor(private readonly firstBytes: number) {}

  /** `bytes` of it, valid until the next call. */
  room(bytes: number): Buffer {
    if (!this.buffer || this.buffer.byteLength < bytes) {
      this.buffer = Buffer.allocUnsafeSlow(Math.max(bytes, this.firstBytes, 2 * (this.buffer?.byteLength ?? 0)));
    }
    return this.buffer.subarray(0, bytes);
  }

  /** Lets the memory go (the next room allocates again). */
  release(): void {
    this.buffer = undefined;
  }
}
