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
