import { createHmac } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { pythonsWithBoto3 } from '../helpers/python.js';
import { ACCESS_KEY, SECRET_KEY, startServer, type RunningServer } from '../helpers/server.js';
import { send } from '../helpers/sign.js';

/** A Signature Version 2 signer written from AWS's description of it (HMAC-SHA1 over verb, MD5, type, date, x-amz-* and resource). */
function sigV2(secret: string, method: string, resource: string, date: string, headers: Record<string, string> = {}) {
  const amz = Object.keys(headers).filter((h) => h.startsWith('x-amz-')).sort().map((h) => `${h}:${headers[h]}\n`).join('');
  const text = `${method}\n${headers['content-md5'] ?? ''}\n${headers['content-type'] ?? ''}\n${date}\n${amz}${resource}`;
  return createHmac('sha1', secret).update(text).digest('base64');
}

describe('Signature Version 2 (boto3, s3cmd, raw) and unknown schemes', () => {
  let server: RunningServer;
  const env = () => ({ ...process.env, HOME: tempDir('kintsugi-home-'), AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_DEFAULT_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' });

  beforeAll(async () => {
    server = await startServer();
    const s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'sig-v2' }));
    await s3.send(new PutObjectCommand({ Bucket: 'sig-v2', Key: 'obj', Body: 'version two' }));
  });
  afterAll(async () => { await server.stop(); });

  it.each(pythonsWithBoto3())('boto3 (%s): signature_version="s3" and the default presigner', (python) => {
    const r = spawnSync(python, [join(ROOT, 'test/s3/boto3-sigv2.py'), server.endpoint, ACCESS_KEY, SECRET_KEY], { encoding: 'utf8', timeout: 60_000, env: env() });
    expect(`${r.stdout}\n${r.stderr}`.slice(-3000)).toMatch(/boto3 sigv2 ok/);
    expect(r.status).toBe(0);
  });

  it('s3cmd --signature-v2 stores, lists and fetches', () => {
    const work = tempDir('kintsugi-s3cmd-');
    writeFileSync(join(work, 'in.txt'), 'through s3cmd with SigV2\n');
    const hostport = server.endpoint.replace('http://', '');
    const s3cmd = (...args: string[]) => spawnSync('s3cmd', ['--signature-v2', '--no-ssl', `--host=${hostport}`, `--host-bucket=${hostport}`,
      `--access_key=${ACCESS_KEY}`, `--secret_key=${SECRET_KEY}`, ...args], { encoding: 'utf8', timeout: 60_000, cwd: work, env: env() });
    expect(s3cmd('put', join(work, 'in.txt'), 's3://sig-v2/s3cmd.txt').status).toBe(0);
    expect(s3cmd('ls', 's3://sig-v2/').stdout).toContain('s3://sig-v2/s3cmd.txt');
    expect(s3cmd('get', 's3://sig-v2/s3cmd.txt', join(work, 'out.txt')).status).toBe(0);
    expect(spawnSync('cmp', [join(work, 'in.txt'), join(work, 'out.txt')]).status).toBe(0);
  });

  it('the AWS CLI\'s `s3 presign` URL fetches the object', async () => {
    const r = spawnSync('aws', ['--endpoint-url', server.endpoint, 's3', 'presign', 's3://sig-v2/obj', '--expires-in', '300'], { encoding: 'utf8', env: env() });
    expect(r.status, r.stderr).toBe(0);
    const url = new URL(r.stdout.trim());
    const got = await send(server.port, 'GET', url.pathname + url.search);
    expect(got.status).toBe(200);
    expect(got.body).toBe('version two');
  });

  it('checks a raw SigV2 header: right, tampered, wrong secret, with x-amz-date', async () => {
    const date = new Date().toUTCString();
    const auth = (secret: string, resource = '/sig-v2/obj') => ({ date, authorization: `AWS ${ACCESS_KEY}:${sigV2(secret, 'GET', resource, date)}` });
    expect((await send(server.port, 'GET', '/sig-v2/obj', auth(SECRET_KEY))).body).toBe('version two');
    const tampered = await send(server.port, 'GET', '/sig-v2/other', auth(SECRET_KEY));
    expect(tampered.status).toBe(403);
    expect(tampered.body).toContain('<Code>SignatureDoesNotMatch</Code>');
    const wrong = await send(server.port, 'GET', '/sig-v2/obj', auth('not-the-secret'));
    expect(wrong.body).toContain('<Code>SignatureDoesNotMatch</Code>');
    const amz = { 'x-amz-date': date };
    const withAmzDate = await send(server.port, 'GET', '/sig-v2/obj', { ...amz, authorization: `AWS ${ACCESS_KEY}:${sigV2(SECRET_KEY, 'GET', '/sig-v2/obj', '', amz)}` });
    expect(withAmzDate.body).toBe('version two');
    const old = new Date(Date.now() - 20 * 60_000).toUTCString();
    const skewed = await send(server.port, 'GET', '/sig-v2/obj', { date: old, authorization: `AWS ${ACCESS_KEY}:${sigV2(SECRET_KEY, 'GET', '/sig-v2/obj', old)}` });
    expect(skewed.body).toContain('<Code>RequestTimeTooSkewed</Code>');
  });

  it('checks a raw SigV2 presigned URL: right, expired, tampered, unknown key', async () => {
    const url = (expires: number, key = ACCESS_KEY, path = '/sig-v2/obj') =>
      `${path}?AWSAccessKeyId=${key}&Expires=${expires}&Signature=${encodeURIComponent(sigV2(SECRET_KEY, 'GET', '/sig-v2/obj', String(expires)))}`;
    const later = Math.floor(Date.now() / 1000) + 300;
    expect((await send(server.port, 'GET', url(later))).body).toBe('version two');
    const expired = await send(server.port, 'GET', url(Math.floor(Date.now() / 1000) - 1));
    expect(expired.status).toBe(403);
    expect(expired.body).toMatch(/<Code>AccessDenied<\/Code><Message>Request has expired/);
    expect((await send(server.port, 'GET', url(later, ACCESS_KEY, '/sig-v2/objx'))).body).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect((await send(server.port, 'GET', url(later, 'nobody'))).body).toContain('<Code>InvalidAccessKeyId</Code>');
  });

  it('names an unknown authorization scheme instead of calling the request anonymous', async () => {
    const bearer = await send(server.port, 'GET', '/sig-v2/obj', { authorization: 'Bearer abc.def' });
    expect(bearer.status).toBe(400);
    expect(bearer.body).toMatch(/<Code>InvalidArgument<\/Code><Message>Unsupported Authorization Type/);
    const anonymous = await send(server.port, 'GET', '/sig-v2/obj');
    expect(anonymous.status).toBe(403);
    expect(anonymous.body).toMatch(/anonymous/);
    const sdkStillWorks = await server.client().send(new GetObjectCommand({ Bucket: 'sig-v2', Key: 'obj' }));
    expect(await sdkStillWorks.Body!.transformToString()).toBe('version two');
  });
});
