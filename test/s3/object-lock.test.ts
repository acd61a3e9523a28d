import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketCommand, DeleteObjectCommand,
  DeleteObjectsCommand, GetBucketVersioningCommand, GetObjectCommand, GetObjectLegalHoldCommand, GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand, HeadObjectCommand, PutBucketVersioningCommand, PutObjectCommand, PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand, PutObjectRetentionCommand, UploadPartCommand, type ObjectLockConfiguration, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { pythonsWithBoto3 } from '../helpers/python.js';
import { ACCESS_KEY, failure, SECRET_KEY, startServer, type RunningServer } from '../helpers/server.js';
import { send, signedHeaders } from '../helpers/sign.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const inDays = (days: number) => new Date(Date.now() + days * DAY_MS);

describe('Object Lock (AWS SDK v3, 2 workers)', () => {
  let server: RunningServer;
  let s3: S3Client;
  beforeAll(async () => {
    server = await startServer();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'worm', ObjectLockEnabledForBucket: true }));
  });
  afterAll(async () => { await server.stop(); });

  const put = async (Key: string, extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}, Bucket = 'worm') =>
    (await s3.send(new PutObjectCommand({ Bucket, Key, Body: `body of ${Key}`, ...extra }))).VersionId!;
  const deleteVersion = (Key: string, VersionId: string, BypassGovernanceRetention?: boolean) =>
    s3.send(new DeleteObjectCommand({ Bucket: 'worm', Key, VersionId, ...(BypassGovernanceRetention ? { BypassGovernanceRetention } : {}) }));
  const retention = (Key: string, VersionId: string) => s3.send(new GetObjectRetentionCommand({ Bucket: 'worm', Key, VersionId })).then((r) => r.Retention);
  const setRetention = (Key: string, VersionId: string, Mode: 'GOVERNANCE' | 'COMPLIANCE' | undefined, until: Date | undefined, BypassGovernanceRetention?: boolean) =>
    s3.send(new PutObjectRetentionCommand({ Bucket: 'worm', Key, VersionId, Retention: Mode ? { Mode, RetainUntilDate: until } : {}, ...(BypassGovernanceRetention ? { BypassGovernanceRetention } : {}) }));
  const readable = async (Key: string, VersionId: string) => (await (await s3.send(new GetObjectCommand({ Bucket: 'worm', Key, VersionId }))).Body!.transformToString()) === `body of ${Key}`;

  describe('configuration', () => {
    it('CreateBucket with Object Lock enables it and versioning, which can then never be suspended', async () => {
      expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: 'worm' }))).ObjectLockConfiguration).toEqual({ ObjectLockEnabled: 'Enabled' });
      expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'worm' }))).Status).toBe('Enabled');
      expect(await failure(s3.send(new PutBucketVersioningCommand({ Bucket: 'worm', VersioningConfiguration: { Status: 'Suspended' } })))).toEqual({ name: 'InvalidBucketState', status: 409 });
      expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'worm' }))).Status).toBe('Enabled');
    });

    it('PutObjectLockConfiguration enables it on a versioned bucket only, and sets a default retention of Days or Years', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'later' }));
      const conf: ObjectLockConfiguration = { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 3 } } };
      expect(await failure(s3.send(new PutObjectLockConfigurationCommand({ Bucket: 'later', ObjectLockConfiguration: conf })))).toEqual({ name: 'InvalidBucketState', status: 409 });
      expect(await failure(s3.send(new GetObjectLockConfigurationCommand({ Bucket: 'later' })))).toEqual({ name: 'ObjectLockConfigurationNotFoundError', status: 404 });
      await s3.send(new PutBucketVersioningCommand({ Bucket: 'later', VersioningConfiguration: { Status: 'Enabled' } }));
      await s3.send(new PutObjectLockConfigurationCommand({ Bucket: 'later', ObjectLockConfiguration: conf }));
      expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: 'later' }))).ObjectLockConfiguration).toEqual(conf);
      const years: ObjectLockConfiguration = { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Years: 2 } } };
      await s3.send(new PutObjectLockConfigurationCommand({ Bucket: 'later', ObjectLockConfiguration: years }));
      expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: 'later' }))).ObjectLockConfiguration).toEqual(years);
      // Without a rule: enabled, no default.
      await s3.send(new PutObjectLockConfigurationCommand({ Bucket: 'later', ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } }));
      expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: 'later' }))).ObjectLockConfiguration).toEqual({ ObjectLockEnabled: 'Enabled' });
    });

    it('refuses a malformed configuration and keeps the one there', async () => {
      const bad: [ObjectLockConfiguration, string][] = [
        [{ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1, Years: 1 } } }, 'MalformedXML'],
        [{ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE' } } }, 'MalformedXML'],
        [{ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 0 } } }, 'InvalidArgument'],
        [{ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'FOREVER' as 'GOVERNANCE', Days: 1 } } }, 'MalformedXML'],
        [{ ObjectLockEnabled: 'Disabled' as 'Enabled' }, 'MalformedXML'],
        [{ Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } }, 'MalformedXML'],
      ];
      for (const [ObjectLockConfiguration, name] of bad) {
        expect(await failure(s3.send(new PutObjectLockConfigurationCommand({ Bucket: 'worm', ObjectLockConfiguration }))), JSON.stringify(ObjectLockConfiguration)).toEqual({ name, status: 400 });
      }
      expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: 'worm' }))).ObjectLockConfiguration).toEqual({ ObjectLockEnabled: 'Enabled' });
    });

    it('refuses lock requests on a bucket without Object Lock, and writes nothing', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'plain' }));
      await put('k', {}, 'plain');
      expect(await failure(put('k', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: inDays(1), Body: 'new' }, 'plain'))).toEqual({ name: 'InvalidRequest', status: 400 });
      expect(await failure(put('k', { ObjectLockLegalHoldStatus: 'ON', Body: 'new' }, 'plain'))).toEqual({ name: 'InvalidRequest', status: 400 });
      expect(await (await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'k' }))).Body!.transformToString()).toBe('body of k');
      expect(await failure(s3.send(new GetObjectRetentionCommand({ Bucket: 'plain', Key: 'k' })))).toEqual({ name: 'InvalidRequest', status: 400 });
      expect(await failure(s3.send(new PutObjectLegalHoldCommand({ Bucket: 'plain', Key: 'k', LegalHold: { Status: 'ON' } })))).toEqual({ name: 'InvalidRequest', status: 400 });
    });
  });

  describe('locking on write', () => {
    it('PutObject stores mode, date and legal hold; GET and HEAD show them; GetObjectRetention and GetObjectLegalHold answer them', async () => {
      const until = new Date(Math.floor(inDays(5).getTime() / 1000) * 1000);
      const v = await put('on-write', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until, ObjectLockLegalHoldStatus: 'ON' });
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'worm', Key: 'on-write', VersionId: v }));
      expect([head.ObjectLockMode, head.ObjectLockRetainUntilDate?.getTime(), head.ObjectLockLegalHoldStatus]).toEqual(['GOVERNANCE', until.getTime(), 'ON']);
      const get = await s3.send(new GetObjectCommand({ Bucket: 'worm', Key: 'on-write' }));
      expect([get.ObjectLockMode, get.ObjectLockRetainUntilDate?.getTime(), get.ObjectLockLegalHoldStatus]).toEqual(['GOVERNANCE', until.getTime(), 'ON']);
      await get.Body!.transformToString();
      expect(await retention('on-write', v)).toEqual({ Mode: 'GOVERNANCE', RetainUntilDate: until });
      expect((await s3.send(new GetObjectLegalHoldCommand({ Bucket: 'worm', Key: 'on-write', VersionId: v }))).LegalHold).toEqual({ Status: 'ON' });
      // A version without a lock.
      const free = await put('free');
      expect(await failure(retention('free', free))).toEqual({ name: 'NoSuchObjectLockConfiguration', status: 404 });
      expect((await s3.send(new GetObjectLegalHoldCommand({ Bucket: 'worm', Key: 'free' }))).LegalHold).toEqual({ Status: 'OFF' });
      expect((await s3.send(new HeadObjectCommand({ Bucket: 'worm', Key: 'free' }))).ObjectLockMode).toBeUndefined();
    });

    it('refuses bad lock headers, and a locked PUT without Content-MD5 or a checksum, storing nothing', async () => {
      const before = await put('strict');
      const refused: [Partial<ConstructorParameters<typeof PutObjectCommand>[0]>, string][] = [
        [{ ObjectLockMode: 'GOVERNANCE' }, 'InvalidArgument'],
        [{ ObjectLockRetainUntilDate: inDays(1) }, 'InvalidArgument'],
        [{ ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: new Date(Date.now() - 60_000) }, 'InvalidArgument'],
        [{ ObjectLockMode: 'SOMETIMES' as 'GOVERNANCE', ObjectLockRetainUntilDate: inDays(1) }, 'InvalidArgument'],
        [{ ObjectLockLegalHoldStatus: 'MAYBE' as 'ON' }, 'InvalidArgument'],
      ];
      for (const [extra, name] of refused) expect(await failure(put('strict', { ...extra, Body: 'replaced' })), JSON.stringify(extra)).toEqual({ name, status: 400 });
      // The SDK always sends a checksum: a raw request shows the rule.
      const body = 'no digest';
      const path = '/worm/strict';
      const headers = await signedHeaders(server.port, 'PUT', path, {
        'content-length': String(body.length), 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': inDays(1).toISOString(),
      }, createHash('sha256').update(body).digest('hex'));
      const raw = await send(server.port, 'PUT', path, headers, body);
      expect([raw.status, raw.body.match(/<Code>(\w+)<\/Code>/)?.[1]]).toEqual([400, 'InvalidRequest']);
      const withMd5 = await signedHeaders(server.port, 'PUT', path, {
        'content-length': String(body.length), 'content-md5': createHash('md5').update(body).digest('base64'),
        'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': inDays(1).toISOString(),
      }, createHash('sha256').update(body).digest('hex'));
      expect((await send(server.port, 'PUT', path, withMd5, body)).status).toBe(200);
      const versions = await s3.send(new HeadObjectCommand({ Bucket: 'worm', Key: 'strict', VersionId: before }));
      expect(versions.ObjectLockMode).toBeUndefined();
      expect((await s3.send(new HeadObjectCommand({ Bucket: 'worm', Key: 'strict' }))).ObjectLockMode).toBe('GOVERNANCE');
    });

    it('applies the bucket\'s default retention to PutObject, CopyObject and multipart uploads that set none', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'defaults', ObjectLockEnabledForBucket: true }));
      await s3.send(new PutObjectLockConfigurationCommand({ Bucket: 'defaults', ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2 } } } }));
      const start = Date.now();
      await s3.send(new PutObjectCommand({ Bucket: 'defaults', Key: 'put', Body: 'x' }));
      await s3.send(new CopyObjectCommand({ Bucket: 'defaults', Key: 'copy', CopySource: 'defaults/put' }));
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'defaults', Key: 'multi' }));
      const part = await s3.send(new UploadPartCommand({ Bucket: 'defaults', Key: 'multi', UploadId, PartNumber: 1, Body: 'only part' }));
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'defaults', Key: 'multi', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
      // An explicit lock wins over the default.
      await s3.send(new PutObjectCommand({ Bucket: 'defaults', Key: 'own', Body: 'x', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: inDays(9) }));
      const end = Date.now();
      for (const Key of ['put', 'copy', 'multi']) {
        const head = await s3.send(new HeadObjectCommand({ Bucket: 'defaults', Key }));
        expect(head.ObjectLockMode, Key).toBe('COMPLIANCE');
        expect(head.ObjectLockRetainUntilDate!.getTime(), Key).toBeGreaterThanOrEqual(start + 2 * DAY_MS - 1000);
        expect(head.ObjectLockRetainUntilDate!.getTime(), Key).toBeLessThanOrEqual(end + 2 * DAY_MS + 1000);
      }
      expect((await s3.send(new HeadObjectCommand({ Bucket: 'defaults', Key: 'own' }))).ObjectLockMode).toBe('GOVERNANCE');
    });

    it('CopyObject and CreateMultipartUpload take lock headers; a copy does not inherit its source\'s lock', async () => {
      await put('source', { ObjectLockLegalHoldStatus: 'ON' });
      await s3.send(new CopyObjectCommand({ Bucket: 'worm', Key: 'copied', CopySource: 'worm/source' }));
      expect((await s3.send(new HeadObjectCommand({ Bucket: 'worm', Key: 'copied' }))).ObjectLockLegalHoldStatus).toBeUndefined();
      const until = new Date(Math.floor(inDays(3).getTime() / 1000) * 1000);
      await s3.send(new CopyObjectCommand({ Bucket: 'worm', Key: 'copied-locked', CopySource: 'worm/source', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until }));
      expect((await s3.send(new HeadObjectCommand({ Bucket: 'worm', Key: 'copied-locked' }))).ObjectLockRetainUntilDate).toEqual(until);
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'worm', Key: 'mp', ObjectLockLegalHoldStatus: 'ON' }));
      const part = await s3.send(new UploadPartCommand({ Bucket: 'worm', Key: 'mp', UploadId, PartNumber: 1, Body: 'part' }));
      const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'worm', Key: 'mp', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
      expect(await failure(deleteVersion('mp', done.VersionId!))).toEqual({ name: 'AccessDenied', status: 403 });
    });
  });

  describe('enforcement', () => {
    it('COMPLIANCE: the version cannot be deleted or its retention shortened or removed, even by the owner with the bypass; it can be extended', async () => {
      const until = inDays(2);
      const v = await put('compliant', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until });
      expect(await failure(deleteVersion('compliant', v))).toEqual({ name: 'AccessDenied', status: 403 });
      expect(await failure(deleteVersion('compliant', v, true))).toEqual({ name: 'AccessDenied', status: 403 });
      expect(await failure(setRetention('compliant', v, 'COMPLIANCE', inDays(1), true))).toEqual({ name: 'AccessDenied', status: 403 });
      expect(await failure(setRetention('compliant', v, 'GOVERNANCE', inDays(3), true))).toEqual({ name: 'AccessDenied', status: 403 });
      expect(await failure(setRetention('compliant', v, undefined, undefined, true))).toEqual({ name: 'AccessDenied', status: 403 });
      const later = new Date(Math.floor(inDays(4).getTime() / 1000) * 1000);
      await setRetention('compliant', v, 'COMPLIANCE', later);
      expect(await retention('compliant', v)).toEqual({ Mode: 'COMPLIANCE', RetainUntilDate: later });
      expect(await readable('compliant', v)).toBe(true);
    });

    it('GOVERNANCE: shortened, removed or deleted only with x-amz-bypass-governance-retention', async () => {
      const v = await put('governed', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: inDays(2) });
      expect(await failure(deleteVersion('governed', v))).toEqual({ name: 'AccessDenied', status: 403 });
      expect(await failure(setRetention('governed', v, 'GOVERNANCE', inDays(1)))).toEqual({ name: 'AccessDenied', status: 403 });
      expect(await failure(setRetention('governed', v, undefined, undefined))).toEqual({ name: 'AccessDenied', status: 403 });
      const shorter = new Date(Math.floor(inDays(1).getTime() / 1000) * 1000);
      await setRetention('governed', v, 'GOVERNANCE', shorter, true);
      expect(await retention('governed', v)).toEqual({ Mode: 'GOVERNANCE', RetainUntilDate: shorter });
      expect(await readable('governed', v)).toBe(true);
      await deleteVersion('governed', v, true);
      expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'worm', Key: 'governed', VersionId: v })))).toMatchObject({ status: 404 });

      const removed = await put('governed-removed', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: inDays(2) });
      await setRetention('governed-removed', removed, undefined, undefined, true);
      expect(await failure(retention('governed-removed', removed))).toEqual({ name: 'NoSuchObjectLockConfiguration', status: 404 });
      await deleteVersion('governed-removed', removed);
      // GOVERNANCE turned COMPLIANCE needs no bypass, and then holds against it.
      const hardened = await put('hardened', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: inDays(1) });
      await setRetention('hardened', hardened, 'COMPLIANCE', inDays(2));
      expect(await failure(deleteVersion('hardened', hardened, true))).toEqual({ name: 'AccessDenied', status: 403 });
    });

    it('a legal hold blocks a delete until it is cleared', async () => {
      const v = await put('held');
      await s3.send(new PutObjectLegalHoldCommand({ Bucket: 'worm', Key: 'held', VersionId: v, LegalHold: { Status: 'ON' } }));
      expect(await failure(deleteVersion('held', v, true))).toEqual({ name: 'AccessDenied', status: 403 });
      await s3.send(new PutObjectLegalHoldCommand({ Bucket: 'worm', Key: 'held', VersionId: v, LegalHold: { Status: 'OFF' } }));
      await deleteVersion('held', v);
      expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'worm', Key: 'held', VersionId: v })))).toMatchObject({ status: 404 });
    });

    it('a DELETE without a version id adds a delete marker and leaves the locked version; a PUT adds a version beside it', async () => {
      const v = await put('marked', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: inDays(1) });
      const del = await s3.send(new DeleteObjectCommand({ Bucket: 'worm', Key: 'marked' }));
      expect(del.DeleteMarker).toBe(true);
      expect(await readable('marked', v)).toBe(true);
      const newer = await put('marked', { Body: 'newer' });
      expect(newer).not.toBe(v);
      expect(await readable('marked', v)).toBe(true);
      // The marker itself is no locked version.
      await deleteVersion('marked', del.VersionId!);
    });

    it('DeleteObjects reports each key: locked versions AccessDenied, the others deleted', async () => {
      const locked = await put('batch-locked', { ObjectLockLegalHoldStatus: 'ON' });
      const free = await put('batch-free');
      const out = await s3.send(new DeleteObjectsCommand({ Bucket: 'worm', Delete: { Objects: [{ Key: 'batch-locked', VersionId: locked }, { Key: 'batch-free', VersionId: free }] } }));
      expect(out.Deleted).toEqual([{ Key: 'batch-free', VersionId: free }]);
      expect(out.Errors?.map((e) => [e.Key, e.Code])).toEqual([['batch-locked', 'AccessDenied']]);
      expect(await readable('batch-locked', locked)).toBe(true);
    });

    it('a bucket holding locked versions cannot be deleted', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'kept-bucket', ObjectLockEnabledForBucket: true }));
      const v = (await s3.send(new PutObjectCommand({ Bucket: 'kept-bucket', Key: 'k', Body: 'x', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: inDays(1) }))).VersionId!;
      await s3.send(new DeleteObjectCommand({ Bucket: 'kept-bucket', Key: 'k' }));
      expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: 'kept-bucket', Key: 'k', VersionId: v, BypassGovernanceRetention: true })))).toEqual({ name: 'AccessDenied', status: 403 });
      expect(await failure(s3.send(new DeleteBucketCommand({ Bucket: 'kept-bucket' })))).toEqual({ name: 'BucketNotEmpty', status: 409 });
      expect((await s3.send(new HeadObjectCommand({ Bucket: 'kept-bucket', Key: 'k', VersionId: v }))).ObjectLockMode).toBe('COMPLIANCE');
    });

    it('a retention that has ended keeps nothing', async () => {
      const v = await put('ending', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: new Date(Date.now() + 2500) });
      expect(await failure(deleteVersion('ending', v))).toEqual({ name: 'AccessDenied', status: 403 });
      await new Promise((r) => setTimeout(r, 3000));
      await deleteVersion('ending', v);
    });
  });
});

describe('Object Lock through boto3 and the AWS CLI', () => {
  let server: RunningServer;
  beforeAll(async () => { server = await startServer(); });
  afterAll(async () => { await server.stop(); });

  it.each(pythonsWithBoto3().map((p, i) => [p, i] as const))('boto3 (%s): configuration, retention, legal hold, bypass, DeleteObjects', (python, i) => {
    const r = spawnSync(python, [join(ROOT, 'test/s3/boto3-object-lock.py'), server.endpoint, ACCESS_KEY, SECRET_KEY, String(i)], { encoding: 'utf8', timeout: 90_000 });
    expect(`${r.stdout}\n${r.stderr}`.slice(-3000)).toMatch(/boto3 object lock ok/);
    expect(r.status).toBe(0);
  }, 120_000);

  it('the AWS CLI\'s s3api object-lock commands', () => {
    const env = { ...process.env, HOME: tempDir('kintsugi-home-'), AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_DEFAULT_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };
    const s3api = (...args: string[]) => {
      const r = spawnSync('aws', ['--endpoint-url', server.endpoint, 's3api', ...args], { encoding: 'utf8', env, timeout: 60_000 });
      return { ...r, json: () => JSON.parse(r.stdout) };
    };
    const ok = (r: ReturnType<typeof s3api>) => { expect(r.status, r.stderr).toBe(0); return r; };
    ok(s3api('create-bucket', '--bucket', 'cli-worm', '--object-lock-enabled-for-bucket'));
    ok(s3api('put-object-lock-configuration', '--bucket', 'cli-worm', '--object-lock-configuration', 'ObjectLockEnabled=Enabled,Rule={DefaultRetention={Mode=GOVERNANCE,Days=1}}'));
    expect(ok(s3api('get-object-lock-configuration', '--bucket', 'cli-worm')).json().ObjectLockConfiguration)
      .toEqual({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } });
    const file = join(tempDir('kintsugi-cli-worm-'), 'body');
    writeFileSync(file, 'locked bytes');
    const until = new Date(Date.now() + 2 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const v = ok(s3api('put-object', '--bucket', 'cli-worm', '--key', 'k', '--body', file, '--object-lock-mode', 'COMPLIANCE', '--object-lock-retain-until-date', until)).json().VersionId as string;
    expect(ok(s3api('get-object-retention', '--bucket', 'cli-worm', '--key', 'k', '--version-id', v)).json().Retention.Mode).toBe('COMPLIANCE');
    expect(s3api('delete-object', '--bucket', 'cli-worm', '--key', 'k', '--version-id', v, '--bypass-governance-retention').stderr).toMatch(/AccessDenied/);
    ok(s3api('put-object-legal-hold', '--bucket', 'cli-worm', '--key', 'k', '--version-id', v, '--legal-hold', 'Status=ON'));
    expect(ok(s3api('get-object-legal-hold', '--bucket', 'cli-worm', '--key', 'k', '--version-id', v)).json().LegalHold).toEqual({ Status: 'ON' });
    const head = ok(s3api('head-object', '--bucket', 'cli-worm', '--key', 'k', '--version-id', v)).json();
    expect([head.ObjectLockMode, head.ObjectLockLegalHoldStatus]).toEqual(['COMPLIANCE', 'ON']);
    const governed = ok(s3api('put-object', '--bucket', 'cli-worm', '--key', 'g', '--body', file)).json().VersionId as string;
    expect(s3api('put-object-retention', '--bucket', 'cli-worm', '--key', 'g', '--version-id', governed, '--retention', '{}').stderr).toMatch(/AccessDenied/);
    ok(s3api('put-object-retention', '--bucket', 'cli-worm', '--key', 'g', '--version-id', governed, '--retention', '{}', '--bypass-governance-retention'));
    ok(s3api('delete-object', '--bucket', 'cli-worm', '--key', 'g', '--version-id', governed));
  }, 120_000);
});

describe('Object Lock and the healer', () => {
  it('a wiped node is healed with every locked version and its lock; the heal takes none away', async () => {
    const nodePath = tempDir('kintsugi-worm-heal-');
    let server = await startServer({ NODEPATH: nodePath, HEAL_INTERVAL: '0' });
    let s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'healed', ObjectLockEnabledForBucket: true }));
    const until = new Date(Math.floor((Date.now() + 86_400_000) / 1000) * 1000);
    const locked: { Key: string; VersionId: string }[] = [];
    for (const [Key, size] of [['small', 100], ['large', 3 << 20]] as const) {
      for (const extra of [{ ObjectLockMode: 'COMPLIANCE' as const, ObjectLockRetainUntilDate: until }, { ObjectLockLegalHoldStatus: 'ON' as const }]) {
        locked.push({ Key, VersionId: (await s3.send(new PutObjectCommand({ Bucket: 'healed', Key, Body: Buffer.alloc(size, 7), ...extra }))).VersionId! });
      }
      // A delete marker on top: the locked versions are noncurrent.
      await s3.send(new DeleteObjectCommand({ Bucket: 'healed', Key }));
    }
    await server.stop();
    await rm(join(nodePath, 'node-2'), { recursive: true, force: true });
    const heal = runCli(['heal', '--grace=0'], { NODEPATH: nodePath, SYNC: 'off' });
    expect(heal.status, heal.stderr).toBe(0);
    // With the healed node in and two others gone, what is read must come from the healed copies too.
    await rm(join(nodePath, 'node-0'), { recursive: true, force: true });
    await rm(join(nodePath, 'node-1'), { recursive: true, force: true });
    server = await startServer({ NODEPATH: nodePath, HEAL_INTERVAL: '0' });
    s3 = server.client();
    try {
      for (const [i, { Key, VersionId }] of locked.entries()) {
        const head = await s3.send(new HeadObjectCommand({ Bucket: 'healed', Key, VersionId }));
        expect(i % 2 === 0 ? [head.ObjectLockMode, head.ObjectLockRetainUntilDate] : [head.ObjectLockLegalHoldStatus], Key).toEqual(i % 2 === 0 ? ['COMPLIANCE', until] : ['ON']);
        expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: 'healed', Key, VersionId, BypassGovernanceRetention: true })))).toEqual({ name: 'AccessDenied', status: 403 });
        expect((await s3.send(new GetObjectCommand({ Bucket: 'healed', Key, VersionId }))).ContentLength).toBe(Key === 'small' ? 100 : 3 << 20);
      }
    } finally {
      await server.stop();
    }
  }, 120_000);
});
