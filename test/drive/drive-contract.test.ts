import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import type { Drive } from '../../core/contracts/drive.js';
import { QUARANTINE_DIR, SHELF_FILE } from '../../core/layout.js';
import { openLocalNodes } from '../../plugins/drive-local/index.js';
import { GuardedDrive } from '../../core/guarded-drive.js';
import { NodeHealth } from '../../core/node-health.js';
import { RemoteDrive } from '../../plugins/drive-remote/remote-drive.js';
import { serveNode } from '../../server/node-serve.js';
import { TOKENS } from '../../core/tokens.js';
import { openStore, tempDir } from '../helpers/engine.js';

const silent = { info() {}, warn() {}, error() {} };

/**
 * What every Drive must do, run against each implementation.
 */
function describeDrive(name: string, open: () => Promise<Drive>) {
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

    it('keeps small items on its shelf: put (whether first in its folder, or left when asked to), get with the time, list, remove', async () => {
      const drive = await open();
      const before = Date.now();
      const [first, second] = await drive.shelf.put([
        { name: 'meta/b/k/1.rec', bytes: Buffer.from('one') },
        { name: 'meta/b/k/2.rec', bytes: Buffer.from('two') },
      ]);
      expect([first, second]).toEqual([{ written: true, firstInFolder: true }, { written: true, firstInFolder: false }]);
      const item = (await drive.shelf.get('meta/b/k/1.rec'))!;
      expect(Buffer.from(item.bytes).toString()).toBe('one');
      expect(item.mtimeMs).toBeGreaterThanOrEqual(before - 1);
      expect(await drive.shelf.put([{ name: 'meta/b/k/1.rec', bytes: Buffer.from('uno'), ifAbsent: true }])).toEqual([{ written: false, firstInFolder: false }]);
      expect(Buffer.from((await drive.shelf.get('meta/b/k/1.rec'))!.bytes).toString()).toBe('one');
      await drive.shelf.put([{ name: 'meta/b/k/1.rec', bytes: Buffer.from('uno') }]);
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

    it('takes many concurrent shelf puts, every one readable once it resolves, and walks them all in order', async () => {
      const drive = await open();
      const names = Array.from({ length: 300 }, (_, i) => `meta/walk/${String(i).padStart(3, '0')}/v.rec`);
      const results = await Promise.all(names.map((name, i) => drive.shelf.put([{ name, bytes: Buffer.alloc(100 + i, i % 251) }])));
      expect(results.every(([r]) => r!.written && r!.firstInFolder)).toBe(true);
      for (const [i, name] of names.entries()) expect(Buffer.from((await drive.shelf.get(name))!.bytes).equals(Buffer.alloc(100 + i, i % 251))).toBe(true);
      const walked: string[] = [];
      for (let after = 'meta/walk/'; ;) {
        const batch = await drive.shelf.scan(after, 64);
        walked.push(...batch.map((b) => b.name).filter((n) => n.startsWith('meta/walk/')));
        if (batch.length < 64) break;
        after = batch[batch.length - 1]!.name;
      }
      expect(walked).toEqual(names);
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

describeDrive('local', async () => (await openLocalNodes(tempDir('kintsugi-drive-'), 1, false, silent, 0)).drives[0]!);
// A node folder served by `kintsugi node` (in this process), reached over HTTP.
const nodeServers: { close(): Promise<void> }[] = [];
afterAll(async () => { for (const s of nodeServers.splice(0)) await s.close(); });
describeDrive('remote', async () => {
  const server = await serveNode({ folder: tempDir('kintsugi-remote-'), secret: 'cluster secret', host: '127.0.0.1', port: 0, sync: false });
  nodeServers.push(server);
  const drive = new RemoteDrive(0, `http://127.0.0.1:${server.port}`, 'cluster secret', 'cluster-a');
  await drive.probe();
  return drive;
});

describe('a remote node refuses', () => {
  it('a gateway with the wrong secret, giving it nothing', async () => {
    const server = await serveNode({ folder: tempDir('kintsugi-remote-'), secret: 'right', host: '127.0.0.1', port: 0, sync: false });
    nodeServers.push(server);
    const good = new RemoteDrive(0, `http://127.0.0.1:${server.port}`, 'right', 'cluster-a');
    await good.probe();
    await good.writeFile('meta/secret', Buffer.from('data'));
    const bad = new RemoteDrive(0, `http://127.0.0.1:${server.port}`, 'wrong', 'cluster-a');
    await expect(bad.readFile('meta/secret')).rejects.toMatchObject({ code: 'ERR_NODE_AUTH' });
    await expect(bad.list('meta')).rejects.toMatchObject({ code: 'ERR_NODE_AUTH' });
    const raw = await fetch(`http://127.0.0.1:${server.port}/v1/file?path=meta%2Fsecret`);
    expect(raw.status).toBe(401);
    expect(await raw.text()).not.toContain('data');
    // Only the unsigned health check answers, and it says nothing but OK.
    const health = await fetch(`http://127.0.0.1:${server.port}/health`);
    expect([health.status, await health.text()]).toEqual([200, 'OK\n']);
  });

  it('a gateway expecting another node or cluster (412, refused), and a node that is down is offline', async () => {
    const server = await serveNode({ folder: tempDir('kintsugi-remote-'), secret: 's', host: '127.0.0.1', port: 0, sync: false });
    nodeServers.push(server);
    await new RemoteDrive(2, `http://127.0.0.1:${server.port}`, 's', 'cluster-a').probe();
    await expect(new RemoteDrive(3, `http://127.0.0.1:${server.port}`, 's', 'cluster-a').probe()).rejects.toMatchObject({ code: 'ERR_NODE_IDENTITY' });
    await expect(new RemoteDrive(2, `http://127.0.0.1:${server.port}`, 's', 'cluster-b').list('meta')).rejects.toMatchObject({ code: 'ERR_NODE_IDENTITY' });
    await server.close();
    await expect(new RemoteDrive(2, `http://127.0.0.1:${server.port}`, 's', 'cluster-a').probe()).rejects.toMatchObject({ code: 'ERR_NODE_GONE' });
  });
});
// What the engine gets: the same drive behind its node's health gate.
describeDrive('local behind its health gate', async () => (await openStore()).container.resolve(TOKENS.Nodes).drives[0]!);

/**
 * What the core hands out for a node out of service (its drive behind the
 * health gate, the node offline): the other side of the contract — every
 * operation fails at once with ERR_NODE_UNAVAILABLE, the probe included,
 * and nothing reaches the node.
 */
describe('the stand-in for an offline node', () => {
  it('fails every operation at once, and touches nothing', async () => {
    const server = await serveNode({ folder: tempDir('kintsugi-remote-'), secret: 's', host: '127.0.0.1', port: 0, sync: false });
    const url = `http://127.0.0.1:${server.port}`;
    await server.close();
    const remote = new RemoteDrive(0, url, 's', 'cluster-a');
    const health = new NodeHealth([remote], silent, { probeIntervalMs: 0, probeTimeoutMs: 2000 });
    await health.refresh();
    expect(health.status()[0]!.state).toBe('offline');
    const standIn = new GuardedDrive(remote, health);
    const unavailable = { code: 'ERR_NODE_UNAVAILABLE' };
    const started = performance.now();
    await expect(standIn.createWriter('data/x')).rejects.toMatchObject(unavailable);
    await expect(standIn.writeFile('meta/x', Buffer.from('x'))).rejects.toMatchObject(unavailable);
    await expect(standIn.createFile('meta/y', Buffer.from('y'))).rejects.toMatchObject(unavailable);
    await expect(standIn.readFile('meta/x')).rejects.toMatchObject(unavailable);
    await expect(standIn.open('meta/x')).rejects.toMatchObject(unavailable);
    await expect(standIn.stat('meta/x')).rejects.toMatchObject(unavailable);
    await expect(standIn.list('meta')).rejects.toMatchObject(unavailable);
    await expect(standIn.rename('a', 'b')).rejects.toMatchObject(unavailable);
    await expect(standIn.remove('meta/x')).rejects.toMatchObject(unavailable);
    await expect(standIn.services!.call('msgpack-metadata', 'state', new Uint8Array(), 'read')).rejects.toMatchObject(unavailable);
    await expect(standIn.shelf.put([{ name: 'meta/x', bytes: Buffer.from('x') }])).rejects.toMatchObject(unavailable);
    await expect(standIn.shelf.get('meta/x')).rejects.toMatchObject(unavailable);
    await expect(standIn.shelf.list('meta')).rejects.toMatchObject(unavailable);
    await expect(standIn.shelf.remove(['meta/x'])).rejects.toMatchObject(unavailable);
    await expect(standIn.shelf.scan('', 10)).rejects.toMatchObject(unavailable);
    await expect(standIn.probe()).rejects.toMatchObject(unavailable);
    // Fast: the gate answers (at most one probe of a dead port), no call waits for a timeout.
    expect(performance.now() - started).toBeLessThan(2000);
    await remote.close();
  });
});

/**
 * A local node's shelf is one LMDB file: what happens to that file on the
 * disk is met by checks, never by a crash.
 */
describe('a local shelf file', () => {
  const shelfFile = (folder: string) => join(folder, ...SHELF_FILE.split('/'));
  const localDrive = async () => {
    const folder = tempDir('kintsugi-shelf-');
    const drive = (await openLocalNodes(folder, 1, false, silent, 0)).drives[0]!;
    return { drive, file: shelfFile(join(folder, 'node-0')), folder: join(folder, 'node-0') };
  };

  it('turns an item whose bytes rotted on the disk into a missing one (its checksum), the others unharmed', async () => {
    const { drive, file } = await localDrive();
    const marker = randomBytes(2000);
    await drive.shelf.put([{ name: 'meta/r/k/1.rec', bytes: marker }, { name: 'meta/r/k/2.rec', bytes: Buffer.from('fine') }]);
    const raw = readFileSync(file);
    const at = raw.indexOf(marker);
    expect(at).toBeGreaterThan(0);
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from([raw[at + 1000]! ^ 0x40]), 0, 1, at + 1000);
    closeSync(fd);
    expect(await drive.shelf.get('meta/r/k/1.rec')).toBeUndefined();
    expect(Buffer.from((await drive.shelf.get('meta/r/k/2.rec'))!.bytes).toString()).toBe('fine');
  });

  /** One process of its own using the folder's shelf: what it met, and how it exited. */
  const inProcess = (folder: string, ...args: string[]) => {
    const run = spawnSync(process.execPath, [fileURLToPath(new URL('../helpers/shelf-client.mjs', import.meta.url)), folder, ...args], { encoding: 'utf8' });
    return { met: run.stdout ? JSON.parse(run.stdout) as string[] : [], status: run.status, signal: run.signal };
  };

  for (const [what, garble, why] of [
    ['garbage over its first 5 KB', (fd: number) => writeSync(fd, randomBytes(5000), 0, 5000, 0), /meta page/],
    ['its pages garbled behind the meta pages\' magic numbers', (fd: number) => { for (const page of [0, 4096]) writeSync(fd, randomBytes(4000), 0, 4000, page + 32); }, /check|MDB_|crashed/],
  ] as const) {
    it(`with ${what} is checked before a process maps it, set aside with why (no crash), and a new, empty one takes its place`, () => {
      const folder = join(tempDir('kintsugi-shelf-'), 'node');
      mkdirSync(folder);
      expect(inProcess(folder, 'put', 'meta/g/k/1.rec', 'lost here, healed from the others').met).toEqual(['written']);
      const fd = openSync(shelfFile(folder), 'r+');
      garble(fd);
      closeSync(fd);
      // The first use fails (an I/O fault for the node's health), the next meets the new, empty shelf.
      expect(inProcess(folder, 'get', 'meta/g/k/1.rec')).toEqual({ met: ['EIO', 'absent'], status: 0, signal: null });
      const aside = readdirSync(join(folder, ...QUARANTINE_DIR.split('/')));
      expect(aside).toHaveLength(1);
      expect(readFileSync(join(folder, ...QUARANTINE_DIR.split('/'), aside[0]!, 'why.txt'), 'utf8')).toMatch(why);
      expect(inProcess(folder, 'put', 'meta/g/k/2.rec', 'new').met).toEqual(['written']);
      expect(inProcess(folder, 'get', 'meta/g/k/2.rec').met).toEqual(['found', 'found']);
    });
  }

  it('removed under a running node (a wiped disk) is started again empty; the node folder gone reads as empty and refuses writes', async () => {
    const { drive, file, folder } = await localDrive();
    await drive.shelf.put([{ name: 'meta/w/k/1.rec', bytes: Buffer.from('x') }]);
    rmSync(file);
    expect(await drive.shelf.list('meta/w/k')).toEqual([]);
    await drive.shelf.put([{ name: 'meta/w/k/2.rec', bytes: Buffer.from('y') }]);
    expect(await drive.shelf.list('meta/w/k')).toEqual(['2.rec']);
    renameSync(folder, `${folder}.away`);
    expect(await drive.shelf.get('meta/w/k/2.rec')).toBeUndefined();
    await expect(drive.shelf.put([{ name: 'meta/w/k/3.rec', bytes: Buffer.from('z') }])).rejects.toMatchObject({ code: 'ENOENT' });
    renameSync(`${folder}.away`, folder);
    expect(await drive.shelf.list('meta/w/k')).toEqual(['2.rec']);
  });
});
