import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

import {
  CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketLifecycleCommand, DeleteObjectCommand, GetBucketLifecycleConfigurationCommand,
  HeadObjectCommand, ListMultipartUploadsCommand, ListObjectVersionsCommand, PutBucketLifecycleConfigurationCommand, PutBucketVersioningCommand,
  PutObjectCommand, type LifecycleRule, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/cli.js';
import { pythonsWithBoto3 } from '../helpers/python.js';
import { ACCESS_KEY, failure, SECRET_KEY, startServer, type RunningServer } from '../helpers/server.js';
import { send, signedHeaders } from '../helpers/sign.js';

/** Lifecycle days of 2 seconds: a 1-day rule is due 2 to 4 s after a write. */
const DAY_S = 2;

describe('lifecycle rules (AWS SDK v3, LIFECYCLE_DAY_SECONDS=2)', () => {
  let server: RunningServer;
  let s3: S3Client;
  beforeAll(async () => {
    server = await startServer({ LIFECYCLE_DAY_SECONDS: String(DAY_S) });
    s3 = server.client();
  });
  afterAll(async () => { await server.stop(); });

  const configure = (Bucket: string, Rules: LifecycleRule[]) => s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules } }));
  const exists = (Bucket: string, Key: string, VersionId?: string) => s3.send(new HeadObjectCommand({ Bucket, Key, VersionId })).then(() => true, () => false);
  async function until(what: () => Promise<boolean>, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await what())) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  /** A raw PUT ?lifecycle with a hand-written body: the error AWS gives for it. */
  async function putRaw(bucket: string, xml: string): Promise<{ status: number; code?: string }> {
    const path = `/${bucket}?lifecycle`;
    const hash = createHash('sha256').update(xml).digest('hex');
    const md5 = createHash('md5').update(xml).digest('base64');
    const r = await send(server.port, 'PUT', path, await signedHeaders(server.port, 'PUT', path, { 'content-length': String(Buffer.byteLength(xml)), 'content-md5': md5 }, hash), xml);
    return { status: r.status, ...(r.body.match(/<Code>(\w+)<\/Code>/) ? { code: r.body.match(/<Code>(\w+)<\/Code>/)![1] } : {}) };
  }
  const rule = (body: string, id = 'r') => `<LifecycleConfiguration><Rule><ID>${id}</ID>${body}</Rule></LifecycleConfiguration>`;

  it('keeps the configuration as put; NoSuchLifecycleConfiguration when none; DeleteBucketLifecycle removes it', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'lc-conf' }));
    expect(await failure(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'lc-conf' })))).toEqual({ name: 'NoSuchLifecycleConfiguration', status: 404 });
    const rules: LifecycleRule[] = [
      { ID: 'logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 30 } },
      { ID: 'tmp', Status: 'Disabled', Filter: { And: { Prefix: 'tmp/', Tags: [{ Key: 'kind', Value: 'scratch' }], ObjectSizeGreaterThan: 10 } }, NoncurrentVersionExpiration: { NoncurrentDays: 7, NewerNoncurrentVersions: 3 } },
      { ID: 'uploads', Status: 'Enabled', Filter: {}, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } },
      { ID: 'markers', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { ExpiredObjectDeleteMarker: true } },
      { ID: 'dated', Status: 'Enabled', Filter: { Tag: { Key: 'a', Value: 'b' } }, Expiration: { Date: new Date('2030-01-01T00:00:00Z') } },
    ];
    await configure('lc-conf', rules);
    const got = (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'lc-conf' }))).Rules!;
    expect(got.map((r) => [r.ID, r.Status])).toEqual(rules.map((r) => [r.ID, r.Status]));
    expect(got[0]!.Expiration).toEqual({ Days: 30 });
    expect(got[1]!.Filter!.And).toEqual({ Prefix: 'tmp/', Tags: [{ Key: 'kind', Value: 'scratch' }], ObjectSizeGreaterThan: 10 });
    expect(got[1]!.NoncurrentVersionExpiration).toEqual({ NoncurrentDays: 7, NewerNoncurrentVersions: 3 });
    expect(got[2]!.AbortIncompleteMultipartUpload).toEqual({ DaysAfterInitiation: 2 });
    expect(got[3]!.Expiration).toEqual({ ExpiredObjectDeleteMarker: true });
    expect(got[4]!.Expiration!.Date!.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: 'lc-conf' }));
    expect(await failure(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'lc-conf' })))).toEqual({ name: 'NoSuchLifecycleConfiguration', status: 404 });
  });

  it('refuses what AWS refuses: MalformedXML for the shape, InvalidArgument for the values, and keeps what it had', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'lc-bad' }));
    await configure('lc-bad', [{ ID: 'kept', Status: 'Enabled', Filter: {}, Expiration: { Days: 5 } }]);
    const malformed = [
      '<LifecycleConfiguration></LifecycleConfiguration>',
      rule('<Filter/><Expiration><Days>1</Days></Expiration>'),
      rule('<Status>Maybe</Status><Filter/><Expiration><Days>1</Days></Expiration>'),
      rule('<Status>Enabled</Status><Filter><Prefix>a</Prefix></Filter><Prefix>b</Prefix><Expiration><Days>1</Days></Expiration>'),
      rule('<Status>Enabled</Status><Filter><Prefix>a</Prefix><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter><Expiration><Days>1</Days></Expiration>'),
      rule('<Status>Enabled</Status><Filter/><Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration>'),
      rule('<Status>Enabled</Status><Filter/><NoncurrentVersionExpiration/></Rule>'.replace('</Rule>', '')),
      'not xml at all',
    ];
    for (const xml of malformed) expect(await putRaw('lc-bad', xml), xml).toEqual({ status: 400, code: 'MalformedXML' });
    const invalid = [
      rule('<Status>Enabled</Status><Filter/><Expiration><Days>1</Days></Expiration>', 'x'.repeat(256)),
      `<LifecycleConfiguration>${['a', 'a'].map((id) => `<Rule><ID>${id}</ID><Status>Enabled</Status><Filter/><Expiration><Days>1</Days></Expiration></Rule>`).join('')}</LifecycleConfiguration>`,
      rule('<Status>Enabled</Status><Filter/><Expiration><Days>0</Days></Expiration>'),
      rule('<Status>Enabled</Status><Filter/><Expiration><Date>2030-01-01T12:00:00Z</Date></Expiration>'),
      rule('<Status>Enabled</Status><Filter/>'),
      rule('<Status>Enabled</Status><Filter/><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration>'),
      rule('<Status>Enabled</Status><Filter><Tag><Key>a</Key><Value>b</Value></Tag></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>'),
      rule('<Status>Enabled</Status><Filter><Tag><Key>a</Key><Value>b</Value></Tag></Filter><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>'),
      rule('<Status>Enabled</Status><Filter><And><ObjectSizeGreaterThan>9</ObjectSizeGreaterThan><ObjectSizeLessThan>5</ObjectSizeLessThan></And></Filter><Expiration><Days>1</Days></Expiration>'),
    ];
    for (const xml of invalid) expect(await putRaw('lc-bad', xml), xml).toEqual({ status: 400, code: 'InvalidArgument' });
    expect((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'lc-bad' }))).Rules!.map((r) => r.ID)).toEqual(['kept']);
    // The legacy top-level Prefix is accepted and given back as it came.
    expect(await putRaw('lc-bad', rule('<Prefix>old/</Prefix><Status>Enabled</Status><Expiration><Days>3</Days></Expiration>', 'legacy'))).toEqual({ status: 200 });
    expect((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'lc-bad' }))).Rules![0]!.Prefix).toBe('old/');
  });

  it('expires current objects a rule selects (prefix, tags), says so in x-amz-expiration, and leaves the others', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'lc-exp' }));
    await configure('lc-exp', [
      { ID: 'logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 1 } },
      { ID: 'scratch', Status: 'Enabled', Filter: { Tag: { Key: 'kind', Value: 'scratch' } }, Expiration: { Days: 1 } },
    ]);
    const put = await s3.send(new PutObjectCommand({ Bucket: 'lc-exp', Key: 'logs/a', Body: 'log' }));
    expect(put.Expiration).toMatch(/^expiry-date="[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT", rule-id="logs"$/);
    const due = Date.parse(put.Expiration!.match(/expiry-date="([^"]+)"/)![1]!);
    expect(due % (DAY_S * 1000)).toBe(0);
    expect(due - Date.now()).toBeLessThanOrEqual(2 * DAY_S * 1000);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'lc-exp', Key: 'logs/a' }))).Expiration).toBe(put.Expiration);
    await s3.send(new PutObjectCommand({ Bucket: 'lc-exp', Key: 'tagged', Body: 'x', Tagging: 'kind=scratch' }));
    await s3.send(new PutObjectCommand({ Bucket: 'lc-exp', Key: 'keep/b', Body: 'keep' }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'lc-exp', Key: 'keep/b' }))).Expiration).toBeUndefined();
    await until(async () => !(await exists('lc-exp', 'logs/a')) && !(await exists('lc-exp', 'tagged')));
    expect(Date.now()).toBeGreaterThanOrEqual(due);
    expect(await exists('lc-exp', 'keep/b')).toBe(true);
    const metrics = (await send(server.port, 'GET', '/_kintsugi/metrics')).body;
    expect(metrics).toMatch(/kintsugi_lifecycle_passes\{[^}]*\} [1-9]/);
    expect(metrics).toMatch(/kintsugi_lifecycle_total\{[^}]*action="currentExpired"\} [1-9]/);
  });

  it('in a versioned bucket: the current version gets a delete marker, noncurrent versions go (keeping the newest one), and a lone marker goes', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'lc-ver' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'lc-ver', VersioningConfiguration: { Status: 'Enabled' } }));
    const ids: string[] = [];
    for (const body of ['1', '2', '3']) ids.push((await s3.send(new PutObjectCommand({ Bucket: 'lc-ver', Key: 'doc', Body: body }))).VersionId!);
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: 'lc-ver', Key: 'lonely' }));
    await configure('lc-ver', [
      { ID: 'current', Status: 'Enabled', Filter: { Prefix: 'doc' }, Expiration: { Days: 1 } },
      { ID: 'noncurrent', Status: 'Enabled', Filter: {}, NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 1 } },
      { ID: 'markers', Status: 'Enabled', Filter: { Prefix: 'lonely' }, Expiration: { ExpiredObjectDeleteMarker: true } },
    ]);
    const versions = async () => {
      const page = await s3.send(new ListObjectVersionsCommand({ Bucket: 'lc-ver' }));
      return { versions: (page.Versions ?? []).map((v) => `${v.Key} ${v.VersionId}`).sort(), markers: (page.DeleteMarkers ?? []).map((m) => `${m.Key} ${m.IsLatest}`).sort() };
    };
    // The current version expires into a marker; of the noncurrent ones only the newest stays.
    await until(async () => {
      const v = await versions();
      return v.markers.includes('doc true') && v.versions.length === 1;
    });
    expect((await versions()).versions).toEqual([`doc ${ids[2]}`]);
    expect((await versions()).markers).not.toContain('lonely true');
    expect(await exists('lc-ver', 'doc')).toBe(false);
    expect(await exists('lc-ver', 'doc', ids[2])).toBe(true);
    expect(marker.DeleteMarker).toBe(true);
  });

  it('leaves the versions Object Lock keeps: of the noncurrent versions due, only the unlocked ones go', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'lc-lock', ObjectLockEnabledForBucket: true }));
    const put = async (extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}) =>
      (await s3.send(new PutObjectCommand({ Bucket: 'lc-lock', Key: 'doc', Body: 'x', ...extra }))).VersionId!;
    const held = await put({ ObjectLockLegalHoldStatus: 'ON' });
    const retained = await put({ ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: new Date(Date.now() + 86_400_000) });
    const governed = await put({ ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: new Date(Date.now() + 86_400_000) });
    const free = await put();
    const current = await put();
    await configure('lc-lock', [{ ID: 'noncurrent', Status: 'Enabled', Filter: {}, NoncurrentVersionExpiration: { NoncurrentDays: 1 } }]);
    // One pass judges every version of the key: once the free one is gone, the locked ones were passed over.
    await until(async () => !(await exists('lc-lock', 'doc', free)));
    for (const v of [held, retained, governed, current]) expect(await exists('lc-lock', 'doc', v), v).toBe(true);
  });

  it('aborts uploads left incomplete', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'lc-mpu' }));
    await configure('lc-mpu', [{ ID: 'abort', Status: 'Enabled', Filter: { Prefix: 'big/' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }]);
    const gone = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'lc-mpu', Key: 'big/file' }));
    const kept = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'lc-mpu', Key: 'other/file' }));
    const uploads = async () => ((await s3.send(new ListMultipartUploadsCommand({ Bucket: 'lc-mpu' }))).Uploads ?? []).map((u) => u.UploadId);
    await until(async () => !(await uploads()).includes(gone.UploadId));
    expect(await uploads()).toEqual([kept.UploadId]);
  });

  it.each(pythonsWithBoto3().map((p, i) => [p, i] as const))('boto3 (%s): versions, markers, the null version, paging, tagging and lifecycle', (python, i) => {
    const r = spawnSync(python, [join(ROOT, 'test/s3/boto3-versioning.py'), server.endpoint, ACCESS_KEY, SECRET_KEY, String(i)], { encoding: 'utf8', timeout: 90_000 });
    expect(`${r.stdout}\n${r.stderr}`.slice(-3000)).toMatch(/boto3 versioning ok/);
    expect(r.status).toBe(0);
  }, 120_000);
});
