import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * MD5 (the S3 ETag) of large objects on a worker thread. MD5 runs at about
 * 600 MB/s on one core and cannot be split, so on the event loop it was a
 * quarter of a put's CPU time; the worker hashes while the event loop moves
 * data and the thread pool encodes and writes.
 *
 * Bytes travel in a fixed pool of 1 MiB buffers that are transferred to the
 * worker and back, so hashing neither allocates per chunk nor leaves garbage
 * for the collector (which had let a 2 GiB put's RSS climb past 230 MiB).
 * When every buffer is out, `update` waits: back-pressure from the hasher.
 */
const SLOT_BYTES = 1 << 20;
// Buffers are sent full since chunks are coalesced: 8 MiB in flight keep
// the hasher busy, and fewer keep a 5 GiB put's RSS further from its bound.
const SLOTS = 8;

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (msg) => {
  if (msg.op === 'update') {
    let h = jobs.get(msg.id);
    if (!h) { h = createHash('md5'); jobs.set(msg.id, h); }
    h.update(new Uint8Array(msg.buf, 0, msg.len));
    parentPort.postMessage({ op: 'return', buf: msg.buf }, [msg.buf]);
  } else if (msg.op === 'digest') {
    const h = jobs.get(msg.id) ?? createHash('md5');
    jobs.delete(msg.id);
    parentPort.postMessage({ op: 'digest', id: msg.id, hex: h.digest('hex') });
  }
});
`;

export class Md5Worker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, (hex: string) => void>();
  private readonly free: ArrayBuffer[] = [];
  private slots = 0;
  private readonly slotWaiters: (() => void)[] = [];

  private get thread(): Worker {
    if (!this.worker) {
      this.worker = new Worker(WORKER_SOURCE, { eval: true });
      this.worker.unref();
      this.worker.on('message', (m: { op: string; id: number; hex: string; buf: ArrayBuffer }) => {
        if (m.op === 'return') {
          this.free.push(m.buf);
          this.slotWaiters.shift()?.();
        } else {
          this.waiting.get(m.id)?.(m.hex);
          this.waiting.delete(m.id);
        }
      });
    }
    return this.worker;
  }

  /** A hash that starts on the event loop and moves to the worker once `offloadAfter` bytes arrived. */
  hasher(offloadAfter: number): StreamingMd5 {
    return new StreamingMd5(this, offloadAfter);
  }

  /** @internal */
  open(): number {
    return this.nextId++;
  }

  /** @internal Sends `len` bytes of a pool buffer to be hashed; the buffer comes back to the pool. */
  send(id: number, buf: ArrayBuffer, len: number): void {
    this.thread.postMessage({ op: 'update', id, buf, len }, [buf]);
  }

  /** @internal Gives back a pool buffer that was not sent (an abandoned hash). */
  giveBack(buf: ArrayBuffer): void {
    this.free.push(buf);
    this.slotWaiters.shift()?.();
  }

  /** @internal A free pool buffer; waits when all are out. */
  async slot(): Promise<ArrayBuffer> {
    for (;;) {
      const buf = this.free.pop();
      if (buf) return buf;
      if (this.slots < SLOTS) {
        this.slots++;
        return new ArrayBuffer(SLOT_BYTES);
      }
      this.thread.ref();
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
      if (this.waiting.size === 0) this.worker?.unref();
    }
  }

  /** @internal */
  digest(id: number): Promise<string> {
    return new Promise<string>((resolve) => {
      this.waiting.set(id, resolve);
      this.thread.ref();
      this.thread.postMessage({ op: 'digest', id });
    }).finally(() => { if (this.waiting.size === 0) this.worker?.unref(); });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }
}

/**
 * Small objects are hashed inline (a worker round trip costs more than
 * hashing them); bytes held back until `offloadAfter` go to the worker,
 * everything after follows as it comes.
 */
export class StreamingMd5 {
  private inline: Hash | undefined = createHash('md5');
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private id = 0;
  /**
   * The pool buffer being filled: request bodies arrive in 64 KiB chunks,
   * and one message per chunk cost the event loop more than the hashing
   * saved; one message per full 1 MiB buffer costs 16 times less.
   */
  private buf: ArrayBuffer | undefined;
  private fill = 0;

  constructor(private readonly pool: Md5Worker, private readonly offloadAfter: number) {}

  async update(chunk: Uint8Array): Promise<void> {
    if (this.id) return this.feed(chunk);
    this.held.push(chunk);
    this.heldBytes += chunk.byteLength;
    if (this.heldBytes >= this.offloadAfter) {
      this.id = this.pool.open();
      const held = this.held;
      this.held = [];
      this.inline = undefined;
      for (const part of held) await this.feed(part);
    }
  }

  private async feed(chunk: Uint8Array): Promise<void> {
    for (let at = 0; at < chunk.byteLength;) {
      if (!this.buf) {
        this.buf = await this.pool.slot();
        this.fill = 0;
      }
      const take = Math.min(SLOT_BYTES - this.fill, chunk.byteLength - at);
      new Uint8Array(this.buf, this.fill, take).set(chunk.subarray(at, at + take));
      this.fill += take;
      at += take;
      if (this.fill === SLOT_BYTES) this.flush();
    }
  }

  private flush(): void {
    if (this.buf) this.pool.send(this.id, this.buf, this.fill);
    this.buf = undefined;
  }

  async digest(): Promise<string> {
    if (this.id) {
      this.flush();
      return this.pool.digest(this.id);
    }
    const h = this.inline!;
    for (const part of this.held) h.update(part);
    return h.digest('hex');
  }

  /** Returns a buffer still held to the pool, when the put fails before digest. */
  abandon(): void {
    if (this.buf) this.pool.giveBack(this.buf);
    this.buf = undefined;
    // The worker drops a hash once it has been asked for its digest.
    if (this.id) void this.pool.digest(this.id);
    this.id = 0;
  }
}
