import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tempDir } from '../helpers/engine.js';
import { ACCESS_KEY, SECRET_KEY, startServer, type RunningServer } from '../helpers/server.js';

/**
 * The AWS CLI calls that once changed or deleted data through a
 * sub-resource the server ignored: each must now do its own operation (or
 * refuse it by name) and leave the object's bytes, type and the bucket be.
 */
describe('the AWS CLI against sub-resources', () => {
  let server: RunningServer;
  const work = tempDir('kintsugi-cli-surface-');
  const original = join(work, 'original.bin');
  const env = { ...process.env, HOME: tempDir('kintsugi-home-'), AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_DEFAULT_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };
  const aws = (...args: string[]) => spawnSync('aws', ['--endpoint-url', server.endpoint, ...args], { encoding: 'utf8', env, timeout: 60_000 });
  const s3api = (...args: string[]) => aws('s3api', ...args);

  const intact = () => {
    const out = join(work, 'check.bin');
    const got = s3api('get-object', '--bucket', 'cli', '--key', 'k', out);
    expect(got.status, got.stderr).toBe(0);
    expect(JSON.parse(got.stdout).ContentType).toBe('text/x-original');
    expect(readFileSync(out).equals(readFileSync(original))).toBe(true);
    expect(s3api('head-bucket', '--bucket', 'cli-empty').status).toBe(0);
  };

  beforeAll(async () => {
    server = await startServer();
    writeFileSync(original, 'bytes that must survive every call below\n'.repeat(100));
    expect(aws('s3', 'mb', 's3://cli').status).toBe(0);
    expect(aws('s3', 'mb', 's3://cli-empty').status).toBe(0);
    expect(s3api('put-object', '--bucket', 'cli', '--key', 'k', '--body', original, '--content-type', 'text/x-original').status).toBe(0);
  });
  afterAll(async () => { await server.stop(); });

  it('put-object-tagging tags the object and leaves the bytes; get-object shows the tag count; too many tags are InvalidTag', () => {
    const r = s3api('put-object-tagging', '--bucket', 'cli', '--key', 'k', '--tagging', 'TagSet=[{Key=a,Value=b},{Key=project,Value=blue sky}]');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(s3api('get-object-tagging', '--bucket', 'cli', '--key', 'k').stdout).TagSet).toEqual([{ Key: 'a', Value: 'b' }, { Key: 'project', Value: 'blue sky' }]);
    expect(JSON.parse(s3api('get-object', '--bucket', 'cli', '--key', 'k', join(work, 'tagged.bin')).stdout).TagCount).toBe(2);
    const eleven = Array.from({ length: 11 }, (_, i) => `{Key=k${i},Value=v}`).join(',');
    expect(s3api('put-object-tagging', '--bucket', 'cli', '--key', 'k', '--tagging', `TagSet=[${eleven}]`).stderr).toMatch(/InvalidTag/);
    intact();
  });

  it('put-object-acl --acl private is accepted (every object is private) and leaves the bytes', () => {
    const r = s3api('put-object-acl', '--bucket', 'cli', '--key', 'k', '--acl', 'private');
    expect(r.status, r.stderr).toBe(0);
    const acl = s3api('get-object-acl', '--bucket', 'cli', '--key', 'k');
    expect(JSON.parse(acl.stdout).Grants[0].Permission).toBe('FULL_CONTROL');
    const publicRead = s3api('put-object-acl', '--bucket', 'cli', '--key', 'k', '--acl', 'public-read');
    expect(publicRead.stderr).toMatch(/NotImplemented/);
    intact();
  });

  it('delete-object-tagging removes the tags and the object stays; get-object-tagging then answers an empty set', () => {
    expect(s3api('put-object-tagging', '--bucket', 'cli', '--key', 'k', '--tagging', 'TagSet=[{Key=a,Value=b}]').status).toBe(0);
    expect(s3api('delete-object-tagging', '--bucket', 'cli', '--key', 'k').status).toBe(0);
    expect(JSON.parse(s3api('get-object-tagging', '--bucket', 'cli', '--key', 'k').stdout).TagSet).toEqual([]);
    intact();
  });

  it('versioning: versions, a delete marker, reading and restoring by version id', () => {
    expect(aws('s3', 'mb', 's3://cli-ver').status).toBe(0);
    expect(JSON.parse(s3api('get-bucket-versioning', '--bucket', 'cli-ver').stdout || '{}').Status).toBeUndefined();
    expect(s3api('put-bucket-versioning', '--bucket', 'cli-ver', '--versioning-configuration', 'Status=Enabled').status).toBe(0);
    expect(JSON.parse(s3api('get-bucket-versioning', '--bucket', 'cli-ver').stdout).Status).toBe('Enabled');
    const v1 = JSON.parse(s3api('put-object', '--bucket', 'cli-ver', '--key', 'doc', '--body', original).stdout).VersionId;
    const v2 = JSON.parse(s3api('put-object', '--bucket', 'cli-ver', '--key', 'doc', '--body', join(work, 'check.bin'), '--tagging', 'v=2').stdout).VersionId;
    expect(v1).not.toBe(v2);
    const marker = JSON.parse(s3api('delete-object', '--bucket', 'cli-ver', '--key', 'doc').stdout);
    expect(marker.DeleteMarker).toBe(true);
    expect(s3api('head-object', '--bucket', 'cli-ver', '--key', 'doc').status).not.toBe(0);
    const listed = JSON.parse(s3api('list-object-versions', '--bucket', 'cli-ver').stdout);
    expect(listed.Versions.map((v: { VersionId: string }) => v.VersionId).sort()).toEqual([v1, v2].sort());
    expect(listed.DeleteMarkers).toEqual([expect.objectContaining({ Key: 'doc', VersionId: marker.VersionId, IsLatest: true })]);
    const old = join(work, 'v1.bin');
    expect(JSON.parse(s3api('get-object', '--bucket', 'cli-ver', '--key', 'doc', '--version-id', v1, old).stdout).VersionId).toBe(v1);
    expect(readFileSync(old).equals(readFileSync(original))).toBe(true);
    expect(JSON.parse(s3api('get-object-tagging', '--bucket', 'cli-ver', '--key', 'doc', '--version-id', v2).stdout).TagSet).toEqual([{ Key: 'v', Value: '2' }]);
    expect(s3api('delete-object', '--bucket', 'cli-ver', '--key', 'doc', '--version-id', marker.VersionId).status).toBe(0);
    expect(JSON.parse(s3api('head-object', '--bucket', 'cli-ver', '--key', 'doc').stdout).VersionId).toBe(v2);
    expect(aws('s3', 'ls', 's3://cli-ver').stdout).toContain('doc');
  });

  it('bucket sub-resources never delete or re-create the bucket', () => {
    expect(s3api('put-bucket-versioning', '--bucket', 'cli-empty', '--versioning-configuration', 'Status=Suspended').status).toBe(0);
    expect(JSON.parse(s3api('get-bucket-versioning', '--bucket', 'cli-empty').stdout).Status).toBe('Suspended');
    expect(s3api('put-bucket-tagging', '--bucket', 'cli-empty', '--tagging', 'TagSet=[{Key=team,Value=photos},{Key=cost-centre,Value=42}]').status).toBe(0);
    expect(JSON.parse(s3api('get-bucket-tagging', '--bucket', 'cli-empty').stdout).TagSet).toEqual([{ Key: 'team', Value: 'photos' }, { Key: 'cost-centre', Value: '42' }]);
    expect(s3api('delete-bucket-tagging', '--bucket', 'cli-empty').status).toBe(0);
    expect(s3api('get-bucket-tagging', '--bucket', 'cli-empty').stderr).toMatch(/NoSuchTagSet/);
    expect(s3api('put-bucket-cors', '--bucket', 'cli-empty', '--cors-configuration', '{"CORSRules":[{"AllowedOrigins":["https://app.example.com"],"AllowedMethods":["GET"]}]}').status).toBe(0);
    expect(JSON.parse(s3api('get-bucket-cors', '--bucket', 'cli-empty').stdout).CORSRules).toEqual([{ AllowedOrigins: ['https://app.example.com'], AllowedMethods: ['GET'] }]);
    expect(s3api('delete-bucket-cors', '--bucket', 'cli-empty').status).toBe(0);
    expect(s3api('delete-bucket-website', '--bucket', 'cli-empty').stderr).toMatch(/NotImplemented.*DeleteBucketWebsite/);
    expect(s3api('put-bucket-lifecycle-configuration', '--bucket', 'cli-empty', '--lifecycle-configuration', '{"Rules":[{"ID":"old","Status":"Enabled","Filter":{"Prefix":"tmp/"},"Expiration":{"Days":7}}]}').status).toBe(0);
    expect(JSON.parse(s3api('get-bucket-lifecycle-configuration', '--bucket', 'cli-empty').stdout).Rules[0]).toMatchObject({ ID: 'old', Expiration: { Days: 7 } });
    expect(s3api('delete-bucket-lifecycle', '--bucket', 'cli-empty').status).toBe(0);
    expect(s3api('get-bucket-lifecycle-configuration', '--bucket', 'cli-empty').stderr).toMatch(/NoSuchLifecycleConfiguration/);
    expect(s3api('get-bucket-cors', '--bucket', 'cli-empty').stderr).toMatch(/NoSuchCORSConfiguration/);
    expect(s3api('get-bucket-versioning', '--bucket', 'cli-empty').status).toBe(0);
    intact();
  });

  // Debian's AWS CLI 2.9 predates conditional writes (2024); a newer one has --if-none-match.
  const cliHasConditions = spawnSync('aws', ['s3api', 'put-object', 'help'], { encoding: 'utf8', env: { ...process.env, PAGER: 'cat' } }).stdout.includes('if-none-match');
  it.skipIf(!cliHasConditions)('put-object --if-none-match "*" creates once and refuses to replace (skipped: this AWS CLI has no --if-none-match)', () => {
    expect(s3api('put-object', '--bucket', 'cli', '--key', 'created-once', '--body', original, '--if-none-match', '*').status).toBe(0);
    const again = s3api('put-object', '--bucket', 'cli', '--key', 'created-once', '--body', original, '--if-none-match', '*');
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/PreconditionFailed/);
  });

  it('get-object-attributes answers the attributes asked for', () => {
    const r = s3api('get-object-attributes', '--bucket', 'cli', '--key', 'k', '--object-attributes', 'ETag', 'ObjectSize', 'StorageClass');
    expect(r.status, r.stderr).toBe(0);
    const attrs = JSON.parse(r.stdout);
    expect(attrs.ObjectSize).toBe(readFileSync(original).length);
    expect(attrs.StorageClass).toBe('STANDARD');
    expect(attrs.ETag).toMatch(/^[0-9a-f]{32}$/);
  });
});
