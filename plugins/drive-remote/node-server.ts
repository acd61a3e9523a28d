import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { resolve } from 'node:path';

import { pack, unpack } from 'msgpackr';

import type { NodeServiceFactory } from '../../core/contracts/drive.js';
import type { Logger } from '../../core/contracts/logger.js';
import { JsonLineLogger } from '../../core/logger.js';
import { type Frame, LinkConnection, protocolError } from './link/connection.js';
import { creditPayload, FrameFlag, FrameType, MAX_PAYLOAD } from './link/frame.js';
import { HANDSHAKE_MS, HandshakeReader, MAGIC, nodeHandshake, type Session } from './link/handshake.js';
import { DATA_PIECE, isOperation, OPERATIONS, type OperationName, STREAM_WINDOW, WRITER_WINDOW } from './link/operations.js';
import { type BatchSource, type CallContext, NodeFolder, type OpenWriter } from './node-handlers.js';

export interface NodeServerOptions {
  folder: string;
  secret: string;
  host: string;
  port: number;
  sync: boolean;
  /** the plugins' node-side structures (the listing index), by name (`kintsugi node` runs every plugin's) */
  services?: Readonly<Record<string, NodeServiceFactory>>;
  log?: Logger;
}

/** How many mutating calls' answers are kept for their retries. */
const REMEMBERED_OPS = 20_000;
/** An authenticated connection that sends nothing (a gateway pings every few seconds) for this long is closed. */
const SILENT_GATEWAY_MS = 60_000;
/** Open writers one connection may hold. */
const MAX_WRITERS = 1024;
const END_OF_HEADERS = Buffer.from('\r\n\r\n');
/** A health probe's request must be complete within this many bytes and this long. */
const HEALTH_REQUEST = { bytes: 2048, ms: 5_000 };

type Outcome = { ok: true; answer: unknown } | { ok: false; code: string; message: string };

/** What the gateway is told of a failed call, writer or stream: the error's code (ERR_NODE when it has none) and message. */
function failureOf(err: unknown): { code: string; message: string } {
  const e = err as Error & { code?: unknown };
  return { code: typeof e.code === 'string' ? e.code : 'ERR_NODE', message: e.message };
}

/**
 * `kintsugi node`: one node folder served to the gateways over the node
 * link (see link/). Its one port speaks the link and, for load balancers
 * and orchestrators, exactly one HTTP request: `GET /health`. Anything
 * else — another request, bytes that are not the link's, a peer that
 * cannot prove it holds CLUSTER_SECRET, a handshake not finished within
 * HANDSHAKE_MS — is closed without a word.
 */
export async function serveNode(options: NodeServerOptions): Promise<{ port: number; close: () => Promise<void> }> {
  const folder = new NodeFolder({ folder: resolve(options.folder), sync: options.sync, services: options.services ?? {}, log: options.log ?? new JsonLineLogger() });
  const sockets = new Set<Socket>();
  const spares = new SparePieces();
  /** what each mutating call answered, by operation id: a retry gets the first answer (or waits for it) */
  const answered = new Map<string, Promise<Outcome>>();

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    void accept(socket).catch(() => socket.destroy());
  });

  async function accept(socket: Socket): Promise<void> {
    const reader = new HandshakeReader(socket, HEALTH_REQUEST.bytes);
    const timer = setTimeout(() => reader.fail(new Error('too slow')), HANDSHAKE_MS);
    try {
      const first = await reader.read(4);
      if (first.toString('latin1') === 'GET ') return await health(socket, reader);
      if (!first.equals(MAGIC)) throw new Error('not the link');
      const session = await nodeHandshake(reader, socket, options.secret, first);
      clearTimeout(timer);
      serveSession(socket, session);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Answers `GET /health` (whether the folder is there and writable, nothing more); any other request gets nothing. */
  async function health(socket: Socket, reader: HandshakeReader): Promise<void> {
    const request = `GET ${(await reader.readThrough(END_OF_HEADERS)).toString('latin1')}`;
    if (!/^GET \/health HTTP\/1\.[01]\r\n/.test(request)) throw new Error('not the health check');
    const up = await access(options.folder, constants.W_OK).then(() => stat(options.folder)).then((st) => st.isDirectory(), () => false);
    const body = up ? 'OK\n' : 'unavailable\n';
    socket.end(`HTTP/1.1 ${up ? '200 OK' : '503 Service Unavailable'}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
  }

  function serveSession(socket: Socket, session: Session & { clusterId: string; node: number }): void {
    const { clusterId, node } = session;
    const writers = new Map<number, OpenWriter>();
    /** calls running, and those of them the gateway gave up on (their answers are not sent) */
    const running = new Set<number>();
    const cancelled = new Set<number>();
    /** streamed answers under way: the batches the gateway will still take, and who waits for more */
    const streams = new Map<number, { credit: number; wake?: () => void }>();
    let lastStream = 0;
    const conn = new LinkConnection(socket, session.sealer, session.opener, {
      frame: (f) => frame(f),
      closed: () => {
        clearInterval(silence);
        // A writer cut off with its connection is never committed: its bytes may be torn.
        for (const w of writers.values()) void w.chain.then(() => w.writer.abort()).catch(() => undefined);
        writers.clear();
        // Streams waiting for credit end (and close their sources).
        for (const s of streams.values()) s.wake?.();
      },
    }, session.leftover);
    const silence = setInterval(() => {
      if (Date.now() - conn.lastHeardMs > SILENT_GATEWAY_MS) conn.close(new Error('the gateway went silent'));
    }, SILENT_GATEWAY_MS / 4);
    silence.unref();

    function frame(f: Frame): void {
      const { header } = f;
      switch (header.type) {
        case FrameType.Call: {
          if (header.stream <= lastStream) throw protocolError(`stream ${header.stream} reused`);
          lastStream = header.stream;
          let call: unknown;
          try { call = unpack(f.payload); } catch { throw protocolError('a call that is not msgpack'); }
          if (!Array.isArray(call) || call.length !== 3 || typeof call[1] !== 'object' || call[1] === null) throw protocolError('a malformed call');
          const [op, args, opId] = call as [unknown, object, unknown];
          const deadline = header.deadlineMs > 0 ? Date.now() + header.deadlineMs : Infinity;
          void run(op, args, typeof opId === 'string' ? opId : undefined, header.stream, deadline);
          return;
        }
        case FrameType.Data: return data(header.stream, header.flags, f);
        case FrameType.Cancel: {
          if (running.has(header.stream)) cancelled.add(header.stream);
          streams.get(header.stream)?.wake?.();
          return;
        }
        case FrameType.Credit: {
          const s = streams.get(header.stream);
          if (!s || f.payload.byteLength !== 4) return;
          s.credit += f.payload.readUInt32BE(0);
          s.wake?.();
          return;
        }
        case FrameType.Ping: conn.send(FrameType.Pong, 0, [f.payload]); return;
        default: throw protocolError(`the gateway sent a frame of type ${header.type}`);
      }
    }

    async function run(op: unknown, args: object, opId: string | undefined, stream: number, deadline: number): Promise<void> {
      running.add(stream);
      try {
        await answer(op, args, opId, stream, deadline);
      } finally {
        running.delete(stream);
        cancelled.delete(stream);
      }
    }

    async function answer(op: unknown, args: object, opId: string | undefined, stream: number, deadline: number): Promise<void> {
      let outcome: Outcome;
      if (!isOperation(op)) outcome = { ok: false, code: 'ERR_BAD_REQUEST', message: `no operation ${String(op)}` };
      else if (op === 'writer.open' && writers.size >= MAX_WRITERS) outcome = { ok: false, code: 'ERR_TOO_MANY_WRITERS', message: `more than ${MAX_WRITERS} writers on one connection` };
      else if (Date.now() > deadline) outcome = { ok: false, code: 'ERR_NODE_TIMEOUT', message: `${op}: its deadline passed before it started` };
      else if (opId !== undefined && OPERATIONS[op].mutates) {
        let first = answered.get(opId);
        if (!first) {
          answered.set(opId, (first = execute(op, args, stream)));
          // A Map iterates in insertion order: the oldest go first.
          if (answered.size > REMEMBERED_OPS) answered.delete(answered.keys().next().value!);
        }
        outcome = await first;
      } else if (OPERATIONS[op].stream) {
        return await streamed(op, args, stream);
      } else outcome = await execute(op, args, stream);
      if (cancelled.has(stream) || conn.isClosed) return;
      if (!outcome.ok) { fail(stream, outcome.code, outcome.message); return; }
      const raw = isOperation(op) && OPERATIONS[op].raw === true;
      const body = raw ? (outcome.answer as Buffer) : pack(outcome.answer);
      if (body.byteLength > MAX_PAYLOAD) { fail(stream, 'ERR_TOO_LARGE', `${String(op)}: an answer of ${body.byteLength} bytes`); return; }
      conn.send(FrameType.Reply, stream, [body], raw ? FrameFlag.Raw : 0);
    }

    /**
     * A stream operation's batches, each a Reply marked More but the last,
     * sent while the gateway has credit for them (it grants one per batch
     * it takes): the next batches are on their way while it reads one.
     */
    async function streamed(op: OperationName, args: object, stream: number): Promise<void> {
      const opened = await execute(op, args, stream);
      if (!opened.ok) { if (!conn.isClosed) fail(stream, opened.code, opened.message); return; }
      const source = opened.answer as BatchSource<unknown>;
      const flow: { credit: number; wake?: () => void } = { credit: STREAM_WINDOW };
      streams.set(stream, flow);
      try {
        for (;;) {
          while (flow.credit === 0 && !cancelled.has(stream) && !conn.isClosed) await new Promise<void>((r) => { flow.wake = r; });
          if (cancelled.has(stream) || conn.isClosed) return;
          let next: { batch: unknown; last: boolean };
          try {
            next = await source.next();
          } catch (err) {
            if (!conn.isClosed) { const { code, message } = failureOf(err); fail(stream, code, message); }
            return;
          }
          if (cancelled.has(stream) || conn.isClosed) return;
          flow.credit--;
          conn.send(FrameType.Reply, stream, [pack(next.batch)], next.last ? 0 : FrameFlag.More);
          if (next.last) return;
        }
      } finally {
        streams.delete(stream);
        source.close();
      }
    }

    /** A call's or writer's failure, as the gateway reads it (client-connection.ts). */
    function fail(stream: number, code: string, message: string): void {
      conn.send(FrameType.Fail, stream, [pack({ code, message })]);
    }

    async function execute(op: OperationName, args: object, stream: number): Promise<Outcome> {
      const ctx: CallContext = { clusterId, node, writers, stream };
      try {
        const handler = folder.handlers[op] as (a: object, c: CallContext) => Promise<unknown>;
        return { ok: true, answer: await handler(args, ctx) };
      } catch (err) {
        return { ok: false, ...failureOf(err) };
      }
    }

    /** A writer's bytes: queued behind its earlier ones, credited back once written. */
    function data(stream: number, flags: number, f: Frame): void {
      const w = writers.get(stream);
      if (!w) throw protocolError(`data for stream ${stream}, which has no writer`);
      if (f.header.length < 8) throw protocolError('a data frame without its position');
      const head = f.parts[0]!.byteLength >= 8 ? f.parts[0]! : f.payload;
      const position = (flags & FrameFlag.Append) !== 0 ? undefined : head.readUInt32BE(0) * 0x1_0000_0000 + head.readUInt32BE(4);
      const length = f.header.length - 8;
      w.received += length;
      // The gateway may be ahead of what was written by its window, never more.
      if (w.received > w.credited - w.owed + WRITER_WINDOW) throw protocolError(`stream ${stream} sent beyond its credit`);
      // The pieces are gathered into a buffer of the pool, given back once the file took them.
      const gathered = spares.take(length);
      let skip = 8;
      let at = 0;
      for (const part of f.parts) {
        const piece = part.subarray(Math.min(skip, part.byteLength));
        skip -= part.byteLength - piece.byteLength;
        at += piece.copy(gathered, at);
      }
      conn.hold(length);
      w.chain = w.chain.then(async () => {
        if (!w.failure) await w.writer.write(gathered.subarray(0, length), position);
      }).catch((err: Error) => {
        if (w.failure) return;
        w.failure = err;
        if (!conn.isClosed) { const { code, message } = failureOf(err); fail(stream, code, message); }
      }).finally(() => {
        spares.give(gathered);
        conn.release(length);
        w.credited += length;
        w.owed += length;
        // Credit goes back in half windows (or when the writer caught up): a frame per data frame cost the node a write each.
        if (!conn.isClosed && writers.has(stream) && (w.owed >= WRITER_WINDOW / 2 || w.received === w.credited)) {
          conn.send(FrameType.Credit, stream, [creditPayload(w.owed)]);
          w.owed = 0;
        }
      });
    }
  }

  await new Promise<void>((ok, fail) => { server.once('error', fail); server.listen(options.port, options.host, () => ok()); });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: async () => {
      await new Promise<void>((ok) => { server.close(() => ok()); for (const s of sockets) s.destroy(); });
      await folder.close();
    },
  };
}

/**
 * Buffers for a writer's data frames, reused: a frame's bytes arrive in the
 * pieces they were opened in, and are gathered into one of these for the
 * file — a buffer of fresh pages per megabyte cost more than the copy.
 */
class SparePieces {
  private readonly spare: Buffer[] = [];

  take(length: number): Buffer {
    return length <= PIECE ? this.spare.pop() ?? Buffer.allocUnsafeSlow(PIECE) : Buffer.allocUnsafe(length);
  }

  give(buffer: Buffer): void {
    if (buffer.byteLength === PIECE && this.spare.length < MAX_SPARES) this.spare.push(buffer);
  }
}

/** A gateway's data frames carry at most this; a larger one (allowed, never sent) gets a buffer of its own. */
const PIECE = DATA_PIECE;
/** Spare pieces kept: as many as a connection may hold for its writers (32 MiB). */
const MAX_SPARES = 128;
