import { describe, expect, it } from 'vitest';

import { IndexCorruptError, mergeListing, mergeVersions, ShelfListing, type IndexReader, type IndexRow } from '../../plugins/metadata-msgpack/listing-index.js';
import { loadListing } from '../../plugins/metadata-msgpack/listing-keeper.js';
import { MemoryDrive } from '../../plugins/drive-memory/index.js';

/** A node's index with `count` keys in 20 folders, on a memory drive's shelf. */
async function index(count: number): Promise<MemoryDrive> {
  const drive = new MemoryDrive(0);
  await loadListing(drive.shelf, 'bkt', Array.from({ length: count }, (_, i) => ({
    key: `dir-${String(i % 20).padStart(2, '0')}/key-${String(i).padStart(5, '0')}`, versionId: '0000000000000001aaaaaaaa', size: i, etag: 'e', modifiedMs: 1,
  })));
  return drive;
}

/** The index a round trip away: every batch waits a little, and the batches asked for are logged. */
function remote(drive: MemoryDrive, log: string[], failAt?: number): IndexReader {
  const listing = new ShelfListing('remote', drive.shelf);
  return {
    path: 'remote', readAhead: true,
    async scan(bucket: string, from: Buffer, limit: number): Promise<IndexRow[]> {
      log.push(`${from.toString('utf8')}|${limit}`);
      await new Promise((r) => setTimeout(r, 2));
      if (log.length === failAt) throw new Error('connection reset');
      return listing.scan(bucket, from, limit);
    },
  };
}

describe('a listing over an index a round trip away', () => {
  it('reads the next batch ahead while it merges this one, and lists exactly what it lists without reading ahead', async () => {
    const drive = await index(3000);
    const near = new ShelfListing('near', drive.shelf);
    const log: string[] = [];
    for (const request of [{ maxKeys: 2500 }, { maxKeys: 40, delimiter: '/' }, { maxKeys: 700, prefix: 'dir-07/' }, { maxKeys: 1000, startAfter: 'dir-03/key-01000' }]) {
      const req = { bucket: 'bkt', ...request };
      expect(await mergeListing([remote(drive, log)], req)).toEqual(await mergeListing([near], req));
      expect(await mergeVersions([remote(drive, log)], req)).toEqual(await mergeVersions([near], req));
    }
    // A long scan asks for each batch once, in order: 64, 256, then 1,024 at a time, the later ones before the merge needs them.
    const sequential: string[] = [];
    await mergeListing([remote(drive, sequential)], { bucket: 'bkt', maxKeys: 2500 });
    expect(sequential.map((s) => Number(s.split('|')[1]))).toEqual([64, 256, 1024, 1024, 1024]);
    expect(new Set(sequential).size).toBe(sequential.length);
  });

  it('a batch read ahead that fails fails the listing when it gets there, as an index fault naming the index, and nothing is left unhandled', async () => {
    const drive = await index(3000);
    const log: string[] = [];
    const reader = remote(drive, log, 3);
    const failed = await mergeListing([reader], { bucket: 'bkt', maxKeys: 2500 }).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(IndexCorruptError);
    expect((failed as IndexCorruptError & { index?: IndexReader }).index).toBe(reader);
    // A listing that stops before the failing batch never meets it.
    const short: string[] = [];
    expect((await mergeListing([remote(drive, short, 3)], { bucket: 'bkt', maxKeys: 100 })).entries).toHaveLength(100);
  });
});
