import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import {
  CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, GetBucketLocationCommand, GetBucketVersioningCommand,
  GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListBucketsCommand, ListObjectsCommand, ListObjectsV2Command,
  ListObjectVersionsCommand, PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { md5, sha256 } from '../helpers/engine.js';
import { failure, startServer, type RunningServer } from '../helpers/server.js';


describe('the S3 API through @aws-sdk/client-s3 (2 workers)', () => {
  let server: RunningServer;
  let s3: S3Client;
  beforeAll(async () => {
    server = await startServer();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'alpha' }));
  });
  afterAll(async () => { await server.stop(); });

  describe('buckets', () => {
    it('creates, heads, lists and locates buckets', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'beta' }));
      await s3.send(new HeadBucketCommand({ Bucket: 'beta' }));
      const names = (await s3.send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name);
      expect(names).toEqual(expect.arrayContaining(['alpha', 'beta']));
      expect((await s3.send(new GetBucketLocationCommand({ Bucket: 'beta' }))).LocationConstraint ?? '').toBe('');
      expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'beta' }))).Status).toBeUndefined();
    });

    it('answers a repeated CreateBucket as us-east-1 does (200), BucketAlreadyOwnedByYou when it asks for more, InvalidBucketName, NoSuchBucket and BucketNotEmpty', async () => {
      expect((await s3.send(new CreateBucketCommand({ Bucket: 'alpha' }))).$metadata.httpStatusCode).toBe(200);
      expect(await failure(s3.send(new CreateBucketCommand({ Bucket: 'alpha', ACL: 'public-read' })))).toEqual({ name: 'BucketAlreadyOwnedByYou', status: 409 });
      expect(await failure(s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })))).toEqual({ name: 'InvalidBucketName', status: 400 });
      expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'missing-bucket', Key: 'k' })))).toEqual({ name: 'NoSuchBucket', status: 404 });
      await s3.send(new CreateBucketCommand({ Bucket: 'full' }));
      await s3.send(new PutObjectCommand({ Bucket: 'full', Key: 'x', Body: 'x' }));
      expect(await failure(s3.send(new DeleteBucketCommand({ Bucket: 'full' })))).toEqual({ name: 'BucketNotEmpty', status: 409 });
      await s3.send(new DeleteObjectCommand({ Bucket: 'full', Key: 'x' }));
      await s3.send(new DeleteBucketCommand({ Bucket: 'full' }));
      expect(await failure(s3.send(new HeadBucketCommand({ Bucket: 'full' })))).toMatchObject({ status: 404 });
    });
  });

  describe('objects', () => {
    it('round-trips bodies of many sizes bit-exact, with MD5 ETags and the SDK\'s default CRC32 checksums', async () => {
      for (const size of [0, 1, 1000, (1 << 20) - 1, (3 << 20) + 7]) {
        const body = randomBytes(size);
        const put = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `sizes/${size}`, Body: body }));
        expect(put.ETag).toBe(`"${md5(body)}"`);
        const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: `sizes/${size}` }));
        expect(sha256(await got.Body!.transformToByteArray())).toBe(sha256(body));
        expect(got.ContentLength).toBe(size);
      }
    });

    it('keeps content type, user metadata and standard headers', async () => {
      await s3.send(new PutObjectCommand({
        Bucket: 'alpha', Key: 'meta', Body: 'hello', ContentType: 'text/plain', CacheControl: 'no-cache',
        ContentDisposition: 'attachment; filename="h.txt"', ContentEncoding: 'identity', Metadata: { colour: 'blue', 'two-words': 'a b' },
      }));
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'meta' }));
      expect(head).toMatchObject({ ContentType: 'text/plain', CacheControl: 'no-cache', ContentDisposition: 'attachment; filename="h.txt"', ContentEncoding: 'identity', Metadata: { colour: 'blue', 'two-words': 'a b' }, ContentLength: 5 });
    });

    it('serves ranges and response-* overrides', async () => {
      const body = randomBytes(2_500_000);
      await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'ranged', Body: body }));
      for (const [range, from, to] of [['bytes=0-0', 0, 1], ['bytes=1000000-1999999', 1_000_000, 2_000_000], ['bytes=-10', 2_499_990, 2_500_000], ['bytes=2400000-', 2_400_000, 2_500_000]] as const) {
        const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'ranged', Range: range }));
        expect(Buffer.compare(Buffer.from(await got.Body!.transformToByteArray()), body.subarray(from, to)), range).toBe(0);
        expect(got.ContentRange).toBe(`bytes ${from}-${to - 1}/2500000`);
      }
      expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'ranged', Range: 'bytes=2500000-' })))).toEqual({ name: 'InvalidRange', status: 416 });
      const over = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'ranged', ResponseContentType: 'image/png', ResponseContentDisposition: 'inline' }));
      expect(over.ContentType).toBe('image/png');
      expect(over.ContentDisposition).toBe('inline');
      await over.Body!.transformToByteArray();
    });

    it('honours If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since', async () => {
      const put = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'cond', Body: 'v1' }));
      const past = new Date(Date.now() - 3600_000);
      const future = new Date(Date.now() + 3600_000);
      expect((await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'cond', IfMatch: put.ETag }))).ETag).toBe(put.ETag);
      expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'cond', IfMatch: '"nope"' })))).toEqual({ name: 'PreconditionFailed', status: 412 });
      expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'cond', IfNoneMatch: put.ETag })))).toMatchObject({ status: 304 });
      expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'cond', IfModifiedSince: future })))).toMatchObject({ status: 304 });
      expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'cond', IfUnmodifiedSince: past })))).toEqual({ name: 'PreconditionFailed', status: 412 });
      expect((await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'cond', IfModifiedSince: past }))).ETag).toBe(put.ETag);
    });

    it('checks Content-MD5 (BadDigest) and x-amz-checksum-* values, and returns them with checksum mode', async () => {
      expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'md5', Body: 'abc', ContentMD5: Buffer.from(md5(Buffer.from('abd')), 'hex').toString('base64') })))).toEqual({ name: 'BadDigest', status: 400 });
      const sha256 = createHash('sha256').update('abc').digest('base64');
      await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'sum', Body: 'abc', ChecksumSHA256: sha256 }));
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'sum', ChecksumMode: 'ENABLED' }));
      expect(head.ChecksumSHA256).toBe(sha256);
      expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'sum', Body: 'abd', ChecksumSHA256: sha256 })))).toEqual({ name: 'BadDigest', status: 400 });
      expect(Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'sum' }))).Body!.transformToByteArray()).toString()).toBe('abc');
    });

    it.each(['CRC32', 'CRC32C', 'SHA1', 'SHA256'] as const)('validates, stores and returns %s checksums the SDK computes', async (algorithm) => {
      const body = randomBytes(300_000);
      const put = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: `algo/${algorithm}`, Body: body, ChecksumAlgorithm: algorithm }));
      const field = `Checksum${algorithm}` as const;
      expect(put[field]).toMatch(/^[A-Za-z0-9+/]+=*$/);
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: `algo/${algorithm}`, ChecksumMode: 'ENABLED' }));
      expect(head[field]).toBe(put[field]);
    });

    it('deletes objects (idempotently) and answers NoSuchKey afterwards', async () => {
      await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'bye', Body: 'x' }));
      await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'bye' }));
      await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'bye' }));
      expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'bye' })))).toEqual({ name: 'NoSuchKey', status: 404 });
    });
  });

  describe('listing', () => {
    beforeAll(async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'listing' }));
      const keys = ['a/1', 'a/2', 'a/b/3', 'b/4', 'c', 'd e/5', 'ü/6'];
      for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: 'listing', Key, Body: Key }));
    });

    it('ListObjectsV2 with prefix, delimiter, max-keys and continuation', async () => {
      const top = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Delimiter: '/' }));
      expect(top.Contents!.map((c) => c.Key)).toEqual(['c']);
      expect(top.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['a/', 'b/', 'd e/', 'ü/']);
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', MaxKeys: 2, ContinuationToken: token }));
        expect(page.KeyCount).toBeLessThanOrEqual(2);
        seen.push(...page.Contents!.map((c) => c.Key!));
        token = page.NextContinuationToken;
      } while (token);
      expect(seen).toEqual(['a/1', 'a/2', 'a/b/3', 'b/4', 'c', 'd e/5', 'ü/6']);
      const a = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'a/', Delimiter: '/', StartAfter: 'a/1', FetchOwner: true }));
      expect(a.Contents!.map((c) => [c.Key, c.Size, c.Owner?.ID])).toEqual([['a/2', 3, 'kintsugi']]);
      // The listing's ETag and time are the object's, as a HEAD gives them.
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'listing', Key: 'a/2' }));
      expect(a.Contents![0]!.ETag).toBe(head.ETag);
      expect(a.Contents![0]!.LastModified!.getTime()).toBe(head.LastModified!.getTime());
      expect(a.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['a/b/']);
      const url = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'd', EncodingType: 'url' }));
      // The SDK leaves url-encoded keys as they came.
      expect(url.Contents!.map((c) => c.Key)).toEqual(['d%20e/5']);
    });

    it('ListObjects (v1) with marker, and ListObjectVersions for an unversioned bucket', async () => {
      const v1 = await s3.send(new ListObjectsCommand({ Bucket: 'listing', Marker: 'b/4', MaxKeys: 2 }));
      expect(v1.Contents!.map((c) => c.Key)).toEqual(['c', 'd e/5']);
      expect(v1.IsTruncated).toBe(true);
      const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: 'listing', Prefix: 'a/' }));
      expect(versions.Versions!.map((v) => [v.Key, v.VersionId, v.IsLatest])).toEqual([['a/1', 'null', true], ['a/2', 'null', true], ['a/b/3', 'null', true]]);
    });
  });

  describe('authentication', () => {
    it('refuses a wrong secret (SignatureDoesNotMatch), an unknown key (InvalidAccessKeyId) and anonymous requests (AccessDenied)', async () => {
      expect(await failure(server.client({ secret: 'wrong-secret-123' }).send(new ListBucketsCommand({})))).toEqual({ name: 'SignatureDoesNotMatch', status: 403 });
      expect(await failure(server.client({ accessKey: 'nobody' }).send(new ListBucketsCommand({})))).toEqual({ name: 'InvalidAccessKeyId', status: 403 });
      const anonymous = await fetch(`${server.endpoint}/alpha/sizes/1`);
      expect(anonymous.status).toBe(403);
      const xml = await anonymous.text();
      expect(xml).toMatch(/<Code>AccessDenied<\/Code>/);
      expect(xml).toMatch(/<RequestId>[0-9A-F]{16}<\/RequestId>/);
      expect(anonymous.headers.get('x-amz-request-id')).toMatch(/^[0-9A-F]{16}$/);
      expect(anonymous.headers.get('server-timing')).toMatch(/^total;dur=\d/);
    });

    it('serves presigned GET and PUT URLs through plain fetch, and refuses them once expired', async () => {
      const body = randomBytes(100_000);
      const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'alpha', Key: 'presigned' }), { expiresIn: 60 });
      expect((await fetch(putUrl, { method: 'PUT', body })).status).toBe(200);
      const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'alpha', Key: 'presigned' }), { expiresIn: 60 });
      const got = await fetch(getUrl);
      expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(body));
      const expired = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'alpha', Key: 'presigned' }), { expiresIn: 1, signingDate: new Date(Date.now() - 10_000) });
      const r = await fetch(expired);
      expect(r.status).toBe(403);
      expect(await r.text()).toMatch(/<Code>AccessDenied<\/Code><Message>Request has expired/);
    });
  });

  describe('degraded reads', () => {
    it('reads back bit-exact after PARITY node folders are deleted while the server runs', async () => {
      const body = randomBytes(5_000_000);
      await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'survivor', Body: body }));
      for (const n of [0, 2, 4]) await rm(join(server.nodePath, `node-${n}`), { recursive: true, force: true });
      const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'survivor' }));
      expect(sha256(await got.Body!.transformToByteArray())).toBe(sha256(body));
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'survivor' }));
      expect(listed.Contents!.map((c) => c.Key)).toEqual(['survivor']);
    });
  });
});
