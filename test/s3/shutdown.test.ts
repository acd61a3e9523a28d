import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';

import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { startServer } from '../helpers/server.js';

describe('graceful shutdown', () => {
  it('finishes an upload in flight when the server is told to stop, then exits', async () => {
    const server = await startServer();
    const s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'drain' }));
    const url = new URL(await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'drain', Key: 'slow' }), { expiresIn: 300 }));
    const body = randomBytes(8 << 20);

    const status = new Promise<number>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, method: 'PUT', path: url.pathname + url.search, headers: { 'content-length': String(body.length) } },
        (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)); });
      req.on('error', reject);
      // 8 chunks of 1 MiB, 150 ms apart: the stop arrives in the middle.
      let i = 0;
      const tick = () => {
        req.write(body.subarray(i << 20, (i + 1) << 20));
        if (++i < 8) setTimeout(tick, 150);
        else req.end();
      };
      tick();
    });
    await new Promise((r) => setTimeout(r, 400));
    const stopped = server.stop();
    expect(await status).toBe(200);
    await stopped;

    // The acknowledged object is there when the server comes back.
    const again = await startServer({ NODEPATH: server.nodePath });
    const got = await again.client().send(new GetObjectCommand({ Bucket: 'drain', Key: 'slow' }));
    expect(createHash('sha256').update(await got.Body!.transformToByteArray()).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    await again.stop();
  }, 60_000);

  it('exits with an error, instead of restarting workers forever, when the port is taken', async () => {
    const first = await startServer();
    const second = spawn(process.execPath, [join(ROOT, 'dist/server/cli.js'), 'server'], {
      env: { ...process.env, NODEPATH: tempDir('kintsugi-port-'), PORT: String(first.port), HOST: '127.0.0.1', WORKERS: '2', SYNC: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    second.stderr!.on('data', (d) => { err += d; });
    const code = await new Promise<number | null>((resolve) => second.once('exit', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(err).toMatch(/EADDRINUSE/);
    await first.stop();
  });
});
