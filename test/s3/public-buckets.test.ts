import {
  CreateBucketCommand, DeleteBucketPolicyCommand, GetBucketAclCommand, GetBucketPolicyCommand, GetBucketPolicyStatusCommand,
  GetObjectAclCommand, PutBucketAclCommand, PutBucketPolicyCommand, PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { failure, startServer, type RunningServer } from '../helpers/server.js';

const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';

describe('public buckets: bucket policies and the canned ACL public-read, evaluated for anonymous requests (2 workers)', () => {
  let server: RunningServer;
  let s3: S3Client;
  let base: string;
  beforeAll(async () => {
    server = await startServer();
    s3 = server.client();
    base = server.endpoint;
    for (const Bucket of ['site', 'private-one']) await s3.send(new CreateBucketCommand({ Bucket }));
    for (const Key of ['public/index.html', 'public/secret/plan.txt', 'drafts/todo.txt']) await s3.send(new PutObjectCommand({ Bucket: 'site', Key, Body: `body of ${Key}` }));
    await s3.send(new PutObjectCommand({ Bucket: 'private-one', Key: 'k', Body: 'private' }));
  });
  afterAll(async () => { await server.stop(); });

  const anonymous = (path: string, method = 'GET') => fetch(`${base}${path}`, { method });
  const policy = (statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
  const codeOf = async (res: Response) => /<Code>([^<]+)<\/Code>/.exec(await res.text())?.[1];

  it('a bucket without a policy has none (NoSuchBucketPolicy) and answers anyone AccessDenied, existing or not', async () => {
    expect(await failure(s3.send(new GetBucketPolicyCommand({ Bucket: 'site' })))).toEqual({ name: 'NoSuchBucketPolicy', status: 404 });
    expect(await failure(s3.send(new GetBucketPolicyStatusCommand({ Bucket: 'site' })))).toEqual({ name: 'NoSuchBucketPolicy', status: 404 });
    for (const path of ['/site/public/index.html', '/site', '/no-such-bucket/x', '/']) {
      const res = await anonymous(path);
      expect([path, res.status, await codeOf(res)]).toEqual([path, 403, 'AccessDenied']);
    }
  });

  it('a policy letting anyone read a prefix opens GET and HEAD there and nowhere else; an explicit Deny wins', async () => {
    const doc = policy([
      { Sid: 'read-public', Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::site/public/*'] },
      { Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::site/public/secret/*' },
    ]);
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'site', Policy: doc }));
    expect(JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: 'site' }))).Policy!)).toEqual(JSON.parse(doc));
    expect((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: 'site' }))).PolicyStatus?.IsPublic).toBe(true);
    // Both workers answer in turn: each sees the policy at once.
    for (let i = 0; i < 4; i++) {
      const page = await anonymous('/site/public/index.html');
      expect([page.status, await page.text()]).toEqual([200, 'body of public/index.html']);
    }
    expect((await anonymous('/site/public/index.html', 'HEAD')).status).toBe(200);
    for (const [path, method] of [['/site/public/secret/plan.txt', 'GET'], ['/site/drafts/todo.txt', 'GET'], ['/site', 'GET'], ['/site/public/index.html', 'PUT'], ['/site/public/index.html', 'DELETE'], ['/site?policy', 'GET'], ['/private-one/k', 'GET']]) {
      const res = await anonymous(path!, method);
      expect([path, method, res.status]).toEqual([path, method, 403]);
    }
    // The object is still there after the anonymous DELETE was refused.
    expect((await anonymous('/site/public/index.html')).status).toBe(200);
  });

  it('a policy letting anyone list the bucket opens listings; ACLs show everyone reading what is public', async () => {
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'site', Policy: policy([{ Effect: 'Allow', Principal: '*', Action: ['s3:ListBucket', 's3:GetObject'], Resource: ['arn:aws:s3:::site', 'arn:aws:s3:::site/public/*'] }]) }));
    const listing = await anonymous('/site?list-type=2&prefix=public/');
    expect(listing.status).toBe(200);
    expect(await listing.text()).toContain('<Key>public/index.html</Key>');
    const grants = (await s3.send(new GetObjectAclCommand({ Bucket: 'site', Key: 'public/index.html' }))).Grants!;
    expect(grants.map((g) => [g.Grantee?.Type, g.Grantee?.URI, g.Permission])).toEqual([['CanonicalUser', undefined, 'FULL_CONTROL'], ['Group', ALL_USERS, 'READ']]);
    expect((await s3.send(new GetObjectAclCommand({ Bucket: 'site', Key: 'drafts/todo.txt' }))).Grants).toHaveLength(1);
    expect((await s3.send(new GetBucketAclCommand({ Bucket: 'site' }))).Grants).toHaveLength(2);
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: 'site' }));
    expect((await anonymous('/site/public/index.html')).status).toBe(403);
    expect((await s3.send(new GetBucketAclCommand({ Bucket: 'site' }))).Grants).toHaveLength(1);
  });

  it('refuses policies it would have to read loosely (conditions, other principals, other buckets) and keeps none', async () => {
    const bad = [
      policy([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::site/*', Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }]),
      policy([{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::site/*' }]),
      policy([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::private-one/*' }]),
      policy([{ Effect: 'Allow', Principal: '*', NotAction: 's3:DeleteObject', Resource: 'arn:aws:s3:::site/*' }]),
      '{ not json',
    ];
    for (const Policy of bad) expect(await failure(s3.send(new PutBucketPolicyCommand({ Bucket: 'site', Policy })))).toEqual({ name: 'MalformedPolicy', status: 400 });
    expect(await failure(s3.send(new GetBucketPolicyCommand({ Bucket: 'site' })))).toEqual({ name: 'NoSuchBucketPolicy', status: 404 });
  });

  it('the canned ACL public-read (CreateBucket or PutBucketAcl) lets anyone list and read the bucket, private takes it back', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'downloads', ACL: 'public-read' }));
    await s3.send(new PutObjectCommand({ Bucket: 'downloads', Key: 'tool.tar.gz', Body: 'tarball' }));
    expect(await (await anonymous('/downloads/tool.tar.gz')).text()).toBe('tarball');
    expect((await anonymous('/downloads')).status).toBe(200);
    expect((await anonymous('/downloads/tool.tar.gz', 'PUT')).status).toBe(403);
    await s3.send(new PutBucketAclCommand({ Bucket: 'downloads', ACL: 'private' }));
    expect((await anonymous('/downloads/tool.tar.gz')).status).toBe(403);
    await s3.send(new PutBucketAclCommand({ Bucket: 'private-one', ACL: 'public-read' }));
    expect(await (await anonymous('/private-one/k')).text()).toBe('private');
    expect(await failure(s3.send(new PutBucketAclCommand({ Bucket: 'private-one', ACL: 'public-read-write' })))).toEqual({ name: 'NotImplemented', status: 501 });
  });
});
