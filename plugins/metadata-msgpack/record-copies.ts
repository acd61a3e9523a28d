import type { DriveShelf, ShelfRowWrite } from '../../core/contracts/drive.js';
import type { VersionSelector } from '../../core/contracts/metadata.js';
import { RECORD_SUFFIX, recordDir, recordPath, TOMBSTONE_SUFFIX } from '../../core/layout.js';
import { isNullVersion } from '../../core/version-id.js';
import { decodeCopy } from './record-codec.js';

/** The version ids of the record files (RECORD_SUFFIX) or tombstones (TOMBSTONE_SUFFIX) among a folder's names. */
export const idsOf = (names: readonly string[], suffix: string): string[] => names.filter((f) => f.endsWith(suffix)).map((f) => f.slice(0, -suffix.length));

/**
 * Writes a record copy on a node's shelf (a new version's, or one the
 * healer rewrites), with `rows` (its listing entry) in the same commit;
 * `newFolder`: the key had nothing else on the node.
 */
export async function writeCopy(shelf: DriveShelf, path: string, bytes: Uint8Array, rows?: readonly ShelfRowWrite[]): Promise<{ newFolder: boolean }> {
  const [result] = await shelf.put([{ name: path, bytes, askFirst: true }], rows);
  return { newFolder: result!.firstInFolder === true };
}

/** What one node holds of a key: the version asked for, read, and the versions it holds tombstones of. */
export interface NodeCopy {
  /** the copy's bytes as stored (a record, and the node's inline shard) */
  bytes?: Uint8Array;
  gone: string[];
  /** record files that did not decode, newest first (torn, rotten, or still being written) */
  unreadable: string[];
}

/**
 * The record of the version asked for on one node (by default its newest,
 * for `null` its newest null version) that passes its checksum and has no
 * tombstone there.
 */
export async function readCopy(shelf: DriveShelf, bucket: string, key: string, version: VersionSelector): Promise<NodeCopy> {
  const all = await shelf.list(recordDir(bucket, key));
  const gone = idsOf(all, TOMBSTONE_SUFFIX);
  const ids = idsOf(all, RECORD_SUFFIX).filter((id) => !gone.includes(id) && (version === undefined || (version === 'null' ? isNullVersion(id) : id === version)));
  const unreadable: string[] = [];
  for (const id of ids.sort().reverse()) {
    const bytes = (await shelf.get(recordPath(bucket, key, id)))?.bytes;
    if (bytes && decodeCopy(bytes)) return { bytes, gone, unreadable };
    unreadable.push(id);
  }
  return { gone, unreadable };
}
