import type { ObjectRecord } from '../../core/contracts/metadata.js';
import type { PutOptions } from '../../core/engine/object-engine.js';
import { header, type S3Request } from './context.js';
import { S3Error } from './s3-error.js';
import { parseTaggingHeader } from './xml/tagging.js';

/** Headers stored with an object and returned as they were sent. */
const STORED_HEADERS = ['content-encoding', 'content-disposition', 'content-language', 'cache-control', 'expires'];

/** response-* query parameters of a GET, and the header each overrides. */
const RESPONSE_OVERRIDES = [
  ['response-content-type', 'content-type'], ['response-content-language', 'content-language'], ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'], ['response-content-disposition', 'content-disposition'], ['response-content-encoding', 'content-encoding'],
] as const;

/** x-amz-meta-* without the prefix; S3 allows 2 KB of them. */
function userMetadata(headers: S3Request['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const v = Array.isArray(value) ? value.join(',') : value;
    out[name.slice('x-amz-meta-'.length)] = v;
    bytes += name.length + v.length;
  }
  if (bytes > 2048) throw new S3Error('MetadataTooLarge', 'Your metadata headers exceed the maximum allowed metadata size (2 KB).');
  return out;
}

/**
 * What an object keeps of the values it was written with — request headers,
 * or a POST form's fields: its content type (if given), stored headers and
 * user metadata.
 */
export function objectAttributes(values: S3Request['headers']): { contentType?: string; headers: Record<string, string>; userMetadata: Record<string, string> } {
  const source = { headers: values };
  const headers: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const v = header(source, name);
    if (v === undefined) continue;
    // aws-chunked describes the request's framing, never the object.
    const kept = name === 'content-encoding' ? v.split(',').map((s) => s.trim()).filter((e) => e && e !== 'aws-chunked').join(', ') : v;
    if (kept) headers[name] = kept;
  }
  const contentType = header(source, 'content-type');
  return { ...(contentType !== undefined ? { contentType } : {}), headers, userMetadata: userMetadata(values) };
}

/** Content type, stored headers, user metadata and tags of a put, an upload or a REPLACE copy. */
export function putOptions(req: S3Request): PutOptions {
  const { contentType, headers, userMetadata: meta } = objectAttributes(req.headers);
  const tagging = header(req, 'x-amz-tagging');
  return {
    contentType: contentType ?? 'binary/octet-stream', headers, userMetadata: meta,
    ...(tagging !== undefined ? { tags: parseTaggingHeader(tagging) } : {}),
  };
}

/** The headers of a GET or HEAD of `record`; a checksum of the whole object only when the whole object is sent. */
export function objectHeaders(record: ObjectRecord, req: S3Request, withChecksums: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    etag: `"${record.etag}"`,
    'last-modified': new Date(record.createdMs).toUTCString(),
    'content-type': record.contentType ?? 'binary/octet-stream',
    'accept-ranges': 'bytes',
    ...(record.headers ?? {}),
  };
  for (const [k, v] of Object.entries(record.userMetadata ?? {})) headers[`x-amz-meta-${k}`] = v;
  if (record.tags?.length) headers['x-amz-tagging-count'] = String(record.tags.length);
  if (withChecksums && header(req, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED') {
    const checksums = Object.entries(record.checksums ?? {});
    for (const [a, v] of checksums) headers[`x-amz-checksum-${a}`] = v;
    if (checksums.length > 0) headers['x-amz-checksum-type'] = record.checksumType ?? 'FULL_OBJECT';
  }
  for (const [param, name] of RESPONSE_OVERRIDES) {
    const v = req.query.get(param);
    if (v !== null) headers[name] = v;
  }
  return headers;
}
