import { randomBytes } from 'node:crypto';

let lastMs = 0;
let counter = 0;

/**
 * A version id that sorts by creation time as a plain string: 12 hex digits
 * of milliseconds, 4 of a per-process counter (so ids made in the same
 * millisecond by one process keep their order), 8 random (so ids of
 * different processes never collide). Newest version = greatest id, which is
 * how concurrent writers of one key settle who wins: whole, by id.
 */
export function newVersionId(now = Date.now()): string {
  if (now <= lastMs) {
    now = lastMs;
    counter++;
  } else {
    lastMs = now;
    counter = 0;
  }
  return now.toString(16).padStart(12, '0') + (counter & 0xffff).toString(16).padStart(4, '0') + randomBytes(4).toString('hex');
}

export const VERSION_ID_PATTERN = /^[0-9a-f]{24}$/;

/** Milliseconds since the epoch at which a version id was made. */
export function versionTime(versionId: string): number {
  return parseInt(versionId.slice(0, 12), 16);
}
