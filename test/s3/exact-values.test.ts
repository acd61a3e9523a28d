import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand,
  GetBucketCorsCommand, GetBucketLifecycleConfigurationCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand,
  ListMultipartUploadsCommand, ListObjectsCommand, ListObjectsV2Command, ListObjectVersionsCommand, ListPartsCommand, PutBucketCorsCommand,
  PutBucketLifecycleConfigurationCommand, PutBucketVersioningCommand, PutObjectCommand, PutObjectTaggingCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXACT_KEYS, NEIGHBOURS } from '../helpers/exact-keys.js';
import { startServer, type RunningServer } from '../helpers/server.js';

const urlDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
const bodyOf = (key: string) => `the object named ${JSON.stringify(key)}`;

describe('keys and values are byte-exact end to end (AWS SDK v3)', () => {
  let server: RunningServer;
  let s3: S3Client;
  const all = [...Object.values(EXACT_KEYS), ...NEIGHBOURS];
  beforeAll(async () => {
    server = await startServer({ LIFECYCLE_DAY_SECONDS: '2' });
    s3 = server.client();
  });
  afterAll(async () => { await server.stop(); });

  const text = async (Bucket: string, Key: string) => (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToString();
  async function keysOf(Bucket: string, EncodingType?: 'url'): Promise<string[]> {
    const keys: string[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket, ContinuationToken, MaxKeys: 7, ...(EncodingType ? { EncodingType } : {}) }));
      keys.push(...(page.Contents ?? []).map((c) => (EncodingType ? urlDecode(c.Key!) : c.Key!)));
      ContinuationToken = page.NextContinuationToken;
    } while (ContinuationToken);
    return keys;
  }
  const sorted = (keys: string[]) => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

  it('puts, gets, lists (plain and encoding-type=url, V1 and V2, paged) and copies every key as itself', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'exact' }));
    for (const key of all) await s3.send(new PutObjectCommand({ Bucket: 'exact', Key: key, Body: bodyOf(key) }));
    for (const key of all) expect([key, await text('exact', key)]).toEqual([key, bodyOf(key)]);
    expect(await keysOf('exact')).toEqual(sorted(all));
    expect(await keysOf('exact', 'url')).toEqual(sorted(all));
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: 'exact' }));
    expect(v1.Contents!.map((c) => c.Key)).toEqual(sorted(all));

    for (const key of Object.values(EXACT_KEYS)) {
      const Key = `copy/${key}`;
      if (Buffer.byteLength(Key) > 1024) continue;
      await s3.send(new CopyObjectCommand({ Bucket: 'exact', Key, CopySource: `exact/${encodeURIComponent(key)}` }));
      expect([key, await text('exact', Key)]).toEqual([key, bodyOf(key)]);
    }
  });

  it('lists with a prefix and a delimiter that have spaces at their ends, giving back exactly what was asked', async () => {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'exact', Prefix: ' ', Delimiter: ' ' }));
    expect(page.Prefix).toBe(' ');
    expect(page.Delimiter).toBe(' ');
    expect(page.Contents?.map((c) => c.Key)).toEqual([' ', ' report']);
    expect(page.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['  ']);
    const reports = await s3.send(new ListObjectsV2Command({ Bucket: 'exact', Prefix: 'report ' }));
    expect(reports.Contents?.map((c) => c.Key)).toEqual(['report ']);
  });

  it('tags each key without touching its neighbour', async () => {
    for (const [i, key] of Object.values(EXACT_KEYS).entries()) {
      await s3.send(new PutObjectTaggingCommand({ Bucket: 'exact', Key: key, Tagging: { TagSet: [{ Key: 'n', Value: String(i) }] } }));
    }
    for (const [i, key] of Object.values(EXACT_KEYS).entries()) {
      expect([key, (await s3.send(new GetObjectTaggingCommand({ Bucket: 'exact', Key: key }))).TagSet]).toEqual([key, [{ Key: 'n', Value: String(i) }]]);
    }
    for (const key of NEIGHBOURS) expect([key, (await s3.send(new GetObjectTaggingCommand({ Bucket: 'exact', Key: key }))).TagSet]).toEqual([key, []]);
  });

  it('deletes exactly the object named, one at a time and through DeleteObjects, and never another', async () => {
    let left = [...all, ...Object.values(EXACT_KEYS).map((k) => `copy/${k}`).filter((k) => Buffer.byteLength(k) <= 1024)];
    for (const [i, key] of Object.values(EXACT_KEYS).entries()) {
      if (i % 2 === 0) {
        await s3.send(new DeleteObjectCommand({ Bucket: 'exact', Key: key }));
      } else {
        const answer = await s3.send(new DeleteObjectsCommand({ Bucket: 'exact', Delete: { Objects: [{ Key: key }] } }));
        expect([key, answer.Deleted?.map((d) => d.Key), answer.Errors ?? []]).toEqual([key, [key], []]);
      }
      left = left.filter((k) => k !== key);
      expect([key, await keysOf('exact')]).toEqual([key, sorted(left)]);
    }
    for (const key of NEIGHBOURS) expect([key, await text('exact', key)]).toEqual([key, bodyOf(key)]);
    // Several at once, the copies among them: each answered under its own name.
    const copies = left.filter((k) => k.startsWith('copy/'));
    const answer = await s3.send(new DeleteObjectsCommand({ Bucket: 'exact', Delete: { Objects: copies.map((Key) => ({ Key })) } }));
    expect(sorted(answer.Deleted!.map((d) => d.Key!))).toEqual(sorted(copies));
    expect(await keysOf('exact')).toEqual(sorted(NEIGHBOURS));
  });

  it('uploads every key in parts, listed exactly by ListMultipartUploads (plain and url-encoded) and ListParts', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'exact-mpu' }));
    const ids = new Map<string, string>();
    for (const key of Object.values(EXACT_KEYS)) ids.set(key, (await s3.send(new CreateMultipartUploadCommand({ Bucket: 'exact-mpu', Key: key }))).UploadId!);
    const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'exact-mpu' }));
    expect(listed.Uploads!.map((u) => [u.Key, u.UploadId])).toEqual(sorted([...ids.keys()]).map((k) => [k, ids.get(k)]));
    const encoded = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'exact-mpu', EncodingType: 'url' }));
    expect(encoded.Uploads!.map((u) => urlDecode(u.Key!))).toEqual(sorted([...ids.keys()]));
    for (const [key, UploadId] of ids) {
      const part = await s3.send(new UploadPartCommand({ Bucket: 'exact-mpu', Key: key, UploadId, PartNumber: 1, Body: bodyOf(key) }));
      const parts = await s3.send(new ListPartsCommand({ Bucket: 'exact-mpu', Key: key, UploadId }));
      expect([key, parts.Key, parts.Parts?.map((p) => p.ETag)]).toEqual([key, key, [part.ETag]]);
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'exact-mpu', Key: key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    }
    for (const key of ids.keys()) expect([key, await text('exact-mpu', key)]).toEqual([key, bodyOf(key)]);
    expect(await keysOf('exact-mpu')).toEqual(sorted([...ids.keys()]));
  });

  it('lists every key exactly through ListObjectVersions, plain and url-encoded', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'exact-versions' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'exact-versions', VersioningConfiguration: { Status: 'Enabled' } }));
    for (const key of all) await s3.send(new PutObjectCommand({ Bucket: 'exact-versions', Key: key, Body: bodyOf(key) }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'exact-versions', Key: 'report ' }));
    const plain = await s3.send(new ListObjectVersionsCommand({ Bucket: 'exact-versions' }));
    expect(plain.Versions!.map((v) => v.Key)).toEqual(sorted(all));
    expect(plain.DeleteMarkers!.map((m) => m.Key)).toEqual(['report ']);
    const encoded = await s3.send(new ListObjectVersionsCommand({ Bucket: 'exact-versions', EncodingType: 'url' }));
    expect(encoded.Versions!.map((v) => urlDecode(v.Key!))).toEqual(sorted(all));
    expect(await s3.send(new HeadObjectCommand({ Bucket: 'exact-versions', Key: 'report' }))).toMatchObject({ ContentLength: bodyOf('report').length });
  });

  it('keeps tag values and keys with spaces at their ends exactly', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'exact', Key: 'tagged', Body: 'x' }));
    const TagSet = [{ Key: ' k', Value: ' leading' }, { Key: 'k ', Value: 'trailing ' }, { Key: 'both', Value: '  both  ' }, { Key: 'space', Value: ' ' }, { Key: 'empty', Value: '' }];
    await s3.send(new PutObjectTaggingCommand({ Bucket: 'exact', Key: 'tagged', Tagging: { TagSet } }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'exact', Key: 'tagged' }))).TagSet).toEqual(TagSet);
  });

  it('keeps lifecycle prefixes exactly, and expires only the keys that start with them', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'exact-lifecycle' }));
    const Rules = [
      { ID: 'tmp-space', Status: 'Enabled' as const, Filter: { Prefix: 'tmp ' }, Expiration: { Days: 1 } },
      { ID: 'space-logs', Status: 'Enabled' as const, Filter: { And: { Prefix: ' logs', Tags: [{ Key: 'k', Value: ' v ' }] } }, Expiration: { Days: 1 } },
    ];
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: 'exact-lifecycle', LifecycleConfiguration: { Rules } }));
    const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'exact-lifecycle' }));
    expect(got.Rules!.map((r) => [r.ID, r.Filter])).toEqual([['tmp-space', { Prefix: 'tmp ' }], ['space-logs', { And: { Prefix: ' logs', Tags: [{ Key: 'k', Value: ' v ' }] } }]]);
    for (const key of ['tmp file', 'tmpfile', 'tmp', 'tmp/x']) await s3.send(new PutObjectCommand({ Bucket: 'exact-lifecycle', Key: key, Body: key }));
    await s3.send(new PutObjectCommand({ Bucket: 'exact-lifecycle', Key: ' logs/a', Body: 'a', Tagging: 'k=%20v%20' }));
    await s3.send(new PutObjectCommand({ Bucket: 'exact-lifecycle', Key: ' logs/b', Body: 'b', Tagging: 'k=v' }));
    const deadline = Date.now() + 30_000;
    while ((await keysOf('exact-lifecycle')).includes('tmp file') || (await keysOf('exact-lifecycle')).includes(' logs/a')) {
      if (Date.now() > deadline) throw new Error('the lifecycle rules expired nothing');
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(await keysOf('exact-lifecycle')).toEqual([' logs/b', 'tmp', 'tmp/x', 'tmpfile']);
  });

  it('keeps CORS rules exactly as put', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'exact-cors' }));
    const CORSRules = [{ ID: ' rule ', AllowedOrigins: ['https://a.example '], AllowedMethods: ['GET'], AllowedHeaders: [' x-one'], ExposeHeaders: ['x-two '] }];
    await s3.send(new PutBucketCorsCommand({ Bucket: 'exact-cors', CORSConfiguration: { CORSRules } }));
    expect((await s3.send(new GetBucketCorsCommand({ Bucket: 'exact-cors' }))).CORSRules).toEqual(CORSRules);
  });
});
