import { header, OWNER, OWNER_ELEMENTS, xmlResponse, type Call, type S3Response } from '../context.js';
import { S3Error } from '../s3-error.js';
import { xmlDocument } from '../xml.js';
import { addressedRecord } from './objects.js';

/** The one ACL every object and bucket has: private, its owner in full control. */
function privateAcl(): S3Response {
  return xmlResponse(200, xmlDocument('AccessControlPolicy', [
    ['Owner', OWNER_ELEMENTS],
    ['AccessControlList', [['Grant', [
      { raw: `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>${OWNER.id}</ID><DisplayName>${OWNER.name}</DisplayName></Grantee>` },
      ['Permission', 'FULL_CONTROL'],
    ]]]],
  ]));
}

/**
 * PutObjectAcl / PutBucketAcl: the canned `private` ACL is what everything
 * has, so setting it changes nothing; any other ACL needs ACL support that
 * Kintsugi does not have.
 */
function acceptPrivateAcl(call: Call): void {
  const canned = header(call.req, 'x-amz-acl');
  const grants = Object.keys(call.req.headers).some((h) => h.startsWith('x-amz-grant-'));
  const length = Number(header(call.req, 'content-length') ?? 0);
  const chunked = header(call.req, 'transfer-encoding') !== undefined;
  if (canned !== 'private' || grants || length > 0 || chunked) {
    throw new S3Error('NotImplemented', `${call.operation} is implemented only for the canned ACL "private" (what every bucket and object has)`);
  }
}

export async function getBucketAcl(call: Call): Promise<S3Response> {
  await call.services.buckets.get(call.bucket);
  return privateAcl();
}

export async function putBucketAcl(call: Call): Promise<S3Response> {
  acceptPrivateAcl(call);
  await call.services.buckets.get(call.bucket);
  return { status: 200, headers: {} };
}

export async function getObjectAcl(call: Call): Promise<S3Response> {
  await addressedRecord(call);
  return privateAcl();
}

export async function putObjectAcl(call: Call): Promise<S3Response> {
  acceptPrivateAcl(call);
  await addressedRecord(call);
  return { status: 200, headers: {} };
}
