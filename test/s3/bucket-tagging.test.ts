import {
  CreateBucketCommand, DeleteBucketCommand, DeleteBucketTaggingCommand, GetBucketTaggingCommand, PutBucketTaggingCommand, PutObjectCommand,
  type S3Client, type Tag,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { failure, startServer, type RunningServer } from '../helpers/server.js';

describe('bucket tagging (AWS SDK v3, 2 workers)', () => {
  let server: RunningServer;
  let s3: S3Client;
  beforeAll(async () => {
    server = await startServer();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'tagged' }));
  });
  afterAll(async () => { await server.stop(); });

  const put = (TagSet: Tag[], Bucket = 'tagged') => s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet } }));
  const get = async (Bucket = 'tagged') => (await s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet;

  it('a bucket never tagged has no tag set (NoSuchTagSet)', async () => {
    expect(await failure(get())).toEqual({ name: 'NoSuchTagSet', status: 404 });
  });

  it('keeps the tag set as put, in order, unicode included; every worker sees it at once; a put replaces it whole', async () => {
    const tags = [{ Key: 'team', Value: 'photos' }, { Key: 'Kostenstelle', Value: 'München 42' }, { Key: 'empty', Value: '' }];
    await put(tags);
    // Several reads: the two workers answer in turn.
    for (let i = 0; i < 4; i++) expect(await get()).toEqual(tags);
    await put([{ Key: 'only', Value: 'one' }]);
    for (let i = 0; i < 4; i++) expect(await get()).toEqual([{ Key: 'only', Value: 'one' }]);
  });

  it('refuses what AWS refuses, with InvalidTag, and keeps the tag set it had', async () => {
    await put([{ Key: 'kept', Value: 'yes' }]);
    const invalid = [
      Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })),
      [{ Key: 'k'.repeat(129), Value: 'v' }],
      [{ Key: 'k', Value: 'v'.repeat(257) }],
      [{ Key: 'same', Value: '1' }, { Key: 'same', Value: '2' }],
      [{ Key: 'aws:reserved', Value: 'v' }],
      [{ Key: 'semi;colon', Value: 'v' }],
      [{ Key: '', Value: 'v' }],
    ];
    for (const tags of invalid) expect(await failure(put(tags))).toEqual({ name: 'InvalidTag', status: 400 });
    expect(await get()).toEqual([{ Key: 'kept', Value: 'yes' }]);
    // The limits themselves are allowed.
    const most = Array.from({ length: 50 }, (_, i) => ({ Key: `${'k'.repeat(125)}${String(i).padStart(3, '0')}`, Value: 'v'.repeat(256) }));
    await put(most);
    expect(await get()).toEqual(most);
  });

  it('DeleteBucketTagging removes it (204), twice is fine', async () => {
    await put([{ Key: 'a', Value: 'b' }]);
    await s3.send(new DeleteBucketTaggingCommand({ Bucket: 'tagged' }));
    await s3.send(new DeleteBucketTaggingCommand({ Bucket: 'tagged' }));
    expect(await failure(get())).toEqual({ name: 'NoSuchTagSet', status: 404 });
  });

  it('survives a DeleteBucket refused because the bucket is not empty, and goes with the bucket', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'full-one' }));
    await put([{ Key: 'owner', Value: 'me' }], 'full-one');
    await s3.send(new PutObjectCommand({ Bucket: 'full-one', Key: 'k', Body: 'x' }));
    expect(await failure(s3.send(new DeleteBucketCommand({ Bucket: 'full-one' })))).toEqual({ name: 'BucketNotEmpty', status: 409 });
    expect(await get('full-one')).toEqual([{ Key: 'owner', Value: 'me' }]);
    expect(await failure(put([{ Key: 'a', Value: 'b' }], 'no-such-bucket'))).toEqual({ name: 'NoSuchBucket', status: 404 });
  });

  it('answers MalformedXML to a body that is not a Tagging document', async () => {
    const { signedHeaders, send } = await import('../helpers/sign.js');
    const { createHash } = await import('node:crypto');
    const body = '<NotTagging><TagSet/></NotTagging>';
    const headers = await signedHeaders(server.port, 'PUT', '/tagged?tagging', { 'content-length': String(body.length) }, createHash('sha256').update(body).digest('hex'));
    const r = await send(server.port, 'PUT', '/tagged?tagging', headers, body);
    expect(r.status).toBe(400);
    expect(r.body).toContain('<Code>MalformedXML</Code>');
  });
});
