import { parseRequestXml, type XmlElement } from './xml-reader.js';
import { S3Error } from '../s3-error.js';

export type Tag = readonly [string, string];

/** AWS's limits: 50 tags on a bucket, 10 on an object version. */
export const MAX_BUCKET_TAGS = 50;
export const MAX_OBJECT_TAGS = 10;
const MAX_KEY = 128;
const MAX_VALUE = 256;
const ALLOWED = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** A tag set checked as AWS checks it: how many, how long, which characters, unique keys, no `aws:` keys (InvalidTag). */
export function checkTags(tags: readonly Tag[], max: number): Tag[] {
  if (tags.length > max) throw new S3Error('InvalidTag', `Object tags cannot be greater than ${max}`);
  const seen = new Set<string>();
  for (const [key, value] of tags) {
    if ([...key].length < 1 || [...key].length > MAX_KEY || !ALLOWED.test(key)) throw new S3Error('InvalidTag', 'The TagKey you have provided is invalid');
    if ([...value].length > MAX_VALUE || !ALLOWED.test(value)) throw new S3Error('InvalidTag', 'The TagValue you have provided is invalid');
    if (key.toLowerCase().startsWith('aws:')) throw new S3Error('InvalidTag', 'System tags cannot be added/updated by requester');
    if (seen.has(key)) throw new S3Error('InvalidTag', 'Cannot provide multiple Tags with the same key');
    seen.add(key);
  }
  return [...tags];
}

/** `<Tag>` elements (each a Key and an optional Value) as tags, unchecked. */
export function tagsOf(elements: readonly XmlElement[]): Tag[] {
  return elements.map((t): Tag => {
    const key = t.only(['Key', 'Value']).textOf('Key');
    if (key === undefined) throw new S3Error('MalformedXML', 'a Tag needs a Key');
    return [key, t.textOf('Value') ?? ''];
  });
}

/** The tag set of a `<Tagging>` document (MalformedXML when it is not one), checked. */
export function parseTagging(bytes: Buffer, max: number): Tag[] {
  const set = parseRequestXml(bytes, 'Tagging').only(['TagSet']).one('TagSet');
  if (!set) throw new S3Error('MalformedXML', 'Tagging needs a TagSet');
  return checkTags(tagsOf(set.only(['Tag']).all('Tag')), max);
}

/**
 * `x-amz-tagging`: the tag set as a URL query string (`k1=v1&k2=v2`), checked,
 * in key order (as AWS answers a tag set given this way).
 */
export function parseTaggingHeader(value: string): Tag[] {
  const tags = checkTags([...new URLSearchParams(value)].map(([k, v]): Tag => [k, v]), MAX_OBJECT_TAGS);
  return tags.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
