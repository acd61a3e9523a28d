import type { ObjectRecord } from '../../core/contracts/metadata.js';
import type { BucketInfo } from '../../core/engine/buckets.js';
import { defaultRetentionFrom, RETENTION_MODES, type ObjectLock, type Retention, type RetentionMode } from '../../core/engine/object-lock.js';
import { header, type S3Request } from './context.js';
import { S3Error } from './s3-error.js';

/** S3's timestamp forms for a retain-until date (ISO 8601 with a zone, as the SDKs send it). */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** A retain-until date sent by a client, in milliseconds; InvalidArgument unless it is an ISO 8601 date in the future. */
export function parseRetainUntil(text: string, nowMs: number): number {
  const ms = ISO_DATE.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new S3Error('InvalidArgument', 'The retain until date must be provided in ISO 8601 format');
  if (ms <= nowMs) throw new S3Error('InvalidArgument', 'The retain until date must be in the future!');
  return ms;
}

/** A retention mode sent by a client; `what` names where it came from in the error. */
export function parseRetentionMode(text: string, what: string): RetentionMode {
  if (!(RETENTION_MODES as readonly string[]).includes(text)) throw new S3Error(what === 'header' ? 'InvalidArgument' : 'MalformedXML', `Unknown retention mode ${JSON.stringify(text)}: GOVERNANCE or COMPLIANCE`);
  return text as RetentionMode;
}

/** ON or OFF, as a legal hold is sent. */
export function parseLegalHold(text: string, what: string): boolean {
  if (text !== 'ON' && text !== 'OFF') throw new S3Error(what === 'header' ? 'InvalidArgument' : 'MalformedXML', 'Legal Hold must be either of \'ON\' or \'OFF\'');
  return text === 'ON';
}

/** Refuses an Object Lock request on a bucket that has no Object Lock, as S3 does. */
export function assertLockBucket(bucket: BucketInfo): void {
  if (!bucket.objectLock) throw new S3Error('InvalidRequest', 'Bucket is missing Object Lock Configuration');
}

/**
 * A client asking for S3 to judge governance retention for it: the root
 * user and the USERS= users may (until IAM, which makes it the
 * s3:BypassGovernanceRetention permission); anonymous requests never come
 * this far with a write.
 */
export function bypassGovernance(req: S3Request): boolean {
  return header(req, 'x-amz-bypass-governance-retention')?.toLowerCase() === 'true';
}

/** What a DELETE of a version in `bucket` tells the engine about Object Lock. */
export function deleteLockOptions(req: S3Request, bucket: BucketInfo): { objectLock?: boolean; bypassGovernance?: boolean } {
  return bucket.objectLock ? { objectLock: true, bypassGovernance: bypassGovernance(req) } : {};
}

/**
 * The lock a write asks for: x-amz-object-lock-mode and -retain-until-date
 * (both or neither) and -legal-hold, else (`withDefault`) the bucket's
 * default retention. `withBody`: the request carries the object's bytes,
 * which S3 then wants guarded by Content-MD5 or an x-amz-checksum-* (so a
 * lock never lands on bytes that were damaged in flight).
 */
export function writeLock(req: S3Request, bucket: BucketInfo, nowMs: number, { withBody, withDefault }: { withBody: boolean; withDefault: boolean }): ObjectLock | undefined {
  const mode = header(req, 'x-amz-object-lock-mode');
  const until = header(req, 'x-amz-object-lock-retain-until-date');
  const hold = header(req, 'x-amz-object-lock-legal-hold');
  const rule = withDefault ? bucket.objectLock?.defaultRetention : undefined;
  if (mode === undefined && until === undefined && hold === undefined) return rule ? { retention: defaultRetentionFrom(rule, nowMs) } : undefined;
  assertLockBucket(bucket);
  if ((mode === undefined) !== (until === undefined)) throw new S3Error('InvalidArgument', 'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied');
  if (withBody && !guarded(req)) throw new S3Error('InvalidRequest', 'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters');
  const retention: Retention | undefined = mode !== undefined ? { mode: parseRetentionMode(mode, 'header'), untilMs: parseRetainUntil(until!, nowMs) } : undefined;
  const legalHold = hold !== undefined && parseLegalHold(hold, 'header');
  return {
    ...(retention ? { retention } : rule ? { retention: defaultRetentionFrom(rule, nowMs) } : {}),
    ...(legalHold ? { legalHold } : {}),
  };
}

/** Whether the body is covered by Content-MD5, an x-amz-checksum-* header, or a checksum trailer. */
function guarded(req: S3Request): boolean {
  if (header(req, 'content-md5') !== undefined || header(req, 'x-amz-sdk-checksum-algorithm') !== undefined) return true;
  if (header(req, 'x-amz-trailer')?.toLowerCase().includes('x-amz-checksum-')) return true;
  return Object.keys(req.headers).some((h) => h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-type' && h !== 'x-amz-checksum-mode' && h !== 'x-amz-checksum-algorithm');
}

/** The lock headers of a GET or HEAD of a locked version. */
export function lockHeaders(record: ObjectRecord): Record<string, string> {
  return {
    ...(record.retention ? { 'x-amz-object-lock-mode': record.retention.mode, 'x-amz-object-lock-retain-until-date': retainUntilText(record.retention.untilMs) } : {}),
    ...(record.legalHold ? { 'x-amz-object-lock-legal-hold': 'ON' } : {}),
  };
}

/** A retain-until date as S3 answers it. */
export const retainUntilText = (ms: number): string => new Date(ms).toISOString();
