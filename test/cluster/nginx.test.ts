import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { listKeys } from '../helpers/listing.js';
import { CLUSTER_SECRET, startNode, stopNode, type NodeProcess } from '../helpers/nodes.js';
import { ACCESS_KEY, freePort, SECRET_KEY, startServer, type RunningServer } from '../helpers/server.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * Debian's nginx in front of the gateways with the shipped site
 * (deploy/nginx.conf), its upstream pointed at the gateways' loopback ports.
 */
async function startNginx(gateways: readonly number[]): Promise<{ port: number; child: ChildProcess; stop: () => Promise<void> }> {
  const dir = tempDir('kintsugi-nginx-');
  const port = await freePort();
  const site = readFileSync(join(ROOT, 'deploy/nginx.conf'), 'utf8')
    .replace(/server gateway1:9000/, `server 127.0.0.1:${gateways[0]}`)
    .replace(/server gateway2:9000/, `server 127.0.0.1:${gateways[1]}`)
    .replace(/listen 80;/, `listen 127.0.0.1:${port};`);
  expect(site).toContain(`127.0.0.1:${gateways[1]}`);
  writeFileSync(join(dir, 'site.conf'), site);
  writeFileSync(join(dir, 'nginx.conf'), `
user root;
worker_processes 2;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/site.conf;
}
`);
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  // Up once it answers on its port.
  for (let tries = 0; ; tries++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${err}`);
    const up = await fetch(`http://127.0.0.1:${port}/_kintsugi/health/live`).then((r) => r.ok, () => false);
    if (up) break;
    if (tries > 100) throw new Error(`nginx did not answer: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port, child,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGQUIT');
    }),
  };
}

describe('two gateways behind nginx (Debian\'s, with deploy/nginx.conf)', () => {
  const nodes: NodeProcess[] = [];
  const gateways: RunningServer[] = [];
  let nginx: Awaited<ReturnType<typeof startNginx>>;
  let s3: S3Client;

  beforeAll(async () => {
    for (let i = 0; i < 7; i++) nodes.push(await startNode(tempDir(`kintsugi-nginx-node-${i}-`)));
    for (let g = 0; g < 2; g++) gateways.push(await startServer({ NODES: nodes.map((n) => n.url).join(','), CLUSTER_SECRET }));
    nginx = await startNginx(gateways.map((g) => g.port));
    s3 = new S3Client({
      endpoint: `http://127.0.0.1:${nginx.port}`, region: 'us-east-1', forcePathStyle: true,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    });
  }, 90_000);
  afterAll(async () => {
    await nginx?.stop();
    for (const g of gateways) await g.stop();
    for (const n of nodes) await stopNode(n);
  });

  it('serves concurrent clients through either gateway, every answer right', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'behind-nginx' }));
    const expected = new Map<string, string>();
    // 12 clients at once, each writing, reading back, overwriting and deleting its own keys.
    await Promise.all(Array.from({ length: 12 }, async (_, c) => {
      for (let i = 0; i < 8; i++) {
        const Key = `client-${c}/object-${i}`;
        let body = randomBytes(i % 4 === 0 ? 700 * 1024 : 2000 + i);
        await s3.send(new PutObjectCommand({ Bucket: 'behind-nginx', Key, Body: body }));
        expect(sha(await (await s3.send(new GetObjectCommand({ Bucket: 'behind-nginx', Key }))).Body!.transformToByteArray()), Key).toBe(sha(body));
        if (i % 3 === 0) {
          body = randomBytes(1500);
          await s3.send(new PutObjectCommand({ Bucket: 'behind-nginx', Key, Body: body }));
        }
        if (i % 5 === 4) await s3.send(new DeleteObjectCommand({ Bucket: 'behind-nginx', Key }));
        else expected.set(Key, sha(body));
      }
    }));
    const listed = await listKeys(s3, 'behind-nginx', 40);
    expect(listed).toEqual([...expected.keys()].sort());
    for (const [Key, digest] of expected) {
      expect(sha(await (await s3.send(new GetObjectCommand({ Bucket: 'behind-nginx', Key }))).Body!.transformToByteArray())).toBe(digest);
    }
    // nginx spread the load: both gateways answered S3 requests.
    for (const g of gateways) expect(g.logs()).toMatch(/"api":"PutObject"/);
  }, 180_000);

  it('keeps serving when one gateway dies', async () => {
    await gateways[0]!.kill9();
    for (let i = 0; i < 10; i++) {
      const body = randomBytes(3000);
      await s3.send(new PutObjectCommand({ Bucket: 'behind-nginx', Key: `after-failover/${i}`, Body: body }));
      expect(sha(await (await s3.send(new GetObjectCommand({ Bucket: 'behind-nginx', Key: `after-failover/${i}` }))).Body!.transformToByteArray())).toBe(sha(body));
    }
  }, 60_000);
});
