import { randomUUID } from 'node:crypto';

import { pack, unpack } from 'msgpackr';
import { Pool } from 'undici';

import type { Drive, DriveFile, DriveSpace, DriveShelf, DriveStat, DriveWriter, NodeServices, ShelfCalls, ShelfItem } from '../../core/contracts/drive.js';
import { nodeFault } from '../../core/errors.js';
import { bodyMac, signedNodeHeaders } from '../../core/node-auth.js';
import type { NodeIdentity } from '../../core/node-identity.js';
import { RemoteWriter } from './remote-writer.js';

/** A node that does not accept a connection within this long is offline. */
const CONNECT_TIMEOUT_MS = 2_000;
/**
 * A call whose answer does not start within this long fails (small calls);
 * a transfer fails when this long passes between two of its chunks, not
 * after a time for the whole transfer.
 */
const CALL_TIMEOUT_MS = 10_000;
/** Connections kept per node: shard blocks of several uploads go in parallel. */
const CONNECTIONS = 32;

/** Network failures: the call may or may not have reached the node. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED',
]);

type Params = Record<string, string | number>;

interface CallOptions {
  body?: Uint8Array;
  /** an answer of 404 is `undefined`, not an error */
  missingOk?: boolean;
  /** the call changes the node: it carries an operation id, and a retry after a network failure returns the first answer */
  mutates?: boolean;
}

/**
 * A storage node served by `kintsugi node` on another host, behind the same
 * Drive contract as a local folder. Every call is signed with the cluster
 * secret and names the cluster and node it expects, so a node holding
 * another identity refuses (412 → ERR_NODE_IDENTITY, the node is `refused`);
 * a network failure or timeout is ERR_NODE_GONE (the node is `offline`), and
 * the core's health gate fails further calls fast until a probe succeeds.
 *
 * Calls go over a pool of kept-alive HTTP/1.1 connections (undici). A call
 * that fails on the network before any answer is sent once more on a fresh
 * connection with the same operation id: a rename or commit that did reach
 * the node answers the retry with its first answer, so it is not applied
 * twice, and a write is not failed because a kept-alive socket had closed.
 */
export class RemoteDrive implements Drive {
  private readonly pool: Pool;

  constructor(readonly index: number, private readonly url: string, private readonly secret: string, private readonly clusterId: string) {
    this.pool = new Pool(url, {
      connections: CONNECTIONS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      headersTimeout: CALL_TIMEOUT_MS,
      bodyTimeout: CALL_TIMEOUT_MS,
      keepAliveTimeout: 30_000,
    });
  }

  get location(): string {
    return this.url;
  }

  /** The node keeps the plugins' node-side structures (the listing index) itself: calls go to it. */
  readonly services: NodeServices = {
    call: async (service, op, body, access) => (await this.bytes('POST', 'service', { name: service, op }, { body, mutates: access === 'write' }))!,
  };

  /** The node's shelf: each call one request, which the node's shelf commits together with the others arriving meanwhile. */
  readonly shelf: DriveShelf = {
    put: (items) => this.shelfCall('put', { items }, true),
    get: async (name) => (await this.shelfCall<ShelfItem | null>('get', { name }, false)) ?? undefined,
    list: (folder) => this.shelfCall('list', { folder }, false),
    remove: (names) => this.shelfCall('remove', { names }, true),
    scan: (after, limit) => this.shelfCall('scan', { after, limit }, false),
  };

  private async shelfCall<T>(op: keyof DriveShelf, args: ShelfCalls[keyof ShelfCalls], mutates: boolean): Promise<T> {
    const answer = await this.bytes('POST', 'shelf', { op }, { body: pack(args), mutates });
    return unpack(answer!) as T;
  }

  private async send(method: string, op: string, params: Params, options: CallOptions): Promise<{ status: number; body: Buffer }> {
    const query = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
    const target = `/v1/${op}${query ? `?${query}` : ''}`;
    const mac = bodyMac(this.secret, options.body);
    const opId = options.mutates ? randomUUID() : undefined;
    for (let attempt = 0; ; attempt++) {
      const headers = signedNodeHeaders(this.secret, { method, target, bodyMac: mac, clusterId: this.clusterId, node: this.index, ...(opId ? { opId } : {}) });
      try {
        const res = await this.pool.request({ path: target, method: method as 'GET', headers, body: options.body ?? null });
        const body = Buffer.from(await res.body.arrayBuffer());
        return { status: res.statusCode, body };
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        if (!NETWORK_CODES.has(code)) throw err;
        // A stale kept-alive socket fails at once: one more try. A node that is down fails again.
        if (attempt === 0 && (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE' || code === 'UND_ERR_CLOSED')) continue;
        throw nodeFault('ERR_NODE_GONE', `node ${this.index} at ${this.url}: ${(err as Error).message} (${code})`);
      }
    }
  }

  /** Calls the node; the answer's body, undefined for a 404 when `missingOk`. */
  private async bytes(method: string, op: string, params: Params, options: CallOptions = {}): Promise<Buffer | undefined> {
    const res = await this.send(method, op, params, options);
    if (res.status === 404 && options.missingOk) return undefined;
    if (res.status >= 400) {
      const text = res.body.toString('utf8');
      let reported: { code?: string; message?: string } = {};
      try { reported = JSON.parse(text) as typeof reported; } catch { /* not ours */ }
      throw nodeFault(reported.code ?? `HTTP_${res.status}`, `node ${this.index} at ${this.url}: ${reported.message ?? text.slice(0, 200)}`);
    }
    return res.body;
  }

  private async json<T>(method: string, op: string, params: Params, options: CallOptions = {}): Promise<T | undefined> {
    const body = await this.bytes(method, op, params, options);
    return body === undefined ? undefined : (JSON.parse(body.toString('utf8')) as T);
  }

  private async done(method: string, op: string, params: Params, options: CallOptions = {}): Promise<void> {
    await this.bytes(method, op, params, options);
  }

  async createWriter(path: string): Promise<DriveWriter> {
    const { id } = (await this.json<{ id: string }>('POST', 'writer', { path }))!;
    return new RemoteWriter({
      put: (body, position) => this.done('PUT', 'writer', { id, ...(position !== undefined ? { position } : {}) }, { body }),
      commit: (to) => this.done('POST', 'commit', { id, ...(to !== undefined ? { path: to } : {}) }, { mutates: true }),
      abort: () => this.done('POST', 'abort', { id }, { mutates: true }),
    });
  }

  writeFile(path: string, data: Uint8Array): Promise<void> {
    return this.done('PUT', 'file', { path, mode: 'replace' }, { body: data, mutates: true });
  }

  async createFile(path: string, data: Uint8Array): Promise<{ newFolder: boolean }> {
    return (await this.json<{ newFolder: boolean }>('PUT', 'file', { path, mode: 'create' }, { body: data, mutates: true }))!;
  }

  async readFile(path: string): Promise<Uint8Array | undefined> {
    return this.bytes('GET', 'file', { path }, { missingOk: true });
  }

  async open(path: string): Promise<DriveFile | undefined> {
    const opened = await this.json<{ handle: string; size: number }>('POST', 'open', { path }, { missingOk: true });
    if (!opened) return undefined;
    const { handle, size } = opened;
    return {
      size,
      read: async (offset, length) => (await this.bytes('GET', 'read', { handle, offset, length }))!,
      close: () => this.done('POST', 'close', { handle }),
    };
  }

  stat(path: string): Promise<DriveStat | undefined> {
    return this.json<DriveStat>('GET', 'stat', { path }, { missingOk: true });
  }

  async list(dir: string): Promise<string[]> {
    return (await this.json<string[]>('GET', 'list', { path: dir }))!;
  }

  rename(from: string, to: string): Promise<void> {
    return this.done('POST', 'rename', { from, to }, { mutates: true });
  }

  remove(path: string): Promise<void> {
    return this.done('DELETE', 'file', { path }, { mutates: true });
  }

  async probe(): Promise<DriveSpace> {
    const { space } = (await this.json<{ space: DriveSpace }>('GET', 'health', {}))!;
    return space;
  }

  /** The identity the node's folder carries (before the cluster is known: nothing is expected of it). */
  async identity(): Promise<NodeIdentity | 'missing'> {
    return (await this.json<{ identity: NodeIdentity | 'missing' }>('GET', 'identity', {}))!.identity;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
