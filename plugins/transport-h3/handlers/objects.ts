import type { ObjectRecord } from '../../../core/contracts/metadata.js';
import type { BucketInfo } from '../../../core/engine/buckets.js';
import { parseVersionId, type ByteRange, type OpenObject } from '../../../core/engine/object-engine.js';
import { NoSuchBucketError } from '../../../core/errors.js';
import { checkCopyConditions, checkReadConditions, writeCondition } from '../conditions.js';
import { header, xmlResponse, type Call, type S3Response } from '../context.js';
import { objectHeaders, putOptions } from '../object-headers.js';
import { deleteLockOptions, lockHeaders, writeLock } from '../object-lock-headers.js';
import { admitWrite, committing, declaredSize } from '../quota.js';
import { parseCopySource } from '../paths.js';
import { parseRange, partRange } from '../ranges.js';
import { requestBody } from '../body/request-body.js';
import { CHECKSUM_ALGORITHMS, checksumElement, verifyBody, type ChecksumAlgorithm } from '../body/checksums.js';
import { S3Error } from '../s3-error.js';
import { addressedVersion, deleteAnswer, expirationHeader, versionedWrites, versionHeader, writtenVersionHeader } from '../versions.js';
import { isoDate, xmlDocument, type XmlNode } from '../xml/xml-writer.js';

/**
 * A write has committed: if its bucket was deleted meanwhile (the delete saw
 * it empty before this commit), the write takes its version back and fails,
 * so that nothing is acknowledged into a deleted bucket.
 */
export async function confirmBucket(call: Call, versionId: string): Promise<void> {
  if (await call.services.buckets.stillExists(call.bucket)) return;
  await call.services.engine.delete(call.bucket, call.key, { versionId, rollback: true }).catch(() => undefined);
  throw new NoSuchBucketError(call.bucket);
}

/**
 * Runs an object read and the bucket check side by side (both are quorum
 * reads); a missing bucket wins over whatever the read found.
 */
async function withBucket<T>(call: Call, read: () => Promise<T>, release?: (value: T) => Promise<void>): Promise<{ bucket: BucketInfo; value: T }> {
  const [bucket, value] = await Promise.allSettled([call.services.buckets.get(call.bucket), read()]);
  if (bucket.status === 'rejected') {
    if (value.status === 'fulfilled') await release?.(value.value);
    throw bucket.reason;
  }
  if (value.status === 'rejected') throw value.reason;
  return { bucket: bucket.value, value: value.value };
}

/** The record of the object version a call addresses, its bucket checked alongside. */
export async function addressedRecord(call: Call): Promise<{ bucket: BucketInfo; record: ObjectRecord }> {
  const version = addressedVersion(call);
  const { bucket, value } = await withBucket(call, () => call.services.engine.head(call.bucket, call.key, version));
  return { bucket, record: value };
}

/**
 * Runs `use` on an opened object and closes it unless `use` went on to read
 * it (the body stream closes it when done) — or failed, when the stream may
 * never have started.
 */
export async function reading<T>(object: OpenObject, use: (object: OpenObject) => T | Promise<T>): Promise<T> {
  let read = false;
  const watched: OpenObject = { record: object.record, close: object.close, read: (range) => { read = true; return object.read(range); } };
  try {
    const result = await use(watched);
    if (!read) await object.close();
    return result;
  } catch (err) {
    await object.close();
    throw err;
  }
}

/**
 * Opens the source of a copy (`x-amz-copy-source`, maybe naming a
 * version), checking its bucket; `headers`: the source version's, for the
 * response.
 */
export async function openCopySource(call: Call, source = parseCopySource(header(call.req, 'x-amz-copy-source')!)): Promise<{ object: OpenObject; headers: Record<string, string> }> {
  const version = parseVersionId(source.versionId);
  const bucket = await call.services.buckets.get(source.bucket);
  const object = await call.services.engine.open(source.bucket, source.key, version);
  const shown = versionHeader(bucket, object.record.versionId)['x-amz-version-id'];
  return { object, headers: shown ? { 'x-amz-copy-source-version-id': shown } : {} };
}

export async function putObject(call: Call): Promise<S3Response> {
  const { req, bucket, key, services } = call;
  const info = await services.buckets.get(bucket);
  const condition = writeCondition(req, bucket, key);
  const lock = writeLock(req, info, Date.now(), { withBody: true, withDefault: true });
  // The body is not read yet: a write over the quota is refused before it is.
  const { body, computed } = requestBody(call);
  const done = await admitWrite(call, info, declaredSize(req));
  const put = services.engine.put(bucket, key, body, { ...putOptions(req), checksums: computed, versioned: versionedWrites(info), ...(condition ? { condition } : {}), ...(lock ? { lock } : {}) });
  const record = await committing(done, put, (r) => r.size);
  await confirmBucket(call, record.versionId);
  const headers: Record<string, string> = { etag: `"${record.etag}"`, ...writtenVersionHeader(record.versionId), ...expirationHeader(call, info, record) };
  for (const [a, v] of computed) headers[`x-amz-checksum-${a}`] = v;
  return { status: 200, headers };
}

/** CopyObject: streams the source through the engine into a new object (metadata COPY or REPLACE). */
export async function copyObject(call: Call): Promise<S3Response> {
  const { req, bucket, key, services } = call;
  const info = await services.buckets.get(bucket);
  const condition = writeCondition(req, bucket, key);
  // The copy is a new version: its lock is the one asked for (or the bucket's default), never the source's.
  const lock = writeLock(req, info, Date.now(), { withBody: false, withDefault: true });
  const from = parseCopySource(header(req, 'x-amz-copy-source')!);
  const opened = await openCopySource(call, from);
  return reading(opened.object, async (object) => {
    const source = object.record;
    checkCopyConditions(req, source);
    const directive = (header(req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
    if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error('InvalidArgument', `Unknown metadata directive ${directive}`);
    if (from.bucket === bucket && from.key === key && directive === 'COPY' && from.versionId === undefined) {
      throw new S3Error('InvalidRequest', 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.');
    }
    const tagging = (header(req, 'x-amz-tagging-directive') ?? 'COPY').toUpperCase();
    if (tagging !== 'COPY' && tagging !== 'REPLACE') throw new S3Error('InvalidArgument', `Unknown tagging directive ${tagging}`);
    const { tags: newTags, ...replaced } = putOptions(req);
    const options = {
      ...(directive === 'REPLACE' ? replaced : { contentType: source.contentType, headers: { ...(source.headers ?? {}) }, userMetadata: { ...(source.userMetadata ?? {}) } }),
      ...(tagging === 'REPLACE' ? { tags: newTags } : { tags: source.tags }),
    };
    // A source stored before checksums were kept gets S3's own on the way through, as a new upload does.
    const computed = new Map<ChecksumAlgorithm, string>();
    const kept = source.checksums && Object.keys(source.checksums).length > 0;
    const done = await admitWrite(call, info, source.size);
    const data = kept ? object.read() : verifyBody(object.read(), { checksums: new Map() }, computed, services.crc);
    const record = await committing(done, services.engine.put(bucket, key, data, {
      ...options, checksums: kept ? source.checksums : computed, versioned: versionedWrites(info), ...(condition ? { condition } : {}), ...(lock ? { lock } : {}),
    }), (r) => r.size);
    await confirmBucket(call, record.versionId);
    const response = xmlResponse(200, xmlDocument('CopyObjectResult', [['LastModified', isoDate(record.createdMs)], ['ETag', `"${record.etag}"`]]));
    Object.assign(response.headers, opened.headers, writtenVersionHeader(record.versionId), expirationHeader(call, info, record));
    return response;
  });
}

/** Status, headers and the range of a GET or HEAD of `record` (preconditions, Range, partNumber), without the body. */
function describe(call: Call, bucket: BucketInfo, record: ObjectRecord): { response: S3Response; range?: ByteRange } {
  const { req } = call;
  const notModified = checkReadConditions(req, record);
  const rangeHeader = header(req, 'range');
  const partNumber = req.query.get('partNumber');
  if (rangeHeader !== undefined && partNumber !== null) throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
  const part = partNumber !== null ? partRange(record, partNumber) : undefined;
  // A checksum of the whole object does not describe a range: S3 leaves it out.
  const headers = {
    ...objectHeaders(record, req, rangeHeader === undefined && part?.range === undefined), ...lockHeaders(record),
    ...versionHeader(bucket, record.versionId), ...expirationHeader(call, bucket, record),
  };
  if (notModified) return { response: { status: 304, headers: { etag: headers.etag!, 'last-modified': headers['last-modified']! } } };
  if (part?.partsCount !== undefined) headers['x-amz-mp-parts-count'] = String(part.partsCount);
  if (part?.range && header(req, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED') Object.assign(headers, partChecksumHeader(record, Number(partNumber)));
  const range = part ? part.range : rangeHeader ? parseRange(rangeHeader, record.size) : undefined;
  if (range) {
    headers['content-range'] = `bytes ${range.start}-${range.end}/${record.size}`;
    headers['content-length'] = String(range.end - range.start + 1);
  } else {
    headers['content-length'] = String(record.size);
  }
  return { response: { status: range ? 206 : 200, headers }, ...(range ? { range } : {}) };
}

/** A part's checksum of the object's algorithm (what a GET or HEAD of one part, checksum mode on, answers). */
function partChecksumHeader(record: ObjectRecord, partNumber: number): Record<string, string> {
  const algorithm = Object.keys(record.checksums ?? {})[0];
  const value = algorithm && record.parts?.[partNumber - 1]?.checksums?.[algorithm];
  return value ? { [`x-amz-checksum-${algorithm}`]: value } : {};
}

export async function headObject(call: Call): Promise<S3Response> {
  const { bucket, record } = await addressedRecord(call);
  return describe(call, bucket, record).response;
}

export async function getObject(call: Call): Promise<S3Response> {
  const version = addressedVersion(call);
  const { bucket, value: object } = await withBucket(call, () => call.services.engine.open(call.bucket, call.key, version), (o) => o.close());
  // The record is read once: preconditions and the range are checked
  // against the version whose files are now open.
  return reading(object, async (opened) => {
    const { response, range } = describe(call, bucket, opened.record);
    if (response.status === 304) return response;
    // An inline object is in memory already: one buffer is written with the
    // headers, without a stream's machinery per response.
    if (opened.record.inline) return { ...response, body: Buffer.concat(await collect(opened.read(range))) };
    return { ...response, body: opened.read(range) };
  });
}

export async function deleteObject(call: Call): Promise<S3Response> {
  const { req, bucket, key, services } = call;
  const versionId = addressedVersion(call);
  const info = await services.buckets.get(bucket);
  const condition = writeCondition(req, bucket, key, false);
  const done = await services.engine.delete(bucket, key, {
    versioning: info.versioning, ...deleteLockOptions(req, info), ...(versionId !== undefined ? { versionId } : {}), ...(condition ? { condition } : {}),
  });
  const answer = deleteAnswer(info, versionId, done);
  return {
    status: 204,
    headers: { ...(answer.deleteMarker ? { 'x-amz-delete-marker': 'true' } : {}), ...(answer.versionId !== undefined ? { 'x-amz-version-id': answer.versionId } : {}) },
  };
}


const ATTRIBUTES = new Set(['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize']);

/** GetObjectAttributes: the attributes named in x-amz-object-attributes, without the body. */
export async function getObjectAttributes(call: Call): Promise<S3Response> {
  const { req } = call;
  const wanted = (header(req, 'x-amz-object-attributes') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (wanted.length === 0) throw new S3Error('InvalidArgument', 'The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty');
  const unknown = wanted.find((a) => !ATTRIBUTES.has(a));
  if (unknown) throw new S3Error('InvalidArgument', `Invalid attribute name specified: ${unknown}`);
  const { bucket, record } = await addressedRecord(call);
  const body: XmlNode[] = [];
  if (wanted.includes('ETag')) body.push(['ETag', record.etag]);
  const checksums = Object.entries(record.checksums ?? {}).filter(([a]) => (CHECKSUM_ALGORITHMS as readonly string[]).includes(a));
  if (wanted.includes('Checksum') && checksums.length) {
    body.push(['Checksum', [...checksums.map(([a, v]): XmlNode => [checksumElement(a), v]), ['ChecksumType', record.checksumType ?? 'FULL_OBJECT']]]);
  }
  if (wanted.includes('ObjectParts') && record.parts) {
    const marker = Number(header(req, 'x-amz-part-number-marker') ?? 0);
    const max = Math.min(Number(header(req, 'x-amz-max-parts') ?? 1000) || 1000, 1000);
    // A part's checksum of the object's algorithm (a composite object's checksum is made of them).
    const algorithm = checksums[0]?.[0];
    const numbered = record.parts.map((p, i) => ({ number: i + 1, size: p.size, checksum: algorithm && p.checksums?.[algorithm] })).filter((p) => p.number > marker);
    const page = numbered.slice(0, max);
    body.push(['ObjectParts', [
      ['PartsCount', record.parts.length], ['PartNumberMarker', marker],
      ...(page.length ? [['NextPartNumberMarker', page[page.length - 1]!.number] as XmlNode] : []),
      ['MaxParts', max], ['IsTruncated', numbered.length > max],
      ...page.map((p): XmlNode => ['Part', [['PartNumber', p.number], ['Size', p.size], ...(p.checksum ? [[checksumElement(algorithm!), p.checksum] as XmlNode] : [])]]),
    ]]);
  }
  if (wanted.includes('StorageClass')) body.push(['StorageClass', 'STANDARD']);
  if (wanted.includes('ObjectSize')) body.push(['ObjectSize', record.size]);
  const response = xmlResponse(200, xmlDocument('GetObjectAttributesResponse', body));
  response.headers['last-modified'] = new Date(record.createdMs).toUTCString();
  Object.assign(response.headers, versionHeader(bucket, record.versionId));
  return response;
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  for await (const part of body) parts.push(part);
  return parts;
}
