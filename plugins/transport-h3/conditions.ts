import type { ObjectRecord } from '../../core/contracts/metadata.js';
import type { WriteCondition } from '../../core/engine/object-engine.js';
import { NoSuchKeyError } from '../../core/errors.js';
import { header, type S3Request } from './context.js';
import { S3Error } from './s3-error.js';

/** Whether an If-Match / If-None-Match list names the record's ETag (quoted or not) or `*`. */
function listed(list: string, record: ObjectRecord): boolean {
  const etag = `"${record.etag}"`;
  return list.split(',').map((s) => s.trim()).some((t) => t === '*' || t === etag || t === record.etag || t === `W/${etag}`);
}

/** Last-Modified as HTTP dates carry it: whole seconds. */
const modifiedSecond = (record: ObjectRecord) => Math.floor(record.createdMs / 1000) * 1000;

/**
 * RFC 7232 preconditions of a GET or HEAD: returns true for 304 Not
 * Modified, throws 412 PreconditionFailed. If-Match wins over
 * If-Unmodified-Since and If-None-Match over If-Modified-Since, as in S3.
 */
export function checkReadConditions(req: S3Request, record: ObjectRecord): boolean {
  const modified = modifiedSecond(record);
  const ifMatch = header(req, 'if-match');
  const ifNoneMatch = header(req, 'if-none-match');
  const ifModifiedSince = header(req, 'if-modified-since');
  const ifUnmodifiedSince = header(req, 'if-unmodified-since');
  if (ifMatch !== undefined && !listed(ifMatch, record)) throw new S3Error('PreconditionFailed');
  if (ifMatch === undefined && ifUnmodifiedSince !== undefined && modified > Date.parse(ifUnmodifiedSince)) throw new S3Error('PreconditionFailed');
  if (ifNoneMatch !== undefined) return listed(ifNoneMatch, record);
  if (ifModifiedSince !== undefined && !Number.isNaN(Date.parse(ifModifiedSince))) return modified <= Date.parse(ifModifiedSince);
  return false;
}

/** x-amz-copy-source-if-* preconditions of a copy: each failure is 412 PreconditionFailed. */
export function checkCopyConditions(req: S3Request, source: ObjectRecord): void {
  const modified = modifiedSecond(source);
  const match = header(req, 'x-amz-copy-source-if-match');
  const noneMatch = header(req, 'x-amz-copy-source-if-none-match');
  const since = header(req, 'x-amz-copy-source-if-modified-since');
  const unmodified = header(req, 'x-amz-copy-source-if-unmodified-since');
  if (match !== undefined && !listed(match, source)) throw new S3Error('PreconditionFailed');
  if (noneMatch !== undefined && listed(noneMatch, source)) throw new S3Error('PreconditionFailed');
  if (unmodified !== undefined && modified > Date.parse(unmodified)) throw new S3Error('PreconditionFailed');
  if (since !== undefined && modified <= Date.parse(since)) throw new S3Error('PreconditionFailed');
}

/**
 * The condition of a conditional write (PutObject, CompleteMultipartUpload,
 * CopyObject, DeleteObject): `If-None-Match: *` (create only) and
 * `If-Match: "<etag>"` (replace only that version). The engine checks it
 * against the current version with the key locked, just before committing.
 * Undefined when the request has none.
 */
export function writeCondition(req: S3Request, bucket: string, key: string, allowNoneMatch = true): WriteCondition | undefined {
  const ifMatch = header(req, 'if-match');
  const ifNoneMatch = header(req, 'if-none-match');
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  if (ifNoneMatch !== undefined && (!allowNoneMatch || ifNoneMatch.trim() !== '*')) {
    throw new S3Error('NotImplemented', 'If-None-Match is only implemented with the value * on writes');
  }
  return (current) => {
    if (ifNoneMatch !== undefined && current) throw new S3Error('PreconditionFailed');
    if (ifMatch !== undefined) {
      if (!current) throw new NoSuchKeyError(bucket, key);
      if (!listed(ifMatch, current)) throw new S3Error('PreconditionFailed');
    }
  };
}
