import { MAX_POLICY_BYTES, parsePolicy } from '../../../core/engine/bucket-policy.js';
import { xmlResponse, type Call, type S3Response } from '../context.js';
import { requestBody } from '../body/request-body.js';
import { readSmallBody } from '../xml/xml-reader.js';
import { S3Error } from '../s3-error.js';
import { xmlDocument } from '../xml/xml-writer.js';

export async function putBucketPolicy(call: Call): Promise<S3Response> {
  await call.services.buckets.get(call.bucket);
  const text = (await readSmallBody(requestBody(call).body, MAX_POLICY_BYTES)).toString('utf8');
  parsePolicy(call.bucket, text);
  await call.services.buckets.setPolicy(call.bucket, text);
  return { status: 204, headers: {} };
}

export async function getBucketPolicy(call: Call): Promise<S3Response> {
  const { policy } = await call.services.buckets.get(call.bucket);
  if (!policy) throw new S3Error('NoSuchBucketPolicy');
  return { status: 200, headers: { 'content-type': 'application/json' }, body: policy };
}

export async function deleteBucketPolicy(call: Call): Promise<S3Response> {
  await call.services.buckets.setPolicy(call.bucket, undefined);
  return { status: 204, headers: {} };
}

/** Public when the policy allows anyone anything (every statement Kintsugi keeps is for anyone). */
export async function getBucketPolicyStatus(call: Call): Promise<S3Response> {
  const { policy } = await call.services.buckets.get(call.bucket);
  if (!policy) throw new S3Error('NoSuchBucketPolicy');
  const isPublic = parsePolicy(call.bucket, policy).some((s) => s.effect === 'Allow');
  return xmlResponse(200, xmlDocument('PolicyStatus', [['IsPublic', isPublic]]));
}
