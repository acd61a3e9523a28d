import { randomBytes } from 'node:crypto';

import type { ObjectRecord } from '../../core/contracts/metadata.js';
import { BucketStore } from '../../core/engine/buckets.js';
import type { MultipartUploads } from '../../core/engine/multipart.js';
import type { ObjectEngine, OpenObject, PutOptions } from '../../core/engine/object-engine.js';
import { decodeAwsChunked } from './aws-chunked.js';
import { CHECKSUM_ALGORITHMS, verifyBody, type ChecksumAlgorithm } from './checksums.js';
import { listObjects } from './listing.js';
import { decodeXmlText, parseRequestXml, readSmallBody } from './request-xml.js';
import { S3Error, toS3Error } from './s3-error.js';
import { STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, UNSIGNED, verifySigV4, type Verified } from './sigv4.js';
import { isoDate, xmlDocument, type XmlNode } from './xml.js';

export interface S3Request {
  method: string;
  rawPath: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Uint8Array>;
  /** the bucket named by the Host header (virtual-host style); rawPath is then the key */
  virtualBucket?: string;
}

export interface S3Response {
  status: number;
  headers: Record<string, string>;
  body?: string | Uint8Array | AsyncIterable<Uint8Array>;
}

export interface Credentials {
  secretFor(accessKey: string): string | undefined;
}

const xml = (status: number, body: string): S3Response => ({ status, headers: { 'content-type': 'application/xml' }, body });
const h = (req: S3Request, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Headers stored with an object and returned as they were sent. */
const STORED_HEADERS = ['content-encoding', 'content-disposition', 'content-language', 'cache-control', 'expires'];
const OWNER = { id: 'kintsugi', name: 'kintsugi' };

/**
 * The S3 REST API over the object engine, independent of the HTTP framework:
 * a request in, a response out. Path-style (`/bucket/key`); the transport
 * maps virtual-host requests onto it.
 */
export class S3Api {
  constructor(
    private readonly engine: ObjectEngine,
    private readonly buckets: BucketStore,
    private readonly uploads: MultipartUploads,
    private readonly credentials: Credentials,
  ) {}

  async handle(req: S3Request): Promise<S3Response> {
    const auth = verifySigV4(req, (k) => this.credentials.secretFor(k));
    const [bucket, key] = req.virtualBucket ? [req.virtualBucket, keyOnly(req.rawPath)] : splitPath(req.rawPath);
    const q = req.query;
    if (!bucket) {
      if (req.method === 'GET') return this.listBuckets();
      throw new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.');
    }
    if (key === undefined) {
      if (req.method === 'POST' && q.has('delete')) return this.deleteObjects(req, auth, bucket);
      return this.bucketOp(req, bucket, q);
    }
    if (q.has('uploads') || q.has('uploadId')) return this.multipart(req, auth, bucket, key, q);
    switch (req.method) {
      case 'PUT': return this.putObject(req, auth, bucket, key);
      case 'POST': throw new S3Error('NotImplemented', 501, 'This POST operation is not implemented');
      case 'GET': return this.getObject(req, bucket, key, false);
      case 'HEAD': return this.getObject(req, bucket, key, true);
      case 'DELETE':
        await this.buckets.get(bucket);
        await this.engine.delete(bucket, key);
        return { status: 204, headers: {} };
      default: throw new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.');
    }
  }

  private async listBuckets(): Promise<S3Response> {
    const list = await this.buckets.list();
    return xml(200, xmlDocument('ListAllMyBucketsResult', [
      ['Owner', [['ID', OWNER.id], ['DisplayName', OWNER.name]]],
      ['Buckets', list.map((b) => ['Bucket', [['Name', b.name], ['CreationDate', isoDate(b.createdMs)]]])],
    ]));
  }

  private async bucketOp(req: S3Request, bucket: string, q: URLSearchParams): Promise<S3Response> {
    switch (req.method) {
      case 'PUT':
        await this.buckets.create(bucket);
        return { status: 200, headers: { location: `/${bucket}` } };
      case 'HEAD':
        await this.buckets.get(bucket);
        return { status: 200, headers: { 'x-amz-bucket-region': 'us-east-1' } };
      case 'DELETE':
        await this.buckets.delete(bucket);
        return { status: 204, headers: {} };
      case 'GET':
        await this.buckets.get(bucket);
        if (q.has('location')) return xml(200, '<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>');
        if (q.has('versioning')) return xml(200, xmlDocument('VersioningConfiguration', []));
        if (q.has('uploads')) return this.listUploads(bucket, q);
        for (const sub of ['policy', 'acl', 'cors', 'lifecycle', 'tagging', 'website', 'replication', 'encryption', 'object-lock']) {
          if (q.has(sub)) throw new S3Error('NotImplemented', 501, `?${sub} is not implemented yet`);
        }
        return xml(200, await listObjects(this.engine, bucket, q, OWNER));
      default:
        throw new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.');
    }
  }

  /**
   * The request body as the client meant it: aws-chunked frames removed,
   * and checked, as it streams, against Content-Length, Content-MD5, a signed
   * payload hash and any x-amz-checksum-* (header or trailer). `computed`
   * holds the checksums once the body has been consumed.
   */
  private body(req: S3Request, auth: Verified): { body: AsyncIterable<Uint8Array>; computed: Map<ChecksumAlgorithm, string> } {
    const declared = h(req, 'content-length');
    let body = req.body;
    const trailers = new Map<string, string>();
    const payload = auth.payloadHash;
    const chunked = payload.startsWith('STREAMING-') || (h(req, 'content-encoding') ?? '').split(',').map((s) => s.trim()).includes('aws-chunked');
    if (!chunked && payload !== UNSIGNED && !/^[0-9a-f]{64}$/.test(payload)) {
      throw new S3Error('InvalidArgument', 400, `invalid x-amz-content-sha256 ${payload}`);
    }
    if (chunked) {
      body = decodeAwsChunked(body, {
        trailers,
        ...(payload === STREAMING_SIGNED || payload === STREAMING_SIGNED_TRAILER ? { seed: auth.seed! } : {}),
      });
    }
    const checksums = new Map<ChecksumAlgorithm, string | undefined>();
    for (const a of CHECKSUM_ALGORITHMS) {
      const v = h(req, `x-amz-checksum-${a}`);
      if (v) checksums.set(a, v);
    }
    for (const t of (h(req, 'x-amz-trailer') ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
      const a = t.replace(/^x-amz-checksum-/, '') as ChecksumAlgorithm;
      if (!CHECKSUM_ALGORITHMS.includes(a)) throw new S3Error('InvalidRequest', 400, `unsupported trailer ${t}`);
      checksums.set(a, undefined);
    }
    const decodedLength = h(req, 'x-amz-decoded-content-length');
    const computed = new Map<ChecksumAlgorithm, string>();
    const verified = verifyBody(body, {
      contentMd5: h(req, 'content-md5'),
      sha256Hex: /^[0-9a-f]{64}$/.test(payload) ? payload : undefined,
      checksums,
      trailers,
      declaredLength: chunked ? (decodedLength !== undefined ? Number(decodedLength) : undefined) : (declared !== undefined ? Number(declared) : undefined),
    }, computed);
    return { body: verified, computed };
  }

  private async putObject(req: S3Request, auth: Verified, bucket: string, key: string): Promise<S3Response> {
    await this.buckets.get(bucket);
    if (h(req, 'x-amz-copy-source') !== undefined) return this.copyObject(req, bucket, key);
    const { body, computed } = this.body(req, auth);
    const record = await this.engine.put(bucket, key, body, { ...this.putOptions(req), checksums: computed });
    const out: Record<string, string> = { etag: `"${record.etag}"` };
    for (const [a, v] of computed) out[`x-amz-checksum-${a}`] = v;
    return { status: 200, headers: out };
  }

  /** Content type, stored headers and user metadata of a put or a REPLACE copy. */
  private putOptions(req: S3Request): PutOptions {
    const headers: Record<string, string> = {};
    for (const name of STORED_HEADERS) {
      const v = h(req, name);
      if (v === undefined) continue;
      const kept = name === 'content-encoding' ? v.split(',').map((s) => s.trim()).filter((e) => e && e !== 'aws-chunked').join(', ') : v;
      if (kept) headers[name] = kept;
    }
    return { contentType: h(req, 'content-type') ?? 'binary/octet-stream', headers, userMetadata: userMetadata(req.headers) };
  }

  /** CopyObject: streams the source through the engine into a new object (metadata COPY or REPLACE). */
  private async copyObject(req: S3Request, bucket: string, key: string): Promise<S3Response> {
    const [srcBucket, srcKey] = parseCopySource(h(req, 'x-amz-copy-source')!);
    await this.buckets.get(srcBucket);
    return this.reading(await this.engine.open(srcBucket, srcKey), (source) => this.copyFrom(req, bucket, key, srcBucket, srcKey, source));
  }

  private async copyFrom(req: S3Request, bucket: string, key: string, srcBucket: string, srcKey: string, object: OpenObject): Promise<S3Response> {
    const source = object.record;
    checkCopyConditions(req, source);
    const directive = (h(req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
    if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error('InvalidArgument', 400, `Unknown metadata directive ${directive}`);
    if (srcBucket === bucket && srcKey === key && directive === 'COPY') {
      throw new S3Error('InvalidRequest', 400, 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.');
    }
    const options: PutOptions = directive === 'REPLACE' ? this.putOptions(req)
      : { contentType: source.contentType, headers: { ...(source.headers ?? {}) }, userMetadata: { ...(source.userMetadata ?? {}) } };
    const record = await this.engine.put(bucket, key, object.read(), { ...options, checksums: source.checksums ?? {} });
    return xml(200, xmlDocument('CopyObjectResult', [['LastModified', isoDate(record.createdMs)], ['ETag', `"${record.etag}"`]]));
  }

  /** CreateMultipartUpload, UploadPart(Copy), CompleteMultipartUpload, AbortMultipartUpload, ListParts. */
  private async multipart(req: S3Request, auth: Verified, bucket: string, key: string, q: URLSearchParams): Promise<S3Response> {
    await this.buckets.get(bucket);
    if (req.method === 'POST' && q.has('uploads')) {
      const uploadId = await this.uploads.create(bucket, key, this.putOptions(req));
      return xml(200, xmlDocument('InitiateMultipartUploadResult', [['Bucket', bucket], ['Key', key], ['UploadId', uploadId]]));
    }
    const uploadId = q.get('uploadId') ?? '';
    switch (req.method) {
      case 'PUT': {
        const partNumber = Number(q.get('partNumber'));
        if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
          throw new S3Error('InvalidArgument', 400, 'Part number must be an integer between 1 and 10000, inclusive');
        }
        const copySource = h(req, 'x-amz-copy-source');
        if (copySource !== undefined) {
          const [srcBucket, srcKey] = parseCopySource(copySource);
          await this.buckets.get(srcBucket);
          return this.reading(await this.engine.open(srcBucket, srcKey), async (source) => {
            checkCopyConditions(req, source.record);
            const rangeHeader = h(req, 'x-amz-copy-source-range');
            const range = rangeHeader ? parseRange(rangeHeader, source.record.size) : undefined;
            if (rangeHeader && !range) throw new S3Error('InvalidArgument', 400, 'The x-amz-copy-source-range value must be of the form bytes=first-last');
            const part = await this.uploads.putPart(bucket, key, uploadId, partNumber, source.read(range));
            return xml(200, xmlDocument('CopyPartResult', [['LastModified', isoDate(part.modifiedMs)], ['ETag', `"${part.etag}"`]]));
          });
        }
        const { body, computed } = this.body(req, auth);
        const part = await this.uploads.putPart(bucket, key, uploadId, partNumber, body);
        const headers: Record<string, string> = { etag: `"${part.etag}"` };
        for (const [a, v] of computed) headers[`x-amz-checksum-${a}`] = v;
        return { status: 200, headers };
      }
      case 'POST': {
        const doc = parseRequestXml(await readSmallBody(this.body(req, auth).body));
        const parts = (doc.CompleteMultipartUpload as { Part?: { PartNumber?: unknown; ETag?: unknown }[] } | undefined)?.Part;
        if (!Array.isArray(parts)) throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema.');
        const requested = parts.map((p) => {
          const partNumber = Number(p.PartNumber);
          if (!Number.isInteger(partNumber) || typeof p.ETag !== 'string') throw new S3Error('MalformedXML', 400, 'Part without PartNumber or ETag');
          return { partNumber, etag: decodeXmlText(p.ETag) };
        });
        const record = await this.uploads.complete(bucket, key, uploadId, requested);
        return xml(200, xmlDocument('CompleteMultipartUploadResult', [
          ['Location', `/${bucket}/${key}`], ['Bucket', bucket], ['Key', key], ['ETag', `"${record.etag}"`],
        ]));
      }
      case 'DELETE':
        await this.uploads.abort(bucket, key, uploadId);
        return { status: 204, headers: {} };
      case 'GET': {
        await this.uploads.get(bucket, key, uploadId);
        const marker = Number(q.get('part-number-marker') ?? 0);
        const max = Math.min(Number(q.get('max-parts') ?? 1000), 1000);
        const all = (await this.uploads.parts(bucket, key, uploadId)).filter((p) => p.partNumber > marker);
        const page = all.slice(0, max);
        const body: XmlNode[] = [
          ['Bucket', bucket], ['Key', key], ['UploadId', uploadId],
          ['Initiator', [['ID', OWNER.id], ['DisplayName', OWNER.name]]], ['Owner', [['ID', OWNER.id], ['DisplayName', OWNER.name]]],
          ['StorageClass', 'STANDARD'], ['PartNumberMarker', marker],
          ...(all.length > max ? [['NextPartNumberMarker', page[page.length - 1]!.partNumber] as XmlNode] : []),
          ['MaxParts', max], ['IsTruncated', all.length > max],
          ...page.map((p): XmlNode => ['Part', [['PartNumber', p.partNumber], ['LastModified', isoDate(p.modifiedMs)], ['ETag', `"${p.etag}"`], ['Size', p.size]]]),
        ];
        return xml(200, xmlDocument('ListPartsResult', body));
      }
      default:
        throw new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.');
    }
  }

  private async listUploads(bucket: string, q: URLSearchParams): Promise<S3Response> {
    const prefix = q.get('prefix') ?? '';
    const keyMarker = q.get('key-marker') ?? '';
    const max = Math.min(Number(q.get('max-uploads') ?? 1000), 1000);
    const all = (await this.uploads.list(bucket)).filter((u) => u.key.startsWith(prefix) && u.key > keyMarker);
    const page = all.slice(0, max);
    const last = page[page.length - 1];
    return xml(200, xmlDocument('ListMultipartUploadsResult', [
      ['Bucket', bucket], ['KeyMarker', keyMarker], ['UploadIdMarker', q.get('upload-id-marker') ?? ''],
      ...(all.length > max && last ? [['NextKeyMarker', last.key], ['NextUploadIdMarker', last.uploadId]] as XmlNode[] : []),
      ['Prefix', prefix] as XmlNode, ['MaxUploads', max] as XmlNode, ['IsTruncated', all.length > max] as XmlNode,
      ...page.map((u): XmlNode => ['Upload', [['Key', u.key], ['UploadId', u.uploadId],
        ['Initiator', [['ID', OWNER.id], ['DisplayName', OWNER.name]]], ['Owner', [['ID', OWNER.id], ['DisplayName', OWNER.name]]],
        ['StorageClass', 'STANDARD'], ['Initiated', isoDate(u.initiatedMs)]]]),
    ]));
  }

  /** DeleteObjects: up to 1000 keys, each answered as deleted or with its error; Quiet leaves out the deleted. */
  private async deleteObjects(req: S3Request, auth: Verified, bucket: string): Promise<S3Response> {
    await this.buckets.get(bucket);
    const doc = parseRequestXml(await readSmallBody(this.body(req, auth).body));
    const del = doc.Delete as { Quiet?: string; Object?: { Key?: unknown }[] } | undefined;
    if (!del || !Array.isArray(del.Object) || del.Object.length === 0 || del.Object.length > 1000) {
      throw new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema.');
    }
    const quiet = del.Quiet === 'true';
    const results: XmlNode[] = [];
    for (const o of del.Object) {
      const key = typeof o.Key === 'string' ? decodeXmlText(o.Key) : undefined;
      if (key === undefined) throw new S3Error('MalformedXML', 400, 'Object without Key');
      try {
        await this.engine.delete(bucket, key);
        if (!quiet) results.push(['Deleted', [['Key', key]]]);
      } catch (err) {
        const e = toS3Error(err);
        results.push(['Error', [['Key', key], ['Code', e.code], ['Message', e.message]]]);
      }
    }
    return xml(200, xmlDocument('DeleteResult', results));
  }

  private async getObject(req: S3Request, bucket: string, key: string, headOnly: boolean): Promise<S3Response> {
    await this.buckets.get(bucket);
    if (headOnly) return this.describe(req, await this.engine.head(bucket, key)).response;
    // The record is read once: preconditions and the range are checked
    // against the version whose files are now open.
    return this.reading(await this.engine.open(bucket, key), async (object) => {
      const { response, range } = this.describe(req, object.record);
      if (response.status === 304) return response;
      // An inline object is in memory already: one buffer is written with the
      // headers, without a stream's machinery per response.
      if (object.record.inline) return { ...response, body: Buffer.concat(await collect(object.read(range))) };
      return { ...response, body: object.read(range) };
    });
  }

  /** Status and headers of a GET or HEAD of `record` (preconditions, range), without the body. */
  private describe(req: S3Request, record: ObjectRecord): { response: S3Response; range?: { start: number; end: number } } {
    const notModified = checkConditions(req, record);
    const rangeHeader = h(req, 'range');
    // A checksum of the whole object does not describe a range: S3 leaves it out.
    const headers = objectHeaders(record, req, rangeHeader === undefined);
    if (notModified) return { response: { status: 304, headers: { etag: headers.etag!, 'last-modified': headers['last-modified']! } } };
    const range = rangeHeader ? parseRange(rangeHeader, record.size) : undefined;
    if (range) {
      headers['content-range'] = `bytes ${range.start}-${range.end}/${record.size}`;
      headers['content-length'] = String(range.end - range.start + 1);
    } else {
      headers['content-length'] = String(record.size);
    }
    return { response: { status: range ? 206 : 200, headers }, ...(range ? { range } : {}) };
  }

  /**
   * Runs `use` on an opened object and closes it unless `use` went on to
   * read it (the body stream closes it when done) — or failed, when the
   * stream may never have started.
   */
  private async reading<T>(object: OpenObject, use: (object: OpenObject) => T | Promise<T>): Promise<T> {
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
}

/** Percent-decoding of a path part; a malformed escape is S3's InvalidURI, not a crash. */
function decodePath(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidURI', 400, 'Couldn\'t parse the specified URI.');
  }
}

function splitPath(rawPath: string): [string | undefined, string | undefined] {
  const path = rawPath.startsWith('/') ? rawPath.slice(1) : rawPath;
  const slash = path.indexOf('/');
  const bucket = decodePath(slash < 0 ? path : path.slice(0, slash));
  if (!bucket) return [undefined, undefined];
  if (slash < 0 || slash === path.length - 1) return [bucket, undefined];
  return [bucket, decodePath(path.slice(slash + 1))];
}

/** `bucket/key` (url-encoded, maybe with a leading slash and ?versionId=null). */
function parseCopySource(header: string): [string, string] {
  const [path, query] = header.split('?');
  const versionId = new URLSearchParams(query ?? '').get('versionId');
  if (versionId !== null && versionId !== 'null') throw new S3Error('NoSuchVersion', 404, 'The specified version does not exist.');
  const decoded = decodePath(path!.replace(/^\//, ''));
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) throw new S3Error('InvalidArgument', 400, 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey');
  return [decoded.slice(0, slash), decoded.slice(slash + 1)];
}

/** x-amz-copy-source-if-* preconditions: each failure is 412 PreconditionFailed. */
function checkCopyConditions(req: S3Request, source: ObjectRecord): void {
  const etag = `"${source.etag}"`;
  const modified = Math.floor(source.createdMs / 1000) * 1000;
  const fail = () => { throw new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold'); };
  const match = h(req, 'x-amz-copy-source-if-match');
  const noneMatch = h(req, 'x-amz-copy-source-if-none-match');
  const since = h(req, 'x-amz-copy-source-if-modified-since');
  const unmodified = h(req, 'x-amz-copy-source-if-unmodified-since');
  if (match !== undefined && !match.split(',').map((s) => s.trim()).some((t) => t === etag || t === source.etag || t === '*')) fail();
  if (noneMatch !== undefined && noneMatch.split(',').map((s) => s.trim()).some((t) => t === etag || t === source.etag || t === '*')) fail();
  if (unmodified !== undefined && modified > Date.parse(unmodified)) fail();
  if (since !== undefined && modified <= Date.parse(since)) fail();
}

function keyOnly(rawPath: string): string | undefined {
  const key = decodePath(rawPath.replace(/^\//, ''));
  return key === '' ? undefined : key;
}

function userMetadata(headers: S3Request['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const v = Array.isArray(value) ? value.join(',') : value;
    out[name.slice('x-amz-meta-'.length)] = v;
    bytes += name.length + v.length;
  }
  if (bytes > 2048) throw new S3Error('MetadataTooLarge', 400, 'Your metadata headers exceed the maximum allowed metadata size (2 KB).');
  return out;
}

function objectHeaders(record: ObjectRecord, req: S3Request, withChecksums: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    etag: `"${record.etag}"`,
    'last-modified': new Date(record.createdMs).toUTCString(),
    'content-type': record.contentType ?? 'binary/octet-stream',
    'accept-ranges': 'bytes',
    ...(record.headers ?? {}),
  };
  for (const [k, v] of Object.entries(record.userMetadata ?? {})) headers[`x-amz-meta-${k}`] = v;
  if (withChecksums && h(req, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED') {
    for (const [a, v] of Object.entries(record.checksums ?? {})) headers[`x-amz-checksum-${a}`] = v;
  }
  // response-* query parameters override what is returned (signed requests only, as here).
  for (const [param, header] of [['response-content-type', 'content-type'], ['response-content-language', 'content-language'],
    ['response-expires', 'expires'], ['response-cache-control', 'cache-control'], ['response-content-disposition', 'content-disposition'],
    ['response-content-encoding', 'content-encoding']] as const) {
    const v = req.query.get(param);
    if (v !== null) headers[header] = v;
  }
  return headers;
}

/** RFC 7232 preconditions; returns true for 304 Not Modified, throws 412 PreconditionFailed. */
function checkConditions(req: S3Request, record: ObjectRecord): boolean {
  const etag = `"${record.etag}"`;
  const matches = (list: string) => list.split(',').map((s) => s.trim()).some((t) => t === '*' || t === etag || t === record.etag);
  const modified = Math.floor(record.createdMs / 1000) * 1000;
  const ifMatch = h(req, 'if-match');
  const ifNoneMatch = h(req, 'if-none-match');
  const ifModifiedSince = h(req, 'if-modified-since');
  const ifUnmodifiedSince = h(req, 'if-unmodified-since');
  if (ifMatch !== undefined && !matches(ifMatch)) throw new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');
  if (ifMatch === undefined && ifUnmodifiedSince !== undefined && modified > Date.parse(ifUnmodifiedSince)) {
    throw new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');
  }
  if (ifNoneMatch !== undefined) return matches(ifNoneMatch);
  if (ifModifiedSince !== undefined && !Number.isNaN(Date.parse(ifModifiedSince))) return modified <= Date.parse(ifModifiedSince);
  return false;
}

/** One `bytes=` range (first-last, first-, -suffix) resolved against the size; others are ignored as S3 does. */
function parseRange(header: string, size: number): { start: number; end: number } | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw new S3Error('InvalidRange', 416, 'The requested range is not satisfiable');
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw new S3Error('InvalidRange', 416, 'The requested range is not satisfiable');
  return { start, end };
}

export const newRequestId = () => randomBytes(8).toString('hex').toUpperCase();

async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  for await (const part of body) parts.push(part);
  return parts;
}
