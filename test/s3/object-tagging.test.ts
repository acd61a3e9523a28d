import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand, DeleteObjectTaggingCommand,
  GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutBucketVersioningCommand, PutObjectCommand, PutObjectTaggingCommand,
  UploadPartCommand, type S3Client, type Tag,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { failure, startServer, type RunningServer } from '../helpers/server.js';

describe('object tagging (AWS SDK v3, 2 workers)', () => {
  let server: RunningServer;
  let s3: S3Client;
  beforeAll(async () => {
    server = await startServer();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'otags' }));
  });
  afterAll(async () => { await server.stop(); });

  const tagsOf = async (Key: string, VersionId?: string, Bucket = 'otags') => (await s3.send(new GetObjectTaggingCommand({ Bucket, Key, VersionId }))).TagSet;
  const putTags = (Key: string, TagSet: Tag[], VersionId?: string, Bucket = 'otags') => s3.send(new PutObjectTaggingCommand({ Bucket, Key, VersionId, Tagging: { TagSet } }));
  const body = async (Key: string) => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'otags', Key }))).Body!.transformToByteArray());

  it('PutObject with x-amz-tagging stores the tags (answered in key order, as AWS does); GET and HEAD carry the tag count; an untagged object has an empty set', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'otags', Key: 'a', Body: 'x', Tagging: 'team=photos&cost%20centre=M%C3%BCnchen%2042&empty=' }));
    expect(await tagsOf('a')).toEqual([{ Key: 'cost centre', Value: 'München 42' }, { Key: 'empty', Value: '' }, { Key: 'team', Value: 'photos' }]);
    expect((await s3.send(new GetObjectCommand({ Bucket: 'otags', Key: 'a' }))).TagCount).toBe(3);
    await s3.send(new PutObjectCommand({ Bucket: 'otags', Key: 'plain', Body: 'x' }));
    expect(await tagsOf('plain')).toEqual([]);
    expect((await s3.send(new GetObjectCommand({ Bucket: 'otags', Key: 'plain' }))).TagCount).toBeUndefined();
  });

  it('PutObjectTagging replaces the set whole and leaves the bytes (inline and erasure-coded); DeleteObjectTagging empties it', async () => {
    const big = Buffer.alloc(3 << 20, 9);
    for (const [key, data] of [['small', Buffer.from('small bytes')], ['big', big]] as const) {
      await s3.send(new PutObjectCommand({ Bucket: 'otags', Key: key, Body: data, Tagging: 'first=1' }));
      await putTags(key, [{ Key: 'second', Value: '2' }]);
      for (let i = 0; i < 3; i++) expect(await tagsOf(key)).toEqual([{ Key: 'second', Value: '2' }]);
      expect((await body(key)).equals(data)).toBe(true);
      await s3.send(new DeleteObjectTaggingCommand({ Bucket: 'otags', Key: key }));
      expect(await tagsOf(key)).toEqual([]);
      expect((await body(key)).equals(data)).toBe(true);
    }
  });

  it('refuses what AWS refuses with InvalidTag, on the tagging call and on x-amz-tagging, and keeps what was there', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'otags', Key: 'kept', Body: 'old', Tagging: 'kept=yes' }));
    const invalid: Tag[][] = [
      Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })),
      [{ Key: 'k'.repeat(129), Value: 'v' }],
      [{ Key: 'k', Value: 'v'.repeat(257) }],
      [{ Key: 'same', Value: '1' }, { Key: 'same', Value: '2' }],
    ];
    for (const tags of invalid) expect(await failure(putTags('kept', tags))).toEqual({ name: 'InvalidTag', status: 400 });
    const header = Array.from({ length: 11 }, (_, i) => `k${i}=v`).join('&');
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'otags', Key: 'kept', Body: 'new', Tagging: header })))).toEqual({ name: 'InvalidTag', status: 400 });
    expect((await body('kept')).toString()).toBe('old');
    expect(await tagsOf('kept')).toEqual([{ Key: 'kept', Value: 'yes' }]);
    const most = Array.from({ length: 10 }, (_, i) => ({ Key: `${'k'.repeat(126)}${String(i).padStart(2, '0')}`, Value: 'v'.repeat(256) }));
    await putTags('kept', most);
    expect(await tagsOf('kept')).toEqual(most);
    expect(await failure(tagsOf('missing'))).toEqual({ name: 'NoSuchKey', status: 404 });
  });

  it('CopyObject copies the tags, or replaces them with x-amz-tagging-directive: REPLACE; a multipart upload keeps the tags it was created with', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'otags', Key: 'src', Body: 'copy me', Tagging: 'from=source' }));
    await s3.send(new CopyObjectCommand({ Bucket: 'otags', Key: 'copied', CopySource: 'otags/src' }));
    expect(await tagsOf('copied')).toEqual([{ Key: 'from', Value: 'source' }]);
    await s3.send(new CopyObjectCommand({ Bucket: 'otags', Key: 'replaced', CopySource: 'otags/src', TaggingDirective: 'REPLACE', Tagging: 'new=tags' }));
    expect(await tagsOf('replaced')).toEqual([{ Key: 'new', Value: 'tags' }]);

    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'otags', Key: 'mp', Tagging: 'upload=yes' }));
    const p1 = await s3.send(new UploadPartCommand({ Bucket: 'otags', Key: 'mp', UploadId, PartNumber: 1, Body: Buffer.alloc(100, 1) }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'otags', Key: 'mp', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] } }));
    expect(await tagsOf('mp')).toEqual([{ Key: 'upload', Value: 'yes' }]);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'otags', Key: 'mp' }))).ContentLength).toBe(100);
  });

  it('tags each version on its own; a delete marker has none to give (405)', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'otags-ver' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'otags-ver', VersioningConfiguration: { Status: 'Enabled' } }));
    const v1 = (await s3.send(new PutObjectCommand({ Bucket: 'otags-ver', Key: 'k', Body: '1', Tagging: 'v=1' }))).VersionId!;
    const v2 = (await s3.send(new PutObjectCommand({ Bucket: 'otags-ver', Key: 'k', Body: '2' }))).VersionId!;
    const put = await putTags('k', [{ Key: 'old', Value: 'retagged' }], v1, 'otags-ver');
    expect(put.VersionId).toBe(v1);
    expect(await tagsOf('k', v1, 'otags-ver')).toEqual([{ Key: 'old', Value: 'retagged' }]);
    expect(await tagsOf('k', v2, 'otags-ver')).toEqual([]);
    expect(await tagsOf('k', undefined, 'otags-ver')).toEqual([]);
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: 'otags-ver', Key: 'k' }));
    expect(await failure(tagsOf('k', marker.VersionId, 'otags-ver'))).toEqual({ name: 'MethodNotAllowed', status: 405 });
    expect(await failure(tagsOf('k', undefined, 'otags-ver'))).toEqual({ name: 'NoSuchKey', status: 404 });
    expect(await tagsOf('k', v1, 'otags-ver')).toEqual([{ Key: 'old', Value: 'retagged' }]);
  });
});
