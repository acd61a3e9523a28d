import { xmlResponse, type Call, type S3Response } from '../context.js';
import { requestBody } from '../body/request-body.js';
import { readSmallBody } from '../xml/xml-reader.js';
import { MAX_OBJECT_TAGS, parseTagging } from '../xml/tagging.js';
import { xmlDocument } from '../xml/xml-writer.js';
import { addressedVersion, versionHeader } from '../versions.js';
import { addressedRecord } from './objects.js';

/** PutObjectTagging: replaces the tag set of the object's current version, or of the version named. */
export async function putObjectTagging(call: Call): Promise<S3Response> {
  const version = addressedVersion(call);
  const bucket = await call.services.buckets.get(call.bucket);
  const tags = parseTagging(await readSmallBody(requestBody(call).body), MAX_OBJECT_TAGS);
  const record = await call.services.engine.retag(call.bucket, call.key, version, tags);
  return { status: 200, headers: versionHeader(bucket, record.versionId) };
}

export async function getObjectTagging(call: Call): Promise<S3Response> {
  const { bucket, record } = await addressedRecord(call);
  const response = xmlResponse(200, xmlDocument('Tagging', [['TagSet', (record.tags ?? []).map(([key, value]) => ['Tag', [['Key', key], ['Value', value]]])]]));
  Object.assign(response.headers, versionHeader(bucket, record.versionId));
  return response;
}

export async function deleteObjectTagging(call: Call): Promise<S3Response> {
  const version = addressedVersion(call);
  const bucket = await call.services.buckets.get(call.bucket);
  const record = await call.services.engine.retag(call.bucket, call.key, version, undefined);
  return { status: 204, headers: versionHeader(bucket, record.versionId) };
}
