import { createHash, createHmac } from 'node:crypto';
import { request } from 'node:http';

import { SignatureV4 } from '@smithy/signature-v4';

import { ACCESS_KEY, SECRET_KEY } from './server.js';

/** The hash constructor @smithy/signature-v4 expects, over node:crypto. */
class Sha256 {
  private readonly h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: Uint8Array | string) {
    this.h = secret ? createHmac('sha256', secret as Buffer) : createHash('sha256');
  }
  update(d: Uint8Array | string) { this.h.update(d); }
  async digest() { return new Uint8Array(this.h.digest()); }
}

export const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** Headers signed by an independent SigV4 implementation (@smithy/signature-v4). */
export async function signedHeaders(port: number, method: string, path: string, headers: Record<string, string>, payloadHash = EMPTY_SHA256, date = new Date()) {
  const signer = new SignatureV4({ service: 's3', region: 'us-east-1', credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, sha256: Sha256 as never, uriEscapePath: false, applyChecksum: false });
  const [pathname, search = ''] = path.split('?');
  const query = Object.fromEntries(new URLSearchParams(search));
  const req = await signer.sign({
    method, protocol: 'http:', hostname: '127.0.0.1', port, path: pathname!, query,
    headers: { host: `127.0.0.1:${port}`, 'x-amz-content-sha256': payloadHash, ...headers },
  }, { signingDate: date });
  return req.headers as Record<string, string>;
}

/** Sends a raw HTTP request and returns status, headers and body. */
export function send(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const amzDateNow = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/**
 * A PUT body framed as aws-chunked with a signature per chunk
 * (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), or with signed trailers too
 * (…-PAYLOAD-TRAILER) when `trailer` is given. `tamper` flips one data byte
 * or one trailer value after signing.
 */
export async function streamingSignedPut(port: number, path: string, data: Buffer, opts: {
  chunkSize?: number;
  trailer?: { name: string; value: string };
  /** the trailer is sent without an x-amz-trailer header announcing it (some SDKs do) */
  unannounced?: boolean;
  tamper?: 'chunk' | 'trailer';
} = {}) {
  const size = opts.chunkSize ?? 65_536;
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) chunks.push(data.subarray(at, at + size));
  chunks.push(Buffer.alloc(0));
  const payload = opts.trailer ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
  const amzDate = amzDateNow();
  const date = amzDate.slice(0, 8);
  const scope = `${date}/us-east-1/s3/aws4_request`;
  const key = [date, 'us-east-1', 's3', 'aws4_request'].reduce<Buffer>((k, part) => createHmac('sha256', k).update(part).digest(), Buffer.from(`AWS4${SECRET_KEY}`));
  const sign = (text: string) => createHmac('sha256', key).update(text).digest('hex');

  // The framing depends only on sizes: the body length is known before signing.
  const frame = (chunk: Buffer, sig: string) => [Buffer.from(`${chunk.length.toString(16)};chunk-signature=${sig}\r\n`), chunk, ...(chunk.length || !opts.trailer ? [Buffer.from('\r\n')] : [])];
  const trailerText = (sig: string) => (opts.trailer ? `${opts.trailer.name}:${opts.trailer.value}\r\nx-amz-trailer-signature:${sig}\r\n\r\n` : '');
  const placeholder = '0'.repeat(64);
  const length = Buffer.concat([...chunks.flatMap((c) => frame(c, placeholder)), Buffer.from(trailerText(placeholder))]).length;

  const headers = await signedHeaders(port, 'PUT', path, {
    'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(data.length), 'content-length': String(length), 'x-amz-date': amzDate,
    ...(opts.trailer && !opts.unannounced ? { 'x-amz-trailer': opts.trailer.name } : {}),
  }, payload);
  let previous = /Signature=([0-9a-f]{64})/.exec(headers.authorization!)![1]!;
  const frames: Buffer[] = [];
  for (const chunk of chunks) {
    const sig = sign(['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, previous, EMPTY_SHA256, createHash('sha256').update(chunk).digest('hex')].join('\n'));
    const sent = opts.tamper === 'chunk' && chunk.length > 0 ? Buffer.from(chunk).fill(chunk[0]! ^ 1, 0, 1) : chunk;
    frames.push(...frame(sent, sig));
    previous = sig;
  }
  if (opts.trailer) {
    const canonical = `${opts.trailer.name}:${opts.trailer.value}\n`;
    const sig = sign(['AWS4-HMAC-SHA256-TRAILER', amzDate, scope, previous, createHash('sha256').update(canonical).digest('hex')].join('\n'));
    const value = opts.tamper === 'trailer' ? `${opts.trailer.value.slice(0, -3)}AA=` : opts.trailer.value;
    frames.push(Buffer.from(`${opts.trailer.name}:${value}\r\nx-amz-trailer-signature:${sig}\r\n\r\n`));
  }
  return { headers, body: Buffer.concat(frames) };
}
