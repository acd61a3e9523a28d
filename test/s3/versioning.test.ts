import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketCommand, DeleteObjectCommand,
  DeleteObjectsCommand, GetBucketVersioningCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand,
  PutBucketVersioningCommand, PutObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { failure, startServer, type RunningServer } from '../helpers/server.js';
import { send, signedHeaders } from '../helpers/sign.js';

/** A key's versions as ListObjectVersions shows them, newest first: [kind, version id, latest]. */
type Row = [kind: 'v' | 'm', versionId: string, latest: boolean];

describe('bucket versioning (AWS SDK v3, 2 workers)', () => {
  let server: RunningServer;
  let s3: S3Client;
  beforeAll(async () => {
    server = await startServer();
    s3 = server.client();
  });
  afterAll(async () => { await server.stop(); });

  const versioning = (Bucket: string, Status: 'Enabled' | 'Suspended') => s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status } }));
  const put = async (Bucket: string, Key: string, Body: string | Buffer) => s3.send(new PutObjectCommand({ Bucket, Key, Body }));
  const text = async (Bucket: string, Key: string, VersionId?: string) => (await (await s3.send(new GetObjectCommand({ Bucket, Key, VersionId }))).Body!.transformToString());

  /**
   * Every version of every key under the prefix, in the service's order
   * (raw XML: the SDK splits versions from markers), following the markers
   * page by page.
   */
  async function allVersions(bucket: string, prefix = '', maxKeys = 1000): Promise<Map<string, Row[]>> {
    const out = new Map<string, Row[]>();
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    const tag = (xml: string, name: string) => xml.match(new RegExp(`<${name}>([^<]*)</${name}>`))?.[1];
    for (let pages = 0; pages < 1000; pages++) {
      const query = new URLSearchParams({ versions: '', prefix, 'max-keys': String(maxKeys), ...(keyMarker !== undefined ? { 'key-marker': keyMarker } : {}), ...(versionIdMarker !== undefined ? { 'version-id-marker': versionIdMarker } : {}) });
      const path = `/${bucket}?${query.toString()}`;
      const res = await send(server.port, 'GET', path, await signedHeaders(server.port, 'GET', path, {}));
      expect(res.status).toBe(200);
      const rows = [...res.body.matchAll(/<(Version|DeleteMarker)>(.*?)<\/\1>/g)];
      expect(rows.length).toBeLessThanOrEqual(maxKeys);
      for (const [, kind, xml] of rows) {
        const key = tag(xml!, 'Key')!;
        out.set(key, [...(out.get(key) ?? []), [kind === 'Version' ? 'v' : 'm', tag(xml!, 'VersionId')!, tag(xml!, 'IsLatest') === 'true']]);
      }
      if (tag(res.body, 'IsTruncated') !== 'true') return out;
      keyMarker = tag(res.body, 'NextKeyMarker');
      versionIdMarker = tag(res.body, 'NextVersionIdMarker');
    }
    throw new Error('listing did not end');
  }

  it('GetBucketVersioning has no Status until it is set; Enabled and Suspended are kept; MFA Delete is not implemented', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'vconf' }));
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'vconf' }))).Status).toBeUndefined();
    await versioning('vconf', 'Enabled');
    for (let i = 0; i < 3; i++) expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'vconf' }))).Status).toBe('Enabled');
    await versioning('vconf', 'Suspended');
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'vconf' }))).Status).toBe('Suspended');
    const mfa = s3.send(new PutBucketVersioningCommand({ Bucket: 'vconf', MFA: 'serial 123456', VersioningConfiguration: { Status: 'Enabled', MFADelete: 'Enabled' } }));
    expect(await failure(mfa)).toEqual({ name: 'NotImplemented', status: 501 });
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'vconf' }))).Status).toBe('Suspended');
  });

  it('keeps every version of a key; each is read by its id; the newest is current; the old null version stays addressable', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'vkeep' }));
    await put('vkeep', 'doc', 'before versioning');
    await versioning('vkeep', 'Enabled');
    const ids: string[] = [];
    for (const body of ['one', 'two', 'three'.repeat(60_000)]) {
      const r = await put('vkeep', 'doc', body);
      expect(r.VersionId).toMatch(/^[A-Za-z0-9._-]+$/);
      ids.push(r.VersionId!);
    }
    expect(new Set(ids).size).toBe(3);
    expect(await text('vkeep', 'doc')).toBe('three'.repeat(60_000));
    expect(await text('vkeep', 'doc', ids[0])).toBe('one');
    expect(await text('vkeep', 'doc', ids[1])).toBe('two');
    expect(await text('vkeep', 'doc', 'null')).toBe('before versioning');
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'vkeep', Key: 'doc', VersionId: ids[0] }));
    expect([head.VersionId, head.ContentLength]).toEqual([ids[0], 3]);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'vkeep', Key: 'doc' }))).VersionId).toBe(ids[2]);
    expect((await allVersions('vkeep')).get('doc')).toEqual([['v', ids[2], true], ['v', ids[1], false], ['v', ids[0], false], ['v', 'null', false]]);
    // Well-formed but unknown, and malformed version ids.
    expect(await failure(text('vkeep', 'doc', `${ids[0]!.slice(0, 16)}gggggggg`))).toEqual({ name: 'NoSuchVersion', status: 404 });
    expect(await failure(text('vkeep', 'doc', 'not-a-version'))).toEqual({ name: 'InvalidArgument', status: 400 });
  });

  it('delete markers: stack, hide the key from GET and listings, 405 when addressed, and deleting one brings the version below back', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'vmark' }));
    await versioning('vmark', 'Enabled');
    const v1 = (await put('vmark', 'k', 'data')).VersionId!;
    const d1 = await s3.send(new DeleteObjectCommand({ Bucket: 'vmark', Key: 'k' }));
    expect(d1.DeleteMarker).toBe(true);
    const d2 = await s3.send(new DeleteObjectCommand({ Bucket: 'vmark', Key: 'k' }));
    expect(d2.DeleteMarker).toBe(true);
    expect(d2.VersionId).not.toBe(d1.VersionId);

    // The raw responses: 404 with the marker's headers; 405 when the marker is asked for by id.
    const raw = async (path: string) => send(server.port, 'GET', path, await signedHeaders(server.port, 'GET', path, {}));
    const res = await raw('/vmark/k');
    expect(res.status).toBe(404);
    expect(res.headers['x-amz-delete-marker']).toBe('true');
    expect(res.headers['x-amz-version-id']).toBe(d2.VersionId);
    const addressed = await raw(`/vmark/k?versionId=${d2.VersionId}`);
    expect(addressed.status).toBe(405);
    expect(addressed.headers['last-modified']).toBeTruthy();
    expect(addressed.body).toContain('<Code>MethodNotAllowed</Code>');

    expect((await s3.send(new ListObjectsV2Command({ Bucket: 'vmark' }))).Contents ?? []).toEqual([]);
    expect((await allVersions('vmark')).get('k')).toEqual([['m', d2.VersionId, true], ['m', d1.VersionId, false], ['v', v1, false]]);

    const gone = await s3.send(new DeleteObjectCommand({ Bucket: 'vmark', Key: 'k', VersionId: d2.VersionId }));
    expect([gone.DeleteMarker, gone.VersionId]).toEqual([true, d2.VersionId]);
    expect(await failure(text('vmark', 'k'))).toEqual({ name: 'NoSuchKey', status: 404 });
    await s3.send(new DeleteObjectCommand({ Bucket: 'vmark', Key: 'k', VersionId: d1.VersionId }));
    expect(await text('vmark', 'k')).toBe('data');
    expect((await s3.send(new ListObjectsV2Command({ Bucket: 'vmark' }))).Contents?.map((c) => c.Key)).toEqual(['k']);
    // Deleting the last version for good leaves nothing, and the bucket can go.
    await s3.send(new DeleteObjectCommand({ Bucket: 'vmark', Key: 'k', VersionId: v1 }));
    expect(await failure(text('vmark', 'k', v1))).toEqual({ name: 'NoSuchVersion', status: 404 });
    expect((await allVersions('vmark')).size).toBe(0);
    await s3.send(new DeleteBucketCommand({ Bucket: 'vmark' }));
  });

  it('a versioned bucket with only noncurrent versions or markers is not empty', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'vfull' }));
    await versioning('vfull', 'Enabled');
    await put('vfull', 'x', 'y');
    await s3.send(new DeleteObjectCommand({ Bucket: 'vfull', Key: 'x' }));
    expect(await failure(s3.send(new DeleteBucketCommand({ Bucket: 'vfull' })))).toEqual({ name: 'BucketNotEmpty', status: 409 });
  });

  it('suspended: a PUT replaces the null version and keeps the others, answers no version id; a DELETE makes the null version a marker', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'vsusp' }));
    await put('vsusp', 'k', 'null-1');
    await versioning('vsusp', 'Enabled');
    const kept = (await put('vsusp', 'k', 'versioned')).VersionId!;
    await versioning('vsusp', 'Suspended');
    const r = await put('vsusp', 'k', 'null-2');
    expect(r.VersionId).toBeUndefined();
    expect(await text('vsusp', 'k')).toBe('null-2');
    expect(await text('vsusp', 'k', 'null')).toBe('null-2');
    expect((await allVersions('vsusp')).get('k')).toEqual([['v', 'null', true], ['v', kept, false]]);
    const d = await s3.send(new DeleteObjectCommand({ Bucket: 'vsusp', Key: 'k' }));
    expect([d.DeleteMarker, d.VersionId]).toEqual([true, 'null']);
    expect((await allVersions('vsusp')).get('k')).toEqual([['m', 'null', true], ['v', kept, false]]);
    expect(await text('vsusp', 'k', kept)).toBe('versioned');
  });

  it('DeleteObjects takes version ids and answers DeleteMarker / DeleteMarkerVersionId', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'vbulk' }));
    await versioning('vbulk', 'Enabled');
    const a = (await put('vbulk', 'a', '1')).VersionId!;
    await put('vbulk', 'b', '2');
    const out = await s3.send(new DeleteObjectsCommand({ Bucket: 'vbulk', Delete: { Objects: [{ Key: 'a', VersionId: a }, { Key: 'b' }] } }));
    const byKey = new Map(out.Deleted!.map((d) => [d.Key, d]));
    expect(byKey.get('a')).toMatchObject({ VersionId: a });
    expect(byKey.get('a')!.DeleteMarker).toBeFalsy();
    expect(byKey.get('b')).toMatchObject({ DeleteMarker: true });
    expect(byKey.get('b')!.DeleteMarkerVersionId).toMatch(/^[A-Za-z0-9._-]+$/);
    expect((await allVersions('vbulk')).get('a')).toBeUndefined();
    expect((await allVersions('vbulk')).get('b')![0]).toEqual(['m', byKey.get('b')!.DeleteMarkerVersionId, true]);
  });

  it('copies from a version; a multipart upload makes a version; both answer their version ids', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'vcopy' }));
    await versioning('vcopy', 'Enabled');
    const old = (await put('vcopy', 'src', 'old bytes')).VersionId!;
    await put('vcopy', 'src', 'new bytes');
    const copy = await s3.send(new CopyObjectCommand({ Bucket: 'vcopy', Key: 'dst', CopySource: `vcopy/src?versionId=${old}` }));
    expect(copy.CopySourceVersionId).toBe(old);
    expect(copy.VersionId).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(await text('vcopy', 'dst')).toBe('old bytes');
    // Restoring an old version over the current one is a copy onto itself.
    await s3.send(new CopyObjectCommand({ Bucket: 'vcopy', Key: 'src', CopySource: `vcopy/src?versionId=${old}` }));
    expect(await text('vcopy', 'src')).toBe('old bytes');

    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'vcopy', Key: 'mp' }));
    const part = Buffer.alloc(5 << 20, 7);
    const p1 = await s3.send(new UploadPartCommand({ Bucket: 'vcopy', Key: 'mp', UploadId, PartNumber: 1, Body: part }));
    const p2 = await s3.send(new UploadPartCommand({ Bucket: 'vcopy', Key: 'mp', UploadId, PartNumber: 2, Body: Buffer.from('tail') }));
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'vcopy', Key: 'mp', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] } }));
    expect(done.VersionId).toMatch(/^[A-Za-z0-9._-]+$/);
    const first = (await put('vcopy', 'mp', 'small')).VersionId!;
    const mp = await s3.send(new GetObjectCommand({ Bucket: 'vcopy', Key: 'mp', VersionId: done.VersionId }));
    expect(Buffer.from(await mp.Body!.transformToByteArray()).equals(Buffer.concat([part, Buffer.from('tail')]))).toBe(true);
    expect((await allVersions('vcopy')).get('mp')!.map((r) => r[1])).toEqual([first, done.VersionId]);
  });

  it('ListObjectVersions pages through one key with 2,500 versions, and through many keys, with prefix and delimiter', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'vpage' }));
    await versioning('vpage', 'Enabled');
    const ids: string[] = [];
    for (let i = 0; i < 2500; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, (_, j) => put('vpage', 'hot', String(i + j))));
      ids.push(...batch.map((b) => b.VersionId!));
    }
    for (const k of ['a/1', 'a/2', 'b/1', 'c']) await put('vpage', k, k);
    const all = await allVersions('vpage', '', 333);
    const hot = all.get('hot')!;
    expect(hot).toHaveLength(2500);
    expect(new Set(hot.map((r) => r[1]))).toEqual(new Set(ids));
    expect(hot.filter((r) => r[2])).toHaveLength(1);
    expect(hot[0]![2]).toBe(true);
    expect([...all.keys()]).toEqual(['a/1', 'a/2', 'b/1', 'c', 'hot']);

    const rolled = await s3.send(new ListObjectVersionsCommand({ Bucket: 'vpage', Delimiter: '/', MaxKeys: 1000 }));
    expect(rolled.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/', 'b/']);
    expect(new Set(rolled.Versions?.map((v) => v.Key))).toEqual(new Set(['c', 'hot']));
    const under = await s3.send(new ListObjectVersionsCommand({ Bucket: 'vpage', Prefix: 'a/' }));
    expect(under.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest, v.Size, v.ETag])).toEqual([
      ['a/1', expect.any(String), true, 3, expect.stringMatching(/^"[0-9a-f]{32}"$/)],
      ['a/2', expect.any(String), true, 3, expect.stringMatching(/^"[0-9a-f]{32}"$/)],
    ]);
  }, 120_000);

  it('a bucket never versioned lists each object once as version null', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'vnone' }));
    await put('vnone', 'k', '1');
    await put('vnone', 'k', '2');
    await put('vnone', 'gone', '3');
    await s3.send(new DeleteObjectCommand({ Bucket: 'vnone', Key: 'gone' }));
    expect(await allVersions('vnone')).toEqual(new Map([['k', [['v', 'null', true]]]]));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'vnone', Key: 'k' }));
    expect(head.VersionId).toBeUndefined();
  });
});
