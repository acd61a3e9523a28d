import { createHash } from 'node:crypto';

import { CreateBucketCommand, CreateMultipartUploadCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { signedForm } from '../helpers/post-policy.js';
import { ACCESS_KEY, SECRET_KEY, startServer, type RunningServer } from '../helpers/server.js';
import { send, signedHeaders } from '../helpers/sign.js';

type Answer = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

/**
 * The hostile-input guard for a whole class of bugs: every value Kintsugi
 * parses from a request body or query (XML, JSON, form fields, query
 * parameters) is sent with whitespace around it, and must be kept exactly
 * or refused with an S3 error — never trimmed, or read as another value.
 * (Header values are exempt: HTTP itself strips their surrounding whitespace.)
 */
describe('hostile input: values with whitespace around them are kept exactly or refused', () => {
  let server: RunningServer;
  let s3: S3Client;
  let uploadId: string;
  beforeAll(async () => {
    server = await startServer();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'spaced' }));
    await s3.send(new PutObjectCommand({ Bucket: 'spaced', Key: 'k', Body: 'the object k' }));
    uploadId = (await s3.send(new CreateMultipartUploadCommand({ Bucket: 'spaced', Key: 'mpu' }))).UploadId!;
  });
  afterAll(async () => { await server.stop(); });

  /** A request signed with SigV4 (the body's hash and MD5 too); `path` carries its query percent-encoded. */
  async function call(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
    const extra = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)), 'content-md5': createHash('md5').update(body).digest('base64') };
    const signed = await signedHeaders(server.port, method, path, { ...extra, ...headers }, createHash('sha256').update(body ?? '').digest('hex'));
    return send(server.port, method, path, signed, body);
  }
  const q = (s: string) => encodeURIComponent(s);
  const element = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
  const exists = (Key: string) => s3.send(new HeadObjectCommand({ Bucket: 'spaced', Key })).then(() => true, () => false);
  const lifecycle = (rule: string) => `<LifecycleConfiguration><Rule><ID>r</ID><Status>Enabled</Status>${rule}</Rule></LifecycleConfiguration>`;
  const cors = (rule: string) => `<CORSConfiguration><CORSRule>${rule}</CORSRule></CORSConfiguration>`;
  const policy = (statement: object) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::spaced/*', ...statement }] });
  async function postForm(fields: Record<string, string>, conditions: unknown[] = []): Promise<Answer> {
    const form = new FormData();
    const policyDoc = { expiration: new Date(Date.now() + 600_000).toISOString(), conditions: [{ bucket: 'spaced' }, ['starts-with', '$key', ''], ...conditions] };
    for (const [k, v] of Object.entries({ ...fields, ...signedForm(policyDoc) })) form.append(k, v);
    form.append('file', new Blob(['posted']), 'f.txt');
    const r = await fetch(`${server.endpoint}/spaced`, { method: 'POST', body: form });
    return { status: r.status, headers: Object.fromEntries(r.headers), body: await r.text() };
  }

  /**
   * Each value: where it travels, the request carrying it with whitespace
   * around it, and how to see it was kept exactly (when it is not refused).
   */
  const cases: { where: string; send: () => Promise<Answer>; kept?: (a: Answer) => Promise<boolean> }[] = [
    // XML bodies
    { where: 'DeleteObjects Key', send: () => call('POST', '/spaced?delete=', '<Delete><Object><Key> k </Key></Object></Delete>'),
      kept: async (a) => element(a.body, 'Key') === ' k ' && await exists('k') },
    { where: 'DeleteObjects VersionId', send: () => call('POST', '/spaced?delete=', '<Delete><Object><Key>k</Key><VersionId> null </VersionId></Object></Delete>') },
    { where: 'DeleteObjects Quiet', send: () => call('POST', '/spaced?delete=', '<Delete><Quiet> true </Quiet><Object><Key>x</Key></Object></Delete>') },
    { where: 'PutBucketVersioning Status', send: () => call('PUT', '/spaced?versioning=', '<VersioningConfiguration><Status> Enabled </Status></VersioningConfiguration>') },
    { where: 'PutBucketVersioning MfaDelete', send: () => call('PUT', '/spaced?versioning=', '<VersioningConfiguration><Status>Suspended</Status><MfaDelete>Disabled </MfaDelete></VersioningConfiguration>') },
    { where: 'PutObjectTagging Key and Value', send: () => call('PUT', '/spaced/k?tagging=', '<Tagging><TagSet><Tag><Key> t </Key><Value> v </Value></Tag></TagSet></Tagging>'),
      kept: async () => (await call('GET', '/spaced/k?tagging=')).body.includes('<Key> t </Key><Value> v </Value>') },
    { where: 'PutBucketTagging Value', send: () => call('PUT', '/spaced?tagging=', '<Tagging><TagSet><Tag><Key>t</Key><Value>v </Value></Tag></TagSet></Tagging>'),
      kept: async () => (await call('GET', '/spaced?tagging=')).body.includes('<Value>v </Value>') },
    { where: 'CompleteMultipartUpload PartNumber', send: () => call('POST', `/spaced/mpu?uploadId=${q(uploadId)}`, '<CompleteMultipartUpload><Part><PartNumber> 1 </PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>') },
    { where: 'CompleteMultipartUpload ETag', send: () => call('POST', `/spaced/mpu?uploadId=${q(uploadId)}`, '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag> "x" </ETag></Part></CompleteMultipartUpload>') },
    { where: 'lifecycle Prefix and ID', send: () => call('PUT', '/spaced?lifecycle=', lifecycle('<Filter><Prefix> tmp </Prefix></Filter><Expiration><Days>1</Days></Expiration>').replace('<ID>r</ID>', '<ID> r </ID>')),
      kept: async () => { const b = (await call('GET', '/spaced?lifecycle=')).body; return b.includes('<Prefix> tmp </Prefix>') && b.includes('<ID> r </ID>'); } },
    { where: 'lifecycle Tag Value', send: () => call('PUT', '/spaced?lifecycle=', lifecycle('<Filter><Tag><Key>k</Key><Value> v</Value></Tag></Filter><Expiration><Days>1</Days></Expiration>')),
      kept: async () => (await call('GET', '/spaced?lifecycle=')).body.includes('<Value> v</Value>') },
    { where: 'lifecycle Status', send: () => call('PUT', '/spaced?lifecycle=', lifecycle('<Filter/><Expiration><Days>1</Days></Expiration>').replace('<Status>Enabled</Status>', '<Status>Enabled </Status>')) },
    { where: 'lifecycle Days', send: () => call('PUT', '/spaced?lifecycle=', lifecycle('<Filter/><Expiration><Days> 1</Days></Expiration>')) },
    { where: 'lifecycle Date', send: () => call('PUT', '/spaced?lifecycle=', lifecycle('<Filter/><Expiration><Date> 2030-01-01T00:00:00Z</Date></Expiration>')) },
    { where: 'lifecycle ExpiredObjectDeleteMarker', send: () => call('PUT', '/spaced?lifecycle=', lifecycle('<Filter/><Expiration><ExpiredObjectDeleteMarker>true </ExpiredObjectDeleteMarker></Expiration>')) },
    { where: 'lifecycle NoncurrentDays', send: () => call('PUT', '/spaced?lifecycle=', lifecycle('<Filter/><NoncurrentVersionExpiration><NoncurrentDays> 2 </NoncurrentDays></NoncurrentVersionExpiration>')) },
    { where: 'lifecycle DaysAfterInitiation', send: () => call('PUT', '/spaced?lifecycle=', lifecycle('<Filter/><AbortIncompleteMultipartUpload><DaysAfterInitiation>2 </DaysAfterInitiation></AbortIncompleteMultipartUpload>')) },
    { where: 'lifecycle ObjectSizeGreaterThan', send: () => call('PUT', '/spaced?lifecycle=', lifecycle('<Filter><ObjectSizeGreaterThan> 10</ObjectSizeGreaterThan></Filter><Expiration><Days>1</Days></Expiration>')) },
    { where: 'CORS AllowedOrigin, AllowedHeader, ExposeHeader and ID', send: () => call('PUT', '/spaced?cors=', cors('<ID> c </ID><AllowedOrigin> https://a.example </AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader> x-h</AllowedHeader><ExposeHeader>x-e </ExposeHeader>')),
      kept: async () => { const b = (await call('GET', '/spaced?cors=')).body; return ['<ID> c </ID>', '<AllowedOrigin> https://a.example </AllowedOrigin>', '<AllowedHeader> x-h</AllowedHeader>', '<ExposeHeader>x-e </ExposeHeader>'].every((s) => b.includes(s)); } },
    { where: 'CORS AllowedMethod', send: () => call('PUT', '/spaced?cors=', cors('<AllowedOrigin>*</AllowedOrigin><AllowedMethod> GET</AllowedMethod>')) },
    { where: 'CORS MaxAgeSeconds', send: () => call('PUT', '/spaced?cors=', cors('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>5 </MaxAgeSeconds>')) },
    // JSON bodies
    { where: 'bucket policy Version', send: () => call('PUT', '/spaced?policy=', JSON.stringify({ Version: ' 2012-10-17', Statement: [] })) },
    { where: 'bucket policy Effect', send: () => call('PUT', '/spaced?policy=', policy({ Effect: 'Allow ' })) },
    { where: 'bucket policy Principal', send: () => call('PUT', '/spaced?policy=', policy({ Principal: ' *' })) },
    { where: 'bucket policy Action', send: () => call('PUT', '/spaced?policy=', policy({ Action: 's3:GetObject ' })) },
    { where: 'bucket policy Resource and Sid', send: () => call('PUT', '/spaced?policy=', policy({ Sid: ' s ', Resource: 'arn:aws:s3:::spaced/ public ' })),
      kept: async () => (await call('GET', '/spaced?policy=')).body === policy({ Sid: ' s ', Resource: 'arn:aws:s3:::spaced/ public ' }) },
    { where: 'console sign-in accessKey', send: () => consoleCall('session', { accessKey: ` ${ACCESS_KEY} `, secretKey: SECRET_KEY }) },
    { where: 'console presign expiresSeconds', send: async () => consoleCall('presign', { bucket: 'spaced', key: 'k', expiresSeconds: ' 60' }, await consoleCookie()) },
    { where: 'console presign key', send: async () => consoleCall('presign', { bucket: 'spaced', key: ' k ', expiresSeconds: 60 }, await consoleCookie()),
      kept: async (a) => new URL((JSON.parse(a.body) as { url: string }).url).pathname === '/spaced/%20k%20' },
    // form fields
    { where: 'POST Object key', send: () => postForm({ key: ' posted ' }), kept: async () => await exists(' posted ') && !await exists('posted') },
    { where: 'POST Object tagging', send: () => postForm({ key: 'tagged-post', tagging: '<Tagging><TagSet><Tag><Key>t</Key><Value> v </Value></Tag></TagSet></Tagging>' }, [['starts-with', '$tagging', '']]),
      kept: async () => (await call('GET', '/spaced/tagged-post?tagging=')).body.includes('<Value> v </Value>') },
    { where: 'POST Object acl', send: () => postForm({ key: 'acl-post', acl: 'private ' }, [['starts-with', '$acl', '']]) },
    { where: 'POST Object checksum', send: () => postForm({ key: 'sum-post', 'x-amz-checksum-sha256': ` ${createHash('sha256').update('posted').digest('base64')}` }, [['starts-with', '$x-amz-checksum-sha256', '']]) },
    // query parameters
    { where: 'ListObjectsV2 prefix', send: () => call('GET', `/spaced?list-type=2&prefix=${q(' k ')}`), kept: async (a) => element(a.body, 'Prefix') === ' k ' && !a.body.includes('<Key>k</Key>') },
    { where: 'ListObjects marker and delimiter', send: () => call('GET', `/spaced?marker=${q(' a')}&delimiter=${q('/ ')}`), kept: async (a) => element(a.body, 'Marker') === ' a' && element(a.body, 'Delimiter') === '/ ' },
    { where: 'ListObjectsV2 start-after', send: () => call('GET', `/spaced?list-type=2&start-after=${q('k ')}`), kept: async (a) => element(a.body, 'StartAfter') === 'k ' && !a.body.includes('<Key>k</Key>') },
    { where: 'ListObjectsV2 continuation-token', send: () => call('GET', `/spaced?list-type=2&continuation-token=${q(` ${Buffer.from('k').toString('base64')}`)}`) },
    { where: 'ListObjects max-keys', send: () => call('GET', `/spaced?max-keys=${q(' 5')}`) },
    { where: 'ListObjects encoding-type', send: () => call('GET', `/spaced?encoding-type=${q('url ')}`) },
    { where: 'ListObjects list-type', send: () => call('GET', `/spaced?list-type=${q(' 2')}`) },
    { where: 'ListObjectsV2 fetch-owner', send: () => call('GET', `/spaced?list-type=2&fetch-owner=${q('true ')}`) },
    { where: 'ListObjectVersions key-marker', send: () => call('GET', `/spaced?versions=&key-marker=${q(' k')}`), kept: async (a) => element(a.body, 'KeyMarker') === ' k' },
    { where: 'ListObjectVersions version-id-marker', send: () => call('GET', `/spaced?versions=&key-marker=k&version-id-marker=${q(' null')}`) },
    { where: 'ListMultipartUploads key-marker and upload-id-marker', send: () => call('GET', `/spaced?uploads=&key-marker=${q('mpu ')}&upload-id-marker=${q(' x')}`),
      kept: async (a) => element(a.body, 'KeyMarker') === 'mpu ' && element(a.body, 'UploadIdMarker') === ' x' },
    { where: 'ListMultipartUploads max-uploads', send: () => call('GET', `/spaced?uploads=&max-uploads=${q('1 ')}`) },
    { where: 'ListParts max-parts', send: () => call('GET', `/spaced/mpu?uploadId=${q(uploadId)}&max-parts=${q(' 1')}`) },
    { where: 'ListParts part-number-marker', send: () => call('GET', `/spaced/mpu?uploadId=${q(uploadId)}&part-number-marker=${q('0 ')}`) },
    { where: 'UploadPart partNumber', send: () => call('PUT', `/spaced/mpu?uploadId=${q(uploadId)}&partNumber=${q(' 1')}`, 'part') },
    { where: 'UploadPart uploadId', send: () => call('PUT', `/spaced/mpu?uploadId=${q(` ${uploadId}`)}&partNumber=1`, 'part') },
    { where: 'GetObject partNumber', send: () => call('GET', `/spaced/k?partNumber=${q('1 ')}`) },
    { where: 'GetObject versionId', send: () => call('GET', `/spaced/k?versionId=${q(' null')}`) },
  ];

  async function consoleCookie(): Promise<string> {
    const r = await consoleCall('session', { accessKey: ACCESS_KEY, secretKey: SECRET_KEY });
    return String(r.headers['set-cookie']).split(';')[0]!;
  }
  async function consoleCall(api: string, body: object, cookie?: string): Promise<Answer> {
    const r = await fetch(`${server.endpoint}/_kintsugi/console/api/${api}`, {
      method: 'POST', body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', 'x-kintsugi-console': '1', ...(cookie ? { cookie } : {}) },
    });
    return { status: r.status, headers: Object.fromEntries(r.headers), body: await r.text() };
  }

  it('keeps each value exactly, or refuses it with an S3 error — never another value', async () => {
    const outcomes: [string, string][] = [];
    for (const c of cases) {
      const a = await c.send();
      // An S3 error: the whole answer, or DeleteObjects' answer for the one object.
      const code = a.status >= 400 || a.body.includes('<Error>') ? /<Code>([^<]+)<\/Code>/.exec(a.body)?.[1] ?? `HTTP ${a.status}` : undefined;
      outcomes.push([c.where, code ?? (c.kept && await c.kept(a) ? 'kept' : `neither kept nor refused (${a.status})`)]);
    }
    expect(outcomes).toEqual([
      ['DeleteObjects Key', 'kept'],
      ['DeleteObjects VersionId', 'InvalidArgument'],
      ['DeleteObjects Quiet', 'MalformedXML'],
      ['PutBucketVersioning Status', 'MalformedXML'],
      ['PutBucketVersioning MfaDelete', 'MalformedXML'],
      ['PutObjectTagging Key and Value', 'kept'],
      ['PutBucketTagging Value', 'kept'],
      ['CompleteMultipartUpload PartNumber', 'MalformedXML'],
      ['CompleteMultipartUpload ETag', 'InvalidPart'],
      ['lifecycle Prefix and ID', 'kept'],
      ['lifecycle Tag Value', 'kept'],
      ['lifecycle Status', 'MalformedXML'],
      ['lifecycle Days', 'MalformedXML'],
      ['lifecycle Date', 'MalformedXML'],
      ['lifecycle ExpiredObjectDeleteMarker', 'MalformedXML'],
      ['lifecycle NoncurrentDays', 'MalformedXML'],
      ['lifecycle DaysAfterInitiation', 'MalformedXML'],
      ['lifecycle ObjectSizeGreaterThan', 'MalformedXML'],
      ['CORS AllowedOrigin, AllowedHeader, ExposeHeader and ID', 'kept'],
      ['CORS AllowedMethod', 'InvalidRequest'],
      ['CORS MaxAgeSeconds', 'MalformedXML'],
      ['bucket policy Version', 'MalformedPolicy'],
      ['bucket policy Effect', 'MalformedPolicy'],
      ['bucket policy Principal', 'MalformedPolicy'],
      ['bucket policy Action', 'MalformedPolicy'],
      ['bucket policy Resource and Sid', 'kept'],
      ['console sign-in accessKey', 'AccessDenied'],
      ['console presign expiresSeconds', 'InvalidArgument'],
      ['console presign key', 'kept'],
      ['POST Object key', 'kept'],
      ['POST Object tagging', 'kept'],
      ['POST Object acl', 'NotImplemented'],
      ['POST Object checksum', 'BadDigest'],
      ['ListObjectsV2 prefix', 'kept'],
      ['ListObjects marker and delimiter', 'kept'],
      ['ListObjectsV2 start-after', 'kept'],
      ['ListObjectsV2 continuation-token', 'InvalidArgument'],
      ['ListObjects max-keys', 'InvalidArgument'],
      ['ListObjects encoding-type', 'InvalidArgument'],
      ['ListObjects list-type', 'InvalidArgument'],
      ['ListObjectsV2 fetch-owner', 'InvalidArgument'],
      ['ListObjectVersions key-marker', 'kept'],
      ['ListObjectVersions version-id-marker', 'InvalidArgument'],
      ['ListMultipartUploads key-marker and upload-id-marker', 'kept'],
      ['ListMultipartUploads max-uploads', 'InvalidArgument'],
      ['ListParts max-parts', 'InvalidArgument'],
      ['ListParts part-number-marker', 'InvalidArgument'],
      ['UploadPart partNumber', 'InvalidArgument'],
      ['UploadPart uploadId', 'NoSuchUpload'],
      ['GetObject partNumber', 'InvalidArgument'],
      ['GetObject versionId', 'InvalidArgument'],
    ]);
    // Nothing was touched that no request named.
    expect(await exists('k')).toBe(true);
    expect(await exists('posted')).toBe(false);
  });
});
