/**
 * What the web console's gateway costs: the same S3 reads, once signed by
 * the client (SigV4, as any S3 client) and once sent with the console's
 * session cookie (the server checks the session, signs the request as the
 * user, then verifies and serves it like the first). Interleaved rounds,
 * medians, ratio console / direct in one run.
 *
 *   npm run bench:console [-- --rounds=3 --time=2000]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { signHeaders } from '../../plugins/transport-h3/auth/sigv4-sign.js';
import { freePort, waitFor } from '../common/processes.js';
import { fmt, parseBenchArgs, printTable } from '../common/report.js';
import { interleaved, medianRatio } from '../common/rounds.js';
import { call } from '../e2e/http-load.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const KEY = 'benchkey';
const SECRET = 'benchsecret';
const IN_FLIGHT = 16;


const { values } = parseBenchArgs(process.argv.slice(2));
const rounds = Number(values.get('rounds') ?? 3);
const timeMs = Number(values.get('time') ?? 2000);

const work = mkdtempSync(join(tmpdir(), 'kintsugi-bench-console-'));
const port = await freePort();
const server = spawn(process.execPath, [join(root, 'dist/server/cli.js'), 'server'], {
  env: { ...process.env, NODEPATH: work, PORT: String(port), HOST: '127.0.0.1', SYNC: 'off', ACCESS_KEY: KEY, SECRET_KEY: SECRET, HEAL_INTERVAL: '0' },
  stdio: ['ignore', 'pipe', 'ignore'],
});
try {
  await waitFor(server, 'Kintsugi S3 endpoint');
  const endpoint = `http://127.0.0.1:${port}`;
  const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
  await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
  for (let i = 0; i < IN_FLIGHT; i++) await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: `small/${i}`, Body: randomBytes(64 * 1024) }));
  await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: 'large', Body: randomBytes(16 << 20) }));

  const signIn = await fetch(`${endpoint}/_kintsugi/console/api/session`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-kintsugi-console': '1' }, body: JSON.stringify({ accessKey: KEY, secretKey: SECRET }),
  });
  const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;

  const direct = (path: string, query = '') => {
    const headers = signHeaders({ method: 'GET', rawPath: path, query: new URLSearchParams(query), host: `127.0.0.1:${port}` }, { accessKey: KEY, secretKey: SECRET });
    return call(`${endpoint}${path}${query ? `?${query}` : ''}`, 'GET', undefined, headers);
  };
  const viaConsole = (path: string, query = '') => call(`${endpoint}/_kintsugi/console/api/s3${path}${query ? `?${query}` : ''}`, 'GET', undefined, { cookie });
  const ok = async (p: Promise<{ status: number }>) => { const r = await p; if (r.status !== 200) throw new Error(`HTTP ${r.status}`); };
  const smallGets = (get: typeof direct) => () => Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => ok(get(`/bench/small/${i}`))));
  const listings = (get: typeof direct) => () => Promise.all(Array.from({ length: IN_FLIGHT }, () => ok(get('/bench', 'list-type=2&prefix=small%2F'))));
  const largeGet = (get: typeof direct) => () => ok(get('/bench/large'));

  const workloads = [
    { name: `GET 64 KiB, ${IN_FLIGHT} in flight`, unit: 'objects/s', units: IN_FLIGHT, make: smallGets },
    { name: `ListObjectsV2 (${IN_FLIGHT} keys), ${IN_FLIGHT} in flight`, unit: 'lists/s', units: IN_FLIGHT, make: listings },
    { name: 'GET 16 MiB, 1 in flight', unit: 'MiB/s', units: 16, make: largeGet },
  ];
  const rows: (string | number)[][] = [];
  for (const w of workloads) {
    const result = await interleaved([
      { name: 'direct', run: w.make(direct), units: w.units },
      { name: 'console', run: w.make(viaConsole), units: w.units },
    ], rounds, timeMs);
    const d = result.get('direct')!;
    const c = result.get('console')!;
    rows.push([w.name, `${fmt(d.rate * 1000, 1)} ${w.unit}`, `${fmt(c.rate * 1000, 1)} ${w.unit}`, fmt(medianRatio(c.perRound, d.perRound), 2)]);
  }
  console.log(`\nThe console's gateway against a SigV4 client (2 workers, 4+3, SYNC=off; median of ${rounds} interleaved rounds of ${timeMs} ms)\n`);
  printTable(['workload', 'SigV4 client', 'console session', 'console / client'], rows);
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(work, { recursive: true, force: true });
}
