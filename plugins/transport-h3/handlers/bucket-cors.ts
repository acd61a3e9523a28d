import { parseCorsConfiguration, corsConfigurationXml } from '../xml/cors-xml.js';
import { xmlResponse, type Call, type S3Response } from '../context.js';
import { requestBody } from '../body/request-body.js';
import { readSmallBody } from '../xml/xml-reader.js';
import { S3Error } from '../s3-error.js';

/** S3 caps a CORS configuration at 64 KB. */
const MAX_CORS_BODY = 64 << 10;

export async function putBucketCors(call: Call): Promise<S3Response> {
  await call.services.buckets.get(call.bucket);
  const rules = parseCorsConfiguration(await readSmallBody(requestBody(call).body, MAX_CORS_BODY));
  await call.services.buckets.setCors(call.bucket, rules);
  return { status: 200, headers: {} };
}

export async function getBucketCors(call: Call): Promise<S3Response> {
  const { cors } = await call.services.buckets.get(call.bucket);
  if (!cors) throw new S3Error('NoSuchCORSConfiguration');
  return xmlResponse(200, corsConfigurationXml(cors));
}

export async function deleteBucketCors(call: Call): Promise<S3Response> {
  await call.services.buckets.setCors(call.bucket, undefined);
  return { status: 204, headers: {} };
}
