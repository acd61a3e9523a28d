import { checkCopyConditions, writeCondition } from '../conditions.js';
import { header, OWNER_ELEMENTS, xmlResponse, type Call, type S3Response } from '../context.js';
import { putOptions } from '../object-headers.js';
import { writeLock } from '../object-lock-headers.js';
import { admitWrite, committing, declaredSize } from '../quota.js';
import { wholeNumberParam } from '../query-params.js';
import { parseCopyRange } from '../ranges.js';
import { requestBody } from '../body/request-body.js';
import { parseRequestXml, readSmallBody } from '../xml/xml-reader.js';
import { S3Error } from '../s3-error.js';
import { isoDate, xmlDocument, type XmlNode } from '../xml/xml-writer.js';
import { versionedWrites, writtenVersionHeader } from '../versions.js';
import { listingParams } from './listing.js';
import { confirmBucket, openCopySource, reading } from './objects.js';
import type { ChecksumType } from '../../../core/contracts/metadata.js';
import type { UploadInfo } from '../../../core/engine/multipart.js';
import { defaultUploadChecksumType, UPLOAD_CHECKSUM_TYPES, type UploadChecksum } from '../../../core/engine/upload-checksum.js';
import { CHECKSUM_ALGORITHMS, checksumElement, checksumHeaders, verifyBody, type ChecksumAlgorithm } from '../body/checksums.js';

function partNumberOf(call: Call): number {
  const partNumber = wholeNumberParam(call.req.query, 'partNumber', 0);
  if (partNumber < 1 || partNumber > 10000) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
  }
  return partNumber;
}

const uploadIdOf = (call: Call) => call.req.query.get('uploadId') ?? '';

/**
 * The checksum a CreateMultipartUpload asks for (x-amz-checksum-algorithm
 * and -type), refused as AWS refuses it when the pair is not one it allows.
 */
function askedChecksum(call: Call): UploadChecksum | undefined {
  const algorithm = header(call.req, 'x-amz-checksum-algorithm')?.toLowerCase();
  const type = header(call.req, 'x-amz-checksum-type')?.toUpperCase();
  if (algorithm === undefined) {
    if (type !== undefined) throw new S3Error('InvalidRequest', 'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.');
    return undefined;
  }
  const allowed = UPLOAD_CHECKSUM_TYPES[algorithm];
  if (!allowed) throw new S3Error('InvalidRequest', `Checksum algorithm provided is unsupported: ${algorithm.toUpperCase()}. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]`);
  if (type !== undefined && !allowed.includes(type as ChecksumType)) {
    throw new S3Error('InvalidRequest', `The ${type} checksum type cannot be used with the ${algorithm.toUpperCase()} checksum algorithm.`);
  }
  return { algorithm, type: (type as ChecksumType | undefined) ?? defaultUploadChecksumType(algorithm) };
}

/** The x-amz-checksum-algorithm and -type an upload's answers carry. */
const uploadChecksumHeaders = (c: UploadChecksum | undefined): Record<string, string> => (c ? { 'x-amz-checksum-algorithm': c.algorithm.toUpperCase(), 'x-amz-checksum-type': c.type } : {});

/** What every part of `upload` is checksummed with (checked when the client sent it): the upload's algorithm and a CRC-64/NVME, the object's being made of them. */
function partChecksums(upload: UploadInfo): ChecksumAlgorithm[] {
  const wanted = upload.checksum?.algorithm as ChecksumAlgorithm | undefined;
  return [...(wanted ? [wanted] : []), 'crc64nvme'];
}

export async function createMultipartUpload(call: Call): Promise<S3Response> {
  const { bucket, key, services } = call;
  const checksum = askedChecksum(call);
  const info = await services.buckets.get(bucket);
  // A default retention is counted at completion, when the object is made.
  const lock = writeLock(call.req, info, Date.now(), { withBody: false, withDefault: false });
  const uploadId = await services.uploads.create(bucket, key, { ...putOptions(call.req), ...(lock ? { lock } : {}) }, checksum);
  const response = xmlResponse(200, xmlDocument('InitiateMultipartUploadResult', [['Bucket', bucket], ['Key', key], ['UploadId', uploadId]]));
  Object.assign(response.headers, uploadChecksumHeaders(checksum));
  return response;
}

export async function uploadPart(call: Call): Promise<S3Response> {
  const { bucket, key, services } = call;
  const partNumber = partNumberOf(call);
  const info = await services.buckets.get(bucket);
  const upload = await services.uploads.get(bucket, key, uploadIdOf(call));
  const { body, computed, declared } = requestBody(call, partChecksums(upload));
  const done = await admitWrite(call, info, declaredSize(call.req));
  const part = await committing(done, services.uploads.putPart(upload, partNumber, body, computed), (p) => p.size);
  const headers: Record<string, string> = { etag: `"${part.etag}"` };
  const wanted = upload.checksum?.algorithm as ChecksumAlgorithm | undefined;
  for (const a of new Set([...declared, ...(wanted ? [wanted] : [])])) headers[`x-amz-checksum-${a}`] = computed.get(a)!;
  return { status: 200, headers };
}

export async function uploadPartCopy(call: Call): Promise<S3Response> {
  const { req, bucket, key, services } = call;
  const partNumber = partNumberOf(call);
  const info = await services.buckets.get(bucket);
  const opened = await openCopySource(call);
  return reading(opened.object, async (source) => {
    checkCopyConditions(req, source.record);
    const rangeHeader = header(req, 'x-amz-copy-source-range');
    const range = rangeHeader !== undefined ? parseCopyRange(rangeHeader, source.record.size) : undefined;
    const upload = await services.uploads.get(bucket, key, uploadIdOf(call));
    const done = await admitWrite(call, info, range ? range.end - range.start + 1 : source.record.size);
    const computed = new Map<ChecksumAlgorithm, string>();
    const data = verifyBody(source.read(range), { checksums: new Map() }, computed, services.crc, partChecksums(upload));
    const part = await committing(done, services.uploads.putPart(upload, partNumber, data, computed), (p) => p.size);
    const response = xmlResponse(200, xmlDocument('CopyPartResult', [['LastModified', isoDate(part.modifiedMs)], ['ETag', `"${part.etag}"`]]));
    Object.assign(response.headers, opened.headers);
    return response;
  });
}

/**
 * The checksum of the whole object a CompleteMultipartUpload carries in an
 * x-amz-checksum-* header, checked against the one the parts make; with
 * x-amz-checksum-type, which must be the upload's.
 */
function wholeUploadChecksum(call: Call, asked: UploadChecksum | undefined): { algorithm: string; value: string } | undefined {
  const type = header(call.req, 'x-amz-checksum-type')?.toUpperCase();
  if (type !== undefined && type !== (asked?.type ?? 'FULL_OBJECT')) {
    throw new S3Error('InvalidRequest', `The upload was created using the ${asked?.type ?? 'FULL_OBJECT'} checksum mode. The complete request must use the same checksum mode.`);
  }
  const [sent] = checksumHeaders(call.req);
  return sent && { algorithm: sent[0], value: sent[1] };
}

/**
 * CompleteMultipartUpload; conditional (If-None-Match: *, If-Match) like a
 * PutObject. A retry of a completion that succeeded answers the same ETag.
 */
export async function completeMultipartUpload(call: Call): Promise<S3Response> {
  const { req, bucket, key, services } = call;
  const info = await services.buckets.get(bucket);
  const condition = writeCondition(req, bucket, key);
  const doc = parseRequestXml(await readSmallBody(requestBody(call, [], { checksumHeaders: false }).body), 'CompleteMultipartUpload').only(['Part']);
  const requested = doc.all('Part').map((p) => {
    p.only(['PartNumber', 'ETag', ...CHECKSUM_ALGORITHMS.map(checksumElement)]);
    const number = p.textOf('PartNumber');
    const etag = p.textOf('ETag');
    if (number === undefined || !/^\d{1,5}$/.test(number) || etag === undefined) throw new S3Error('MalformedXML', 'Part without PartNumber or ETag');
    const checksums = Object.fromEntries(CHECKSUM_ALGORITHMS.flatMap((a) => { const v = p.textOf(checksumElement(a)); return v === undefined ? [] : [[a, v]]; }));
    return { partNumber: Number(number), etag, checksums };
  });
  if (requested.length === 0) throw new S3Error('MalformedXML', 'CompleteMultipartUpload names no Part');
  const expected = wholeUploadChecksum(call, (await services.uploads.get(bucket, key, uploadIdOf(call)).catch(() => undefined))?.checksum);
  const done = await services.uploads.complete(bucket, key, uploadIdOf(call), requested, {
    versioned: versionedWrites(info), ...(condition ? { condition } : {}), ...(expected ? { expected } : {}),
    ...(info.objectLock?.defaultRetention ? { defaultRetention: info.objectLock.defaultRetention } : {}),
  });
  await confirmBucket(call, done.versionId);
  const response = xmlResponse(200, xmlDocument('CompleteMultipartUploadResult', [
    ['Location', `/${bucket}/${key}`], ['Bucket', bucket], ['Key', key], ['ETag', `"${done.etag}"`],
    ...(done.checksum ? [[checksumElement(done.checksum.algorithm), done.checksum.value], ['ChecksumType', done.checksum.type]] as XmlNode[] : []),
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
  const upload = await services.uploads.get(bucket, key, uploadId);
  const marker = wholeNumberParam(req.query, 'part-number-marker', 0);
  const max = Math.min(wholeNumberParam(req.query, 'max-parts', 1000), 1000);
  const all = (await services.uploads.parts(upload)).filter((p) => p.partNumber > marker);
  const page = all.slice(0, max);
  return xmlResponse(200, xmlDocument('ListPartsResult', [
    ['Bucket', bucket], ['Key', key], ['UploadId', uploadId],
    ['Initiator', OWNER_ELEMENTS], ['Owner', OWNER_ELEMENTS],
    ['StorageClass', 'STANDARD'], ['PartNumberMarker', marker],
    ...(all.length > max ? [['NextPartNumberMarker', page[page.length - 1]!.partNumber] as XmlNode] : []),
    ['MaxParts', max], ['IsTruncated', all.length > max],
    ...(upload.checksum ? [['ChecksumAlgorithm', upload.checksum.algorithm.toUpperCase()], ['ChecksumType', upload.checksum.type]] as XmlNode[] : []),
    ...page.map((p): XmlNode => ['Part', [['PartNumber', p.partNumber], ['LastModified', isoDate(p.modifiedMs)], ['ETag', `"${p.etag}"`], ['Size', p.size],
      ...(upload.checksum && p.checksums?.[upload.checksum.algorithm] ? [[checksumElement(upload.checksum.algorithm), p.checksums[upload.checksum.algorithm]!] as XmlNode] : [])]]),
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
