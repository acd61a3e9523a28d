import { createHash } from 'node:crypto';

/**
 * Where an object's files live on a node. Keys never become paths: a key may
 * be 1024 bytes of any unicode with `../`, `//` or leading slashes, so the
 * path is built from a SHA-256 of bucket and key, fanned out over 256
 * folders. Bucket names are validated S3 names ([a-z0-9.-]), safe as a path
 * segment.
 */
export function objectHash(bucket: string, key: string): string {
  return createHash('sha256').update(bucket).update('\n').update(key).digest('hex');
}

function fanOut(bucket: string, key: string): string {
  const h = objectHash(bucket, key);
  return `${bucket}/${h.slice(0, 2)}/${h.slice(2)}`;
}

/** Folder of an object's metadata records, one file per version. */
export function recordDir(bucket: string, key: string): string {
  return `meta/${fanOut(bucket, key)}`;
}

export function recordPath(bucket: string, key: string, versionId: string): string {
  return `${recordDir(bucket, key)}/${versionId}${RECORD_SUFFIX}`;
}

export const RECORD_SUFFIX = '.rec';

/** A version deleted for good leaves this file in place of its record, so that a node that missed the delete cannot bring it back. */
export function tombstonePath(bucket: string, key: string, versionId: string): string {
  return `${recordDir(bucket, key)}/${versionId}${TOMBSTONE_SUFFIX}`;
}

export const TOMBSTONE_SUFFIX = '.gone';

/** Folder of an object's shard files, one sub-folder per version. */
export function objectDir(bucket: string, key: string): string {
  return `data/${fanOut(bucket, key)}`;
}

/** Shard i of the span stored in `dir` (a version id, or `<versionId>/<part>` for multipart). */
export function shardPath(bucket: string, key: string, dir: string, shard: number): string {
  return `${objectDir(bucket, key)}/${dir}/part.${shard}`;
}

/** Where the parts of an upload in progress are written; renamed to the version's folder on completion. */
export function uploadDir(uploadId: string): string {
  return `u-${uploadId}`;
}

/** Upload state (one small file per upload, and one per part attempt) on every node. */
export function uploadRecordPath(bucket: string, uploadId: string): string {
  return `uploads/${bucket}/${uploadId}`;
}

export function partRecordDir(bucket: string, uploadId: string): string {
  return `uploads/${bucket}/${uploadId}.parts`;
}

/** What a completed upload answered, kept for clients that retry the completion. */
export function completedRecordPath(bucket: string, uploadId: string): string {
  return `uploads/${bucket}/${uploadId}.done`;
}

/** A bucket's newest usage count (core/engine/bucket-usage.ts), on every node. */
export function usageRecordPath(bucket: string): string {
  return `usage/${bucket}`;
}

/** The bytes one process committed into a bucket with a quota (core/engine/bucket-usage.ts), on every node. */
export function usageLedgerDir(bucket: string): string {
  return `usage-ledger/${bucket}`;
}

export function usageLedgerPath(bucket: string, writer: string): string {
  return `${usageLedgerDir(bucket)}/${writer}`;
}

/** A key's lock file (core/engine/key-lock.ts), on its metadata nodes. */
export function lockPath(bucket: string, key: string): string {
  return `locks/${bucket}/${objectHash(bucket, key)}`;
}

/** Where a node's files being written wait for their commit (removed by the healer when abandoned). */
export const TMP_DIR = '.tmp';

/** Where `kintsugi demo` puts its shard files on a node (removed when it ends). */
export const DEMO_DIR = 'demo';

export function demoShardPath(stripe: number, shard: number): string {
  return `${DEMO_DIR}/${stripe}.${shard}`;
}
