import type { Drive, DriveFile, DriveStat, DriveWriter, NodeServices } from '../../core/contracts/drive.js';
import { bodyHash, signedNodeHeaders } from '../../core/node-auth.js';
import type { NodeIdentity } from '../../core/node-identity.js';

/** Small calls (a record, a listing, a rename) give up after this long. */
const CALL_TIMEOUT_MS = 10_000;

/** An error as the node reported it (its `code`: EROFS, ENOSPC, ERR_NODE_IDENTITY, ...), or a network failure (`ERR_NODE_GONE`). */
function nodeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * A storage node served by `kintsugi node` on another host, behind the same
 * Drive contract as a local folder. Every call is signed with the cluster
 * secret and names the cluster and node it expects, so a node holding
 * another identity refuses (412 → ERR_NODE_IDENTITY, the node is `refused`);
 * a network failure or timeout is ERR_NODE_GONE (the node is `offline`), and
 * the core's health gate fails further calls fast until a probe succeeds.
 */
export class RemoteDrive implements Drive {
  constructor(readonly index: number, private readonly url: string, private readonly secret: string, private readonly clusterId: string) {}

  get location(): string {
    return this.url;
  }

  /** The node keeps the plugins' node-side structures (the listing index) itself: calls go to it. */
  readonly services: NodeServices = {
    call: async (service, op, body) => {
      const res = (await this.call('POST', 'service', { name: service, op }, body))!;
      return new Uint8Array(await res.arrayBuffer());
    },
  };

  private async call(method: string, op: string, params: Record<string, string | number>, body?: Uint8Array): Promise<Response | undefined> {
    const query = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
    // Signed as sent: fetch drops an empty `?`.
    const target = `/v1/${op}${query ? `?${query}` : ''}`;
    const headers = signedNodeHeaders(this.secret, { method, target, bodyHash: bodyHash(body), clusterId: this.clusterId, node: this.index });
    let res: Response;
    try {
      res = await fetch(`${this.url}${target}`, { method, headers, ...(body ? { body } : {}), signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
    } catch (err) {
      throw nodeError('ERR_NODE_GONE', `node ${this.index} at ${this.url}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
    }
    if (res.status === 404 && (op === 'file' || op === 'stat' || op === 'open') && method !== 'DELETE') {
      await res.arrayBuffer();
      return undefined;
    }
    if (res.status >= 400) {
      const text = await res.text();
      let reported: { code?: string; message?: string } = {};
      try { reported = JSON.parse(text) as typeof reported; } catch { /* not ours */ }
      throw nodeError(reported.code ?? `HTTP_${res.status}`, `node ${this.index} at ${this.url}: ${reported.message ?? text.slice(0, 200)}`);
    }
    return res;
  }

  private async json<T>(method: string, op: string, params: Record<string, string | number>, body?: Uint8Array): Promise<T | undefined> {
    const res = await this.call(method, op, params, body);
    return res ? (await res.json()) as T : undefined;
  }

  private async done(method: string, op: string, params: Record<string, string | number>, body?: Uint8Array): Promise<void> {
    const res = await this.call(method, op, params, body);
    await res?.arrayBuffer();
  }

  async createWriter(path: string): Promise<DriveWriter> {
    const { id } = (await this.json<{ id: string }>('POST', 'writer', { path }))!;
    return {
      write: (chunk, position) => this.done('PUT', 'writer', { id, ...(position !== undefined ? { position } : {}) }, chunk),
      commit: (to) => this.done('POST', 'commit', { id, ...(to !== undefined ? { path: to } : {}) }),
      abort: () => this.done('POST', 'abort', { id }),
    };
  }

  writeFile(path: string, data: Uint8Array): Promise<void> {
    return this.done('PUT', 'file', { path, mode: 'replace' }, data);
  }

  async createFile(path: string, data: Uint8Array): Promise<{ newFolder: boolean }> {
    return (await this.json<{ newFolder: boolean }>('PUT', 'file', { path, mode: 'create' }, data))!;
  }

  async readFile(path: string): Promise<Uint8Array | undefined> {
    const res = await this.call('GET', 'file', { path });
    return res ? new Uint8Array(await res.arrayBuffer()) : undefined;
  }

  async open(path: string): Promise<DriveFile | undefined> {
    const opened = await this.json<{ handle: string; size: number }>('POST', 'open', { path });
    if (!opened) return undefined;
    const { handle, size } = opened;
    return {
      size,
      read: async (offset, length) => new Uint8Array(await (await this.call('GET', 'read', { handle, offset, length }))!.arrayBuffer()),
      close: () => this.done('POST', 'close', { handle }),
    };
  }

  stat(path: string): Promise<DriveStat | undefined> {
    return this.json<DriveStat>('GET', 'stat', { path });
  }

  async list(dir: string): Promise<string[]> {
    return (await this.json<string[]>('GET', 'list', { path: dir }))!;
  }

  rename(from: string, to: string): Promise<void> {
    return this.done('POST', 'rename', { from, to });
  }

  remove(path: string): Promise<void> {
    return this.done('DELETE', 'file', { path });
  }

  probe(): Promise<void> {
    return this.done('GET', 'health', {});
  }

  /** The identity the node's folder carries (before the cluster is known: nothing is expected of it). */
  async identity(): Promise<NodeIdentity | 'missing'> {
    return (await this.json<{ identity: NodeIdentity | 'missing' }>('GET', 'identity', {}))!.identity;
  }
}
