import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  PutBucketVersioningCommand, PutObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { seededRandom, testSeed } from '../helpers/seed.mjs';
import { ACCESS_KEY, failure, SECRET_KEY, startServer, type RunningServer } from '../helpers/server.js';
import { send, signedHeaders } from '../helpers/sign.js';

interface Usage { objects: number; versions: number; bytes: number; storedBytes: number; uploads: number; uploadBytes: number }

/** A bucket counted now, through the signed admin endpoint. */
async function usageOf(server: RunningServer, bucket: string): Promise<Usage & { quotaBytes?: number }> {
  const path = `/_kintsugi/admin/usage?bucket=${bucket}`;
  const r = await send(server.port, 'GET', path, await signedHeaders(server.port, 'GET', path, {}));
  expect(r.status, r.body).toBe(200);
  const { usage, quotaBytes } = JSON.parse(r.body) as { usage: Usage & { countedMs: number }; quotaBytes?: number };
  const { countedMs: _, ...figures } = usage;
  return { ...figures, ...(quotaBytes !== undefined ? { quotaBytes } : {}) };
}

async function setQuota(server: RunningServer, bucket: string, bytes: number | 'none'): Promise<void> {
  const path = `/_kintsugi/admin/quota?bucket=${bucket}&bytes=${bytes}`;
  const r = await send(server.port, 'PUT', path, await signedHeaders(server.port, 'PUT', path, {}));
  expect(r.status, r.body).toBe(200);
}

/** What 4+3 stores for `size` bytes. */
const stored = (size: number) => Math.ceil(size / 4) * 7;

describe('bucket usage (AWS SDK v3, 2 workers)', () => {
  let server: RunningServer;
  let s3: S3Client;
  const nodePath = tempDir('kintsugi-usage-');
  const env = { NODEPATH: nodePath, HEAL_INTERVAL: '0' };
  beforeAll(async () => {
    server = await startServer(env);
    s3 = server.client();
  });
  afterAll(async () => { await server.stop(); });

  it('is exact after 1,000 mixed puts, overwrites, deletes and versions', async () => {
    const random = seededRandom(testSeed('usage after mixed writes'));
    await s3.send(new CreateBucketCommand({ Bucket: 'mixed' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'mixed-v' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'mixed-v', VersioningConfiguration: { Status: 'Enabled' } }));
    // What each bucket must hold: per key, its versions oldest first (size, or null for a delete marker).
    const model = { mixed: new Map<string, number>(), 'mixed-v': new Map<string, { id: string; size: number | null }[]>() };
    for (let op = 0; op < 1000; op++) {
      const versioned = random() < 0.5;
      const Key = `k${Math.floor(random() * 60)}`;
      const r = random();
      const size = random() < 0.05 ? 200_000 + Math.floor(random() * 300_000) : Math.floor(random() * 5000);
      if (!versioned) {
        if (r < 0.75) {
          await s3.send(new PutObjectCommand({ Bucket: 'mixed', Key, Body: randomBytes(size) }));
          model.mixed.set(Key, size);
        } else {
          await s3.send(new DeleteObjectCommand({ Bucket: 'mixed', Key }));
          model.mixed.delete(Key);
        }
        continue;
      }
      const versions = model['mixed-v'].get(Key) ?? [];
      model['mixed-v'].set(Key, versions);
      if (r < 0.65) {
        const put = await s3.send(new PutObjectCommand({ Bucket: 'mixed-v', Key, Body: randomBytes(size) }));
        versions.push({ id: put.VersionId!, size });
      } else if (r < 0.85 || versions.length === 0) {
        const del = await s3.send(new DeleteObjectCommand({ Bucket: 'mixed-v', Key }));
        versions.push({ id: del.VersionId!, size: null });
      } else {
        const gone = versions.splice(Math.floor(random() * versions.length), 1)[0]!;
        await s3.send(new DeleteObjectCommand({ Bucket: 'mixed-v', Key, VersionId: gone.id }));
      }
    }
    const plain = [...model.mixed.values()];
    expect(await usageOf(server, 'mixed')).toEqual({
      objects: plain.length, versions: plain.length, bytes: plain.reduce((a, b) => a + b, 0), storedBytes: plain.reduce((a, b) => a + stored(b), 0), uploads: 0, uploadBytes: 0,
    });
    const all = [...model['mixed-v'].values()];
    const sizes = all.flat().filter((v) => v.size !== null).map((v) => v.size!);
    expect(await usageOf(server, 'mixed-v')).toEqual({
      objects: all.filter((vs) => vs.length > 0 && vs[vs.length - 1]!.size !== null).length,
      versions: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0), storedBytes: sizes.reduce((a, b) => a + stored(b), 0), uploads: 0, uploadBytes: 0,
    });
  }, 240_000);

  it('counts the parts of an upload in progress, exactly, after a kill -9 in the middle of a part', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'crash' }));
    await s3.send(new PutObjectCommand({ Bucket: 'crash', Key: 'whole', Body: randomBytes(1000) }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'crash', Key: 'big' }));
    await s3.send(new UploadPartCommand({ Bucket: 'crash', Key: 'big', UploadId, PartNumber: 1, Body: randomBytes(5 << 20) }));
    // Part 2 announces 8 MiB, sends 3 and the server dies.
    const path = `/crash/big?partNumber=2&uploadId=${UploadId}`;
    const headers = await signedHeaders(server.port, 'PUT', path, { 'content-length': String(8 << 20) }, 'UNSIGNED-PAYLOAD');
    const cut = new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port: server.port, method: 'PUT', path, headers });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.write(randomBytes(3 << 20), () => { void server.kill9(); });
    });
    await cut;
    await server.kill9();
    server = await startServer(env);
    s3 = server.client();
    expect(await usageOf(server, 'crash')).toEqual({ objects: 1, versions: 1, bytes: 1000, storedBytes: stored(1000), uploads: 1, uploadBytes: 5 << 20 });
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'crash', Key: 'big', UploadId }));
    expect((await usageOf(server, 'crash')).uploadBytes).toBe(0);
  }, 120_000);

  it('is the same after a node is wiped and healed, and shows in the admin status and `kintsugi status`', async () => {
    const before = await usageOf(server, 'mixed-v');
    await rm(join(nodePath, 'node-3'), { recursive: true, force: true });
    await server.stop();
    const heal = runCli(['heal', '--grace=0'], { NODEPATH: nodePath, SYNC: 'off' });
    expect(heal.status, heal.stderr).toBe(0);
    server = await startServer(env);
    s3 = server.client();
    expect(await usageOf(server, 'mixed-v')).toEqual(before);
    // The heal pass published every bucket's count.
    const r = await send(server.port, 'GET', '/_kintsugi/admin/status', await signedHeaders(server.port, 'GET', '/_kintsugi/admin/status', {}));
    const listed = (JSON.parse(r.body) as { buckets: { name: string; usage?: Usage }[] }).buckets.find((b) => b.name === 'mixed-v');
    expect(listed?.usage).toMatchObject(before);
    const status = runCli(['status', `--endpoint=${server.endpoint}`], { ACCESS_KEY, SECRET_KEY });
    expect(status.stdout).toContain(`bucket: mixed-v ${before.objects} objects, ${before.versions} versions, ${before.bytes} bytes`);
    const metrics = (await send(server.port, 'GET', '/_kintsugi/metrics')).body;
    expect(metrics).toMatch(new RegExp(`kintsugi_bucket_bytes\\{[^}]*bucket="mixed-v"[^}]*\\} ${before.bytes}\n`));
  }, 180_000);
});

describe('bucket quotas (two gateways on the same nodes)', () => {
  let a: RunningServer;
  let b: RunningServer;
  let viaA: S3Client;
  let viaB: S3Client;
  const nodePath = tempDir('kintsugi-quota-');
  beforeAll(async () => {
    a = await startServer({ NODEPATH: nodePath, HEAL_INTERVAL: '0' });
    b = await startServer({ NODEPATH: nodePath, HEAL_INTERVAL: '0' });
    viaA = a.client();
    viaB = b.client();
    await viaA.send(new CreateBucketCommand({ Bucket: 'capped' }));
  });
  afterAll(async () => {
    await a.stop();
    await b.stop();
  });
  // A quota set through one gateway is seen by the other once its bucket copy expires.
  const settle = () => new Promise((r) => setTimeout(r, 2200));

  it('refuses, with 403 QuotaExceeded naming the quota, a PUT that would cross it, through either gateway; a delete brings the bucket back under', async () => {
    await setQuota(a, 'capped', 1_000_000);
    await settle();
    for (let i = 0; i < 3; i++) await (i % 2 ? viaA : viaB).send(new PutObjectCommand({ Bucket: 'capped', Key: `p${i}`, Body: randomBytes(300_000) }));
    expect(await failure(viaA.send(new PutObjectCommand({ Bucket: 'capped', Key: 'p3', Body: randomBytes(300_000) })))).toEqual({ name: 'QuotaExceeded', status: 403 });
    expect(await failure(viaB.send(new PutObjectCommand({ Bucket: 'capped', Key: 'p3', Body: randomBytes(300_000) })))).toEqual({ name: 'QuotaExceeded', status: 403 });
    const path = '/capped/raw';
    const body = randomBytes(200_000);
    const refused = await send(b.port, 'PUT', path, await signedHeaders(b.port, 'PUT', path, { 'content-length': String(body.length) }, 'UNSIGNED-PAYLOAD'), body);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/<Code>QuotaExceeded<\/Code><Message>Bucket capped is over its quota: a quota of 1000000 bytes, 900000 bytes used, 200000 bytes more asked for/);
    // Refused before the body is read: no 100 Continue.
    const asked = await signedHeaders(b.port, 'PUT', path, { 'content-length': String(body.length), expect: '100-continue' }, 'UNSIGNED-PAYLOAD');
    const early = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = request({ host: '127.0.0.1', port: b.port, method: 'PUT', path, headers: asked });
      req.on('continue', () => { continued = true; req.end(body); });
      req.on('response', (res) => { res.resume(); resolve({ status: res.statusCode!, continued }); });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(early).toEqual({ status: 403, continued: false });
    // What fits still goes in.
    await viaB.send(new PutObjectCommand({ Bucket: 'capped', Key: 'small', Body: randomBytes(100_000) }));
    expect((await usageOf(a, 'capped')).bytes).toBe(1_000_000);
    await viaA.send(new DeleteObjectCommand({ Bucket: 'capped', Key: 'p0' }));
    await viaB.send(new PutObjectCommand({ Bucket: 'capped', Key: 'p3', Body: randomBytes(300_000) }));
    expect((await usageOf(b, 'capped')).bytes).toBe(1_000_000);
  });

  it('refuses an UploadPart that would cross it; CompleteMultipartUpload is never refused; `kintsugi bucket quota` sets and removes it', async () => {
    await viaA.send(new CreateBucketCommand({ Bucket: 'capped-mpu' }));
    const cli = runCli(['bucket', 'quota', 'capped-mpu', '12MiB'], { NODEPATH: nodePath, SYNC: 'off' });
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(`quota ${12 << 20} bytes`);
    await settle();
    const { UploadId } = await viaA.send(new CreateMultipartUploadCommand({ Bucket: 'capped-mpu', Key: 'big' }));
    const parts = [];
    for (const PartNumber of [1, 2]) parts.push({ PartNumber, ETag: (await viaB.send(new UploadPartCommand({ Bucket: 'capped-mpu', Key: 'big', UploadId, PartNumber, Body: randomBytes(5 << 20) }))).ETag });
    expect(await failure(viaA.send(new UploadPartCommand({ Bucket: 'capped-mpu', Key: 'big', UploadId, PartNumber: 3, Body: randomBytes(5 << 20) })))).toEqual({ name: 'QuotaExceeded', status: 403 });
    await viaA.send(new PutObjectCommand({ Bucket: 'capped-mpu', Key: 'fill', Body: randomBytes((2 << 20) - 1) }));
    // At the quota to a byte short: completing adds nothing and is never refused.
    await viaB.send(new CompleteMultipartUploadCommand({ Bucket: 'capped-mpu', Key: 'big', UploadId, MultipartUpload: { Parts: parts } }));
    expect(await usageOf(a, 'capped-mpu')).toMatchObject({ objects: 2, bytes: (12 << 20) - 1, uploads: 0, uploadBytes: 0, quotaBytes: 12 << 20 });
    expect(runCli(['bucket', 'quota', 'capped-mpu', 'none'], { NODEPATH: nodePath, SYNC: 'off' }).status).toBe(0);
    await settle();
    await viaA.send(new PutObjectCommand({ Bucket: 'capped-mpu', Key: 'over', Body: randomBytes(1 << 20) }));
    expect(runCli(['bucket', 'quota', 'capped-mpu', 'lots'], { NODEPATH: nodePath, SYNC: 'off' }).status).toBe(2);
    const usage = runCli(['bucket', 'usage', 'capped-mpu', '--json'], { NODEPATH: nodePath, SYNC: 'off' });
    expect(JSON.parse(usage.stdout).usage.bytes).toBe((13 << 20) - 1);
  });

  it('concurrent writers through both gateways overshoot by at most what they had in flight together', async () => {
    await viaA.send(new CreateBucketCommand({ Bucket: 'raced' }));
    const quota = 2_000_000;
    const size = 150_000;
    await setQuota(b, 'raced', quota);
    await settle();
    // Eight writers at a time, four through each gateway, until every one is refused.
    let refused = 0;
    let written = 0;
    for (let round = 0; round < 6 && refused < 8; round++) {
      refused = 0;
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => (i % 2 ? viaA : viaB).send(new PutObjectCommand({ Bucket: 'raced', Key: `r${round}-${i}`, Body: randomBytes(size) }))));
      for (const r of results) {
        if (r.status === 'fulfilled') written++;
        else if ((r.reason as { name: string }).name === 'QuotaExceeded') refused++;
        else throw r.reason;
      }
    }
    expect(refused).toBe(8);
    const used = (await usageOf(a, 'raced')).bytes;
    expect(used).toBe(written * size);
    // At most the eight writes in flight at once went in over the quota.
    expect(used).toBeLessThanOrEqual(quota + 8 * size);
    expect(used).toBeGreaterThan(quota - size);
  });
});
