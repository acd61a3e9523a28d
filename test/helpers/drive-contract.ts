import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import type { Drive } from '../../core/contracts/drive.js';

/**
 * The Drive contract as a suite: what every Drive must do. Each
 * implementation's test file calls it with a way to open a fresh drive
 * (unstorage's testDriver is the model).
 */
export function testDrive(name: string, open: () => Promise<Drive>): void {
  describe(`${name} drive`, () => {
    it('a writer commits at the path given at creation', async () => {
      const drive = await open();
      const w = await drive.createWriter('data/a/file');
      await w.write(Buffer.from('hello'));
      expect(await drive.readFile('data/a/file')).toBeUndefined();
      await w.commit();
      expect(Buffer.from((await drive.readFile('data/a/file'))!).toString()).toBe('hello');
    });

    it('a writer commits at a path chosen only at commit, and nothing is left at the first one', async () => {
      const drive = await open();
      const w = await drive.createWriter('data/staging/part.0');
      await w.write(Buffer.from('world'), 0);
      await w.commit('data/0000000000000001/part.0');
      expect(Buffer.from((await drive.readFile('data/0000000000000001/part.0'))!).toString()).toBe('world');
      expect(await drive.readFile('data/staging/part.0')).toBeUndefined();
    });

    it('an aborted writer leaves the path as it was', async () => {
      const drive = await open();
      await drive.writeFile('data/kept', Buffer.from('old'));
      const w = await drive.createWriter('data/kept');
      await w.write(Buffer.from('new'));
      await w.abort();
      expect(Buffer.from((await drive.readFile('data/kept'))!).toString()).toBe('old');
    });

    it('createFile refuses to replace an existing file (the key locks rely on it)', async () => {
      const drive = await open();
      expect((await drive.createFile('locks/b/k', Buffer.from('1'))).newFolder).toBe(true);
      await expect(drive.createFile('locks/b/k', Buffer.from('2'))).rejects.toMatchObject({ code: 'EEXIST' });
      await drive.remove('locks/b/k');
      await drive.createFile('locks/b/k', Buffer.from('3'));
    });

    it('reads whole files and byte ranges of open files, which stay readable after the path is removed', async () => {
      const drive = await open();
      const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
      await drive.writeFile('data/r/big', data);
      expect(Buffer.from((await drive.readFile('data/r/big'))!).equals(data)).toBe(true);
      const file = (await drive.open('data/r/big'))!;
      expect(file.size).toBe(data.length);
      await drive.remove('data/r/big');
      expect(Buffer.from(await file.read(1000, 5000)).equals(data.subarray(1000, 6000))).toBe(true);
      expect((await file.read(data.length - 10, 100)).byteLength).toBe(10);
      await file.close();
      expect(await drive.open('data/r/big')).toBeUndefined();
      expect(await drive.readFile('data/r/big')).toBeUndefined();
    });

    it('reads a range into a buffer the reader gives, answering with a view of it', async () => {
      const drive = await open();
      // Larger than the node link's read piece (4 MiB): a read in several pieces lands in one buffer too.
      const data = Buffer.alloc((9 << 20) + 123);
      for (let i = 0; i < data.length; i++) data[i] = i % 241;
      const w = await drive.createWriter('data/r/into');
      for (let at = 0; at < data.length; at += 1 << 20) await w.write(data.subarray(at, at + (1 << 20)), at);
      await w.commit();
      const file = (await drive.open('data/r/into'))!;
      const into = Buffer.alloc(8192, 0xee);
      const got = await file.read(500, 4096, into);
      expect(got.buffer).toBe(into.buffer);
      expect(got.byteOffset).toBe(into.byteOffset);
      expect(Buffer.from(got).equals(data.subarray(500, 4596))).toBe(true);
      expect(into.subarray(4096).every((b) => b === 0xee)).toBe(true);
      // At the end of the file: fewer bytes, still in the buffer given.
      const tail = await file.read(data.length - 10, 4096, into);
      expect(tail.byteLength).toBe(10);
      expect(tail.buffer).toBe(into.buffer);
      expect(Buffer.from(tail).equals(data.subarray(data.length - 10))).toBe(true);
      const whole = Buffer.alloc(data.length + 64);
      const all = await file.read(0, data.length, whole);
      expect(all.buffer).toBe(whole.buffer);
      expect(Buffer.from(all).equals(data)).toBe(true);
      await file.close();
    });

    it('positional writes in flight together land where they were aimed', async () => {
      const drive = await open();
      const w = await drive.createWriter('data/p/file');
      const blocks = Array.from({ length: 8 }, (_, i) => Buffer.alloc(4096, i + 1));
      await Promise.all(blocks.map((b, i) => w.write(b, i * 4096)).reverse());
      await w.commit();
      expect(Buffer.from((await drive.readFile('data/p/file'))!).equals(Buffer.concat(blocks))).toBe(true);
    });

    it('a writer may reuse its buffer once a write resolves: several MiB of blocks, in order and out of order, land intact', async () => {
      const drive = await open();
      const w = await drive.createWriter('data/q/file');
      const block = Buffer.alloc(300 * 1024);
      const expected: Buffer[] = [];
      // In order: one buffer, refilled after every write (as the stripe writer reuses its stripes).
      for (let i = 0; i < 12; i++) {
        block.fill(i + 1);
        expected.push(Buffer.from(block));
        await w.write(block, i * block.byteLength);
      }
      // Then a block earlier in the file is written again, out of order.
      block.fill(99);
      expected[3] = Buffer.from(block);
      await w.write(block, 3 * block.byteLength);
      await w.commit();
      expect(Buffer.from((await drive.readFile('data/q/file'))!).equals(Buffer.concat(expected))).toBe(true);
    });

    it('stats, lists, renames (a missing source is an error) and removes trees (a missing one is not)', async () => {
      const drive = await open();
      await drive.writeFile('meta/b/x/1.rec', Buffer.from('one'));
      await drive.writeFile('meta/b/x/2.rec', Buffer.from('two'));
      expect((await drive.list('meta/b/x')).sort()).toEqual(['1.rec', '2.rec']);
      expect(await drive.list('meta/none')).toEqual([]);
      const st = (await drive.stat('meta/b/x/1.rec'))!;
      expect([st.size, st.isDirectory]).toEqual([3, false]);
      expect((await drive.stat('meta/b/x'))!.isDirectory).toBe(true);
      expect(await drive.stat('meta/b/none')).toBeUndefined();
      await drive.rename('meta/b/x', 'meta/b/y');
      expect((await drive.list('meta/b/y')).sort()).toEqual(['1.rec', '2.rec']);
      await expect(drive.rename('meta/b/x', 'meta/b/z')).rejects.toBeDefined();
      await drive.remove('meta/b');
      await drive.remove('meta/b');
      expect(await drive.list('meta/b/y')).toEqual([]);
    });

    it('keeps small items on its shelf: put (whether first in its folder when asked, or left when asked to), get with the time, list, remove', async () => {
      const drive = await open();
      const before = Date.now();
      const [first, second] = await drive.shelf.put([
        { name: 'meta/b/k/1.rec', bytes: Buffer.from('one'), askFirst: true },
        { name: 'meta/b/k/2.rec', bytes: Buffer.from('two'), askFirst: true },
      ]);
      expect([first, second]).toEqual([{ written: true, firstInFolder: true }, { written: true, firstInFolder: false }]);
      const item = (await drive.shelf.get('meta/b/k/1.rec'))!;
      expect(Buffer.from(item.bytes).toString()).toBe('one');
      expect(item.mtimeMs).toBeGreaterThanOrEqual(before - 1);
      expect(await drive.shelf.put([{ name: 'meta/b/k/1.rec', bytes: Buffer.from('uno'), ifAbsent: true, askFirst: true }])).toEqual([{ written: false, firstInFolder: false }]);
      expect(Buffer.from((await drive.shelf.get('meta/b/k/1.rec'))!.bytes).toString()).toBe('one');
      // Not asked, a put does not look at its folder.
      expect(await drive.shelf.put([{ name: 'meta/b/k/1.rec', bytes: Buffer.from('uno') }])).toEqual([{ written: true }]);
      expect(Buffer.from((await drive.shelf.get('meta/b/k/1.rec'))!.bytes).toString()).toBe('uno');
      // A folder is a name prefix up to '/': meta/b/k2 is not inside meta/b/k.
      await drive.shelf.put([{ name: 'meta/b/k2/1.rec', bytes: Buffer.from('other') }]);
      expect(await drive.shelf.list('meta/b/k')).toEqual(['1.rec', '2.rec']);
      expect(await drive.shelf.list('meta/none')).toEqual([]);
      expect(await drive.shelf.get('meta/b/k/3.rec')).toBeUndefined();
      await drive.shelf.remove(['meta/b/k/1.rec', 'meta/b/k/never']);
      expect(await drive.shelf.list('meta/b/k')).toEqual(['2.rec']);
      // Nothing of the shelf shows among the node's files.
      expect(await drive.list('meta/b/k')).toEqual([]);
    });

    it('counts an item first in its folder when the folder is empty, however its neighbours are filled or emptied', async () => {
      const drive = await open();
      // Neighbours on both sides in key order, and a folder whose name extends this one's.
      await drive.shelf.put([{ name: 'meta/f/a/1.rec', bytes: Buffer.from('before') }, { name: 'meta/f/c/1.rec', bytes: Buffer.from('after') }, { name: 'meta/f/b2/1.rec', bytes: Buffer.from('longer') }]);
      expect(await drive.shelf.put([{ name: 'meta/f/b/1.rec', bytes: Buffer.from('x'), askFirst: true }])).toEqual([{ written: true, firstInFolder: true }]);
      expect(await drive.shelf.put([{ name: 'meta/f/b/0.rec', bytes: Buffer.from('y'), askFirst: true }])).toEqual([{ written: true, firstInFolder: false }]);
      await drive.shelf.remove(['meta/f/b/1.rec']);
      expect(await drive.shelf.put([{ name: 'meta/f/b/2.rec', bytes: Buffer.from('z'), askFirst: true }])).toEqual([{ written: true, firstInFolder: false }]);
      // Emptied, the folder's next item is first again.
      await drive.shelf.remove(['meta/f/b/0.rec', 'meta/f/b/2.rec']);
      expect(await drive.shelf.put([{ name: 'meta/f/b/3.rec', bytes: Buffer.from('again'), askFirst: true }])).toEqual([{ written: true, firstInFolder: true }]);
      expect(await drive.shelf.list('meta/f/b')).toEqual(['3.rec']);
    });

    it('takes many concurrent shelf puts, every one readable once it resolves, and walks them all in order', async () => {
      const drive = await open();
      const names = Array.from({ length: 300 }, (_, i) => `meta/walk/${String(i).padStart(3, '0')}/v.rec`);
      const results = await Promise.all(names.map((name, i) => drive.shelf.put([{ name, bytes: Buffer.alloc(100 + i, i % 251), askFirst: true }])));
      expect(results.every(([r]) => r!.written && r!.firstInFolder)).toBe(true);
      for (const [i, name] of names.entries()) expect(Buffer.from((await drive.shelf.get(name))!.bytes).equals(Buffer.alloc(100 + i, i % 251))).toBe(true);
      const walked: { name: string; bytes: Uint8Array }[] = [];
      for (let after = 'meta/walk/'; ;) {
        const batch = await drive.shelf.scan(after, 64);
        walked.push(...batch.filter((b) => b.name.startsWith('meta/walk/')));
        if (batch.length < 64) break;
        after = batch[batch.length - 1]!.name;
      }
      expect(walked.map((w) => w.name)).toEqual(names);
      // What a walk gave stays as it was through later walks and writes (a drive may share buffers between values).
      await drive.shelf.put(names.slice(0, 100).map((name) => ({ name, bytes: Buffer.alloc(50, 0xee) })));
      await drive.shelf.scan('meta/walk/', 300);
      for (const [i, { bytes }] of walked.entries()) expect(Buffer.from(bytes).equals(Buffer.alloc(100 + i, i % 251)), names[i]).toBe(true);
      // Small values and large ones walked together.
      const large = randomBytes(300 << 10);
      await drive.shelf.put([{ name: 'meta/walk0/a.rec', bytes: Buffer.from('small') }, { name: 'meta/walk0/b.rec', bytes: large }, { name: 'meta/walk0/c.rec', bytes: Buffer.from('after') }]);
      expect((await drive.shelf.scan('meta/walk/~', 3)).map((i) => Buffer.from(i.bytes))).toEqual([Buffer.from('small'), large, Buffer.from('after')]);
    });

    it('keeps tables of ordered rows beside its items, written in the same put or remove, in key byte order, apart from items and other tables', async () => {
      const drive = await open();
      const key = (...bytes: number[]) => Uint8Array.from(bytes);
      const text = (rows: { key: Uint8Array; value: Uint8Array | undefined }[]) => rows.map((r) => [Buffer.from(r.key).toString('hex'), r.value && Buffer.from(r.value).toString()]);
      await drive.shelf.put([{ name: 'rec/a/1.rec', bytes: Buffer.from('record') }], [
        { table: 'idx', key: key(2, 0xff), value: Buffer.from('b') },
        { table: 'idx', key: key(1), value: Buffer.from('a') },
        { table: 'idx', key: key(3), value: Buffer.from('c') },
        { table: 'other', key: key(1), value: Buffer.from('x') },
      ]);
      expect(text(await drive.shelf.rows('idx', { from: key(), limit: 10 }))).toEqual([['01', 'a'], ['02ff', 'b'], ['03', 'c']]);
      expect(text(await drive.shelf.rows('idx', { from: key(2), to: key(3), limit: 10 }))).toEqual([['02ff', 'b']]);
      expect(text(await drive.shelf.rows('idx', { from: key(1), limit: 2 }))).toEqual([['01', 'a'], ['02ff', 'b']]);
      expect(text(await drive.shelf.rows('other', { from: key(), limit: 10 }))).toEqual([['01', 'x']]);
      expect(await drive.shelf.rows('none', { from: key(), limit: 10 })).toEqual([]);
      // Rows are neither items nor walked with them.
      // (A drive in a store also holds the cluster layout.)
      expect((await drive.shelf.scan('', 100)).map((i) => i.name).filter((n) => !n.startsWith('cluster/'))).toEqual(['rec/a/1.rec']);
      // A row starting with the byte named stays; others are replaced; a write without a value removes.
      await drive.shelf.put([], [
        { table: 'idx', key: key(1), value: Buffer.from('A'), unlessFirstByte: 'a'.charCodeAt(0) },
        { table: 'idx', key: key(3), value: Buffer.from('C'), unlessFirstByte: 'x'.charCodeAt(0) },
      ]);
      await drive.shelf.remove(['rec/a/1.rec'], [{ table: 'idx', key: key(2, 0xff) }]);
      expect(text(await drive.shelf.rows('idx', { from: key(), limit: 10 }))).toEqual([['01', 'a'], ['03', 'C']]);
      // A removal only of rot leaves a sound row (a sweep must not take a row rewritten since it read it).
      await drive.shelf.remove([], [{ table: 'idx', key: key(1), onlyIfRotten: true }]);
      expect(text(await drive.shelf.rows('idx', { from: key(), limit: 10 }))).toEqual([['01', 'a'], ['03', 'C']]);
      expect(await drive.shelf.get('rec/a/1.rec')).toBeUndefined();
    });

    it('streams a table\'s rows in key order, in batches growing from the first size to the most, ending with one marked last', async () => {
      const drive = await open();
      const key = (i: number) => Buffer.from(`k${String(i).padStart(5, '0')}`);
      const rows = Array.from({ length: 700 }, (_, i) => ({ table: 'big', key: key(i), value: Buffer.from(`v${i}`) }));
      await drive.shelf.put([], rows);
      await drive.shelf.put([], [{ table: 'big', key: Buffer.from('z-after-the-range'), value: Buffer.from('out') }]);
      const stream = drive.shelf.streamRows('big', { from: key(10), to: Buffer.from('z'), first: 8, most: 256 });
      const sizes: number[] = [];
      const got: string[] = [];
      for (;;) {
        const batch = await stream.next();
        sizes.push(batch.rows.length);
        got.push(...batch.rows.map((r) => `${Buffer.from(r.key).toString()}=${Buffer.from(r.value!).toString()}`));
        if (batch.last) break;
      }
      // 690 rows: 8, 32, 128, 256, 256, then the 10 left.
      expect(sizes).toEqual([8, 32, 128, 256, 256, 10]);
      expect(got).toEqual(rows.slice(10).map((r, i) => `${r.key.toString()}=v${i + 10}`));
      expect(await stream.next()).toEqual({ rows: [], last: true });
      // A range that ends on a full batch ends with an empty last one.
      const exact = drive.shelf.streamRows('big', { from: key(0), to: key(8), first: 8, most: 8 });
      expect((await exact.next()).rows).toHaveLength(8);
      expect(await exact.next()).toEqual({ rows: [], last: true });
      // Closed early: the stream gives nothing more, and the drive serves on.
      const early = drive.shelf.streamRows('big', { from: key(0), first: 4, most: 4 });
      expect((await early.next()).rows.map((r) => Buffer.from(r.key).toString())).toEqual(['k00000', 'k00001', 'k00002', 'k00003']);
      early.close();
      expect(await drive.shelf.rows('big', { from: key(699), limit: 1 })).toHaveLength(1);
      const none = drive.shelf.streamRows('none', { from: key(0), first: 4, most: 4 });
      expect(await none.next()).toEqual({ rows: [], last: true });
    });

    it('a probe passes on a sound node, tells the space its file system has, and leaves nothing behind', async () => {
      const drive = await open();
      const space = await drive.probe();
      expect(space.totalBytes).toBeGreaterThan(0);
      expect(space.freeBytes).toBeGreaterThan(0);
      expect(space.freeBytes).toBeLessThanOrEqual(space.totalBytes);
      await drive.probe();
      expect((await drive.list('.tmp')).filter((f) => f.startsWith('probe-'))).toEqual([]);
    });
  });
}
