import { checkCopyConditions, writeCondition } from '../conditions.js';
import { header, OWNER_ELEMENTS, xmlResponse, type Call, type S3Response } from '../context.js';
import { putOptions } from '../object-headers.js';
import { wholeNumberParam } from '../query-params.js';
import { parseCopyRange } from '../ranges.js';
import { requestBody } from '../body/request-body.js';
import { parseRequestXml, readSmallBody } from '../xml/xml-reader.js';
import { S3Error } from '../s3-error.js';
import { isoDate, xmlDocument, type XmlNode } from '../xml/xml-writer.js';
import { versionedWrites, writtenVersionHeader } from '../versions.js';
import { listingParams } from './listing.js';
import { confirmBucket, openCopySource, reading } from './objects.js';
import type { UploadInfo } from '../../../core/engine/multipart.js';

function partNumberOf(call: Call): number {
  const partNumber = wholeNumberParam(call.req.query, 'partNumber', 0);
  if (partNumber < 1 || partNumber > 10000) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
  }
  return partNumber;
}

const uploadIdOf = (call: Call) => call.req.query.get('uploadId') ?? '';

export async function createMultipartUpload(call: Call): Promise<S3Response> {
  const { bucket, key, services } = call;
  await services.buckets.get(bucket);
  const uploadId = await services.uploads.create(bucket, key, putOptions(call.req));
  return xmlResponse(200, xmlDocument('InitiateMultipartUploadResult', [['Bucket', bucket], ['Key', key], ['UploadId', uploadId]]));
}

export async function uploadPart(call: Call): Promise<S3Response> {
  const { bucket, key, services } = call;
  const partNumber = partNumberOf(call);
  await services.buckets.get(bucket);
  const { body, computed } = requestBody(call);
  const part = await services.uploads.putPart(bucket, key, uploadIdOf(call), partNumber, body);
  const headers: Record<string, string> = { etag: `"${part.etag}"` };
  for (const [a, v] of computed) headers[`x-amz-checksum-${a}`] = v;
  return { status: 200, headers };
}

export async function uploadPartCopy(call: Call): Promise<S3Response> {
  const { req, bucket, key, services } = call;
  const partNumber = partNumberOf(call);
  await services.buckets.get(bucket);
  const opened = await openCopySource(call);
  return reading(opened.object, async (source) => {
    checkCopyConditions(req, source.record);
    const rangeHeader = header(req, 'x-amz-copy-source-range');
    const range = rangeHeader !== undefined ? parseCopyRange(rangeHeader, source.record.size) : undefined;
    const part = await services.uploads.putPart(bucket, key, uploadIdOf(call), partNumber, source.read(range));
    const response = xmlResponse(200, xmlDocument('CopyPartResult', [['LastModified', isoDate(part.modifiedMs)], ['ETag', `"${part.etag}"`]]));
    Object.assign(response.headers, opened.headers);
    return response;
  });
}

/**
 * CompleteMultipartUpload; conditional (If-None-Match: *, If-Match) like a
 * PutObject. A retry of a completion that succeeded answers the same ETag.
 */
export async function completeMultipartUpload(call: Call): Promise<S3Response> {
  const { req, bucket, key, services } = call;
  const info = await services.buckets.get(bucket);
  const condition = writeCondition(req, bucket, key);
  const doc = parseRequestXml(await readSmallBody(requestBody(call).body), 'CompleteMultipartUpload').only(['Part']);
  const requested = doc.all('Part').map((p) => {
    p.only(['PartNumber', 'ETag', 'ChecksumCRC32', 'ChecksumCRC32C', 'ChecksumCRC64NVME', 'ChecksumSHA1', 'ChecksumSHA256']);
    const number = p.textOf('PartNumber');
    const etag = p.textOf('ETag');
    if (number === undefined || !/^\d{1,5}$/.test(number) || etag === undefined) throw new S3Error('MalformedXML', 'Part without PartNumber or ETag');
    return { partNumber: Number(number), etag };
  });
  if (requested.length === 0) throw new S3Error('MalformedXML', 'CompleteMultipartUpload names no Part');
  const done = await services.uploads.complete(bucket, key, uploadIdOf(call), requested, { versioned: versionedWrites(info), ...(condition ? { condition } : {}) });
  await confirmBucket(call, done.versionId);
  const response = xmlResponse(200, xmlDocument('CompleteMultipartUploadResult', [
    ['Location', `/${bucket}/${key}`], ['Bucket', bucket], ['Key', key], ['ETag', `"${done.etag}"`],
  ]));
  Object.assign(response.headers, writtenVersionHeader(done.versionId));
  return response;
}

export async function abortMultipartUpload(call: Call): Promise<S3Response> {
  await call.services.buckets.get(call.bucket);
  await call.services.uploads.abort(call.bucket, call.key, uploadIdOf(call));
  return { status: 204, headers: {} };
}

export async function listParts(call: Call): Promise<S3Response> {
  const { req, bucket, key, services } = call;
  const uploadId = uploadIdOf(call);
  await services.buckets.get(bucket);
  await services.uploads.get(bucket, key, uploadId);
  const marker = wholeNumberParam(req.query, 'part-number-marker', 0);
  const max = Math.min(wholeNumberParam(req.query, 'max-parts', 1000), 1000);
  const all = (await services.uploads.parts(bucket, key, uploadId)).filter((p) => p.partNumber > marker);
  const page = all.slice(0, max);
  return xmlResponse(200, xmlDocument('ListPartsResult', [
    ['Bucket', bucket], ['Key', key], ['UploadId', uploadId],
    ['Initiator', OWNER_ELEMENTS], ['Owner', OWNER_ELEMENTS],
    ['StorageClass', 'STANDARD'], ['PartNumberMarker', marker],
    ...(all.length > max ? [['NextPartNumberMarker', page[page.length - 1]!.partNumber] as XmlNode] : []),
    ['MaxParts', max], ['IsTruncated', all.length > max],
    ...page.map((p): XmlNode => ['Part', [['PartNumber', p.partNumber], ['LastModified', isoDate(p.modifiedMs)], ['ETag', `"${p.etag}"`], ['Size', p.size]]]),
  ]));
}

/**
 * ListMultipartUploads: uploads in key order (a key's uploads oldest
 * first), after `key-marker` (and, within that key, `upload-id-marker`),
 * grouped by `delimiter` into common prefixes, keys url-encoded on request.
 */
export async function listMultipartUploads(call: Call): Promise<S3Response> {
  const { req, bucket, services } = call;
  const q = req.query;
  await services.buckets.get(bucket);
  const { prefix, delimiter, encoding, enc } = listingParams(q);
  const keyMarker = q.get('key-marker') ?? '';
  // AWS ignores an upload-id-marker without a key-marker.
  const uploadIdMarker = keyMarker ? q.get('upload-id-marker') ?? '' : '';
  const max = Math.min(wholeNumberParam(q, 'max-uploads', 1000), 1000);
  const uploads: UploadInfo[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  for (const u of await services.uploads.list(bucket)) {
    if (!u.key.startsWith(prefix)) continue;
    const cut = delimiter === undefined ? -1 : u.key.indexOf(delimiter, prefix.length);
    const common = cut < 0 ? undefined : u.key.slice(0, cut + delimiter!.length);
    // Entries come after the markers by the name they are listed under: a common prefix given on an earlier page is not given again.
    const listed = common ?? u.key;
    if (listed < keyMarker || (listed === keyMarker && (common !== undefined || uploadIdMarker === '' || u.uploadId <= uploadIdMarker))) continue;
    if (common !== undefined && prefixes[prefixes.length - 1] === common) continue;
    if (uploads.length + prefixes.length === max) { truncated = true; break; }
    if (common !== undefined) prefixes.push(common);
    else uploads.push(u);
  }
  const last = uploads[uploads.length - 1];
  const lastPrefix = prefixes[prefixes.length - 1];
  // The page's last entry in key order: an upload, or a common prefix (then no upload id).
  const next = lastPrefix !== undefined && (!last || lastPrefix > last.key) ? { key: lastPrefix, uploadId: '' } : last;
  return xmlResponse(200, xmlDocument('ListMultipartUploadsResult', [
    ['Bucket', bucket], ['KeyMarker', enc(keyMarker)], ['UploadIdMarker', uploadIdMarker],
    ...(truncated && next ? [['NextKeyMarker', enc(next.key)], ['NextUploadIdMarker', next.uploadId]] as XmlNode[] : []),
    ...(encoding ? [['EncodingType', encoding] as XmlNode] : []),
    ...(delimiter !== undefined ? [['Delimiter', enc(delimiter)] as XmlNode] : []),
    ['Prefix', enc(prefix)], ['MaxUploads', max], ['IsTruncated', truncated],
    ...uploads.map((u): XmlNode => ['Upload', [['Key', enc(u.key)], ['UploadId', u.uploadId],
      ['Initiator', OWNER_ELEMENTS], ['Owner', OWNER_ELEMENTS], ['StorageClass', 'STANDARD'], ['Initiated', isoDate(u.initiatedMs)]]]),
    ...prefixes.map((p): XmlNode => ['CommonPrefixes', [['Prefix', enc(p)]]]),
  ]));
}
