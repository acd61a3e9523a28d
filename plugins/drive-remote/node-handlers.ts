import type { DriveFile, DriveWriter, NodeServiceFactory } from '../../core/contracts/drive.js';
import type { Logger } from '../../core/contracts/logger.js';
import { nodeFault } from '../../core/errors.js';
import { identityMismatch, type NodeIdentity } from '../../core/node-identity.js';
import { NodeHost } from '../../core/node-host.js';
import { LocalDrive, readIdentity } from '../drive-local/index.js';
import { MAX_PAYLOAD } from './link/frame.js';
import { type Answer, type Args, type OperationName, type StreamOperation, toWireRow } from './link/operations.js';

/** What a call runs with: the cluster and node its connection was opened for, and the connection's writers. */
export interface CallContext {
  readonly clusterId: string;
  readonly node: number;
  /** writers opened on this connection, by their stream */
  readonly writers: Map<number, OpenWriter>;
  /** the stream the call came on (a writer.open makes it the writer's) */
  readonly stream: number;
}

/** A writer a gateway opened, with what arrived for it so far. */
export interface OpenWriter {
  readonly writer: DriveWriter;
  /** bytes received (and queued for the file) */
  received: number;
  /** bytes written (the gateway's credit grows by them) */
  credited: number;
  /** bytes written whose credit has not been sent yet */
  owed: number;
  /** writes run one after another: positions may overlap, the last wins */
  chain: Promise<void>;
  failure?: Error;
}

/** What a stream operation's handler gives: its batches, one at a time, until one is `last`. */
export interface BatchSource<T> {
  next(): Promise<{ batch: T; last: boolean }>;
  close(): void;
}

/** Every operation of the table, implemented against the node's folder (a stream operation by its batches). */
export type NodeHandlers = {
  readonly [K in OperationName]: (args: Args<K>, ctx: CallContext) => Promise<K extends StreamOperation ? BatchSource<Answer<K>> : Answer<K>>
};

/** Rows a streamed batch carries at most. */
const MAX_STREAM_BATCH = 4096;

/** Open files a gateway forgot (it died) are closed after this long unused. */
const IDLE_MS = 10 * 60_000;

export interface NodeFolderOptions {
  folder: string;
  sync: boolean;
  services: Readonly<Record<string, NodeServiceFactory>>;
  log: Logger;
}

/**
 * One node folder as the gateways' calls reach it: the drive for the
 * cluster and index a connection names (refused, per call, when the folder
 * carries another identity — a disk swapped under a running node is
 * noticed), open files shared by all connections, the plugins' node-side
 * services.
 */
export class NodeFolder {
  private drive: LocalDrive | undefined;
  private identity: NodeIdentity | 'missing' | undefined;
  private host: NodeHost | undefined;
  private readonly files = new Map<number, { file: DriveFile; usedMs: number }>();
  private nextHandle = 1;
  private readonly sweep: NodeJS.Timeout;

  constructor(private readonly options: NodeFolderOptions) {
    this.sweep = setInterval(() => {
      const old = Date.now() - IDLE_MS;
      for (const [id, h] of this.files) if (h.usedMs < old) { this.files.delete(id); void h.file.close().catch(() => undefined); }
    }, 60_000);
    this.sweep.unref();
  }

  /** The drive for the identity a gateway expects; ERR_NODE_IDENTITY when the folder carries another. */
  private async driveFor(ctx: CallContext, fresh: boolean): Promise<LocalDrive> {
    const folder = this.options.folder;
    if (fresh || this.identity === undefined || this.identity === 'missing') this.identity = await readIdentity(folder).catch(() => undefined);
    const mismatch = this.identity && this.identity !== 'missing' ? identityMismatch(folder, this.identity, ctx.clusterId, ctx.node) : undefined;
    if (mismatch) throw nodeFault('ERR_NODE_IDENTITY', mismatch);
    if (!this.drive || this.drive.index !== ctx.node || this.drive.clusterId !== ctx.clusterId) {
      await this.host?.close();
      this.drive = new LocalDrive(ctx.node, folder, this.options.sync, ctx.clusterId);
      this.host = new NodeHost(this.drive, this.options.services, ctx.clusterId, this.options.sync, this.options.log);
    }
    return this.drive;
  }

  /** The drive for a call (the identity as last read: only a probe reads it afresh). */
  private local(ctx: CallContext): Promise<LocalDrive> {
    return this.driveFor(ctx, false);
  }

  readonly handlers: NodeHandlers = {
    identity: async () => readIdentity(this.options.folder),
    probe: async (_, ctx) => (await this.driveFor(ctx, true)).probe(),
    'file.read': async ({ path }, ctx) => {
      const data = await (await this.local(ctx)).readFile(path);
      if (data && data.byteLength > MAX_PAYLOAD) throw nodeFault('ERR_TOO_LARGE', `${path} is larger than a call's answer may be`);
      return data ? asBuffer(data) : null;
    },
    'file.replace': async ({ path, data }, ctx) => { await (await this.local(ctx)).writeFile(path, data); return null; },
    'file.create': async ({ path, data }, ctx) => (await this.local(ctx)).createFile(path, data),
    'file.remove': async ({ path }, ctx) => { await (await this.local(ctx)).remove(path); return null; },
    'file.stat': async ({ path }, ctx) => (await (await this.local(ctx)).stat(path)) ?? null,
    'file.list': async ({ path }, ctx) => (await this.local(ctx)).list(path),
    'file.rename': async ({ from, to }, ctx) => { await (await this.local(ctx)).rename(from, to); return null; },
    'file.open': async ({ path }, ctx) => {
      const file = await (await this.local(ctx)).open(path);
      if (!file) return null;
      const handle = this.nextHandle++;
      this.files.set(handle, { file, usedMs: Date.now() });
      return { handle, size: file.size };
    },
    'handle.read': async ({ handle, offset, length }) => {
      if (!(length >= 0 && length <= MAX_PAYLOAD)) throw nodeFault('ERR_BAD_REQUEST', `a read of ${length} bytes`);
      const h = this.files.get(handle);
      if (!h) throw nodeFault('ERR_NO_HANDLE', `no open file ${handle}`);
      h.usedMs = Date.now();
      const data = await h.file.read(offset, length);
      return asBuffer(data);
    },
    'handle.close': async ({ handle }) => {
      const h = this.files.get(handle);
      this.files.delete(handle);
      await h?.file.close();
      return null;
    },
    'writer.open': async ({ path }, ctx) => {
      const writer = await (await this.local(ctx)).createWriter(path);
      ctx.writers.set(ctx.stream, { writer, received: 0, credited: 0, owed: 0, chain: Promise.resolve() });
      return null;
    },
    'writer.commit': async ({ writer, bytes, path }, ctx) => {
      const w = ctx.writers.get(writer);
      if (!w) throw nodeFault('ERR_WRITER_GONE', `no writer on stream ${writer} (its connection broke: it was aborted)`);
      await w.chain;
      ctx.writers.delete(writer);
      if (w.failure || w.received !== bytes) {
        await w.writer.abort().catch(() => undefined);
        throw w.failure ?? nodeFault('ERR_WRITER_TORN', `the writer received ${w.received} of ${bytes} bytes`);
      }
      await w.writer.commit(path ?? undefined);
      return null;
    },
    'writer.abort': async ({ writer }, ctx) => {
      const w = ctx.writers.get(writer);
      ctx.writers.delete(writer);
      if (w) { await w.chain; await w.writer.abort(); }
      return null;
    },
    'shelf.put': async ({ items, rows }, ctx) => (await this.local(ctx)).shelf.put(items, rows),
    'shelf.get': async ({ name }, ctx) => (await (await this.local(ctx)).shelf.get(name)) ?? null,
    'shelf.list': async ({ folder }, ctx) => (await this.local(ctx)).shelf.list(folder),
    'shelf.remove': async ({ names, rows }, ctx) => { await (await this.local(ctx)).shelf.remove(names, rows); return null; },
    'shelf.rows': async ({ table, range }, ctx) => (await (await this.local(ctx)).shelf.rows(table, range)).map(toWireRow),
    'shelf.stream': async ({ table, range }, ctx) => {
      // A batch must fit one frame: listing rows are small, and a caller asking for more rows a batch gets at most this many.
      const most = Math.max(1, Math.min(MAX_STREAM_BATCH, Math.floor(range.most)));
      const first = Math.max(1, Math.min(most, Math.floor(range.first)));
      const stream = (await this.local(ctx)).shelf.streamRows(table, { ...range, first, most });
      return {
        async next() {
          const { rows, last } = await stream.next();
          return { batch: { rows: rows.map(toWireRow), last }, last };
        },
        close: () => stream.close(),
      };
    },
    'shelf.scan': async ({ after, limit }, ctx) => {
      // Fewer items than asked is a valid page: the answer must fit one frame.
      const items = await (await this.local(ctx)).shelf.scan(after, limit);
      let bytes = 0;
      const fits = items.findIndex((item) => (bytes += item.name.length + item.bytes.byteLength + 16) > MAX_PAYLOAD / 2);
      return fits <= 0 ? items : items.slice(0, fits);
    },
    'service.read': async (args, ctx) => this.service(args, ctx),
    'service.write': async (args, ctx) => this.service(args, ctx),
  };

  private async service({ name, op, args }: Args<'service.read'>, ctx: CallContext): Promise<unknown> {
    await this.local(ctx);
    return this.host!.call(name, op, args);
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    for (const h of this.files.values()) await h.file.close().catch(() => undefined);
    this.files.clear();
    await this.host?.close();
    await this.drive?.close();
  }
}

/** The same bytes as a Buffer, not copied (a raw answer is sent as it is). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
