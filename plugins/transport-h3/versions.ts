import type { ObjectRecord, VersionSelector } from '../../core/contracts/metadata.js';
import type { BucketInfo } from '../../core/engine/buckets.js';
import { expiryOf } from '../../core/engine/lifecycle-rules.js';
import { parseVersionId, type DeleteResult } from '../../core/engine/object-engine.js';
import { isNullVersion, s3VersionId } from '../../core/version-id.js';
import type { Call } from './context.js';

/** The version a request's `versionId` addresses (undefined: the current one). */
export function addressedVersion(call: Call): VersionSelector {
  return parseVersionId(call.req.query.get('versionId'));
}

/** A new version is kept beside the others when the bucket's versioning is enabled. */
export const versionedWrites = (bucket: BucketInfo) => bucket.versioning === 'Enabled';

/** `x-amz-version-id` of a version, where S3 sends one: in buckets that ever had versioning. */
export function versionHeader(bucket: BucketInfo, versionId: string): Record<string, string> {
  return bucket.versioning || !isNullVersion(versionId) ? { 'x-amz-version-id': s3VersionId(versionId) } : {};
}

/** A write answers with its version id only when it made a version beside the others (not a null version). */
export function writtenVersionHeader(versionId: string): Record<string, string> {
  return isNullVersion(versionId) ? {} : { 'x-amz-version-id': versionId };
}

/**
 * What DeleteObject (as headers) and DeleteObjects (as elements) answer: the
 * version removed or the marker added, and whether that is a delete marker —
 * which a bucket that never had versioning does not show.
 */
export function deleteAnswer(bucket: BucketInfo, asked: string | undefined, done: DeleteResult): { versionId?: string; deleteMarker: boolean } {
  const versionId = asked ?? (done.versionId !== undefined ? versionHeader(bucket, done.versionId)['x-amz-version-id'] : undefined);
  return { ...(versionId !== undefined ? { versionId } : {}), deleteMarker: done.deleteMarker && (bucket.versioning !== undefined || asked !== undefined) };
}

/**
 * `x-amz-expiration` of a current version that a lifecycle rule will
 * expire: when (the start of the lifecycle day it is due) and by which rule.
 */
export function expirationHeader(call: Call, bucket: BucketInfo, record: ObjectRecord): Record<string, string> {
  if (!bucket.lifecycle || call.req.query.get('versionId') !== null) return {};
  const due = expiryOf(bucket.lifecycle, { key: record.key, size: record.size, createdMs: record.createdMs, ...(record.tags ? { tags: record.tags } : {}) }, call.services.lifecycleDayMs);
  return due ? { 'x-amz-expiration': `expiry-date="${new Date(due.atMs).toUTCString()}", rule-id="${due.ruleId.replace(/"/g, '%22')}"` } : {};
}
