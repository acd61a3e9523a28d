import type { Socket } from 'node:net';

import { pack, unpack } from 'msgpackr';

import { nodeFault } from '../../../core/errors.js';
import { type Frame, LinkConnection, protocolError } from './connection.js';
import { creditPayload, FrameFlag, FrameType } from './frame.js';
import type { Session } from './handshake.js';
import { type Answer, type Args, OPERATIONS, type OperationName, type StreamOperation } from './operations.js';

/** A frame from the node at least this often while a call waits, or the connection is taken for dead. */
const SILENCE_MS = 10_000;
/** An idle connection is pinged this often: a dead peer is found before a call needs it. */
const PING_MS = 5_000;

interface PendingCall {
  resolve(answer: unknown): void;
  reject(err: Error): void;
  raw: boolean;
  timer: NodeJS.Timeout;
}

/** A writer's stream as the gateway sees it: how far ahead it may send, and whether the node failed it. */
export interface WriterStream {
  credit: number;
  failure?: Error;
  /** writes waiting for credit (positional writes may be in flight together): all are woken by news */
  readonly waiting: Set<() => void>;
}

/** A streamed answer as the gateway receives it: batches that arrived and were not taken yet. */
interface IncomingStream {
  readonly batches: unknown[];
  ended: boolean;
  failure?: Error;
  wake?: () => void;
}

/** A stream operation's answer: its batches in order (see OperationSpec.stream). */
export interface BatchStream<T> {
  /** The next batch; rejects when the node failed the stream, the connection broke, or no batch came within the timeout. */
  next(): Promise<T>;
  /** Tells the node to stop (the caller went elsewhere). */
  cancel(): void;
}

function wake(w: WriterStream): void {
  for (const resume of w.waiting) resume();
  w.waiting.clear();
}

/** A connection closed under its calls: they may or may not have reached the node, and may be sent again. */
export function brokenLink(why: Error): Error & { code: string } {
  return Object.assign(new Error(`the node link broke: ${why.message}`), { code: 'ERR_LINK_BROKEN', cause: why });
}

/**
 * The gateway's end of one link connection: calls by stream id (odd or
 * even does not matter — only the gateway opens streams, in increasing
 * order), their answers, writers' credit, pings.
 */
export class ClientConnection {
  private readonly link: LinkConnection;
  private readonly socket: Socket;
  private nextStream = 1;
  private readonly calls = new Map<number, PendingCall>();
  private readonly writers = new Map<number, WriterStream>();
  private readonly streams = new Map<number, IncomingStream>();
  private readonly liveness: NodeJS.Timeout;
  private lastSentMs = Date.now();

  constructor(socket: Socket, session: Session, private readonly where: string) {
    this.socket = socket;
    this.link = new LinkConnection(socket, session.sealer, session.opener, {
      frame: (f) => this.frame(f),
      closed: (why) => this.closed(why),
    }, session.leftover);
    this.liveness = setInterval(() => this.check(), PING_MS / 2);
    this.liveness.unref();
    this.busy();
  }

  get isClosed(): boolean {
    return this.link.isClosed;
  }

  /** A new stream id on this connection. */
  stream(): number {
    return this.nextStream++;
  }

  call<K extends OperationName>(op: K, args: Args<K>, opId: string | null, timeoutMs: number, stream = this.stream()): Promise<Answer<K>> {
    if (this.link.isClosed) return Promise.reject(brokenLink(new Error('closed')));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.calls.delete(stream);
        this.busy();
        this.link.send(FrameType.Cancel, stream);
        reject(nodeFault('ERR_NODE_GONE', `${this.where}: no answer to ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.calls.set(stream, { resolve: resolve as (a: unknown) => void, reject, raw: OPERATIONS[op].raw ?? false, timer });
      this.busy();
      this.sent();
      this.link.send(FrameType.Call, stream, [pack([op, args, opId])], 0, timeoutMs);
    });
  }

  /**
   * Calls a stream operation: the node sends its first batches at once
   * (STREAM_WINDOW of them) and one more for each taken, so the next is
   * usually here when asked for. Each batch must come within `timeoutMs`
   * of being asked for.
   */
  openStream<K extends StreamOperation>(op: K, args: Args<K>, timeoutMs: number): BatchStream<Answer<K>> {
    const stream = this.stream();
    const incoming: IncomingStream = { batches: [], ended: false };
    const stop = () => {
      if (!this.streams.delete(stream)) return;
      this.busy();
      if (!incoming.ended && !this.link.isClosed) this.link.send(FrameType.Cancel, stream);
    };
    if (this.link.isClosed) incoming.failure = brokenLink(new Error('closed'));
    else {
      this.streams.set(stream, incoming);
      this.busy();
      this.sent();
      this.link.send(FrameType.Call, stream, [pack([op, args, null])], 0, timeoutMs);
    }
    return {
      next: async () => {
        while (incoming.batches.length === 0) {
          if (incoming.failure) throw incoming.failure;
          if (incoming.ended) throw new Error(`${this.where}: ${op} read past its last batch`);
          const came = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), timeoutMs);
            incoming.wake = () => { clearTimeout(timer); resolve(true); };
          });
          incoming.wake = undefined;
          if (!came) { stop(); throw nodeFault('ERR_NODE_GONE', `${this.where}: no batch of ${op} within ${timeoutMs} ms`); }
        }
        const batch = incoming.batches.shift() as Answer<K>;
        if (!incoming.ended && !this.link.isClosed) {
          this.sent();
          this.link.send(FrameType.Credit, stream, [creditPayload(1)]);
        }
        return batch;
      },
      cancel: stop,
    };
  }

  /** Registers the writer about to be opened on `stream`, with the credit the node grants every writer. */
  addWriter(stream: number, credit: number): WriterStream {
    const w: WriterStream = { credit, waiting: new Set() };
    this.writers.set(stream, w);
    this.busy();
    return w;
  }

  dropWriter(stream: number): void {
    this.writers.delete(stream);
    this.busy();
  }

  /** An idle connection does not keep the process alive (a CLI command ends when its work does). */
  private busy(): void {
    if (this.calls.size > 0 || this.writers.size > 0 || this.streams.size > 0) this.socket.ref();
    else this.socket.unref();
  }

  /** Sends a writer's bytes (its credit already taken: the credit, not the socket's buffer, bounds what is on its way). */
  data(stream: number, position: number | undefined, bytes: Uint8Array): void {
    const at = Buffer.allocUnsafe(8);
    at.writeUInt32BE(Math.floor((position ?? 0) / 0x1_0000_0000), 0);
    at.writeUInt32BE((position ?? 0) >>> 0, 4);
    this.sent();
    this.link.send(FrameType.Data, stream, [at, bytes], position === undefined ? FrameFlag.Append : 0);
  }

  close(): void {
    this.link.close(new Error('closed by the gateway'));
  }

  private sent(): void {
    this.lastSentMs = Date.now();
  }

  private frame({ header, payload }: Frame): void {
    switch (header.type) {
      case FrameType.Reply: case FrameType.Fail: {
        const incoming = this.streams.get(header.stream);
        if (incoming) {
          if (header.type === FrameType.Fail) incoming.failure = failure(payload, this.where);
          else incoming.batches.push(unpack(payload));
          if (header.type === FrameType.Fail || (header.flags & FrameFlag.More) === 0) {
            incoming.ended = true;
            this.streams.delete(header.stream);
            this.busy();
          }
          incoming.wake?.();
          return;
        }
        const call = this.calls.get(header.stream);
        if (!call) {
          // A writer the node failed after opening it, or an answer to a call given up on.
          const w = this.writers.get(header.stream);
          if (w && header.type === FrameType.Fail) { w.failure = failure(payload, this.where); wake(w); }
          return;
        }
        this.calls.delete(header.stream);
        clearTimeout(call.timer);
        this.busy();
        if (header.type === FrameType.Fail) call.reject(failure(payload, this.where));
        else call.resolve(call.raw || (header.flags & FrameFlag.Raw) !== 0 ? payload : unpack(payload));
        return;
      }
      case FrameType.Credit: {
        const w = this.writers.get(header.stream);
        if (w && payload.byteLength === 4) { w.credit += payload.readUInt32BE(0); wake(w); }
        return;
      }
      case FrameType.Pong: return;
      default: throw protocolError(`the node sent a frame of type ${header.type}`);
    }
  }

  private check(): void {
    const now = Date.now();
    const waiting = this.calls.size > 0 || [...this.streams.values()].some((s) => s.wake !== undefined) || [...this.writers.values()].some((w) => w.waiting.size > 0);
    if (waiting && now - this.link.lastHeardMs > SILENCE_MS) {
      this.link.close(new Error(`nothing from the node for ${SILENCE_MS} ms`));
    } else if (now - this.lastSentMs >= PING_MS) {
      this.sent();
      this.link.send(FrameType.Ping, 0);
    }
  }

  private closed(why: Error): void {
    clearInterval(this.liveness);
    const broken = brokenLink(why);
    for (const call of this.calls.values()) { clearTimeout(call.timer); call.reject(broken); }
    this.calls.clear();
    for (const incoming of this.streams.values()) { incoming.failure = broken; incoming.wake?.(); }
    this.streams.clear();
    // A writer is not sent again: the node aborted it with the connection.
    const gone = nodeFault('ERR_NODE_GONE', `${this.where}: ${broken.message}`);
    for (const w of this.writers.values()) { w.failure ??= gone; wake(w); }
  }
}

function failure(payload: Buffer, where: string): Error {
  let reported: { code?: string; message?: string } = {};
  try { reported = unpack(payload) as typeof reported; } catch { /* a node that speaks nonsense */ }
  return nodeFault(reported.code ?? 'ERR_NODE', `${where}: ${reported.message ?? 'failed'}`);
}
