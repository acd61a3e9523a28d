import type { DriveShelf } from '../../core/contracts/drive.js';
import type { ObjectRecord } from '../../core/contracts/metadata.js';
import { RECORD_SUFFIX, TOMBSTONE_SUFFIX } from '../../core/layout.js';
import type { IndexEntry } from './listing-index.js';
import { decodeRecord } from './record-codec.js';

/** What the listing index keeps of a version. */
export function indexEntry(record: ObjectRecord): IndexEntry {
  return {
    key: record.key, versionId: record.versionId, size: record.size, etag: record.etag,
    modifiedMs: record.createdMs, ...(record.deleted ? { deleted: true } : {}),
  };
}

/** Items a walk over a shelf reads at a time (inline copies carry up to a 32 KiB shard each: 32 MiB at most). */
const SCAN_BATCH = 1024;

/** The records and tombstones on a node's shelf, a key's folder at a time, names in order. */
async function* shelfFolders(shelf: DriveShelf, strict: boolean): AsyncIterable<{ dir: string; items: { name: string; bytes: Uint8Array }[] }> {
  let after = 'meta/';
  let dir: string | undefined;
  let items: { name: string; bytes: Uint8Array }[] = [];
  for (;;) {
    let batch: { name: string; bytes: Uint8Array }[];
    try {
      batch = await shelf.scan(after, SCAN_BATCH);
    } catch (err) {
      if (strict) throw err;
      return;
    }
    for (const item of batch) {
      if (!item.name.startsWith('meta/')) break;
      const at = item.name.lastIndexOf('/');
      const folder = item.name.slice(0, at);
      if (folder !== dir) {
        if (items.length > 0) yield { dir: dir!, items };
        dir = folder;
        items = [];
      }
      items.push({ name: item.name.slice(at + 1), bytes: item.bytes });
    }
    const last = batch[batch.length - 1]?.name;
    if (batch.length < SCAN_BATCH || !last!.startsWith('meta/')) break;
    after = last!;
  }
  if (items.length > 0) yield { dir: dir!, items };
}

/**
 * The readable records and tombstones of every key on a node, newest
 * first, with the key's folder (bucket/hash) as `id`; `first`: only the
 * newest readable one. `strict`: a shelf that cannot be read is an error
 * (a rebuild must not call a partial index complete), not the end.
 */
export async function* recordFolders(shelf: DriveShelf, strict: boolean, first: boolean): AsyncIterable<{ records: { record: ObjectRecord; gone: boolean }[]; id: string }> {
  for await (const { dir, items } of shelfFolders(shelf, strict)) {
    const records: { record: ObjectRecord; gone: boolean }[] = [];
    for (const { name, bytes } of items.reverse()) {
      if (!name.endsWith(RECORD_SUFFIX) && !name.endsWith(TOMBSTONE_SUFFIX)) continue;
      const record = decodeRecord(bytes);
      if (!record) continue;
      records.push({ record, gone: name.endsWith(TOMBSTONE_SUFFIX) });
      if (first) break;
    }
    // meta/<bucket>/<fan>/<rest>: the key's folder, as an id
    const [, bucket, fan, rest] = dir.split('/');
    if (records.length > 0) yield { records, id: `${bucket}/${fan}${rest}` };
  }
}

/** A node's listing index as its records say it should be (a rebuild): every version, and the tombstones. */
export async function* indexEntries(shelf: DriveShelf): AsyncIterable<{ bucket: string; entry: IndexEntry }> {
  for await (const { records } of recordFolders(shelf, true, false)) {
    for (const { record, gone } of records) yield { bucket: record.bucket, entry: { ...indexEntry(record), ...(gone ? { gone } : {}) } };
  }
}
