import { xmlResponse, type Call, type S3Response } from '../context.js';
import { requestBody } from '../request-body.js';
import { decodeXmlText, parseRequestXml, readSmallBody } from '../request-xml.js';
import { S3Error } from '../s3-error.js';
import { xmlDocument } from '../xml.js';

type Tag = readonly [string, string];

/** AWS's rules for a bucket's tags: how many, how long, which characters, unique keys, no `aws:` keys. */
const MAX_BUCKET_TAGS = 50;
const MAX_KEY = 128;
const MAX_VALUE = 256;
const ALLOWED = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** The tag set of a `<Tagging>` document, checked as AWS checks it (InvalidTag, MalformedXML). */
export function parseTagging(bytes: Buffer, max: number): Tag[] {
  const doc = parseRequestXml(bytes);
  const tagging = doc.Tagging as { TagSet?: { Tag?: unknown } | '' } | undefined;
  if (!tagging || typeof tagging !== 'object' || tagging.TagSet === undefined) throw new S3Error('MalformedXML');
  const raw = tagging.TagSet === '' ? [] : tagging.TagSet.Tag;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (list.length > max) throw new S3Error('InvalidTag', `Object tags cannot be greater than ${max}`);
  const seen = new Set<string>();
  return list.map((t: { Key?: unknown; Value?: unknown }): Tag => {
    if (typeof t !== 'object' || t === null || typeof t.Key !== 'string') throw new S3Error('MalformedXML');
    const key = decodeXmlText(t.Key);
    const value = typeof t.Value === 'string' ? decodeXmlText(t.Value) : t.Value === undefined ? '' : undefined;
    if (value === undefined) throw new S3Error('MalformedXML');
    if ([...key].length < 1 || [...key].length > MAX_KEY || !ALLOWED.test(key)) throw new S3Error('InvalidTag', 'The TagKey you have provided is invalid');
    if ([...value].length > MAX_VALUE || !ALLOWED.test(value)) throw new S3Error('InvalidTag', 'The TagValue you have provided is invalid');
    if (key.toLowerCase().startsWith('aws:')) throw new S3Error('InvalidTag', 'System tags cannot be added/updated by requester');
    if (seen.has(key)) throw new S3Error('InvalidTag', 'Cannot provide multiple Tags with the same key');
    seen.add(key);
    return [key, value];
  });
}

export async function putBucketTagging(call: Call): Promise<S3Response> {
  await call.services.buckets.get(call.bucket);
  const tags = parseTagging(await readSmallBody(requestBody(call.req, call.auth).body), MAX_BUCKET_TAGS);
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
