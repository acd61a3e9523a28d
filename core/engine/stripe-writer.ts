import type { ErasureCoder } from '../contracts/codec.js';
import type { DriveWriter } from '../contracts/drive.js';
import { WriteQuorumError, type NodeFailure } from '../errors.js';
import { blockOffset } from './geometry.js';
import { StripeBuffers } from './shard-format.js';

/**
 * Up to this many stripes are being encoded or written while the next one
 * fills. One was not enough: the event loop sat idle while a stripe went
 * through encode, then checksums, then seven writes. Memory is
 * (DEPTH + 1) stripes x (k+m)/k, about 7 MiB at 4+3, whatever the size.
 */
const DEPTH = 3;

/**
 * Streams an object into k+m shard files: stripes are filled from the
 * source, encoded on the codec (the native build runs on the thread pool),
 * checksummed and written to every node in parallel at their offsets. The
 * source is not read further while DEPTH stripes are in flight.
 */
export class StripeWriter {
  private readonly k: number;
  private readonly m: number;
  private filling: StripeBuffers;
  private readonly free: StripeBuffers[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  private fill = 0;
  private stripes = 0;
  private firstStripeHeld = true;

  constructor(
    private coder: ErasureCoder,
    private readonly writers: (DriveWriter | null)[],
    readonly blockBytes: number,
    private readonly quorum: number,
    /** called once, before the first stripe is encoded, when the object fits one stripe */
    private readonly smallObject: (size: number) => ErasureCoder,
    /** the node of each shard, and the failures met so far (this writer adds its own), for a WriteQuorumError */
    private readonly shardNodes: readonly number[] = [],
    private readonly failures: NodeFailure[] = [],
  ) {
    this.k = coder.params.k;
    this.m = coder.params.m;
    this.filling = new StripeBuffers(this.k + this.m, blockBytes);
  }

  get stripeBytes(): number {
    return this.k * this.blockBytes;
  }

  /** The coder actually used (a small object may switch to a finer packet size). */
  get usedCoder(): ErasureCoder {
    return this.coder;
  }

  /** Copies `chunk` into stripes, flushing each full one. */
  async write(chunk: Uint8Array): Promise<void> {
    let at = 0;
    while (at < chunk.byteLength) {
      const take = Math.min(chunk.byteLength - at, this.stripeBytes - this.fill);
      this.copyIn(chunk.subarray(at, at + take));
      at += take;
      if (this.fill === this.stripeBytes) await this.flush(this.stripeBytes);
    }
  }

  /** Flushes the last, partial stripe and waits for every write. */
  async end(): Promise<number> {
    if (this.fill > 0) await this.flush(this.fill);
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
    return this.stripes;
  }

  private copyIn(part: Uint8Array): void {
    let at = 0;
    while (at < part.byteLength) {
      const shard = Math.floor(this.fill / this.blockBytes);
      const within = this.fill % this.blockBytes;
      const take = Math.min(part.byteLength - at, this.blockBytes - within);
      this.filling.block(shard).set(part.subarray(at, at + take), within);
      at += take;
      this.fill += take;
    }
  }

  private async flush(length: number): Promise<void> {
    let stripe = this.filling;
    let blockBytes = this.blockBytes;
    if (length < this.stripeBytes) {
      if (this.firstStripeHeld) this.coder = this.smallObject(length);
      blockBytes = this.coder.shardSizeFor(length);
      stripe = this.relayout(stripe, length, blockBytes);
      this.free.push(this.filling);
    }
    this.firstStripeHeld = false;
    while (this.inFlight.size >= DEPTH) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const index = this.stripes++;
    const work: Promise<void> = this.encodeAndWrite(stripe, blockBytes, blockOffset(index, this.blockBytes))
      .catch((err) => { this.failure ??= err; })
      .finally(() => {
        this.inFlight.delete(work);
        if (stripe.blockBytes === this.blockBytes) this.free.push(stripe);
      });
    this.inFlight.add(work);
    this.filling = this.free.pop() ?? new StripeBuffers(this.k + this.m, this.blockBytes);
    this.fill = 0;
  }

  /** Re-cuts a short last stripe into k equal (smaller) blocks, zero padded. */
  private relayout(from: StripeBuffers, length: number, blockBytes: number): StripeBuffers {
    const to = new StripeBuffers(this.k + this.m, blockBytes);
    for (let i = 0; i < this.k; i++) to.block(i).fill(0);
    for (let at = 0; at < length;) {
      const src = Math.floor(at / this.blockBytes);
      const dst = Math.floor(at / blockBytes);
      const take = Math.min(this.blockBytes - (at % this.blockBytes), blockBytes - (at % blockBytes), length - at);
      to.block(dst).set(from.block(src).subarray(at % this.blockBytes, (at % this.blockBytes) + take), at % blockBytes);
      at += take;
    }
    return to;
  }

  private async encodeAndWrite(stripe: StripeBuffers, blockBytes: number, position: number): Promise<void> {
    const blocks = Array.from({ length: this.k + this.m }, (_, i) => stripe.block(i, blockBytes));
    await this.coder.encode(blocks.slice(0, this.k), blocks.slice(this.k));
    const framed = blocks.map((_, i) => stripe.seal(i, blockBytes));
    await Promise.all(this.writers.map(async (w, i) => {
      if (!w) return;
      try {
        await w.write(framed[i]!, position);
      } catch (err) {
        this.failures.push({ node: this.shardNodes[i] ?? i, why: (err as Error).message });
        this.writers[i] = null;
        await w.abort().catch(() => undefined);
      }
    }));
    const live = this.writers.filter(Boolean).length;
    if (live < this.quorum) throw new WriteQuorumError(`only ${live} of ${this.writers.length} shard writes succeeded, ${this.quorum} needed`, this.failures);
  }
}
