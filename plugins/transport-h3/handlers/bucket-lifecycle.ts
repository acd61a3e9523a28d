import { xmlResponse, type Call, type S3Response } from '../context.js';
import { lifecycleXml, parseLifecycle } from '../xml/lifecycle-xml.js';
import { requestBody } from '../body/request-body.js';
import { readSmallBody } from '../xml/xml-reader.js';
import { S3Error } from '../s3-error.js';

export async function putBucketLifecycle(call: Call): Promise<S3Response> {
  await call.services.buckets.get(call.bucket);
  const rules = parseLifecycle(await readSmallBody(requestBody(call).body));
  await call.services.buckets.setLifecycle(call.bucket, rules);
  return { status: 200, headers: {} };
}

export async function getBucketLifecycle(call: Call): Promise<S3Response> {
  const { lifecycle } = await call.services.buckets.get(call.bucket);
  if (!lifecycle) throw new S3Error('NoSuchLifecycleConfiguration');
  return xmlResponse(200, lifecycleXml(lifecycle));
}

export async function deleteBucketLifecycle(call: Call): Promise<S3Response> {
  await call.services.buckets.setLifecycle(call.bucket, undefined);
  return { status: 204, headers: {} };
}
