import { OWNER_ELEMENTS, xmlResponse, type Call, type S3Response } from '../context.js';
import { wholeNumberParam } from '../query-params.js';
import { escapeXml, S3Error } from '../s3-error.js';
import { isoDate, xmlDocument, xmlDocumentPart, type XmlNode } from '../xml/xml-writer.js';
import { listsSosapi, sosapiEntries } from './sosapi.js';

/** S3's url encoding of keys in listings (`encoding-type=url`): like encodeURIComponent, keeping '/'. */
export const urlEncode = (s: string) => encodeURIComponent(s).replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** ListObjects and ListObjectsV2 of a bucket. */
export async function listBucket(call: Call): Promise<S3Response> {
  await call.services.buckets.get(call.bucket);
  return xmlResponse(200, await listObjects(call, call.req.query));
}

/** The parameters every listing takes: prefix, delimiter, encoding-type, max-keys. */
export function listingParams(q: URLSearchParams) {
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') || undefined;
  const encoding = q.get('encoding-type');
  if (encoding !== null && encoding !== 'url') throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request');
  const enc = (s: string) => (encoding === 'url' ? urlEncode(s) : s);
  const maxKeys = wholeNumberParam(q, 'max-keys', 1000);
  return { prefix, delimiter, encoding, enc, maxKeys };
}

/**
 * ListObjectsV2 (list-type=2) and ListObjects (v1). Continuation tokens are
 * the base64 of the last key or common prefix given.
 */
async function listObjects(call: Call, q: URLSearchParams): Promise<string> {
  const { bucket } = call;
  const listType = q.get('list-type');
  if (listType !== null && listType !== '2') throw new S3Error('InvalidArgument', `Invalid List Type "${listType}"`);
  const v2 = listType === '2';
  const fetchOwnerParam = q.get('fetch-owner');
  if (fetchOwnerParam !== null && fetchOwnerParam !== 'true' && fetchOwnerParam !== 'false') throw new S3Error('InvalidArgument', `fetch-owner must be true or false, not "${fetchOwnerParam}"`);
  const { prefix, delimiter, encoding, enc, maxKeys } = listingParams(q);

  let startAfter: string | undefined;
  // An empty continuation-token is no token (some clients send one on the first page), but it is echoed as sent.
  const sentToken = q.get('continuation-token');
  const token = sentToken || null;
  if (v2 && token !== null) {
    startAfter = Buffer.from(token, 'base64').toString('utf8');
    if (!token || Buffer.from(startAfter, 'utf8').toString('base64') !== token) throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect');
  } else if (v2) {
    startAfter = q.get('start-after') ?? undefined;
  } else {
    startAfter = q.get('marker') || undefined;
  }

  // Nothing is stored under the SOSAPI folder: its listing is Veeam's virtual objects.
  const page = maxKeys === 0
    ? { entries: [], commonPrefixes: [], isTruncated: false, next: undefined }
    : listsSosapi(prefix)
      ? { entries: (await sosapiEntries(call, prefix, startAfter)).slice(0, maxKeys), commonPrefixes: [], isTruncated: false, next: undefined }
      : await call.services.engine.list({ bucket, prefix, delimiter, startAfter, maxKeys: Math.min(maxKeys, 1000) });
  const fetchOwner = !v2 || fetchOwnerParam === 'true';
  const ownerNode: XmlNode = ['Owner', OWNER_ELEMENTS];

  // Entries are rendered here as one string: a page has a thousand, and
  // only the key can need escaping (ETags are hex, the rest numbers and dates).
  const ownerXml = fetchOwner ? xmlDocumentPart([ownerNode]) : '';
  let entriesXml = '';
  for (const e of page.entries) {
    entriesXml += `<Contents><Key>${escapeXml(enc(e.key))}</Key><LastModified>${isoDate(e.modifiedMs)}</LastModified>` +
      `<ETag>&quot;${e.etag}&quot;</ETag><Size>${e.size}</Size>${ownerXml}<StorageClass>STANDARD</StorageClass></Contents>`;
  }
  const contents: XmlNode[] = [{ raw: entriesXml }];
  const prefixes: XmlNode[] = page.commonPrefixes.map((p) => ['CommonPrefixes', [['Prefix', enc(p)]]]);
  // AWS url-encodes the top-level Prefix of a V2 listing, not of a V1 one (botocore decodes accordingly).
  const common: XmlNode[] = [
    ['Name', bucket],
    ['Prefix', v2 ? enc(prefix) : prefix],
    ...(delimiter ? [['Delimiter', enc(delimiter)] as XmlNode] : []),
    ['MaxKeys', maxKeys],
    ...(encoding ? [['EncodingType', encoding] as XmlNode] : []),
    ['IsTruncated', page.isTruncated],
  ];

  if (v2) {
    return xmlDocument('ListBucketResult', [
      ...common, ...contents, ...prefixes,
      ['KeyCount', page.entries.length + page.commonPrefixes.length],
      ...(sentToken !== null ? [['ContinuationToken', sentToken] as XmlNode] : []),
      ...(page.isTruncated && page.next ? [['NextContinuationToken', Buffer.from(page.next, 'utf8').toString('base64')] as XmlNode] : []),
      ...(q.get('start-after') !== null ? [['StartAfter', enc(q.get('start-after')!)] as XmlNode] : []),
    ]);
  }
  return xmlDocument('ListBucketResult', [
    ...common.slice(0, 2), ['Marker', enc(startAfter ?? '')],
    ...(page.isTruncated && page.next && delimiter ? [['NextMarker', enc(page.next)] as XmlNode] : []),
    ...common.slice(2), ...contents, ...prefixes,
  ]);
}
