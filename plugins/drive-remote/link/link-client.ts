import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';

import { nodeFault } from '../../../core/errors.js';
import { ClientConnection } from './client-connection.js';
import { gatewayHandshake, HANDSHAKE_MS } from './handshake.js';
import { type Answer, type Args, OPERATIONS, type OperationName } from './operations.js';

/** A node that does not accept a connection within this long is offline. */
const CONNECT_TIMEOUT_MS = 2_000;
/** A call whose answer does not come within this long fails. */
export const CALL_TIMEOUT_MS = 10_000;
/** Reconnecting after a failure waits from this long, doubling, up to the most (each with jitter). */
const BACKOFF_MS = { first: 100, most: 5_000 };

export interface LinkTarget {
  readonly host: string;
  readonly port: number;
  readonly secret: string;
  readonly clusterId: string;
  readonly node: number;
}

/**
 * One connection of a node link, kept open and opened again when it
 * breaks — not sooner than its backoff allows: while it waits, calls fail
 * at once (the node is offline; the health gate probes it later).
 */
class Lane {
  private current: Promise<ClientConnection> | undefined;
  private failures = 0;
  private retryAtMs = 0;
  private lastFailure: Error | undefined;

  constructor(private readonly target: LinkTarget, private readonly where: string) {}

  async connection(): Promise<ClientConnection> {
    for (;;) {
      const attempt = this.current;
      const open = attempt && await attempt.catch(() => undefined);
      if (open && !open.isClosed) return open;
      // Callers that met the same broken connection open one new one between them.
      if (this.current !== attempt) continue;
      if (attempt && open === undefined && Date.now() < this.retryAtMs) throw this.lastFailure!;
      this.current = this.open();
    }
  }

  close(): void {
    void this.current?.then((c) => c.close(), () => undefined);
    this.current = undefined;
  }

  private async open(): Promise<ClientConnection> {
    let socket: Socket | undefined;
    try {
      socket = await connected(this.target.host, this.target.port);
      const session = await withTimeout(gatewayHandshake(socket, this.target.secret, this.target.clusterId, this.target.node), HANDSHAKE_MS, 'the handshake');
      this.failures = 0;
      return new ClientConnection(socket, session, this.where);
    } catch (err) {
      socket?.destroy();
      const e = err as Error & { code?: string };
      this.lastFailure = e.code === 'ERR_NODE_AUTH' ? nodeFault('ERR_NODE_AUTH', `${this.where}: ${e.message}`) : nodeFault('ERR_NODE_GONE', `${this.where}: ${e.message}${e.code ? ` (${e.code})` : ''}`);
      const wait = Math.min(BACKOFF_MS.most, BACKOFF_MS.first * 2 ** this.failures++);
      this.retryAtMs = Date.now() + wait * (0.5 + Math.random() / 2);
      throw this.lastFailure;
    }
  }
}

/**
 * A gateway's link to one `kintsugi node`: a small-call lane and a bulk
 * lane (shard bytes), each one persistent connection, so that a metadata
 * call never waits behind megabytes. A call broken with its connection is
 * sent once more on a new one; a mutating call keeps its operation id, and
 * the node answers the retry with the first answer instead of applying it
 * twice.
 */
export class LinkClient {
  private readonly lanes: { small: Lane; bulk: Lane };

  constructor(readonly target: LinkTarget, readonly where: string) {
    this.lanes = { small: new Lane(target, where), bulk: new Lane(target, where) };
  }

  /** The connection of an operation's lane (opened if need be). */
  connection(op: OperationName): Promise<ClientConnection> {
    return this.lanes[OPERATIONS[op].lane].connection();
  }

  async call<K extends OperationName>(op: K, args: Args<K>, options: { timeoutMs?: number; on?: ClientConnection; stream?: number } = {}): Promise<Answer<K>> {
    const opId = OPERATIONS[op].mutates ? randomUUID() : null;
    for (let attempt = 0; ; attempt++) {
      const conn = attempt === 0 && options.on ? options.on : await this.connection(op);
      try {
        return await conn.call(op, args, opId, options.timeoutMs ?? CALL_TIMEOUT_MS, attempt === 0 ? options.stream : undefined);
      } catch (err) {
        if ((err as { code?: string }).code !== 'ERR_LINK_BROKEN') throw err;
        if (attempt > 0) throw nodeFault('ERR_NODE_GONE', `${this.where}: ${(err as Error).message}`);
      }
    }
  }

  close(): void {
    this.lanes.small.close();
    this.lanes.bulk.close();
  }
}

function connected(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => { socket.destroy(); reject(Object.assign(new Error(`no connection within ${CONNECT_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' })); }, CONNECT_TIMEOUT_MS);
    socket.once('connect', () => { clearTimeout(timer); socket.removeListener('error', reject); resolve(socket); });
    socket.once('error', (err) => { clearTimeout(timer); reject(err); });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(Object.assign(new Error(`${what} took more than ${ms} ms`), { code: 'ETIMEDOUT' })), ms); }),
  ]);
}
