import { afterAll, describe, expect, it } from 'vitest';

import { FrameFlag, FrameType } from '../../plugins/drive-remote/link/frame.js';
import { STREAM_WINDOW } from '../../plugins/drive-remote/link/operations.js';
import { serveNode } from '../../plugins/drive-remote/node-server.js';
import { RemoteDrive } from '../../plugins/drive-remote/remote-drive.js';
import { MemoryDrive } from '../../plugins/drive-memory/index.js';
import { IndexCorruptError, mergeListing, mergeVersions, ShelfListing, type IndexReader } from '../../plugins/metadata-msgpack/listing-index.js';
import { loadListing } from '../../plugins/metadata-msgpack/listing-keeper.js';
import type { DriveShelf } from '../../core/contracts/drive.js';
import { tempDir } from '../helpers/engine.js';
import { frameType, linkTap } from '../helpers/link-tap.js';

/**
 * Listings over a node on another host: the node pushes the listing
 * index's batches ahead of the merge, within the gateway's credit, and
 * the pages are exactly those of the same index read in place.
 */
const SECRET = 'listing stream secret';
const closers: (() => Promise<unknown> | void)[] = [];
afterAll(async () => { for (const close of closers.splice(0).reverse()) await close(); });

const entries = (count: number) => Array.from({ length: count }, (_, i) => ({
  key: `dir-${String(i % 20).padStart(2, '0')}/key-${String(i).padStart(5, '0')}`, versionId: '0000000000000001aaaaaaaa', size: i, etag: 'e', modifiedMs: 1,
}));

/** A `kintsugi node` in this process whose index holds `count` keys in 20 folders, seen through a tap that logs the frames. */
async function remoteIndex(count: number) {
  const server = await serveNode({ folder: tempDir('kintsugi-stream-'), secret: SECRET, host: '127.0.0.1', port: 0, sync: false });
  closers.push(() => server.close());
  const frames: { dir: string; type: number; flags: number }[] = [];
  const tap = await linkTap(server.port, (dir, frame) => { frames.push({ dir, type: frameType(frame), flags: frame[2]! }); return frame; });
  closers.push(() => tap.close());
  const drive = new RemoteDrive(0, `http://127.0.0.1:${tap.port}`, SECRET, 'cluster-stream');
  closers.push(() => drive.close());
  await drive.probe();
  await loadListing(drive.shelf, 'bkt', entries(count));
  return { drive, tap, frames, reader: new ShelfListing('remote', drive.shelf) };
}

async function localIndex(count: number): Promise<IndexReader> {
  const drive = new MemoryDrive(0);
  await loadListing(drive.shelf, 'bkt', entries(count));
  return new ShelfListing('near', drive.shelf);
}

const replies = (frames: { dir: string; type: number; flags: number }[]) => frames.filter((f) => f.dir === 'to-gateway' && f.type === FrameType.Reply);
const settle = () => new Promise((r) => setTimeout(r, 150));

describe('a listing over a node on another host', () => {
  it('lists exactly what the same index lists read in place, for every kind of page', async () => {
    const { reader } = await remoteIndex(3000);
    const near = await localIndex(3000);
    for (const request of [{ maxKeys: 2500 }, { maxKeys: 40, delimiter: '/' }, { maxKeys: 700, prefix: 'dir-07/' }, { maxKeys: 1000, startAfter: 'dir-03/key-01000' }, { maxKeys: 5, delimiter: '/', startAfter: 'dir-05/' }]) {
      const req = { bucket: 'bkt', ...request };
      expect(await mergeListing([reader], req)).toEqual(await mergeListing([near], req));
      expect(await mergeVersions([reader], req)).toEqual(await mergeVersions([near], req));
    }
  });

  it('asks once for a long scan: the node pushes its batches (64, 256, then 1,024 rows) as credit comes back', async () => {
    const { reader, frames } = await remoteIndex(8000);
    await settle();
    frames.length = 0;
    const page = await mergeListing([reader], { bucket: 'bkt', maxKeys: 2500 });
    expect(page.entries).toHaveLength(2500);
    await settle();
    const calls = frames.filter((f) => f.dir === 'to-node' && f.type === FrameType.Call);
    expect(calls).toHaveLength(1);
    // 64 + 256 + 3 × 1024 rows cover the page, at most STREAM_WINDOW more were on their way; the merge then cancels the rest.
    const batches = replies(frames);
    expect(batches.length).toBeGreaterThanOrEqual(5);
    expect(batches.length).toBeLessThanOrEqual(5 + STREAM_WINDOW);
    expect(batches.every((f) => (f.flags & FrameFlag.More) !== 0)).toBe(true);
    expect(frames.filter((f) => f.dir === 'to-node' && f.type === FrameType.Cancel)).toHaveLength(1);
  });

  it('a reader that stops taking batches holds the node at its window: no more is sent until it takes one', async () => {
    const { drive, frames } = await remoteIndex(3000);
    await settle();
    frames.length = 0;
    const stream = drive.shelf.streamRows('listing', { from: Buffer.from('bkt'), first: 16, most: 16 });
    expect((await stream.next()).rows).toHaveLength(16);
    await settle();
    // The batch taken, STREAM_WINDOW ahead, and one more for the credit the taken batch gave back.
    expect(replies(frames)).toHaveLength(STREAM_WINDOW + 1);
    await settle();
    expect(replies(frames)).toHaveLength(STREAM_WINDOW + 1);
    await stream.next();
    await settle();
    expect(replies(frames)).toHaveLength(STREAM_WINDOW + 2);
    stream.close();
    await settle();
    expect(replies(frames)).toHaveLength(STREAM_WINDOW + 2);
    // The node serves the connection on.
    expect((await drive.shelf.rows('listing', { from: Buffer.from('bkt'), limit: 3 }))).toHaveLength(3);
  });

  it('a stream cut with its connection goes on from just after the last row it gave: nothing lost or repeated', async () => {
    const { drive, tap } = await remoteIndex(3000);
    const whole = await drive.shelf.rows('listing', { from: Buffer.from('bkt'), limit: 5000 });
    const stream = drive.shelf.streamRows('listing', { from: Buffer.from('bkt'), first: 100, most: 100 });
    const got: string[] = [];
    for (let n = 0; ; n++) {
      if (n === 5) tap.cutAll();
      const batch = await stream.next();
      got.push(...batch.rows.map((r) => Buffer.from(r.key).toString('hex')));
      if (batch.last) break;
    }
    expect(got).toEqual(whole.map((r) => Buffer.from(r.key).toString('hex')));
    expect(tap.connections()).toBeGreaterThan(1);
  });

  it('a batch the node fails to read fails the stream with the node\'s error, and the connection serves on', async () => {
    const { drive } = await remoteIndex(100);
    const stream = drive.shelf.streamRows('listing', { from: 'not bytes' as unknown as Uint8Array, first: 4, most: 4 });
    await expect(stream.next()).rejects.toThrow(/node 0/);
    expect((await drive.shelf.rows('listing', { from: Buffer.from('bkt'), limit: 3 }))).toHaveLength(3);
  });

  it('a batch the node cannot read fails the listing as a fault of that index, and the link serves on', async () => {
    const { drive, reader } = await remoteIndex(3000);
    const failing = new ShelfListing('remote', rotAfter(drive.shelf, 2));
    const failed = await mergeListing([failing], { bucket: 'bkt', maxKeys: 2500 }).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(IndexCorruptError);
    expect((failed as IndexCorruptError & { index?: IndexReader }).index).toBe(failing);
    expect((await mergeListing([reader], { bucket: 'bkt', maxKeys: 10 })).entries).toHaveLength(10);
  });
});

/** The shelf as it would read if the node's rows rotted from the n-th batch of a stream on (a rotten row reads with no value). */
function rotAfter(shelf: DriveShelf, n: number): DriveShelf {
  return {
    ...shelf,
    streamRows: (table, range) => {
      const inner = shelf.streamRows(table, range);
      let batches = 0;
      return {
        next: async () => {
          const batch = await inner.next();
          return ++batches < n ? batch : { ...batch, rows: batch.rows.map((r) => ({ key: r.key, value: undefined })) };
        },
        close: () => inner.close(),
      };
    },
  };
}
