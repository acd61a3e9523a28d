import { header, OWNER_ELEMENTS, xmlResponse, type Call, type Handler, type S3Response } from '../context.js';
import { BucketExistsError } from '../../../core/errors.js';
import { S3Error, type S3ErrorCode } from '../s3-error.js';
import { requestBody } from '../body/request-body.js';
import { parseRequestXml, readSmallBody } from '../xml/xml-reader.js';
import { cannedAcl } from './acl.js';
import { isoDate, xmlDocument, type XmlNode } from '../xml/xml-writer.js';

export async function listBuckets(call: Call): Promise<S3Response> {
  const list = await call.services.buckets.list();
  return xmlResponse(200, xmlDocument('ListAllMyBucketsResult', [
    ['Owner', OWNER_ELEMENTS],
    ['Buckets', list.map((b): XmlNode => ['Bucket', [['Name', b.name], ['CreationDate', isoDate(b.createdMs)]]])],
  ]));
}

/**
 * A CreateBucket body, when there is one. Kintsugi is one location and
 * answers to any region name, so any LocationConstraint is taken (the AWS
 * CLI sends its configured region); what else the document may ask for
 * (directory buckets, tags) is not implemented and refused.
 */
async function readBucketConfiguration(call: Call): Promise<void> {
  const bytes = await readSmallBody(requestBody(call).body);
  if (bytes.length === 0) return;
  const conf = parseRequestXml(bytes, 'CreateBucketConfiguration');
  const other = conf.children.find((c) => c.name !== 'LocationConstraint');
  if (other) throw new S3Error(['Location', 'Bucket', 'Tags'].includes(other.name) ? 'NotImplemented' : 'MalformedXML', `CreateBucketConfiguration's ${other.name} is not implemented`);
  conf.textOf('LocationConstraint');
}

/**
 * CreateBucket. Creating a bucket one already owns answers 200 and changes
 * nothing, as AWS does in us-east-1 (the one region Kintsugi names) — unless
 * the request asks for what the bucket does not have (a canned ACL it has not):
 * then 409 BucketAlreadyOwnedByYou, never a 200 that did not do what was asked.
 */
export async function createBucket(call: Call): Promise<S3Response> {
  const canned = cannedAcl(call, ['private', 'public-read']);
  const lockHeader = header(call.req, 'x-amz-bucket-object-lock-enabled')?.toLowerCase();
  if (lockHeader !== undefined && lockHeader !== 'true' && lockHeader !== 'false') throw new S3Error('InvalidArgument', 'x-amz-bucket-object-lock-enabled must be true or false');
  const objectLock = lockHeader === 'true';
  await readBucketConfiguration(call);
  // The store looks for the bucket before creating it: its refusal is how an existing one is found.
  const created = await call.services.buckets.create(call.bucket, objectLock).then(() => true, (err: unknown) => {
    if (err instanceof BucketExistsError) return false;
    throw err;
  });
  if (created) {
    if (canned === 'public-read') await call.services.buckets.setPublicRead(call.bucket, true);
  } else {
    const existing = await call.services.buckets.get(call.bucket);
    const otherAcl = header(call.req, 'x-amz-acl') !== undefined && (existing.publicRead === true) !== (canned === 'public-read');
    if (otherAcl || (objectLock && !existing.objectLock)) throw new S3Error('BucketAlreadyOwnedByYou');
  }
  return { status: 200, headers: { location: `/${call.bucket}` } };
}

export async function headBucket(call: Call): Promise<S3Response> {
  await call.services.buckets.get(call.bucket);
  return { status: 200, headers: { 'x-amz-bucket-region': 'us-east-1' } };
}

export async function deleteBucket(call: Call): Promise<S3Response> {
  await call.services.buckets.delete(call.bucket);
  return { status: 204, headers: {} };
}

export async function getBucketLocation(call: Call): Promise<S3Response> {
  await call.services.buckets.get(call.bucket);
  // An empty LocationConstraint is us-east-1, the region Kintsugi signs as.
  return xmlResponse(200, xmlDocument('LocationConstraint', []));
}

/**
 * The GET of a bucket configuration Kintsugi has no way to set: the bucket
 * has none, answered with the error AWS gives for an unset one (what
 * Terraform and the SDKs expect when reading a bucket's settings).
 */
export function notConfigured(code: S3ErrorCode): Handler {
  return async (call) => {
    await call.services.buckets.get(call.bucket);
    throw new S3Error(code);
  };
}

/** The GET of a bucket setting whose unset state AWS reports as a document (logging, notifications, ...). */
export function defaultDocument(root: string, children: XmlNode[] = []): Handler {
  return async (call) => {
    await call.services.buckets.get(call.bucket);
    return xmlResponse(200, xmlDocument(root, children));
  };
}
