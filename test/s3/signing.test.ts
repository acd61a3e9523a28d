import { createHash, createHmac } from 'node:crypto';

import { HeadObjectCommand, ListBucketsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ACCESS_KEY, SECRET_KEY, startServer, type RunningServer } from '../helpers/server.js';
import { send, signedHeaders } from '../helpers/sign.js';

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
    const chunks = [data.subarray(0, 65_536), data.subarray(65_536), Buffer.alloc(0)];
    const framedLength = chunks.reduce((n, c) => n + c.length.toString(16).length + ';chunk-signature='.length + 64 + 4 + c.length, 0);
    const build = async (tamper: boolean) => {
      const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
      const headers = await signedHeaders(server.port, 'PUT', '/sig/chunked', {
        'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(data.length), 'content-length': String(framedLength), 'x-amz-date': amzDate,
      }, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
      const seed = /Signature=([0-9a-f]{64})/.exec(headers.authorization!)![1]!;
      const date = amzDate.slice(0, 8);
      const key = [date, 'us-east-1', 's3', 'aws4_request'].reduce<Buffer>((k, part) => createHmac('sha256', k).update(part).digest(), Buffer.from(`AWS4${SECRET_KEY}`));
      let previous = seed;
      const frames: Buffer[] = [];
      for (const chunk of chunks) {
        const toSign = ['AWS4-HMAC-SHA256-PAYLOAD', headers['x-amz-date'] ?? amzDate, `${date}/us-east-1/s3/aws4_request`, previous,
          createHash('sha256').digest('hex'), createHash('sha256').update(chunk).digest('hex')].join('\n');
        const sig = createHmac('sha256', key).update(toSign).digest('hex');
        const body = tamper && chunk.length > 0 ? Buffer.from(chunk).fill('b', 0, 1) : chunk;
        frames.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${sig}\r\n`), body, Buffer.from('\r\n'));
        previous = sig;
      }
      return { headers, body: Buffer.concat(frames) };
    };
    const good = await build(false);
    expect((await send(server.port, 'PUT', '/sig/chunked', good.headers, good.body)).status).toBe(200);
    const head = await server.client().send(new HeadObjectCommand({ Bucket: 'sig', Key: 'chunked' }));
    expect(head.ContentLength).toBe(70_000);
    expect(head.ETag).toBe(`"${createHash('md5').update(data).digest('hex')}"`);
    const bad = await build(true);
    const refused = await send(server.port, 'PUT', '/sig/tampered', bad.headers, bad.body);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/<Code>SignatureDoesNotMatch<\/Code>/);
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
