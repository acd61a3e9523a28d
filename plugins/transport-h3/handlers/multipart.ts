import { checkCopyConditions, writeCondition } from '../conditions.js';
import { header, OWNER_ELEMENTS, xmlResponse, type Call, type S3Response } from '../context.js';
import { putOptions } from '../object-headers.js';
import { parseCopyRange } from '../ranges.js';
import { requestBody } from '../request-body.js';
import { decodeXmlText, parseRequestXml, readSmallBody } from '../request-xml.js';
import { S3Error } from '../s3-error.js';
import { isoDate, xmlDocument, type XmlNode } from '../xml.js';
import { versionedWrites, writtenVersionHeader } from '../versions.js';
import { confirmBucket, openCopySource, reading } from './objects.js';

function partNumberOf(call: Call): number {
  const partNumber = Number(call.req.query.get('partNumber'));
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
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
  const { body, computed } = requestBody(call.req, call.auth);
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
  const doc = parseRequestXml(await readSmallBody(requestBody(req, call.auth).body));
  const parts = (doc.CompleteMultipartUpload as { Part?: { PartNumber?: unknown; ETag?: unknown }[] } | undefined)?.Part;
  if (!Array.isArray(parts)) throw new S3Error('MalformedXML');
  const requested = parts.map((p) => {
    const partNumber = Number(p.PartNumber);
    if (!Number.isInteger(partNumber) || typeof p.ETag !== 'string') throw new S3Error('MalformedXML', 'Part without PartNumber or ETag');
    return { partNumber, etag: decodeXmlText(p.ETag) };
  });
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
  const marker = Number(req.query.get('part-number-marker') ?? 0);
  const max = Math.min(Number(req.query.get('max-parts') ?? 1000), 1000);
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

export async function listMultipartUploads(call: Call): Promise<S3Response> {
  const { req, bucket, services } = call;
  await services.buckets.get(bucket);
  const prefix = req.query.get('prefix') ?? '';
  const keyMarker = req.query.get('key-marker') ?? '';
  const max = Math.min(Number(req.query.get('max-uploads') ?? 1000), 1000);
  const all = (await services.uploads.list(bucket)).filter((u) => u.key.startsWith(prefix) && u.key > keyMarker);
  const page = all.slice(0, max);
  const last = page[page.length - 1];
  return xmlResponse(200, xmlDocument('ListMultipartUploadsResult', [
    ['Bucket', bucket], ['KeyMarker', keyMarker], ['UploadIdMarker', req.query.get('upload-id-marker') ?? ''],
    ...(all.length > max && last ? [['NextKeyMarker', last.key], ['NextUploadIdMarker', last.uploadId]] as XmlNode[] : []),
    ['Prefix', prefix], ['MaxUploads', max], ['IsTruncated', all.length > max],
    ...page.map((u): XmlNode => ['Upload', [['Key', u.key], ['UploadId', u.uploadId],
      ['Initiator', OWNER_ELEMENTS], ['Owner', OWNER_ELEMENTS], ['StorageClass', 'STANDARD'], ['Initiated', isoDate(u.initiatedMs)]]]),
  ]));
}
