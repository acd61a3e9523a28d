import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';

import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { signedForm } from '../helpers/post-policy.js';
import { pythonsWithBoto3 } from '../helpers/python.js';
import { ACCESS_KEY, failure, SECRET_KEY, startServer, type RunningServer } from '../helpers/server.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
describe('browser form uploads: POST Object with a SigV4 POST policy (2 workers)', () => {
  let server: RunningServer;
  let s3: S3Client;
  let base: string;
  beforeAll(async () => {
    server = await startServer();
    s3 = server.client();
    base = server.endpoint;
    await s3.send(new CreateBucketCommand({ Bucket: 'uploads' }));
  });
  afterAll(async () => { await server.stop(); });

  const expires = (ms: number) => new Date(Date.now() + ms).toISOString();
  /** Posts a multipart/form-data form: the fields, then the file, as a browser sends it. */
  const post = (fields: Record<string, string>, file: Uint8Array, filename = 'photo.jpg', bucket = 'uploads') => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('file', new Blob([file], { type: 'image/jpeg' }), filename);
    return fetch(`${base}/${bucket}`, { method: 'POST', body: form, redirect: 'manual' });
  };
  const policyFor = (extra: unknown[] = []) => ({ expiration: expires(600_000), conditions: [{ bucket: 'uploads' }, ['starts-with', '$key', 'user-42/'], ['content-length-range', 1, 1 << 20], ...extra] });

  it('stores the file under its key (${filename} filled in) with its content type and metadata, answering 204, 201 with XML or a redirect', async () => {
    const body = randomBytes(300_000);
    const ok = await post({ key: 'user-42/${filename}', 'Content-Type': 'image/jpeg', 'x-amz-meta-album': 'summer', ...signedForm(policyFor([['starts-with', '$Content-Type', 'image/'], ['eq', '$x-amz-meta-album', 'summer']])) }, body);
    expect(ok.status, await ok.text()).toBe(204);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'user-42/photo.jpg' }));
    expect(sha(await got.Body!.transformToByteArray())).toBe(sha(body));
    expect([got.ContentType, got.Metadata]).toEqual(['image/jpeg', { album: 'summer' }]);

    const created = await post({ key: 'user-42/second.bin', success_action_status: '201', ...signedForm(policyFor([['eq', '$success_action_status', '201']])) }, body.subarray(0, 1000));
    expect(created.status).toBe(201);
    expect(await created.text()).toMatch(/<PostResponse[^>]*>.*<Bucket>uploads<\/Bucket><Key>user-42\/second.bin<\/Key><ETag>(&quot;|&#34;)[0-9a-f]{32}(&quot;|&#34;)<\/ETag>/s);

    const redirected = await post({ key: 'user-42/third.bin', success_action_redirect: 'https://app.example.com/done', ...signedForm(policyFor([['starts-with', '$success_action_redirect', 'https://app.example.com/']])) }, body.subarray(0, 10));
    expect(redirected.status).toBe(303);
    expect(redirected.headers.get('location')).toMatch(/^https:\/\/app\.example\.com\/done\?bucket=uploads&key=user-42%2Fthird\.bin&etag=/);
  });

  it('refuses what the policy does not allow — and stores nothing', async () => {
    const body = randomBytes(5000);
    const refused: [string, Promise<Response>][] = [
      ['key outside the prefix', post({ key: 'someone-else/x', ...signedForm(policyFor()) }, body)],
      ['a field no condition names', post({ key: 'user-42/a', 'x-amz-meta-sneaky': '1', ...signedForm(policyFor()) }, body)],
      ['an expired policy', post({ key: 'user-42/b', ...signedForm({ ...policyFor(), expiration: expires(-1000) }) }, body)],
      ['another bucket\'s policy', post({ key: 'user-42/c', ...signedForm({ ...policyFor(), conditions: [{ bucket: 'elsewhere' }, ['starts-with', '$key', 'user-42/']] }) }, body)],
    ];
    for (const [why, res] of refused) {
      const r = await res;
      expect([why, r.status, /<Code>([^<]+)</.exec(await r.text())?.[1]]).toEqual([why, 403, 'AccessDenied']);
    }
    const tooBig = await post({ key: 'user-42/big', ...signedForm({ ...policyFor(), conditions: [{ bucket: 'uploads' }, ['starts-with', '$key', 'user-42/'], ['content-length-range', 1, 1000]] }) }, body);
    expect([tooBig.status, /<Code>([^<]+)</.exec(await tooBig.text())?.[1]]).toEqual([400, 'EntityTooLarge']);
    const forged = await post({ key: 'user-42/forged', ...signedForm(policyFor(), 'not-the-secret-key') }, body);
    expect(forged.status).toBe(403);
    for (const key of ['someone-else/x', 'user-42/a', 'user-42/b', 'user-42/c', 'user-42/big', 'user-42/forged']) {
      expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'uploads', Key: key })))).toMatchObject({ status: 404 });
    }
  });

  it('takes the form boto3\'s generate_presigned_post makes', async () => {
    const script = `
import boto3, json, sys
from botocore.config import Config
s3 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], region_name='us-east-1', config=Config(signature_version='s3v4', s3={'addressing_style': 'path'}))
print(json.dumps(s3.generate_presigned_post('uploads', 'from-boto3/\${filename}', Conditions=[['content-length-range', 1, 100000]], ExpiresIn=600)))
`;
    for (const python of pythonsWithBoto3()) {
      const r = spawnSync(python, ['-c', script, base, ACCESS_KEY, SECRET_KEY], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const { url, fields } = JSON.parse(r.stdout) as { url: string; fields: Record<string, string> };
      expect(url).toBe(`${base}/uploads`);
      const body = randomBytes(2000);
      const res = await post(fields, body, `boto3-${python.replace(/\W/g, '')}.bin`);
      expect(res.status, await res.text()).toBe(204);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: `from-boto3/boto3-${python.replace(/\W/g, '')}.bin` }));
      expect(sha(await got.Body!.transformToByteArray())).toBe(sha(body));
    }
  });
});
