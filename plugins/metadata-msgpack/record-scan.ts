import type { Drive } from '../../core/contracts/drive.js';
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

/**
 * The readable records and tombstones of every key on a node, newest
 * first, with the key's folder (bucket/hash) as `id`; `first`: only the
 * newest readable one. `strict`: a folder that cannot be read is an error
 * (a rebuild must not call a partial index complete), not skipped.
 */
export async function* recordFolders(drive: Drive, strict: boolean, first: boolean): AsyncIterable<{ records: { record: ObjectRecord; gone: boolean }[]; id: string }> {
  const list = (dir: string) => (strict ? drive.list(dir) : drive.list(dir).catch(() => [] as string[]));
  for (const bucket of await list('meta')) {
    for (const fan of await list(`meta/${bucket}`)) {
      for (const rest of await list(`meta/${bucket}/${fan}`)) {
        const dir = `meta/${bucket}/${fan}/${rest}`;
        const names = (await list(dir)).filter((f) => f.endsWith(RECORD_SUFFIX) || f.endsWith(TOMBSTONE_SUFFIX)).sort().reverse();
        const records: { record: ObjectRecord; gone: boolean }[] = [];
        for (const name of names) {
          const bytes = await drive.readFile(`${dir}/${name}`).catch((err: unknown) => { if (strict) throw err; return undefined; });
          const record = bytes && decodeRecord(bytes);
          if (!record) continue;
          records.push({ record, gone: name.endsWith(TOMBSTONE_SUFFIX) });
          if (first) break;
        }
        if (records.length > 0) yield { records, id: `${bucket}/${fan}${rest}` };
      }
    }
  }
}

/** A node's listing index as its records say it should be (a rebuild): every version, and the tombstones. */
export async function* indexEntries(drive: Drive): AsyncIterable<{ bucket: string; entry: IndexEntry }> {
  for await (const { records } of recordFolders(drive, true, false)) {
    for (const { record, gone } of records) yield { bucket: record.bucket, entry: { ...indexEntry(record), ...(gone ? { gone } : {}) } };
  }
}
