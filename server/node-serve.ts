import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { resolve } from 'node:path';

import { pack, unpack } from 'msgpackr';

import type { DriveFile, DriveShelf, DriveWriter, NodeService, NodeServiceFactory, ShelfCalls } from '../core/contracts/drive.js';
import type { Logger } from '../core/contracts/logger.js';
import { JsonLineLogger } from '../core/logger.js';
import { bodyMacMatches, NODE_HEADERS, refusal } from '../core/node-auth.js';
import { identityMismatch, type NodeIdentity } from '../core/node-identity.js';
import { readIdentity } from '../plugins/drive-local/index.js';
import { LocalDrive } from '../plugins/drive-local/local-drive.js';

/** The most a single request body may carry: one shard block, or a small file. */
const MAX_BODY = 64 << 20;
/** Open files and writers a gateway forgot (it died) are closed after this long unused. */
const IDLE_MS = 10 * 60_000;

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

type Handle<T> = { value: T; usedMs: number };

/** A call's answer, kept for retries of the same operation. */
interface Answer { status: number; type?: string; body?: Uint8Array }

/** How many mutating calls' answers are kept for their retries. */
const REMEMBERED_OPS = 20_000;

function failed(err: Error & { code?: string }): Answer {
  const status = err instanceof HttpError ? err.status : 500;
  return { status, type: 'application/json', body: Buffer.from(JSON.stringify({ code: err.code ?? 'ERR_NODE', message: err.message })) };
}

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/**
 * `kintsugi node`: one node folder served over HTTP to the gateways, with
 * the Drive contract's operations (plugins/drive-remote speaks to it).
 * Every request must be signed with the cluster secret and name the cluster
 * and node it expects; a folder carrying another identity answers 412, so a
 * swapped or foreign disk is refused by the gateway, not used.
 */
export async function serveNode(options: NodeServerOptions): Promise<{ port: number; close: () => Promise<void> }> {
  const folder = resolve(options.folder);
  const factories = options.services ?? {};
  const log = options.log ?? new JsonLineLogger();
  const files = new Map<string, Handle<DriveFile>>();
  const writers = new Map<string, Handle<DriveWriter>>();
  let drive: LocalDrive | undefined;
  let identity: NodeIdentity | 'missing' | undefined;
  /** the services running for the current drive, started on first use */
  let running = new Map<string, NodeService>();

  /** The drive for the identity a gateway expects; 412 when the folder carries another. */
  async function driveFor(clusterId: string, node: number, fresh: boolean): Promise<LocalDrive> {
    if (fresh || identity === undefined || identity === 'missing') identity = await readIdentity(folder).catch(() => undefined);
    const mismatch = identity && identity !== 'missing' ? identityMismatch(folder, identity, clusterId, node) : undefined;
    if (mismatch) throw new HttpError(412, 'ERR_NODE_IDENTITY', mismatch);
    if (!drive || drive.index !== node || drive.clusterId !== clusterId) {
      const old = running;
      running = new Map();
      for (const service of old.values()) await service.close().catch(() => undefined);
      drive = new LocalDrive(node, folder, options.sync, clusterId);
    }
    return drive;
  }

  const sweep = setInterval(() => {
    const old = Date.now() - IDLE_MS;
    for (const [id, h] of files) if (h.usedMs < old) { files.delete(id); void h.value.close().catch(() => undefined); }
    for (const [id, h] of writers) if (h.usedMs < old) { writers.delete(id); void h.value.abort().catch(() => undefined); }
  }, 60_000);
  sweep.unref();

  async function handle(req: IncomingMessage): Promise<Answer> {
    const target = req.url ?? '/';
    const header = (name: string) => { const v = req.headers[name]; return Array.isArray(v) ? v[0] : v; };
    // For load balancers and orchestrators, unsigned: whether the folder is there and writable, and nothing else.
    if (req.method === 'GET' && target === '/health') {
      const up = await access(folder, constants.W_OK).then(() => stat(folder)).then((st) => st.isDirectory(), () => false);
      return { status: up ? 200 : 503, type: 'text/plain', body: Buffer.from(up ? 'OK\n' : 'unavailable\n') };
    }
    const why = refusal(options.secret, req.method ?? 'GET', target, header);
    if (why) throw new HttpError(why === 'unsigned request' ? 401 : 403, 'ERR_NODE_AUTH', why);
    const body = await readBody(req);
    if (!bodyMacMatches(options.secret, body, header(NODE_HEADERS.bodyMac))) throw new HttpError(403, 'ERR_NODE_AUTH', 'body does not match its signed MAC');
    const url = new URL(target, 'http://node');
    const q = (name: string) => {
      const v = url.searchParams.get(name);
      if (v === null) throw new HttpError(400, 'ERR_BAD_REQUEST', `missing ${name}`);
      return v;
    };
    const op = `${req.method} ${url.pathname}`;
    // What this folder is, asked before a gateway knows the cluster (no identity expected yet).
    if (op === 'GET /v1/identity') return { status: 200, type: 'application/json', body: Buffer.from(JSON.stringify({ identity: await readIdentity(folder) })) };
    const d = await driveFor(header(NODE_HEADERS.cluster)!, Number(header(NODE_HEADERS.node)), op === 'GET /v1/health');
    const json = (status: number, value: unknown): Answer => ({ status, type: 'application/json', body: Buffer.from(JSON.stringify(value)) });
    const bytes = (data: Uint8Array): Answer => ({ status: 200, type: 'application/octet-stream', body: data });
    const done = (): Answer => ({ status: 204 });
    const notFound = () => json(404, { code: 'ENOENT', message: 'not found' });
    switch (op) {
      case 'GET /v1/health': return json(200, { folder, node: d.index, space: await d.probe() });
      case 'GET /v1/file': { const data = await d.readFile(q('path')); return data ? bytes(data) : notFound(); }
      case 'PUT /v1/file':
        if (url.searchParams.get('mode') === 'create') return json(201, await d.createFile(q('path'), body));
        await d.writeFile(q('path'), body);
        return done();
      case 'DELETE /v1/file': await d.remove(q('path')); return done();
      case 'GET /v1/stat': { const st = await d.stat(q('path')); return st ? json(200, st) : notFound(); }
      case 'GET /v1/list': return json(200, await d.list(q('path')));
      case 'POST /v1/rename': await d.rename(q('from'), q('to')); return done();
      case 'POST /v1/open': {
        const file = await d.open(q('path'));
        if (!file) return notFound();
        const id = randomUUID();
        files.set(id, { value: file, usedMs: Date.now() });
        return json(200, { handle: id, size: file.size });
      }
      case 'GET /v1/read': return bytes(await use(files, q('handle')).read(Number(q('offset')), Number(q('length'))));
      case 'POST /v1/close': { const f = files.get(q('handle')); files.delete(q('handle')); await f?.value.close(); return done(); }
      case 'POST /v1/writer': {
        const id = randomUUID();
        writers.set(id, { value: await d.createWriter(q('path')), usedMs: Date.now() });
        return json(200, { id });
      }
      case 'PUT /v1/writer': {
        const position = url.searchParams.get('position');
        await use(writers, q('id')).write(body, position === null ? undefined : Number(position));
        return done();
      }
      case 'POST /v1/commit': {
        const w = use(writers, q('id'));
        const path = url.searchParams.get('path');
        await w.commit(path ?? undefined);
        writers.delete(q('id'));
        return done();
      }
      case 'POST /v1/service': {
        const name = q('name');
        const make = factories[name];
        if (!make) throw new HttpError(404, 'ERR_BAD_REQUEST', `no service ${name}`);
        let service = running.get(name);
        if (!service) running.set(name, (service = make(d, d.clusterId, options.sync, log)));
        return bytes(await service.handle(q('op'), body));
      }
      case 'POST /v1/shelf': return bytes(pack(await runShelfCall(d.shelf, q('op'), unpack(body))));
      case 'POST /v1/abort': { const w = writers.get(q('id')); writers.delete(q('id')); await w?.value.abort(); return done(); }
      default: throw new HttpError(404, 'ERR_BAD_REQUEST', `no operation ${op}`);
    }
  }

  /** What each mutating call answered, by operation id: a retry gets the first answer (or waits for it). */
  const answered = new Map<string, Promise<Answer>>();
  const remember = (opId: string, answer: Promise<Answer>) => {
    answered.set(opId, answer);
    // A Map iterates in insertion order: the oldest go first.
    if (answered.size > REMEMBERED_OPS) answered.delete(answered.keys().next().value!);
  };

  const answerOf = (req: IncomingMessage): Promise<Answer> => {
    const opId = req.headers[NODE_HEADERS.op];
    if (typeof opId !== 'string') return handle(req);
    const first = answered.get(opId);
    if (first) {
      req.resume();
      return first;
    }
    const answer = handle(req).catch(failed);
    remember(opId, answer);
    // Only a signed call may claim an id: an unsigned one must not stand for a gateway's.
    void answer.then((a) => { if ((a.status === 401 || a.status === 403) && answered.get(opId) === answer) answered.delete(opId); });
    return answer;
  };

  const server = createServer((req, res) => {
    answerOf(req).catch(failed).then((a) => {
      if (res.headersSent) { res.destroy(); return; }
      res.writeHead(a.status, { ...(a.type ? { 'content-type': a.type } : {}), 'content-length': a.body?.byteLength ?? 0 });
      res.end(a.body);
      // An unread body must not be left on a kept-alive socket.
      if (!req.complete) req.resume();
    }, () => res.destroy());
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((ok, fail) => { server.once('error', fail); server.listen(options.port, options.host, () => ok()); });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: async () => {
      clearInterval(sweep);
      await new Promise<void>((ok) => { server.close(() => ok()); server.closeAllConnections(); });
      for (const h of files.values()) await h.value.close().catch(() => undefined);
      for (const h of writers.values()) await h.value.abort().catch(() => undefined);
      for (const service of running.values()) await service.close().catch(() => undefined);
    },
  };
}

function use<T>(map: Map<string, Handle<T>>, id: string): T {
  const h = map.get(id);
  if (!h) throw new HttpError(404, 'ERR_NO_HANDLE', `no open file or writer ${id}`);
  h.usedMs = Date.now();
  return h.value;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 'ERR_TOO_LARGE', `a body of more than ${MAX_BODY} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** Runs a shelf call received from a gateway against the node's own shelf; its answer (undefined for a missing item). */
async function runShelfCall(shelf: DriveShelf, op: string, args: unknown): Promise<unknown> {
  switch (op) {
    case 'put': return shelf.put((args as ShelfCalls['put']).items);
    case 'get': return shelf.get((args as ShelfCalls['get']).name);
    case 'list': return shelf.list((args as ShelfCalls['list']).folder);
    case 'remove': return shelf.remove((args as ShelfCalls['remove']).names);
    case 'scan': return shelf.scan((args as ShelfCalls['scan']).after, (args as ShelfCalls['scan']).limit);
    default: throw new HttpError(400, 'ERR_BAD_REQUEST', `the shelf has no call ${op}`);
  }
}
