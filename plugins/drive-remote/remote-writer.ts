import type { DriveWriter } from '../../core/contracts/drive.js';

/** Contiguous writes are gathered into requests of about this size: each request costs a round trip and a signature. */
const BATCH_BYTES = 1 << 20;
/** Batches of one file in flight at once; a write waits (back-pressure) while this many are. */
const BATCHES_IN_FLIGHT = 4;

/** How a RemoteWriter reaches its node. */
export interface WriterCalls {
  /** Writes `body` at `position` (or appends). */
  put(body: Uint8Array, position: number | undefined): Promise<void>;
  commit(path: string | undefined): Promise<void>;
  abort(): Promise<void>;
}

/**
 * A file being written on a node on another host. Positional writes that
 * follow each other are copied into one batch and sent as one request of
 * about BATCH_BYTES, several batches in flight: a shard file's 256 KiB
 * blocks cost a quarter of the round trips and signatures. A write resolves
 * once its bytes are copied (the caller may reuse its buffer) and no more
 * than BATCHES_IN_FLIGHT batches are on their way; a batch that fails fails
 * the next write, or the commit, which is how the engine counts the shard
 * as lost. Appends (no position) are sent in order, one at a time.
 */
export class RemoteWriter implements DriveWriter {
  private batch: Buffer | undefined;
  private length = 0;
  /** where the batch goes: a position, or undefined for appends */
  private start: number | undefined;
  /** batches on their way, with the range each covers */
  private readonly inFlight = new Map<Promise<void>, { from: number; to: number }>();
  private failure: Error | undefined;
  /** batch buffers whose request is done, reused (fewer large allocations, less garbage collection) */
  private readonly spare: Buffer[] = [];

  constructor(private readonly calls: WriterCalls) {}

  async write(chunk: Uint8Array, position?: number): Promise<void> {
    if (this.failure) throw this.failure;
    const follows = this.length > 0 && (position === undefined ? this.start === undefined : this.start !== undefined && position === this.start + this.length);
    if (this.length > 0 && !follows) await this.flush();
    if (this.length === 0) {
      this.start = position;
      this.batch ??= (chunk.byteLength <= BATCH_BYTES ? this.spare.pop() : undefined) ?? Buffer.allocUnsafe(Math.max(BATCH_BYTES, chunk.byteLength));
    }
    if (this.length + chunk.byteLength > this.batch!.byteLength) {
      const bigger = Buffer.allocUnsafe(this.length + chunk.byteLength);
      this.batch!.copy(bigger, 0, 0, this.length);
      this.batch = bigger;
    }
    this.batch!.set(chunk, this.length);
    this.length += chunk.byteLength;
    if (this.length >= BATCH_BYTES) await this.flush();
    if (this.failure) throw this.failure;
  }

  /** Sends the batch gathered so far (waiting for room among the batches in flight). */
  private async flush(): Promise<void> {
    if (this.length === 0) return;
    const buffer = this.batch!;
    const body = buffer.subarray(0, this.length);
    const position = this.start;
    this.batch = undefined;
    this.length = 0;
    // Appends go in order: the one before must have landed. A batch that
    // overwrites bytes of one still on its way waits for it (last write wins).
    const from = position ?? -1;
    const to = position === undefined ? Infinity : position + body.byteLength;
    const room = position === undefined ? 1 : BATCHES_IN_FLIGHT;
    const overlapping = () => [...this.inFlight].filter(([, r]) => position === undefined || (r.from < to && from < r.to)).map(([p]) => p);
    for (let wait = overlapping(); this.inFlight.size >= room || wait.length > 0; wait = overlapping()) {
      await Promise.race(wait.length > 0 ? wait : this.inFlight.keys());
    }
    const sent: Promise<void> = this.calls.put(body, position)
      .catch((err: Error) => { this.failure ??= err; })
      .finally(() => {
        this.inFlight.delete(sent);
        if (buffer.byteLength === BATCH_BYTES) this.spare.push(buffer);
      });
    this.inFlight.set(sent, { from, to });
  }

  async commit(path?: string): Promise<void> {
    await this.flush();
    await Promise.all(this.inFlight.keys());
    if (this.failure) throw this.failure;
    await this.calls.commit(path);
  }

  async abort(): Promise<void> {
    this.batch = undefined;
    this.length = 0;
    await Promise.all(this.inFlight.keys());
    await this.calls.abort();
  }
}
