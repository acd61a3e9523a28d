import { createHash } from 'node:crypto';

import { crc32 } from 'node:zlib';

import { GetObjectCommand, HeadObjectCommand, ListBucketsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACCESS_KEY, SECRET_KEY, startServer, type RunningServer } from '../helpers/server.js';
import { send, signedHeaders, streamingSignedPut } from '../helpers/sign.js';

const crc32Base64 = (data: Buffer) => { const b = Buffer.alloc(4); b.writeUInt32BE(crc32(data)); return b.toString('base64'); };

describe('signatures and addressing', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ DOMAIN: 'kintsugi.test', USERS: 'second-user:second-secret-1' });
    const create = await send(server.port, 'PUT', '/sig', await signedHeaders(server.port, 'PUT', '/sig', {}, createHash('sha256').digest('hex')));
    expect(create.status).toBe(200);
  });
  afterAll(async () => { await server.stop(); });

  it('accepts STREAMING-AWS4-HMAC-SHA256-PAYLOAD bodies with valid chunk signatures and refuses a tampered chunk', async () => {
    const data = Buffer.alloc(70_000, 'a');
    const good = await streamingSignedPut(server.port, '/sig/chunked', data);
    expect((await send(server.port, 'PUT', '/sig/chunked', good.headers, good.body)).status).toBe(200);
    const head = await server.client().send(new HeadObjectCommand({ Bucket: 'sig', Key: 'chunked' }));
    expect(head.ContentLength).toBe(70_000);
    expect(head.ETag).toBe(`"${createHash('md5').update(data).digest('hex')}"`);
    const bad = await streamingSignedPut(server.port, '/sig/tampered', data, { tamper: 'chunk' });
    const refused = await send(server.port, 'PUT', '/sig/tampered', bad.headers, bad.body);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/<Code>SignatureDoesNotMatch<\/Code>/);
  });

  it('verifies the trailer signature of STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER and the checksum it carries', async () => {
    const data = Buffer.from('trailing checksum '.repeat(5000));
    const trailer = { name: 'x-amz-checksum-crc32', value: crc32Base64(data) };
    const good = await streamingSignedPut(server.port, '/sig/trailer', data, { trailer });
    const stored = await send(server.port, 'PUT', '/sig/trailer', good.headers, good.body);
    expect(stored.status).toBe(200);
    expect(stored.headers['x-amz-checksum-crc32']).toBe(trailer.value);
    const got = await server.client().send(new GetObjectCommand({ Bucket: 'sig', Key: 'trailer' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);

    const forged = await streamingSignedPut(server.port, '/sig/trailer', Buffer.from('other bytes'), { trailer: { ...trailer, value: crc32Base64(Buffer.from('other bytes')) }, tamper: 'trailer' });
    const refused = await send(server.port, 'PUT', '/sig/trailer', forged.headers, forged.body);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/<Code>SignatureDoesNotMatch<\/Code>/);
    const after = await server.client().send(new GetObjectCommand({ Bucket: 'sig', Key: 'trailer' }));
    expect(Buffer.from(await after.Body!.transformToByteArray()).equals(data)).toBe(true);
  });

  it('refuses a request signed 20 minutes ago with RequestTimeTooSkewed', async () => {
    const headers = await signedHeaders(server.port, 'GET', '/', {}, createHash('sha256').digest('hex'), new Date(Date.now() - 20 * 60_000));
    const r = await send(server.port, 'GET', '/', headers);
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/<Code>RequestTimeTooSkewed<\/Code>/);
  });

  it('serves virtual-host style requests (<bucket>.DOMAIN) when DOMAIN is set', async () => {
    const s3 = new S3Client({
      endpoint: `http://kintsugi.test:${server.port}`, region: 'us-east-1', forcePathStyle: false,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    });
    // Resolve <bucket>.kintsugi.test to the local server without touching DNS.
    s3.middlewareStack.add((next) => async (args) => {
      const req = args.request as { hostname: string; headers: Record<string, string> };
      req.headers.host = `${req.hostname}:${server.port}`;
      req.hostname = '127.0.0.1';
      return next(args);
    }, { step: 'finalizeRequest', priority: 'low', name: 'localResolve' });
    await s3.send(new PutObjectCommand({ Bucket: 'sig', Key: 'vhost/obj', Body: 'virtual' }));
    const head = await server.client().send(new HeadObjectCommand({ Bucket: 'sig', Key: 'vhost/obj' }));
    expect(head.ContentLength).toBe(7);
  });

  it('accepts every user from USERS as well as ACCESS_KEY', async () => {
    const other = server.client({ accessKey: 'second-user', secret: 'second-secret-1' });
    expect((await other.send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name)).toContain('sig');
  });
});
