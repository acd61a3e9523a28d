import { createHash } from 'node:crypto';

import { CreateBucketCommand, GetObjectCommand, HeadBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServer, type RunningServer } from '../helpers/server.js';
import { send, signedHeaders } from '../helpers/sign.js';

/** Every sub-resource AWS defines, as the issue lists them. */
const OBJECT_SUBRESOURCES = ['acl', 'tagging', 'retention', 'legal-hold', 'torrent', 'restore', 'attributes', 'select'];
const BUCKET_SUBRESOURCES = [
  'acl', 'tagging', 'cors', 'policy', 'policyStatus', 'lifecycle', 'website', 'replication', 'encryption', 'object-lock', 'logging',
  'notification', 'requestPayment', 'accelerate', 'ownershipControls', 'publicAccessBlock', 'intelligent-tiering', 'inventory',
  'metrics', 'analytics', 'versioning', 'uploads', 'delete', 'location', 'versions',
];
const METHODS = ['PUT', 'POST', 'DELETE', 'GET'] as const;

/**
 * The combinations Kintsugi serves for real, and what each answers to the
 * requests below (a small XML body, no other headers). Everything else must
 * be 501 NotImplemented.
 */
const REAL: Record<string, { status: number; code?: string; operation: string }> = {
  'GET bucket acl': { status: 200, operation: 'GetBucketAcl' },
  'GET bucket versioning': { status: 200, operation: 'GetBucketVersioning' },
  'GET bucket location': { status: 200, operation: 'GetBucketLocation' },
  'GET bucket uploads': { status: 200, operation: 'ListMultipartUploads' },
  'GET bucket versions': { status: 200, operation: 'ListObjectVersions' },
  'GET bucket logging': { status: 200, operation: 'GetBucketLogging' },
  'GET bucket notification': { status: 200, operation: 'GetBucketNotificationConfiguration' },
  'GET bucket requestPayment': { status: 200, operation: 'GetBucketRequestPayment' },
  'GET bucket accelerate': { status: 200, operation: 'GetBucketAccelerateConfiguration' },
  // PUT sets the tag set, DELETE removes it, so the GET that follows finds none.
  'PUT bucket tagging': { status: 204, operation: 'PutBucketTagging' },
  'DELETE bucket tagging': { status: 204, operation: 'DeleteBucketTagging' },
  'GET bucket tagging': { status: 404, code: 'NoSuchTagSet', operation: 'GetBucketTagging' },
  'GET bucket cors': { status: 404, code: 'NoSuchCORSConfiguration', operation: 'GetBucketCors' },
  'GET bucket policy': { status: 404, code: 'NoSuchBucketPolicy', operation: 'GetBucketPolicy' },
  'GET bucket policyStatus': { status: 404, code: 'NoSuchBucketPolicy', operation: 'GetBucketPolicyStatus' },
  'GET bucket lifecycle': { status: 404, code: 'NoSuchLifecycleConfiguration', operation: 'GetBucketLifecycleConfiguration' },
  'GET bucket website': { status: 404, code: 'NoSuchWebsiteConfiguration', operation: 'GetBucketWebsite' },
  'GET bucket replication': { status: 404, code: 'ReplicationConfigurationNotFoundError', operation: 'GetBucketReplication' },
  'GET bucket encryption': { status: 404, code: 'ServerSideEncryptionConfigurationNotFoundError', operation: 'GetBucketEncryption' },
  'GET bucket object-lock': { status: 404, code: 'ObjectLockConfigurationNotFoundError', operation: 'GetObjectLockConfiguration' },
  // The body is a tag set, not an Object Lock configuration.
  'PUT bucket object-lock': { status: 400, code: 'MalformedXML', operation: 'PutObjectLockConfiguration' },
  // The bucket has no Object Lock.
  'GET object retention': { status: 400, code: 'InvalidRequest', operation: 'GetObjectRetention' },
  'PUT object retention': { status: 400, code: 'InvalidRequest', operation: 'PutObjectRetention' },
  'GET object legal-hold': { status: 400, code: 'InvalidRequest', operation: 'GetObjectLegalHold' },
  'PUT object legal-hold': { status: 400, code: 'InvalidRequest', operation: 'PutObjectLegalHold' },
  'GET bucket ownershipControls': { status: 404, code: 'OwnershipControlsNotFoundError', operation: 'GetBucketOwnershipControls' },
  'GET bucket publicAccessBlock': { status: 404, code: 'NoSuchPublicAccessBlockConfiguration', operation: 'GetPublicAccessBlock' },
  'POST bucket delete': { status: 400, code: 'MalformedXML', operation: 'DeleteObjects' },
  'GET object acl': { status: 200, operation: 'GetObjectAcl' },
  'GET object tagging': { status: 200, operation: 'GetObjectTagging' },
  'PUT object tagging': { status: 200, operation: 'PutObjectTagging' },
  'DELETE object tagging': { status: 204, operation: 'DeleteObjectTagging' },
  // The body is a tag set, not a versioning configuration.
  'PUT bucket versioning': { status: 400, code: 'MalformedXML', operation: 'PutBucketVersioning' },
  'PUT bucket lifecycle': { status: 400, code: 'MalformedXML', operation: 'PutBucketLifecycleConfiguration' },
  'DELETE bucket lifecycle': { status: 204, operation: 'DeleteBucketLifecycle' },
  'PUT bucket cors': { status: 400, code: 'MalformedXML', operation: 'PutBucketCors' },
  // The body is a tag set, not a JSON policy.
  'PUT bucket policy': { status: 400, code: 'MalformedPolicy', operation: 'PutBucketPolicy' },
  'DELETE bucket policy': { status: 204, operation: 'DeleteBucketPolicy' },
  'DELETE bucket cors': { status: 204, operation: 'DeleteBucketCors' },
  'GET object attributes': { status: 400, code: 'InvalidArgument', operation: 'GetObjectAttributes' },
};

const BODY = '<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>';

describe('one route table: a sub-resource is its own operation or 501, never the plain one', () => {
  let server: RunningServer;
  let s3: S3Client;
  const content = Buffer.from('the object that must not change');

  beforeAll(async () => {
    server = await startServer();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'routes' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'empty' }));
    await s3.send(new PutObjectCommand({ Bucket: 'routes', Key: 'obj', Body: content, ContentType: 'text/x-kept' }));
  });
  afterAll(async () => { await server.stop(); });

  const request = async (method: string, path: string) => {
    const body = method === 'PUT' || method === 'POST' ? BODY : '';
    const hash = createHash('sha256').update(body).digest('hex');
    const headers = await signedHeaders(server.port, method, path, body ? { 'content-length': String(body.length), 'content-type': 'application/xml' } : {}, hash);
    return send(server.port, method, path, headers, body || undefined);
  };

  const unchanged = async () => {
    const got = await s3.send(new GetObjectCommand({ Bucket: 'routes', Key: 'obj' }));
    expect(got.ContentType).toBe('text/x-kept');
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(content)).toBe(true);
    await s3.send(new HeadBucketCommand({ Bucket: 'empty' }));
  };

  const cases = [
    ...OBJECT_SUBRESOURCES.flatMap((sub) => METHODS.map((method) => ({ method, level: 'object', sub, path: `/routes/obj?${sub}` }))),
    ...BUCKET_SUBRESOURCES.flatMap((sub) => METHODS.map((method) => ({ method, level: 'bucket', sub, path: `/empty?${sub}` }))),
  ];

  it.each(cases)('$method ?$sub on an $level', async ({ method, level, sub, path }) => {
    const r = await request(method, path);
    const real = REAL[`${method} ${level} ${sub}`];
    if (real) {
      expect(r.status).toBe(real.status);
      if (real.code) expect(r.body).toContain(`<Code>${real.code}</Code>`);
    } else {
      expect(r.status, r.body).toBe(501);
      expect(r.body).toContain('<Code>NotImplemented</Code>');
    }
    await unchanged();
  });

  it('names the operation in its 501 answer', async () => {
    const restore = await request('POST', '/routes/obj?restore');
    expect(restore.body).toContain('RestoreObject is not implemented');
    const website = await request('DELETE', '/empty?website');
    expect(website.body).toContain('DeleteBucketWebsite is not implemented');
    const odd = await request('POST', '/routes/obj?tagging');
    expect(odd.body).toMatch(/POST \?tagging on an object/);
  });

  it('counts requests under the route\'s operation name', async () => {
    // Each worker counts its own: scrape on fresh connections until both answered.
    let metrics = '';
    for (let i = 0; i < 6; i++) {
      await request('POST', '/routes/obj?restore');
      metrics += (await send(server.port, 'GET', '/_kintsugi/metrics', { connection: 'close' })).body;
    }
    expect(metrics).toMatch(/kintsugi_requests_total\{[^}]*api="RestoreObject"[^}]*code="501"/);
    expect(metrics).toMatch(/kintsugi_requests_total\{[^}]*api="GetObject"[^}]*code="200"/);
  });

  it('answers a versionId that names no version with NoSuchVersion (a malformed one: InvalidArgument), and versionId=null with the object', async () => {
    const none = await request('GET', '/routes/obj?versionId=0123456789abcdefghijklmn');
    expect(none.status).toBe(404);
    expect(none.body).toContain('<Code>NoSuchVersion</Code>');
    const malformed = await request('GET', '/routes/obj?versionId=3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY');
    expect([malformed.status, malformed.body.match(/<Code>(\w+)<\/Code>/)?.[1]]).toEqual([400, 'InvalidArgument']);
    // Deleting a version that is not there succeeds and deletes nothing, as in S3.
    expect((await request('DELETE', '/routes/obj?versionId=0123456789abcdefghijklmn')).status).toBe(204);
    expect((await request('DELETE', '/routes/obj?versionId=3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY')).status).toBe(400);
    const nul = await request('GET', '/routes/obj?versionId=null');
    expect(nul.status).toBe(200);
    expect(nul.body).toBe(content.toString());
    await unchanged();
  });
});
