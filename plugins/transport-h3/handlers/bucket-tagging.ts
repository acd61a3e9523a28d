import { xmlResponse, type Call, type S3Response } from '../context.js';
import { requestBody } from '../body/request-body.js';
import { readSmallBody } from '../xml/xml-reader.js';
import { S3Error } from '../s3-error.js';
import { MAX_BUCKET_TAGS, parseTagging } from '../xml/tagging.js';
import { xmlDocument } from '../xml/xml-writer.js';

export async function putBucketTagging(call: Call): Promise<S3Response> {
  await call.services.buckets.get(call.bucket);
  const tags = parseTagging(await readSmallBody(requestBody(call).body), MAX_BUCKET_TAGS);
  await call.services.buckets.setTags(call.bucket, tags);
  return { status: 204, headers: {} };
}

export async function getBucketTagging(call: Call): Promise<S3Response> {
  const { tags } = await call.services.buckets.get(call.bucket);
  if (!tags) throw new S3Error('NoSuchTagSet');
  return xmlResponse(200, xmlDocument('Tagging', [['TagSet', tags.map(([key, value]) => ['Tag', [['Key', key], ['Value', value]]])]]));
}

export async function deleteBucketTagging(call: Call): Promise<S3Response> {
  await call.services.buckets.setTags(call.bucket, undefined);
  return { status: 204, headers: {} };
}
