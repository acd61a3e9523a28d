import { randomHex } from './random-hex.js';

let lastMs = 0;
let counter = 0;

/**
 * A version id that sorts by creation time as a plain string: 12 hex digits
 * of milliseconds, 4 of a per-process counter (so ids made in the same
 * millisecond by one process keep their order), 8 random (so ids of
 * different processes never collide). Newest version = greatest id, which is
 * how concurrent writers of one key settle who wins: whole, by id.
 */
export function newVersionId(now = Date.now(), versioned = false): string {
  if (now <= lastMs) {
    now = lastMs;
    counter++;
  } else {
    lastMs = now;
    counter = 0;
  }
  const random = randomHex(4);
  // A version of a versioning-enabled bucket spells its random part in g-v
  // instead of 0-f: whether a version is the bucket's "null" version is then
  // seen in its id (a file name) without reading its record.
  const tail = versioned ? random.replace(/[0-9a-f]/g, (c) => String.fromCharCode(103 + parseInt(c, 16))) : random;
  return now.toString(16).padStart(12, '0') + (counter & 0xffff).toString(16).padStart(4, '0') + tail;
}

/** Ids of null versions, and of uploads and part attempts. */
export const VERSION_ID_PATTERN = /^[0-9a-f]{24}$/;

/** Ids of versions written while the bucket's versioning was enabled: S3 shows these, `null` for the others. */
export const VERSIONED_ID_PATTERN = /^[0-9a-f]{16}[g-v]{8}$/;

/** Whether a version id is the bucket's null version (written while versioning was not enabled). */
export function isNullVersion(versionId: string): boolean {
  return VERSION_ID_PATTERN.test(versionId);
}

/** The version id S3 clients see. */
export function s3VersionId(versionId: string): string {
  return isNullVersion(versionId) ? 'null' : versionId;
}

/** Milliseconds since the epoch at which a version id was made. */
export function versionTime(versionId: string): number {
  return parseInt(versionId.slice(0, 12), 16);
}
