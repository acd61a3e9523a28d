import { createReadStream, statSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** A response cut off before its end (the server aborted it) fails the request instead of leaving it waiting forever. */
function failIfCut(res: IncomingMessage, reject: (err: Error) => void): void {
  res.on('error', reject);
  res.on('close', () => { if (!res.complete) reject(new Error(`${res.statusCode} response cut off before its end`)); });
}

/** One request; resolves with status and body byte count once the response has ended. */
export function call(url: string, method: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; bytes: number; etag?: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, agent, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(typeof body === 'string' ? Buffer.byteLength(body) : body.length) } : {}) } }, (res) => {
      let bytes = 0;
      failIfCut(res, reject);
      res.on('data', (d: Buffer) => { bytes += d.length; });
      res.on('end', () => resolve({ status: res.statusCode!, bytes, ...(res.headers.etag ? { etag: String(res.headers.etag) } : {}) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** GETs a URL and returns the body as text. */
export function getText(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'GET', agent }, (res) => {
      const parts: Buffer[] = [];
      failIfCut(res, reject);
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Streams a file as a PUT body (no buffering in the client); seconds taken. */
export function putFile(url: string, file: string, start = 0, end?: number): Promise<{ seconds: number; status: number; etag?: string }> {
  const size = (end ?? statSync(file).size - 1) - start + 1;
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'PUT', agent, headers: { 'content-length': String(size) } }, (res) => {
      failIfCut(res, reject);
      // A failed upload fails the benchmark with what the server said: a figure from failed requests means nothing.
      const said: Buffer[] = [];
      res.on('data', (d: Buffer) => { if (res.statusCode !== 200) said.push(d); });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`PUT ${u.pathname}: ${res.statusCode} ${Buffer.concat(said).toString('utf8', 0, 2000)}`));
        else resolve({ seconds: (performance.now() - t) / 1000, status: res.statusCode, ...(res.headers.etag ? { etag: String(res.headers.etag) } : {}) });
      });
    });
    req.on('error', reject);
    createReadStream(file, { start, ...(end !== undefined ? { end } : {}), highWaterMark: 1 << 20 }).pipe(req);
  });
}

/** GETs a URL, discarding the body; seconds taken and bytes received. */
export async function getTimed(url: string): Promise<{ seconds: number; bytes: number; status: number }> {
  const t = performance.now();
  const r = await call(url, 'GET');
  return { seconds: (performance.now() - t) / 1000, bytes: r.bytes, status: r.status };
}

/** Runs `op` with `concurrency` in flight for `ms`; operations per second and latency percentiles (ms). */
export async function sustained(ms: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<{ perSecond: number; p50: number; p99: number; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const until = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < until) {
      const i = next++;
      const t = performance.now();
      try { await op(i); latencies.push(performance.now() - t); } catch { errors++; }
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { perSecond: latencies.length / seconds, p50: pct(0.5), p99: pct(0.99), errors };
}
