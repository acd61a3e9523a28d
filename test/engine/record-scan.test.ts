import { afterAll, describe, expect, it } from 'vitest';

import type { DriveShelf } from '../../core/contracts/drive.js';
import type { ObjectRecord } from '../../core/contracts/metadata.js';
import { recordPath, tombstonePath } from '../../core/layout.js';
import { newVersionId } from '../../core/version-id.js';
import { encodeRecord } from '../../plugins/metadata-msgpack/record-codec.js';
import { indexEntries, recordBatches } from '../../plugins/metadata-msgpack/record-scan.js';
import { LocalDrive } from '../../plugins/drive-local/index.js';
import { removeTree, tempDir } from '../helpers/engine.js';

/**
 * A walk over a node's records in batches: what a listing index rebuild
 * writes and the scanner's list of objects come from it.
 */
const folders: string[] = [];
const drives: LocalDrive[] = [];
afterAll(async () => {
  for (const d of drives) await d.close();
  for (const f of folders) await removeTree(f);
});

function record(key: string, versionId: string, size: number, deleted = false): ObjectRecord {
  return {
    bucket: 'bkt', key, versionId, size, etag: `etag-${size}`, createdMs: 1_700_000_000_000 + size, ...(deleted ? { deleted } : {}),
    codec: { k: 4, m: 2, w: 8, technique: 'cauchy_good', packetSize: 2048 }, stripeBytes: 65536, shardNodes: [0, 1, 2, 3, 4, 5], inline: true,
  };
}

async function localShelf(): Promise<DriveShelf> {
  const folder = tempDir('kintsugi-record-scan-');
  folders.push(folder);
  const drive = new LocalDrive(0, folder, false, '');
  drives.push(drive);
  return drive.shelf;
}

/** 2,500 versions of one key (more than two of a walk's batches), 3,000 keys of one version, a tombstone, a rotten copy and an item that is no record. */
async function fill(shelf: DriveShelf): Promise<{ many: string[]; single: string[] }> {
  const items: { name: string; bytes: Uint8Array }[] = [];
  const many = Array.from({ length: 2500 }, (_, i) => newVersionId(1_700_000_000_000 + i, true));
  many.forEach((v, i) => items.push({ name: recordPath('bkt', 'many', v), bytes: encodeRecord(record('many', v, i), Buffer.alloc(100, i)) }));
  const single = Array.from({ length: 3000 }, (_, i) => `key-${String(i).padStart(4, '0')}`);
  single.forEach((k, i) => items.push({ name: recordPath('bkt', k, '0'.repeat(24)), bytes: encodeRecord(record(k, '0'.repeat(24), 10_000 + i)) }));
  const goneVersion = newVersionId(1_600_000_000_000, true);
  items.push({ name: tombstonePath('bkt', 'key-0007', goneVersion), bytes: encodeRecord(record('key-0007', goneVersion, 7, true)) });
  const rotten = Buffer.from(encodeRecord(record('key-0008', newVersionId(1_800_000_000_000, true), 8)));
  rotten[5] = rotten[5]! ^ 0x01;
  items.push({ name: recordPath('bkt', 'key-0008', newVersionId(1_800_000_000_000, true)), bytes: rotten });
  items.push({ name: `${recordPath('bkt', 'key-0009', '0'.repeat(24))}.part`, bytes: Buffer.from('not a record') });
  for (let i = 0; i < items.length; i += 500) await shelf.put(items.slice(i, i + 500));
  return { many, single };
}

describe('walking a node\'s records', () => {
  it('gives every key once, its readable versions newest first — a key whose versions span several batches included — and no rotten copy or other item', async () => {
    const shelf = await localShelf();
    const { many, single } = await fill(shelf);
    const keys = new Map<string, { versionId: string; gone: boolean }[]>();
    for await (const batch of recordBatches(shelf, true, false)) {
      for (const { records, id } of batch) {
        const key = records[0]!.record.key;
        expect(keys.has(key), `${key} given twice`).toBe(false);
        expect(id).toContain('meta/bkt/');
        keys.set(key, records.map((r) => ({ versionId: r.record.versionId, gone: r.gone })));
      }
    }
    expect(keys.size).toBe(1 + single.length);
    expect(keys.get('many')!.map((v) => v.versionId)).toEqual([...many].reverse());
    // A version id of the null version sorts before every other: the tombstone is the newer.
    expect(keys.get('key-0007')).toEqual([{ versionId: expect.any(String), gone: true }, { versionId: '0'.repeat(24), gone: false }]);
    expect(keys.get('key-0008')).toEqual([{ versionId: '0'.repeat(24), gone: false }]);

    const newest = new Map<string, string>();
    for await (const batch of recordBatches(shelf, true, true)) for (const { records } of batch) newest.set(records[0]!.record.key, records[0]!.record.versionId);
    expect(newest.get('many')).toBe(many[many.length - 1]);
    expect(newest.get('key-0008')).toBe('0'.repeat(24));

    // The listing index's rows: one per readable version, the tombstone marked gone.
    let entries = 0;
    for await (const batch of indexEntries(shelf)) {
      for (const { bucket, entry } of batch) {
        entries++;
        expect(bucket).toBe('bkt');
        if (entry.key === 'key-0007' && entry.versionId !== '0'.repeat(24)) expect(entry).toMatchObject({ gone: true, deleted: true, size: 7, etag: 'etag-7' });
        if (entry.key === 'key-0010') expect(entry).toEqual({ key: 'key-0010', versionId: '0'.repeat(24), size: 10_010, etag: 'etag-10010', modifiedMs: 1_700_000_010_010 });
      }
    }
    expect(entries).toBe(many.length + single.length + 1);
  });

  it('turns the event loop between its batches: timers and requests go on while a long walk reads a local shelf', async () => {
    const shelf = await localShelf();
    await fill(shelf);
    let turned = false;
    setImmediate(() => { turned = true; });
    const seen: boolean[] = [];
    for await (const _ of recordBatches(shelf, true, false)) seen.push(turned);
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.slice(1).every(Boolean)).toBe(true);
  });
});
