import { setImmediate as nextTurn } from 'node:timers/promises';

import type { DriveShelf } from '../../core/contracts/drive.js';
import { RECORD_SUFFIX, TOMBSTONE_SUFFIX } from '../../core/layout.js';
import type { IndexEntry } from './listing-index.js';
import { decodeListed, type ListedRecord } from './record-codec.js';

/** What the listing index keeps of a version. */
export function indexEntry(record: ListedRecord): IndexEntry {
  return {
    key: record.key, versionId: record.versionId, size: record.size, etag: record.etag,
    modifiedMs: record.createdMs, ...(record.deleted ? { deleted: true } : {}),
  };
}

/** Items a walk over a shelf reads at a time (inline copies carry up to a 32 KiB shard each: 32 MiB at most). */
const SCAN_BATCH = 1024;

/** What a listing keeps of the readable records and tombstones of one key, newest first, with the key's folder as `id` (the same on every node). */
export interface RecordFolder {
  records: { record: ListedRecord; gone: boolean }[];
  id: string;
}

type Item = { name: string; bytes: Uint8Array };

/**
 * A key's records from its folder's items (names relative to the folder, in
 * order: oldest version first); `first`: only the newest readable one.
 */
function folderRecords(dir: string, items: readonly Item[], first: boolean): RecordFolder | undefined {
  const records: { record: ListedRecord; gone: boolean }[] = [];
  for (let i = items.length - 1; i >= 0; i--) {
    const { name, bytes } = items[i]!;
    const gone = name.endsWith(TOMBSTONE_SUFFIX);
    if (!gone && !name.endsWith(RECORD_SUFFIX)) continue;
    const record = decodeListed(bytes);
    if (!record) continue;
    records.push({ record, gone });
    if (first) break;
  }
  return records.length > 0 ? { records, id: dir } : undefined;
}

/**
 * The records and tombstones of every key on a node, a scan batch of keys at
 * a time (a walk over millions yields thousands of times, not millions),
 * keys in folder order, a turn of the event loop between batches. The next
 * batch is read while the caller works on this one. `first`: only each key's newest readable record. `strict`: a
 * shelf that cannot be read is an error (a rebuild must not call a partial
 * index complete), not the end.
 */
export async function* recordBatches(shelf: DriveShelf, strict: boolean, first: boolean): AsyncIterable<RecordFolder[]> {
  const read = (after: string) => {
    const batch = shelf.scan(after, SCAN_BATCH).catch((err: unknown) => {
      if (strict) throw err;
      return undefined;
    });
    // A walk its caller leaves early never awaits the batch read ahead: its failure is not unhandled.
    batch.catch(() => undefined);
    return batch;
  };
  let next: Promise<Item[] | undefined> | undefined = read('meta/');
  // The folder the last batch ended in: its items may go on in the next one.
  let dir: string | undefined;
  let items: Item[] = [];
  while (next) {
    const batch: Item[] | undefined = await next;
    if (!batch) return;
    const last: string | undefined = batch[batch.length - 1]?.name;
    next = batch.length === SCAN_BATCH && last!.startsWith('meta/') ? read(last!) : undefined;
    const out: RecordFolder[] = [];
    for (const item of batch) {
      if (!item.name.startsWith('meta/')) break;
      const at = item.name.lastIndexOf('/');
      const folder = item.name.slice(0, at);
      if (folder !== dir) {
        const done = dir !== undefined && folderRecords(dir, items, first);
        if (done) out.push(done);
        dir = folder;
        items = [];
      }
      items.push({ name: item.name.slice(at + 1), bytes: item.bytes });
    }
    if (!next) {
      const done = dir !== undefined && folderRecords(dir, items, first);
      if (done) out.push(done);
    }
    // A local shelf answers at once: without a turn of the event loop a walk of millions would hold off
    // every request, and the commits its caller started, until it ends.
    await nextTurn();
    if (out.length > 0) yield out;
  }
}

/** A node's listing index as its records say it should be (a rebuild), a batch at a time: every version, and the tombstones. */
export async function* indexEntries(shelf: DriveShelf): AsyncIterable<{ bucket: string; entry: IndexEntry }[]> {
  for await (const folders of recordBatches(shelf, true, false)) {
    const out: { bucket: string; entry: IndexEntry }[] = [];
    for (const { records } of folders) {
      for (const { record, gone } of records) {
        const entry = indexEntry(record);
        if (gone) entry.gone = true;
        out.push({ bucket: record.bucket, entry });
      }
    }
    yield out;
  }
}
