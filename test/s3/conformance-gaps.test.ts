import { spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';

import {
  CreateBucketCommand, GetObjectLockConfigurationCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { EXACT_KEYS, NEIGHBOURS } from '../helpers/exact-keys.js';
import { pythonsWithBoto3 } from '../helpers/python.js';
import { ACCESS_KEY, failure, SECRET_KEY, startServer, type RunningServer } from '../helpers/server.js';
import { send, signedHeaders } from '../helpers/sign.js';

/** Sends a request head on a raw socket and reads what comes back before `body` is sent (if it is sent at all). */
function expectContinue(port: number, head: string, body: Buffer, sendBodyOn100: boolean): Promise<{ first: string; all: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let got = '';
    let first: string | undefined;
    const timer = setTimeout(() => { sock.destroy(); resolve({ first: first ?? got, all: got }); }, 3000);
    sock.on('data', (d) => {
      got += d;
      if (first === undefined && got.includes('\r\n\r\n')) {
        first = got.slice(0, got.indexOf('\r\n'));
        if (first.includes(' 100 ') && sendBodyOn100) sock.write(body);
      }
      // A final answer is complete when its body has arrived (by its length, or its last chunk).
      const final = got.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
      const end = final.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(final)?.[1];
      if (end >= 0 && (length !== undefined ? Buffer.byteLength(final) >= end + 4 + Number(length) : final.endsWith('0\r\n\r\n'))) {
        clearTimeout(timer);
        sock.destroy();
        resolve({ first: first!, all: got });
      }
    });
    sock.on('error', reject);
    sock.on('connect', () => sock.write(head));
  });
}

const codeOf = (xml: string) => /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];

describe('the conformance gaps of issue 22', () => {
  let server: RunningServer;
  let s3: S3Client;
  beforeAll(async () => {
    server = await startServer();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'gaps' }));
  });
  afterAll(async () => { await server.stop(); });

  it.each(pythonsWithBoto3())('boto3 (%s): keys, tag values and prefixes exact; listings, tag order, CreateBucket, special names and generate_presigned_post as AWS', (python) => {
    const bucketPrefix = `boto-${createHash('md5').update(python).digest('hex').slice(0, 8)}`;
    const keys = JSON.stringify({ exact: Object.values(EXACT_KEYS), neighbours: NEIGHBOURS });
    const r = spawnSync(python, [join(ROOT, 'test/s3/boto3-exact.py'), server.endpoint, ACCESS_KEY, SECRET_KEY, keys, bucketPrefix], { encoding: 'utf8', timeout: 120_000 });
    expect(`${r.stdout}\n${r.stderr}`.slice(-3000)).toMatch(/boto3 exact ok/);
    expect(r.status).toBe(0);
  });

  it('the AWS CLI deletes `report ` through delete-objects and leaves `report` alone; lists and tags with spaces kept', () => {
    const env = { ...process.env, AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_DEFAULT_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };
    const aws = (...args: string[]) => {
      const r = spawnSync('aws', ['--endpoint-url', server.endpoint, '--output', 'json', 's3api', ...args], { encoding: 'utf8', env, cwd: tempDir('kintsugi-cli-') });
      if (r.status !== 0) throw new Error(`aws ${args.join(' ')}: ${r.stderr}`);
      return r.stdout ? JSON.parse(r.stdout) as Record<string, unknown> : {};
    };
    for (const key of ['report', 'report ', ' report']) aws('put-object', '--bucket', 'gaps', '--key', key);
    const deleted = aws('delete-objects', '--bucket', 'gaps', '--delete', JSON.stringify({ Objects: [{ Key: 'report ' }] }));
    expect(deleted.Deleted).toEqual([{ Key: 'report ' }]);
    const listed = aws('list-objects-v2', '--bucket', 'gaps', '--prefix', ' ');
    expect((listed.Contents as { Key: string }[]).map((c) => c.Key)).toEqual([' report']);
    expect(listed.Prefix).toBe(' ');
    expect((aws('list-objects-v2', '--bucket', 'gaps', '--prefix', 'report').Contents as { Key: string }[]).map((c) => c.Key)).toEqual(['report']);
    aws('put-object-tagging', '--bucket', 'gaps', '--key', 'report', '--tagging', JSON.stringify({ TagSet: [{ Key: 'k', Value: ' leading' }, { Key: 'l', Value: 'trailing ' }] }));
    expect(aws('get-object-tagging', '--bucket', 'gaps', '--key', 'report').TagSet).toEqual([{ Key: 'k', Value: ' leading' }, { Key: 'l', Value: 'trailing ' }]);
  });

  it('encodes exactly the listing fields AWS encodes with encoding-type=url: V1 not its Prefix, V2 and versions theirs', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'gaps', Key: 'a b/c d', Body: 'x' }));
    const list = async (query: string) => {
      const path = `/gaps?${query}`;
      const r = await send(server.port, 'GET', path, await signedHeaders(server.port, 'GET', path, {}));
      expect(r.status).toBe(200);
      return r.body;
    };
    const field = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
    const v1 = await list('encoding-type=url&prefix=a%20&delimiter=%2F&marker=a%20a');
    expect([field(v1, 'Prefix'), field(v1, 'Delimiter'), field(v1, 'Marker')]).toEqual(['a ', '/', 'a%20a']);
    expect(/<CommonPrefixes><Prefix>([^<]*)</.exec(v1)?.[1]).toBe('a%20b/');
    const v2 = await list('list-type=2&encoding-type=url&prefix=a%20&start-after=a%20a');
    expect([field(v2, 'Prefix'), field(v2, 'StartAfter'), /<Key>([^<]*)</.exec(v2)?.[1]]).toEqual(['a%20', 'a%20a', 'a%20b/c%20d']);
    const versions = await list('versions&encoding-type=url&prefix=a%20&key-marker=a%20a');
    expect([field(versions, 'Prefix'), field(versions, 'KeyMarker'), /<Key>([^<]*)</.exec(versions)?.[1]]).toEqual(['a%20', 'a%20a', 'a%20b/c%20d']);
    // Without encoding, a CR in a key is written as a character reference: a raw one would be read back as LF.
    await s3.send(new PutObjectCommand({ Bucket: 'gaps', Key: 'cr\r', Body: 'x' }));
    expect(await list('list-type=2&prefix=cr')).toContain('<Key>cr&#13;</Key>');
  });

  it('echoes an empty continuation-token as the ContinuationToken', async () => {
    const path = '/gaps?list-type=2&continuation-token=';
    const r = await send(server.port, 'GET', path, await signedHeaders(server.port, 'GET', path, {}));
    expect(r.body).toContain('<ContinuationToken></ContinuationToken>');
    expect(r.body).toContain('<IsTruncated>false</IsTruncated>');
  });

  it('answers x-amz-tagging\'s tag set in key order, as AWS does', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'gaps', Key: 'tag-order', Body: 'x', Tagging: 'foo=bar&bar&Abc=1' }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'gaps', Key: 'tag-order' }))).TagSet).toEqual([{ Key: 'Abc', Value: '1' }, { Key: 'bar', Value: '' }, { Key: 'foo', Value: 'bar' }]);
  });

  it('CreateBucket of a bucket one owns: 200 and nothing changed; 409 when it asks for what the bucket has not (a canned ACL, Object Lock)', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'gaps', Key: 'kept', Body: 'still here' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'gaps' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'gaps', ACL: 'private' }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'gaps', Key: 'kept' }))).Body!.transformToString()).toBe('still here');
    expect(await failure(s3.send(new CreateBucketCommand({ Bucket: 'gaps', ACL: 'public-read' })))).toEqual({ name: 'BucketAlreadyOwnedByYou', status: 409 });
    expect(await failure(s3.send(new CreateBucketCommand({ Bucket: 'gaps', ObjectLockEnabledForBucket: true })))).toEqual({ name: 'BucketAlreadyOwnedByYou', status: 409 });
    expect(await failure(s3.send(new GetObjectLockConfigurationCommand({ Bucket: 'gaps' })))).toEqual({ name: 'ObjectLockConfigurationNotFoundError', status: 404 });
  });

  it('checks a request before answering 100 Continue: a refused PUT is answered at once, its body never asked for', async () => {
    const body = Buffer.alloc(1 << 20, 1);
    const anonymous = await expectContinue(server.port, `PUT /gaps/anon HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`, body, true);
    expect(anonymous.first).toBe('HTTP/1.1 403 Forbidden');
    expect(codeOf(anonymous.all)).toBe('AccessDenied');
    expect(anonymous.all).toMatch(/connection: close/i);

    const signedHead = async (path: string) => {
      const headers = await signedHeaders(server.port, 'PUT', path, { 'content-length': String(body.length), expect: '100-continue' }, createHash('sha256').update(body).digest('hex'));
      return `PUT ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
    };
    const noBucket = await expectContinue(server.port, await signedHead('/no-such-bucket/x'), body, true);
    expect([noBucket.first, codeOf(noBucket.all)]).toEqual([expect.stringMatching(/^HTTP\/1\.1 404 /), 'NoSuchBucket']);

    const accepted = await expectContinue(server.port, await signedHead('/gaps/continued'), body, true);
    expect(accepted.first).toBe('HTTP/1.1 100 Continue');
    expect(accepted.all).toMatch(/\r\n\r\nHTTP\/1\.1 200 /);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'gaps', Key: 'continued' }))).ContentLength).toBe(body.length);
  });
});

describe('POST Object with a Signature Version 2 policy, as ceph/s3-tests sends it', () => {
  let server: RunningServer;
  let s3: S3Client;
  beforeAll(async () => {
    server = await startServer();
    s3 = server.client();
    for (const Bucket of ['forms', 'forms-other']) await s3.send(new CreateBucketCommand({ Bucket }));
  });
  afterAll(async () => { await server.stop(); });

  const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const baseConditions = (bucket = 'forms'): unknown[] => [{ bucket }, ['starts-with', '$key', 'foo'], { acl: 'private' }, ['starts-with', '$Content-Type', 'text/plain'], ['content-length-range', 0, 1024]];
  /** A V2-signed form: base64 policy, signature = base64(HMAC-SHA1(secret, policy)). */
  function v2Form(policy: object, fields: Record<string, string> = {}, secret = SECRET_KEY): [string, string][] {
    const b64 = Buffer.from(JSON.stringify(policy)).toString('base64');
    const signature = createHmac('sha1', secret).update(b64).digest('base64');
    return Object.entries({ key: 'foo.txt', AWSAccessKeyId: ACCESS_KEY, acl: 'private', signature, policy: b64, 'Content-Type': 'text/plain', ...fields });
  }
  /** Every field as a part with a filename, as Python's requests sends `files=`; the file last. */
  async function post(fields: [string, string][], file = 'bar', bucket = 'forms', filename = 'file'): Promise<{ status: number; code?: string }> {
    const form = new FormData();
    for (const [k, v] of fields) form.append(k, new Blob([v]), k);
    form.append('file', new Blob([file]), filename);
    const r = await fetch(`${server.endpoint}/${bucket}`, { method: 'POST', body: form, redirect: 'manual' });
    const text = await r.text();
    return { status: r.status, ...(codeOf(text) ? { code: codeOf(text) } : {}) };
  }
  const without = (fields: [string, string][], name: string) => fields.filter(([k]) => k !== name);

  it('stores an upload whose V2 policy holds (fields in any case, x-ignore-*, ${filename}, metadata, tagging)', async () => {
    expect(await post(v2Form({ expiration: inAnHour(), conditions: baseConditions() }))).toEqual({ status: 204 });
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'forms', Key: 'foo.txt' }))).Body!.transformToString()).toBe('bar');

    const mixedCase = v2Form({ expiration: inAnHour(), conditions: [{ bUcKeT: 'forms' }, ['StArTs-WiTh', '$KeY', 'foo'], { AcL: 'private' }, ['StArTs-WiTh', '$CoNtEnT-TyPe', 'text/plain'], ['content-length-range', 0, 1024]] })
      .map(([k, v]): [string, string] => [k === 'key' ? 'kEy' : k === 'policy' ? 'pOLICy' : k, v]);
    expect(await post(mixedCase)).toEqual({ status: 204 });
    expect(await post([...v2Form({ expiration: inAnHour(), conditions: baseConditions() }), ['x-ignore-foo', 'bar']])).toEqual({ status: 204 });

    const named = v2Form({ expiration: inAnHour(), conditions: baseConditions() }, { key: '${filename}' });
    expect(await post(named, 'named', 'forms', 'foo-named.txt')).toEqual({ status: 204 });
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'forms', Key: 'foo-named.txt' }))).Body!.transformToString()).toBe('named');

    const tagging = '<Tagging><TagSet><Tag><Key>0</Key><Value> 0 </Value></Tag><Tag><Key>1</Key><Value>1</Value></Tag></TagSet></Tagging>';
    const meta = v2Form({ expiration: inAnHour(), conditions: [...baseConditions(), ['starts-with', '$x-amz-meta-foo', 'bar'], ['starts-with', '$tagging', '']] }, { key: 'foo-meta', 'x-amz-meta-foo': 'barclamp', tagging });
    expect(await post(meta)).toEqual({ status: 204 });
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'forms', Key: 'foo-meta' }))).Metadata).toEqual({ foo: 'barclamp' });
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'forms', Key: 'foo-meta' }))).TagSet).toEqual([{ Key: '0', Value: ' 0 ' }, { Key: '1', Value: '1' }]);
  });

  it('refuses with 403 what AWS refuses with 403: a wrong signature or key, an expired policy, another bucket, a missing or failed condition', async () => {
    const good = () => v2Form({ expiration: inAnHour(), conditions: baseConditions() });
    const cases: [string, Promise<{ status: number; code?: string }>, string][] = [
      ['a reversed signature', post(good().map(([k, v]): [string, string] => [k, k === 'signature' ? [...v].reverse().join('') : v])), 'SignatureDoesNotMatch'],
      ['another secret', post(v2Form({ expiration: inAnHour(), conditions: baseConditions() }, {}, 'wrong-secret')), 'SignatureDoesNotMatch'],
      ['an unknown access key', post(v2Form({ expiration: inAnHour(), conditions: baseConditions() }, { AWSAccessKeyId: 'foo' })), 'InvalidAccessKeyId'],
      ['an expired policy', post(v2Form({ expiration: new Date(Date.now() - 6_000_000).toISOString(), conditions: baseConditions() })), 'AccessDenied'],
      ['the policy of another bucket', post(v2Form({ expiration: inAnHour(), conditions: baseConditions() }, { bucket: 'forms' }), 'bar', 'forms-other'), 'AccessDenied'],
      ['no bucket condition', post(v2Form({ expiration: inAnHour(), conditions: baseConditions().slice(1) })), 'AccessDenied'],
      ['a field the policy requires missing', post(v2Form({ expiration: inAnHour(), conditions: [...baseConditions(), ['starts-with', '$x-amz-meta-foo', 'bar']] })), 'AccessDenied'],
      ['a field that fails its eq', post(v2Form({ expiration: inAnHour(), conditions: [...baseConditions(), ['eq', '$x-amz-meta-foo', '']] }, { 'x-amz-meta-foo': 'barclamp' })), 'AccessDenied'],
      ['a key with a leading space', post(v2Form({ expiration: inAnHour(), conditions: baseConditions() }, { key: ' foo.txt' })), 'AccessDenied'],
    ];
    for (const [why, res, code] of cases) expect([why, await res]).toEqual([why, { status: 403, code }]);
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'forms-other', Key: 'foo.txt' })))).toMatchObject({ status: 404 });
  });

  it('refuses with 400 a form or policy that is not one: no signature, no key, a malformed date, case-changed names, bad sizes, empty conditions', async () => {
    const cases: [string, Promise<{ status: number; code?: string }>][] = [
      ['no signature', post(without(v2Form({ expiration: inAnHour(), conditions: baseConditions() }), 'signature'))],
      ['no key', post(without(v2Form({ expiration: inAnHour(), conditions: [{ bucket: 'forms' }, { acl: 'private' }, ['starts-with', '$Content-Type', 'text/plain']] }), 'key'))],
      ['an expiration in another format', post(v2Form({ expiration: new Date(Date.now() + 6_000_000).toString(), conditions: baseConditions() }))],
      ['a Python str() of a datetime', post(v2Form({ expiration: '2030-12-06 10:00:00.123456+00:00', conditions: baseConditions() }))],
      ['CONDITIONS in capitals', post(v2Form({ expiration: inAnHour(), CONDITIONS: baseConditions() }))],
      ['EXPIRATION in capitals', post(v2Form({ EXPIRATION: inAnHour(), conditions: baseConditions() }))],
      ['no expiration', post(v2Form({ conditions: baseConditions() }))],
      ['no conditions list', post(v2Form({ expiration: inAnHour() }))],
      ['a file over content-length-range', post(v2Form({ expiration: inAnHour(), conditions: [...baseConditions().slice(0, 4), ['content-length-range', 0, 0]] }))],
      ['a file under content-length-range', post(v2Form({ expiration: inAnHour(), conditions: [...baseConditions().slice(0, 4), ['content-length-range', 512, 1000]] }))],
      ['content-length-range with one bound', post(v2Form({ expiration: inAnHour(), conditions: [...baseConditions().slice(0, 4), ['content-length-range', 0]] }))],
      ['content-length-range from -1', post(v2Form({ expiration: inAnHour(), conditions: [...baseConditions().slice(0, 4), ['content-length-range', -1, 0]] }))],
      ['an empty condition', post(v2Form({ expiration: inAnHour(), conditions: [{}] }))],
    ];
    for (const [why, res] of cases) expect([why, (await res).status]).toEqual([why, 400]);
    for (const Key of ['foo.txt ']) expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'forms', Key })))).toMatchObject({ status: 404 });
  });

  it('answers 501 for a form field Kintsugi would have to ignore, and checks a declared checksum', async () => {
    const conditions = [...baseConditions(), ['starts-with', '$x-amz-server-side-encryption', ''], ['starts-with', '$x-amz-checksum-sha256', '']];
    expect(await post(v2Form({ expiration: inAnHour(), conditions }, { 'x-amz-server-side-encryption': 'AES256' }))).toEqual({ status: 501, code: 'NotImplemented' });
    const sha256 = (s: string) => createHash('sha256').update(s).digest('base64');
    expect(await post(v2Form({ expiration: inAnHour(), conditions }, { key: 'foo-sum', 'x-amz-checksum-sha256': sha256('bar') }))).toEqual({ status: 204 });
    expect(await post(v2Form({ expiration: inAnHour(), conditions }, { key: 'foo-badsum', 'x-amz-checksum-sha256': sha256('baz') }))).toEqual({ status: 400, code: 'BadDigest' });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'forms', Key: 'foo-badsum' })))).toMatchObject({ status: 404 });
  });
});
