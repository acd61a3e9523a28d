import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';

import {
  CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketCommand, DeleteObjectCommand,
  GetObjectAttributesCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/cli.js';
import { pythonsWithBoto3 } from '../helpers/python.js';
import { ACCESS_KEY, failure, SECRET_KEY, startServer, type RunningServer } from '../helpers/server.js';
import { send, signedHeaders } from '../helpers/sign.js';

const MiB = 1 << 20;
const text = async (p: Promise<{ Body?: { transformToByteArray(): Promise<Uint8Array> } }>) => Buffer.from(await (await p).Body!.transformToByteArray());

/**
 * The server runs two workers; every client below has its own connections,
 * and the primary hands connections to the workers in turn, so racing
 * requests are served by both.
 */
describe('writes: conditions, races, parts and buckets across workers', () => {
  let server: RunningServer;
  let s3: S3Client;
  beforeAll(async () => {
    server = await startServer();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'writes' }));
  });
  afterAll(async () => { await server.stop(); });

  /** A signed request on a connection of its own. */
  const fresh = async (method: string, path: string) =>
    send(server.port, method, path, { ...(await signedHeaders(server.port, method, path, {})), connection: 'close' });

  it.each([['inline', 10_000], ['erasure-coded', 2 * MiB]])('eight writers racing to create one key with If-None-Match: * (%s): exactly one wins', async (_, size) => {
    for (let round = 0; round < 3; round++) {
      const key = `race-${size}-${round}`;
      const bodies = Array.from({ length: 8 }, () => randomBytes(size));
      const results = await Promise.allSettled(bodies.map((Body) => server.client().send(new PutObjectCommand({ Bucket: 'writes', Key: key, Body, IfNoneMatch: '*' }))));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(['PreconditionFailed', 'ConditionalRequestConflict']).toContain((r.reason as Error).name);
      }
      expect((await text(s3.send(new GetObjectCommand({ Bucket: 'writes', Key: key })))).equals(bodies[won[0]!]!)).toBe(true);
    }
  });

  it('If-Match replaces only the version named; If-None-Match: * never replaces; DeleteObject honours If-Match', async () => {
    const first = await s3.send(new PutObjectCommand({ Bucket: 'writes', Key: 'cond', Body: 'first' }));
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'writes', Key: 'cond', Body: 'x', IfNoneMatch: '*' })))).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'writes', Key: 'cond', Body: 'x', IfMatch: '"0123456789abcdef0123456789abcdef"' })))).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect((await text(s3.send(new GetObjectCommand({ Bucket: 'writes', Key: 'cond' })))).toString()).toBe('first');
    const second = await s3.send(new PutObjectCommand({ Bucket: 'writes', Key: 'cond', Body: 'second', IfMatch: first.ETag }));
    expect((await text(s3.send(new GetObjectCommand({ Bucket: 'writes', Key: 'cond' })))).toString()).toBe('second');
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'writes', Key: 'never-written', Body: 'x', IfMatch: first.ETag })))).toEqual({ name: 'NoSuchKey', status: 404 });

    expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: 'writes', Key: 'cond', IfMatch: first.ETag })))).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'writes', Key: 'cond' }))).ETag).toBe(second.ETag);
    await s3.send(new DeleteObjectCommand({ Bucket: 'writes', Key: 'cond', IfMatch: second.ETag }));
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'writes', Key: 'cond' })))).toMatchObject({ status: 404 });
  });

  it('CompleteMultipartUpload with If-None-Match: * does not replace an existing key, and the upload can still complete', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'writes', Key: 'mpu-cond', Body: 'existing' }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'writes', Key: 'mpu-cond' }));
    const part = randomBytes(1000);
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: 'writes', Key: 'mpu-cond', UploadId, PartNumber: 1, Body: part }));
    const complete = (IfNoneMatch?: string) => s3.send(new CompleteMultipartUploadCommand({
      Bucket: 'writes', Key: 'mpu-cond', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] }, ...(IfNoneMatch ? { IfNoneMatch } : {}),
    }));
    expect(await failure(complete('*'))).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect((await text(s3.send(new GetObjectCommand({ Bucket: 'writes', Key: 'mpu-cond' })))).toString()).toBe('existing');
    await complete();
    expect((await text(s3.send(new GetObjectCommand({ Bucket: 'writes', Key: 'mpu-cond' })))).equals(part)).toBe(true);
  });

  it.each([['inline', 20_000], ['erasure-coded', 3 * MiB]])('of two overlapping PUTs the one that completes last wins (%s)', async (_, size) => {
    const key = `last-writer-${size}`;
    const slow = randomBytes(size);
    const fast = randomBytes(size);
    const path = `/writes/${key}`;
    const headers = await signedHeaders(server.port, 'PUT', path, { 'content-length': String(size) }, 'UNSIGNED-PAYLOAD');
    // The slow writer starts first and sends half its body...
    const slowDone = new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, method: 'PUT', path, headers, agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)); });
      req.on('error', reject);
      req.write(slow.subarray(0, size / 2));
      // ...the fast writer starts later and finishes while the slow one waits...
      void server.client().send(new PutObjectCommand({ Bucket: 'writes', Key: key, Body: fast })).then(() => {
        setTimeout(() => req.end(slow.subarray(size / 2)), 300);
      }, reject);
    });
    // ...then the slow writer completes: readers get its bytes.
    expect(await slowDone).toBe(200);
    for (let i = 0; i < 4; i++) expect((await fresh('HEAD', path)).headers.etag).toBe(`"${createHash('md5').update(slow).digest('hex')}"`);
    expect((await text(s3.send(new GetObjectCommand({ Bucket: 'writes', Key: key })))).equals(slow)).toBe(true);
  });

  it('GET and HEAD ?partNumber answer one part of a multipart object, or all of a plain one', async () => {
    const p1 = randomBytes(5 * MiB);
    const p2 = randomBytes(1000);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'writes', Key: 'parts' }));
    const e1 = (await s3.send(new UploadPartCommand({ Bucket: 'writes', Key: 'parts', UploadId, PartNumber: 1, Body: p1 }))).ETag;
    const e2 = (await s3.send(new UploadPartCommand({ Bucket: 'writes', Key: 'parts', UploadId, PartNumber: 2, Body: p2 }))).ETag;
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'writes', Key: 'parts', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }] } }));

    const second = await s3.send(new GetObjectCommand({ Bucket: 'writes', Key: 'parts', PartNumber: 2 }));
    expect(second.$metadata.httpStatusCode).toBe(206);
    expect(second.PartsCount).toBe(2);
    expect(second.ContentRange).toBe(`bytes ${5 * MiB}-${5 * MiB + 999}/${5 * MiB + 1000}`);
    expect(Buffer.from(await second.Body!.transformToByteArray()).equals(p2)).toBe(true);
    expect((await text(s3.send(new GetObjectCommand({ Bucket: 'writes', Key: 'parts', PartNumber: 1 })))).equals(p1)).toBe(true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'writes', Key: 'parts', PartNumber: 1 }));
    expect([head.ContentLength, head.PartsCount]).toEqual([5 * MiB, 2]);
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'writes', Key: 'parts', PartNumber: 3 })))).toEqual({ name: 'InvalidPartNumber', status: 416 });

    await s3.send(new PutObjectCommand({ Bucket: 'writes', Key: 'plain', Body: 'not multipart' }));
    const whole = await s3.send(new GetObjectCommand({ Bucket: 'writes', Key: 'plain', PartNumber: 1 }));
    expect(await whole.Body!.transformToString()).toBe('not multipart');
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'writes', Key: 'plain', PartNumber: 2 })))).toEqual({ name: 'InvalidPartNumber', status: 416 });
  });

  it.each(pythonsWithBoto3())('boto3 (%s): conditional writes, a retried completion, partNumber and attributes', (python) => {
    const r = spawnSync(python, [join(ROOT, 'test/s3/boto3-semantics.py'), server.endpoint, ACCESS_KEY, SECRET_KEY], { encoding: 'utf8', timeout: 60_000 });
    expect(`${r.stdout}\n${r.stderr}`.slice(-3000)).toMatch(/boto3 semantics ok/);
    expect(r.status).toBe(0);
  });

  it('GetObjectAttributes reports ETag, checksum, parts, storage class and size', async () => {
    const body = Buffer.from('attributes');
    const put = await s3.send(new PutObjectCommand({ Bucket: 'writes', Key: 'attrs', Body: body, ChecksumAlgorithm: 'SHA256' }));
    const all = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;
    const attrs = await s3.send(new GetObjectAttributesCommand({ Bucket: 'writes', Key: 'attrs', ObjectAttributes: [...all] }));
    expect(`"${attrs.ETag}"`).toBe(put.ETag);
    expect(attrs.Checksum?.ChecksumSHA256).toBe(put.ChecksumSHA256);
    expect([attrs.StorageClass, attrs.ObjectSize, attrs.ObjectParts]).toEqual(['STANDARD', body.length, undefined]);
    expect(attrs.LastModified).toBeInstanceOf(Date);

    const multipart = await s3.send(new GetObjectAttributesCommand({ Bucket: 'writes', Key: 'parts', ObjectAttributes: [...all] }));
    expect(multipart.ObjectParts?.TotalPartsCount).toBe(2);
    expect(multipart.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[1, 5 * MiB], [2, 1000]]);
    expect(multipart.ObjectSize).toBe(5 * MiB + 1000);
    expect(multipart.ETag).toMatch(/^[0-9a-f]{32}-2$/);
    expect(await failure(s3.send(new GetObjectAttributesCommand({ Bucket: 'writes', Key: 'missing', ObjectAttributes: ['ETag'] })))).toMatchObject({ status: 404 });
  });

  it('a bucket created on one worker is there on every worker at once, and a deleted one is gone everywhere', async () => {
    for (let round = 0; round < 3; round++) {
      expect((await fresh('PUT', `/across-${round}`)).status).toBe(200);
      for (let i = 0; i < 4; i++) expect((await fresh('PUT', `/across-${round}/k${i}`)).status).toBe(200);
      for (let i = 0; i < 4; i++) expect((await fresh('DELETE', `/across-${round}/k${i}`)).status).toBe(204);
      expect((await fresh('DELETE', `/across-${round}`)).status).toBe(204);
      for (let i = 0; i < 4; i++) {
        expect((await fresh('HEAD', `/across-${round}`)).status).toBe(404);
        expect((await fresh('GET', `/across-${round}?list-type=2`)).body).toContain('<Code>NoSuchBucket</Code>');
      }
    }
  });

  it('never acknowledges a PUT into a bucket that a racing DeleteBucket deleted', async () => {
    for (let round = 0; round < 6; round++) {
      const bucket = `doomed-${round}`;
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const puts = Array.from({ length: 12 }, (_, i) => new Promise((r) => setTimeout(r, i * round)).then(() =>
        server.client().send(new PutObjectCommand({ Bucket: bucket, Key: `k${i}`, Body: randomBytes(i % 2 ? 200_000 : 1000) }))));
      const deleted = new Promise((r) => setTimeout(r, 3 * round)).then(() => server.client().send(new DeleteBucketCommand({ Bucket: bucket })));
      const [del, ...results] = await Promise.allSettled([deleted, ...puts]);
      const acknowledged = results.flatMap((r, i) => (r.status === 'fulfilled' ? [`k${i}`] : []));
      if (del!.status === 'fulfilled') {
        expect(acknowledged).toEqual([]);
        expect((await fresh('HEAD', `/${bucket}`)).status).toBe(404);
      } else {
        expect((del.reason as Error).name).toBe('BucketNotEmpty');
        for (const key of acknowledged) expect((await fresh('HEAD', `/${bucket}/${key}`)).status).toBe(200);
      }
      for (const r of results) if (r.status === 'rejected') expect((r.reason as Error).name).toBe('NoSuchBucket');
    }
  });
});
