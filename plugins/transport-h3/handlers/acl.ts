import { header, OWNER, OWNER_ELEMENTS, xmlResponse, type Call, type S3Response } from '../context.js';
import { S3Error } from '../s3-error.js';
import { anyoneMay, publicStatements } from '../../../core/engine/bucket-policy.js';
import { xmlDocument, type XmlNode } from '../xml/xml-writer.js';
import { addressedRecord } from './objects.js';

const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';

/** The ACL of a bucket or object: its owner in full control, and everyone reading when it is public. */
function acl(publicRead: boolean): S3Response {
  return xmlResponse(200, xmlDocument('AccessControlPolicy', [
    ['Owner', OWNER_ELEMENTS],
    ['AccessControlList', [
      ['Grant', [
        { raw: `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>${OWNER.id}</ID><DisplayName>${OWNER.name}</DisplayName></Grantee>` },
        ['Permission', 'FULL_CONTROL'],
      ]],
      ...(publicRead ? [['Grant', [
        { raw: `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>${ALL_USERS}</URI></Grantee>` },
        ['Permission', 'READ'],
      ]] as XmlNode] : []),
    ]],
  ]));
}

/**
 * The canned ACL a PutBucketAcl / PutObjectAcl / CreateBucket asks for:
 * `private`, or (buckets) `public-read`, which Kintsugi keeps as a bucket
 * setting anyone may list and read under. Grants, ACL documents and the
 * other canned ACLs need ACL support that Kintsugi does not have.
 */
export function cannedAcl(call: Call, allowed: readonly string[]): string {
  const canned = header(call.req, 'x-amz-acl') ?? 'private';
  const grants = Object.keys(call.req.headers).some((h) => h.startsWith('x-amz-grant-'));
  const length = Number(header(call.req, 'content-length') ?? 0);
  const chunked = header(call.req, 'transfer-encoding') !== undefined;
  if (!allowed.includes(canned) || grants || (call.operation !== 'CreateBucket' && (length > 0 || chunked))) {
    throw new S3Error('NotImplemented', `${call.operation} is implemented only for the canned ACL${allowed.length > 1 ? 's' : ''} ${allowed.map((a) => `"${a}"`).join(' and ')}`);
  }
  return canned;
}

/** Whether anyone may read the object: the bucket is public-read, or its policy lets anyone GET the key. */
async function readableByAnyone(call: Call, key?: string): Promise<boolean> {
  const statements = publicStatements(await call.services.buckets.get(call.bucket));
  return key === undefined ? anyoneMay(statements, 's3:ListBucket', `arn:aws:s3:::${call.bucket}`) : anyoneMay(statements, 's3:GetObject', `arn:aws:s3:::${call.bucket}/${key}`);
}

export async function getBucketAcl(call: Call): Promise<S3Response> {
  return acl(await readableByAnyone(call));
}

export async function putBucketAcl(call: Call): Promise<S3Response> {
  const canned = cannedAcl(call, ['private', 'public-read']);
  await call.services.buckets.setPublicRead(call.bucket, canned === 'public-read');
  return { status: 200, headers: {} };
}

export async function getObjectAcl(call: Call): Promise<S3Response> {
  await addressedRecord(call);
  return acl(await readableByAnyone(call, call.key));
}

export async function putObjectAcl(call: Call): Promise<S3Response> {
  cannedAcl(call, ['private']);
  await addressedRecord(call);
  return { status: 200, headers: {} };
}
