import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * MD5 (the S3 ETag) of large objects on a worker thread. MD5 runs at about
 * 600 MB/s on one core and cannot be split, so on the event loop it was a
 * quarter of a put's CPU time; the worker hashes while the event loop moves
 * data and the thread pool encodes and writes. Chunks are copied across
 * (memcpy is ~20x faster than MD5), so callers may reuse their buffers.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (msg) => {
  if (msg.op === 'update') {
    let h = jobs.get(msg.id);
    if (!h) { h = createHash('md5'); jobs.set(msg.id, h); }
    for (const part of msg.parts) h.update(new Uint8Array(part));
  } else if (msg.op === 'digest') {
    const h = jobs.get(msg.id) ?? createHash('md5');
    jobs.delete(msg.id);
    parentPort.postMessage({ id: msg.id, hex: h.digest('hex') });
  }
});
`;

export class Md5Worker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, (hex: string) => void>();

  private get thread(): Worker {
    if (!this.worker) {
      this.worker = new Worker(WORKER_SOURCE, { eval: true });
      this.worker.unref();
      this.worker.on('message', (m: { id: number; hex: string }) => {
        this.waiting.get(m.id)?.(m.hex);
        this.waiting.delete(m.id);
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

  /** @internal */
  update(id: number, parts: Uint8Array[]): void {
    const copies = parts.map((p) => p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength) as ArrayBuffer);
    this.thread.postMessage({ op: 'update', id, parts: copies }, copies);
  }

  /** @internal */
  digest(id: number): Promise<string> {
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.thread.ref();
      this.thread.postMessage({ op: 'digest', id });
    }).finally(() => { if (this.waiting.size === 0) this.worker?.unref(); }) as Promise<string>;
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }
}

/**
 * Small objects are hashed inline (a worker round trip costs more than
 * hashing them); bytes held back until `offloadAfter` go to the worker in
 * one message, everything after follows as it comes.
 */
export class StreamingMd5 {
  private inline: Hash | undefined = createHash('md5');
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private id = 0;

  constructor(private readonly pool: Md5Worker, private readonly offloadAfter: number) {}

  update(chunk: Uint8Array): void {
    if (this.id) {
      this.pool.update(this.id, [chunk]);
      return;
    }
    this.held.push(chunk);
    this.heldBytes += chunk.byteLength;
    if (this.heldBytes >= this.offloadAfter) {
      this.id = this.pool.open();
      this.pool.update(this.id, this.held);
      this.held = [];
      this.inline = undefined;
    }
  }

  async digest(): Promise<string> {
    if (this.id) return this.pool.digest(this.id);
    const h = this.inline!;
    for (const part of this.held) h.update(part);
    return h.digest('hex');
  }
}
