import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

import { H3, toNodeHandler } from 'h3';
import { FastResponse } from 'srvx';

import type { Logger } from '../../core/contracts/logger.js';
import type { Transport } from '../../core/contracts/transport.js';
import { CONSOLE_PREFIX, type ConsoleGateway } from './console/console-gateway.js';
import { header } from './context.js';
import { OPS_PREFIX, type Operations } from './operations.js';
import { PREFLIGHT } from './routes.js';
import { errorXml, toS3Error } from './s3-error.js';
import { newRequestId, type S3Api, type S3Request, type S3Response } from './s3-api.js';

/** A request that sent `Expect: 100-continue`, and whether it was told to go on. */
interface AwaitingContinue {
  readonly res: ServerResponse;
  continued: boolean;
}

/** The body of such a request: reading it is what sends 100 Continue. */
function continueOnRead(req: IncomingMessage, waiting: AwaitingContinue): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]: () => {
      if (!waiting.continued) {
        waiting.continued = true;
        waiting.res.writeContinue();
      }
      return req[Symbol.asyncIterator]();
    },
  };
}

const isConsolePath = (rawPath: string) => rawPath.startsWith(CONSOLE_PREFIX) || rawPath === CONSOLE_PREFIX.slice(0, -1);

export interface H3TransportOptions {
  /** serve <bucket>.<domain> as virtual-host style */
  domain?: string;
}

/**
 * The S3 API served by h3 on node:http. Request bodies are read from the
 * Node request stream as they arrive (back-pressure reaches the client),
 * responses are piped from the engine's stream; h3 routes and srvx writes.
 * Every response carries x-amz-request-id and Server-Timing.
 */
export class H3Transport implements Transport {
  readonly name = 'h3';
  private server: Server | undefined;

  constructor(
    private readonly api: S3Api,
    private readonly ops: Operations,
    private readonly log: Logger,
    private readonly options: H3TransportOptions = {},
    private readonly console?: ConsoleGateway,
  ) {}

  /** The h3 app: every request, whatever its path, is served by `serve`. */
  private app(): H3 {
    const app = new H3();
    app.use(async (event) => {
      const node = event.runtime?.node;
      if (!node) throw new Error('the S3 transport runs on Node.js');
      return this.serve(node.req as IncomingMessage, node.res as ServerResponse);
    });
    return app;
  }

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    const handler = toNodeHandler(this.app());
    this.server = createServer((req, res) => { void handler(req, res as ServerResponse); });
    // AWS ignores an Expect other than 100-continue; Node would answer 417.
    this.server.on('checkExpectation', (req, res) => { void handler(req, res as ServerResponse); });
    // With a listener here Node does not send 100 Continue at once; serve() sends it when a handler first reads
    // the body: a request refused by its signature, bucket or headers is answered before the client sends a byte of it.
    this.server.on('checkContinue', (req, res) => { void handler(req, res as ServerResponse); });
    // S3 clients keep connections open; allow long uploads.
    this.server.requestTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const addr = this.server.address() as AddressInfo;
    return { host: addr.address, port: addr.port };
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    this.server = undefined;
  }

  private async serve(req: IncomingMessage, nodeRes: ServerResponse): Promise<Response> {
    const started = performance.now();
    const requestId = newRequestId();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    // Node hands every `Expect: 100-continue` request to the checkContinue listener: none was told to go on yet.
    const waiting: AwaitingContinue | undefined = /^100-continue$/i.test(req.headers.expect ?? '') ? { res: nodeRes, continued: false } : undefined;
    let s3req: S3Request = {
      method: req.method ?? 'GET', rawPath, query, headers: req.headers, body: waiting ? continueOnRead(req, waiting) : req,
      ...this.virtualBucket(req),
    };
    let api = 'Console';
    let res: S3Response;
    try {
      // The console's calls become S3 and admin requests signed as its user, served below like any.
      const routed = this.console && isConsolePath(rawPath) ? await this.console.route(s3req) : { forward: s3req };
      if ('response' in routed) res = routed.response;
      else res = await this.dispatch(s3req = routed.forward, (name) => { api = name; });
    } catch (err) {
      const e = toS3Error(err);
      if (e.status === 500) this.log.error('request failed', { requestId, error: (err as Error).stack ?? String(err) });
      // Degraded (503): which nodes failed and why, for the operator.
      else if (e.status === 503) this.log.warn('request unavailable', { requestId, error: (err as Error).message });
      res = { status: e.status, headers: { ...e.headers, 'content-type': 'application/xml' }, body: s3req.method === 'HEAD' ? undefined : errorXml(e, s3req.rawPath, requestId) };
      // An unread request body must not be left half-read on a kept-alive socket.
      if (waiting?.continued !== false && !req.complete) req.resume();
    }
    // Browsers from other origins read an S3 answer (an error too) only with the bucket's CORS headers on it.
    if (api !== 'Console' && api !== 'Operations' && api !== PREFLIGHT && header(s3req, 'origin') !== undefined) {
      res = { ...res, headers: { ...res.headers, ...(await this.api.corsHeaders(s3req).catch(() => ({}))) } };
    }
    const ms = performance.now() - started;
    // A body the client was never told to send may or may not follow: its connection cannot be reused.
    if (waiting && !waiting.continued) res = { ...res, headers: { ...res.headers, connection: 'close' } };
    const headers = { ...res.headers, 'x-amz-request-id': requestId, 'server-timing': `total;dur=${ms.toFixed(1)}`, server: 'Kintsugi' };
    const bytesIn = Number(req.headers['x-amz-decoded-content-length'] ?? req.headers['content-length'] ?? 0) || 0;
    const bytesOut = Number(res.headers['content-length'] ?? (typeof res.body === 'string' ? Buffer.byteLength(res.body) : 0)) || 0;
    this.ops.record(api, res.status, ms / 1000, bytesIn, bytesOut);
    this.log.info('request', { requestId, api, method: s3req.method, path: rawPath, status: res.status, ms: Math.round(ms * 10) / 10 });
    const body = res.body === undefined ? null : typeof res.body === 'string' || res.body instanceof Uint8Array ? res.body : Readable.from(res.body, { objectMode: false });
    // A reason phrase on every status line: botocore reads a final answer to `Expect: 100-continue` only when it has one.
    return new FastResponse(body as never, { status: res.status, statusText: STATUS_CODES[res.status] ?? '', headers }) as unknown as Response;
  }

  /** An S3 or operations request, routed and answered. */
  private async dispatch(s3req: S3Request, named: (api: string) => void): Promise<S3Response> {
    if (s3req.rawPath.startsWith(OPS_PREFIX)) {
      named('Operations');
      return this.ops.handle(s3req);
    }
    const match = this.api.match(s3req);
    named(match.name);
    return this.api.handle(s3req, match);
  }

  private virtualBucket(req: IncomingMessage): { virtualBucket?: string } {
    const domain = this.options.domain;
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    if (!domain || !host.endsWith(`.${domain}`)) return {};
    return { virtualBucket: host.slice(0, -(domain.length + 1)) };
  }
}
