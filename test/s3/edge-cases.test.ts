import { createHash } from 'node:crypto';

import {
  CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand,
  UploadPartCopyCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { failure, startServer, type RunningServer } from '../helpers/server.js';
import { send, signedHeaders } from '../helpers/sign.js';

const sha256 = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

describe('the smaller gaps real clients hit', () => {
  let server: RunningServer;
  let s3: S3Client;
  beforeAll(async () => {
    server = await startServer();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'edges' }));
    await s3.send(new PutObjectCommand({ Bucket: 'edges', Key: 'kept', Body: 'kept as it was' }));
  });
  afterAll(async () => { await server.stop(); });

  const put = async (path: string, body: string, extra: Record<string, string>) => {
    const headers = await signedHeaders(server.port, 'PUT', path, { 'content-length': String(Buffer.byteLength(body)), ...extra }, sha256(body));
    return send(server.port, 'PUT', path, { ...headers, ...extra }, body);
  };
  const kept = async () => expect(await (await s3.send(new GetObjectCommand({ Bucket: 'edges', Key: 'kept' }))).Body!.transformToString()).toBe('kept as it was');

  it('ignores an Expect header other than 100-continue, as AWS does', async () => {
    const r = await put('/edges/expect', 'expected', { expect: 'something-else' });
    expect(r.status).toBe(200);
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'edges', Key: 'expect' }))).Body!.transformToString()).toBe('expected');
  });

  it('answers a malformed or empty Content-MD5 with InvalidDigest and stores nothing', async () => {
    for (const md5 of ['abc', '', 'not base64 at all!!!!!==']) {
      const r = await put('/edges/kept', 'replacement', { 'content-md5': md5 });
      expect(r.status).toBe(400);
      expect(r.body).toContain('<Code>InvalidDigest</Code>');
    }
    const wrong = await put('/edges/kept', 'replacement', { 'content-md5': createHash('md5').update('other').digest('base64') });
    expect(wrong.body).toContain('<Code>BadDigest</Code>');
    await kept();
  });

  it('refuses bucket names with a dot next to a hyphen', async () => {
    for (const Bucket of ['my.-bucket', 'my-.bucket']) {
      expect(await failure(s3.send(new CreateBucketCommand({ Bucket })))).toEqual({ name: 'InvalidBucketName', status: 400 });
    }
  });

  it('refuses a presigned URL that expires after 0 seconds with 403', async () => {
    const url = new URL(await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'edges', Key: 'kept' }), { expiresIn: 60 }));
    expect((await send(server.port, 'GET', url.pathname + url.search)).status).toBe(200);
    url.searchParams.set('X-Amz-Expires', '0');
    const r = await send(server.port, 'GET', url.pathname + url.search);
    expect(r.status).toBe(403);
    expect(r.body).toContain('<Code>AccessDenied</Code>');
  });

  it('stores a body sent with Content-Encoding: aws-chunked but no streaming payload as sent, and never keeps aws-chunked', async () => {
    const framed = '5\r\nhello\r\n0\r\n\r\n';
    expect((await put('/edges/framed', framed, { 'content-encoding': 'aws-chunked' })).status).toBe(200);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'edges', Key: 'framed' }));
    expect(await got.Body!.transformToString()).toBe(framed);
    expect(got.ContentEncoding).toBeUndefined();
    expect((await put('/edges/gzip', 'pretend gzip', { 'content-encoding': 'aws-chunked, gzip' })).status).toBe(200);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'edges', Key: 'gzip' }))).ContentEncoding).toBe('gzip');
    // The SDK streams with aws-chunked and declares the object's own encoding beside it.
    await s3.send(new PutObjectCommand({ Bucket: 'edges', Key: 'sdk-gzip', Body: 'zipped?', ContentEncoding: 'gzip' }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'edges', Key: 'sdk-gzip' }))).ContentEncoding).toBe('gzip');
  });

  it('treats an empty continuation-token as none', async () => {
    const path = '/edges?list-type=2&continuation-token=';
    const r = await send(server.port, 'GET', path, await signedHeaders(server.port, 'GET', path, {}));
    expect(r.status).toBe(200);
    expect(r.body).toContain('<Key>kept</Key>');
    const sdk = await s3.send(new ListObjectsV2Command({ Bucket: 'edges', ContinuationToken: '' }));
    expect(sdk.Contents!.map((c) => c.Key)).toContain('kept');
  });

  it('answers an UploadPartCopy range outside the source with InvalidRange', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'edges', Key: 'assembled' }));
    const copy = (CopySourceRange: string) => s3.send(new UploadPartCopyCommand({ Bucket: 'edges', Key: 'assembled', UploadId, PartNumber: 1, CopySource: 'edges/kept', CopySourceRange }));
    expect(await failure(copy('bytes=0-999999'))).toEqual({ name: 'InvalidRange', status: 416 });
    expect(await failure(copy('bytes=100-200'))).toEqual({ name: 'InvalidRange', status: 416 });
    expect((await copy('bytes=0-3')).CopyPartResult?.ETag).toBe(`"${createHash('md5').update('kept').digest('hex')}"`);
  });
});
