import { createHash, randomBytes } from 'node:crypto';

import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand,
  DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, ListPartsCommand,
  PutObjectCommand, type S3Client, UploadPartCommand, UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { sha256 } from '../helpers/engine.js';
import { failure as s3Failure, startServer, type RunningServer } from '../helpers/server.js';

const failure = async (p: Promise<unknown>) => (await s3Failure(p)).name;

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest();
const MiB = 1 << 20;

describe('multipart, copy and batch delete through the AWS SDK', () => {
  let server: RunningServer;
  let s3: S3Client;
  beforeAll(async () => {
    server = await startServer();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'mpu' }));
  });
  afterAll(async () => { await server.stop(); });

  it('uploads 64 MiB with @aws-sdk/lib-storage (parallel parts) and reads it back bit-exact', async () => {
    const body = randomBytes(64 * MiB);
    const upload = new Upload({ client: s3, params: { Bucket: 'mpu', Key: 'big.bin', Body: body, ContentType: 'application/x-big' }, partSize: 8 * MiB, queueSize: 4 });
    const done = await upload.done();
    const parts = Array.from({ length: 8 }, (_, i) => md5(body.subarray(i * 8 * MiB, (i + 1) * 8 * MiB)));
    expect(done.ETag).toBe(`"${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-8"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'big.bin' }));
    expect(got.ContentType).toBe('application/x-big');
    expect(sha256(await got.Body!.transformToByteArray())).toBe(sha256(body));
    const range = await s3.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'big.bin', Range: `bytes=${8 * MiB - 10}-${8 * MiB + 9}` }));
    expect(Buffer.compare(Buffer.from(await range.Body!.transformToByteArray()), body.subarray(8 * MiB - 10, 8 * MiB + 10))).toBe(0);
  });

  it('lists parts and uploads, completes only valid part lists, and aborts', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: 'manual' }));
    const p1 = randomBytes(5 * MiB);
    const p2 = randomBytes(1000);
    const e1 = (await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'manual', UploadId, PartNumber: 1, Body: p1 }))).ETag!;
    const e2 = (await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'manual', UploadId, PartNumber: 2, Body: p2 }))).ETag!;
    const listed = await s3.send(new ListPartsCommand({ Bucket: 'mpu', Key: 'manual', UploadId }));
    expect(listed.Parts!.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([[1, e1, 5 * MiB], [2, e2, 1000]]);
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mpu' }))).Uploads!.map((u) => [u.Key, u.UploadId])).toContainEqual(['manual', UploadId]);

    const complete = (Parts: { PartNumber: number; ETag: string }[]) => s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: 'manual', UploadId, MultipartUpload: { Parts } }));
    expect(await failure(complete([{ PartNumber: 2, ETag: e2 }, { PartNumber: 1, ETag: e1 }]))).toBe('InvalidPartOrder');
    expect(await failure(complete([{ PartNumber: 1, ETag: e1 }, { PartNumber: 3, ETag: e2 }]))).toBe('InvalidPart');
    expect(await failure(complete([{ PartNumber: 1, ETag: '"0123456789abcdef0123456789abcdef"' }]))).toBe('InvalidPart');
    const small = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: 'small-parts' }));
    const s1 = (await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'small-parts', UploadId: small.UploadId, PartNumber: 1, Body: 'a' }))).ETag!;
    const s2 = (await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'small-parts', UploadId: small.UploadId, PartNumber: 2, Body: 'b' }))).ETag!;
    expect(await failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: 'small-parts', UploadId: small.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: s1 }, { PartNumber: 2, ETag: s2 }] } })))).toBe('EntityTooSmall');
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'mpu', Key: 'small-parts', UploadId: small.UploadId }));
    expect(await failure(s3.send(new ListPartsCommand({ Bucket: 'mpu', Key: 'small-parts', UploadId: small.UploadId })))).toBe('NoSuchUpload');

    const first = await complete([{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }]);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'manual' }));
    expect(sha256(await got.Body!.transformToByteArray())).toBe(sha256(Buffer.concat([p1, p2])));
    // A client retrying a completion whose answer it lost gets the same answer.
    expect((await complete([{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }])).ETag).toBe(first.ETag);
    expect(await failure(s3.send(new ListPartsCommand({ Bucket: 'mpu', Key: 'manual', UploadId })))).toBe('NoSuchUpload');
  });

  it('ListMultipartUploads groups keys by a delimiter and pages by key and upload id markers', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'mpu-list' }));
    const ids: Record<string, string> = {};
    for (const Key of ['a/1', 'a/2', 'b', 'b', 'c/x']) ids[Key + (ids[Key] ? '#2' : '')] = (await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu-list', Key }))).UploadId!;
    const grouped = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mpu-list', Delimiter: '/' }));
    expect([grouped.CommonPrefixes?.map((p) => p.Prefix), grouped.Uploads?.map((u) => u.Key), grouped.Delimiter]).toEqual([['a/', 'c/'], ['b', 'b'], '/']);
    // One entry a page: a common prefix, then each upload of b (the second found by its upload id marker), then the next prefix.
    const pages: string[] = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (;;) {
      const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mpu-list', Delimiter: '/', MaxUploads: 1, KeyMarker, UploadIdMarker }));
      pages.push(...(page.CommonPrefixes ?? []).map((p) => `prefix ${p.Prefix}`), ...(page.Uploads ?? []).map((u) => `upload ${u.Key} ${u.UploadId === ids.b ? 'first' : 'second'}`));
      if (!page.IsTruncated) break;
      [KeyMarker, UploadIdMarker] = [page.NextKeyMarker, page.NextUploadIdMarker || undefined];
    }
    expect(pages).toEqual(['prefix a/', 'upload b first', 'upload b second', 'prefix c/']);
    const under = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mpu-list', Prefix: 'a/', Delimiter: '/' }));
    expect(under.Uploads?.map((u) => u.Key)).toEqual(['a/1', 'a/2']);
  });

  it('a re-uploaded part replaces the earlier one; UploadPartCopy copies a range of another object', async () => {
    const source = randomBytes(6 * MiB);
    await s3.send(new PutObjectCommand({ Bucket: 'mpu', Key: 'source', Body: source }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: 'assembled' }));
    await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'assembled', UploadId, PartNumber: 1, Body: randomBytes(5 * MiB) }));
    const again = randomBytes(5 * MiB);
    const e1 = (await s3.send(new UploadPartCommand({ Bucket: 'mpu', Key: 'assembled', UploadId, PartNumber: 1, Body: again }))).ETag!;
    const copied = await s3.send(new UploadPartCopyCommand({ Bucket: 'mpu', Key: 'assembled', UploadId, PartNumber: 2, CopySource: 'mpu/source', CopySourceRange: 'bytes=100-199' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpu', Key: 'assembled', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: copied.CopyPartResult!.ETag! }] } }));
    const got = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'mpu', Key: 'assembled' }))).Body!.transformToByteArray());
    expect(sha256(got)).toBe(sha256(Buffer.concat([again, source.subarray(100, 200)])));
  });

  it('copies objects with their metadata (COPY) or new metadata (REPLACE)', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'mpu', Key: 'orig', Body: 'payload', ContentType: 'text/x-a', Metadata: { a: '1' } }));
    await s3.send(new CopyObjectCommand({ Bucket: 'mpu', Key: 'copy-1', CopySource: 'mpu/orig' }));
    expect(await s3.send(new HeadObjectCommand({ Bucket: 'mpu', Key: 'copy-1' }))).toMatchObject({ ContentType: 'text/x-a', Metadata: { a: '1' }, ContentLength: 7 });
    await s3.send(new CopyObjectCommand({ Bucket: 'mpu', Key: 'copy-2', CopySource: '/mpu/orig', MetadataDirective: 'REPLACE', ContentType: 'text/x-b', Metadata: { b: '2' } }));
    expect(await s3.send(new HeadObjectCommand({ Bucket: 'mpu', Key: 'copy-2' }))).toMatchObject({ ContentType: 'text/x-b', Metadata: { b: '2' } });
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: 'mpu', Key: 'copy-3', CopySource: 'mpu/missing' })))).toBe('NoSuchKey');
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: 'mpu', Key: 'copy-3', CopySource: 'mpu/orig', CopySourceIfMatch: '"nope"' })))).toBe('PreconditionFailed');
  });

  it('deletes a batch of keys, quietly or not', async () => {
    for (const Key of ['d/1', 'd/2', 'd/3']) await s3.send(new PutObjectCommand({ Bucket: 'mpu', Key, Body: Key }));
    const loud = await s3.send(new DeleteObjectsCommand({ Bucket: 'mpu', Delete: { Objects: [{ Key: 'd/1' }, { Key: 'd/nope' }] } }));
    expect(loud.Deleted!.map((d) => d.Key).sort()).toEqual(['d/1', 'd/nope']);
    const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: 'mpu', Delete: { Objects: [{ Key: 'd/2' }, { Key: 'd/3' }], Quiet: true } }));
    expect(quiet.Deleted ?? []).toEqual([]);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: 'mpu', Prefix: 'd/' }))).KeyCount).toBe(0);
  });
});
