import { randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { open as openLmdb } from 'lmdb';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import type { Drive } from '../../core/contracts/drive.js';
import { QUARANTINE_DIR, SHELF_FILE } from '../../plugins/drive-local/folder-layout.js';
import { openLocalNodes } from '../../plugins/drive-local/index.js';
import { GuardedDrive } from '../../core/guarded-drive.js';
import { NodeHealth, stateFor } from '../../core/node-health.js';
import { LocalDrive } from '../../plugins/drive-local/local-drive.js';
import { SHELF_MAP_BYTES, shelfChecks } from '../../plugins/drive-local/local-shelf.js';
import { MetaGuard } from '../../plugins/drive-local/lmdb-meta-guard.js';
import { RemoteDrive } from '../../plugins/drive-remote/remote-drive.js';
import { serveNode } from '../../plugins/drive-remote/node-server.js';
import { TOKENS } from '../../core/tokens.js';
import { testDrive } from '../helpers/drive-contract.js';
import { openStore, tempDir } from '../helpers/engine.js';
import { MemoryDrive } from '../../plugins/drive-memory/index.js';

const silent = { info() {}, warn() {}, error() {} };

testDrive('local', async () => (await openLocalNodes(tempDir('kintsugi-drive-'), 1, false, silent, 0)).drives[0]!);
// A node folder served by `kintsugi node` (in this process), reached over the node link.
const nodeServers: { close(): Promise<void> }[] = [];
afterAll(async () => { for (const s of nodeServers.splice(0)) await s.close(); });
testDrive('remote', async () => {
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
    // Any other HTTP request is closed unanswered (see node-link.test.ts for the rest of the hostile peers).
    await expect(fetch(`http://127.0.0.1:${server.port}/v1/file?path=meta%2Fsecret`)).rejects.toThrow();
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
// Kept in memory, for the engine tests that need drives only.
testDrive('memory', async () => new MemoryDrive(0));
// What the engine gets: the same drive behind its node's health gate.
// Each store's shelves reserve their map (2 TiB of address space each): closed after each test, not at exit.
const stores: Awaited<ReturnType<typeof openStore>>[] = [];
afterEach(async () => { for (const s of stores.splice(0)) await s.close(); });
testDrive('local behind its health gate', async () => {
  const store = await openStore();
  stores.push(store);
  return store.container.resolve(TOKENS.Nodes).drives[0]!;
});

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

  /** Flips one bit of `marker`'s byte at `offset` where the shelf file holds it, as rot on the disk would. */
  const rot = (file: string, marker: Buffer, offset: number) => {
    const raw = readFileSync(file);
    const at = raw.indexOf(marker);
    expect(at).toBeGreaterThan(0);
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from([raw[at + offset]! ^ 0x40]), 0, 1, at + offset);
    closeSync(fd);
  };

  it('turns an item whose bytes rotted on the disk into a missing one (its checksum), the others unharmed', async () => {
    const { drive, file } = await localDrive();
    const marker = randomBytes(2000);
    await drive.shelf.put([{ name: 'meta/r/k/1.rec', bytes: marker }, { name: 'meta/r/k/2.rec', bytes: Buffer.from('fine') }]);
    rot(file, marker, 1000);
    expect(await drive.shelf.get('meta/r/k/1.rec')).toBeUndefined();
    expect(Buffer.from((await drive.shelf.get('meta/r/k/2.rec'))!.bytes).toString()).toBe('fine');
  });

  it('reads a row whose bytes rotted as one with no value; a removal only of rot takes it and leaves the sound ones', async () => {
    const { drive, file } = await localDrive();
    const marker = randomBytes(300);
    const key = (s: string) => Buffer.from(s);
    await drive.shelf.put([], [{ table: 'idx', key: key('rots'), value: marker }, { table: 'idx', key: key('sound'), value: Buffer.from('fine') }]);
    rot(file, marker, 100);
    const rows = async () => (await drive.shelf.rows('idx', { from: key(''), limit: 10 })).map((r) => [Buffer.from(r.key).toString(), r.value && Buffer.from(r.value).toString()]);
    expect(await rows()).toEqual([['rots', undefined], ['sound', 'fine']]);
    await drive.shelf.remove([], [{ table: 'idx', key: key('rots'), onlyIfRotten: true }, { table: 'idx', key: key('sound'), onlyIfRotten: true }]);
    expect(await rows()).toEqual([['sound', 'fine']]);
  });

  it('left with an older release\'s folder markers: a marker is never listed or walked, and goes once its folder empties', async () => {
    const { drive, file, folder } = await localDrive();
    await drive.shelf.put([{ name: 'meta/m/k/1.rec', bytes: Buffer.from('one') }, { name: 'meta/m/j/1.rec', bytes: Buffer.from('kept') }]);
    await drive.close!();
    // Those releases wrote 0xFF and the folder's name beside each folder's first item.
    const marker = (f: string) => Buffer.concat([Buffer.from([0xff]), Buffer.from(f)]);
    const db = openLmdb<Buffer, Buffer>(file, { keyEncoding: 'binary', encoding: 'binary', compression: false });
    await db.put(marker('meta/m/k/'), Buffer.alloc(0));
    await db.put(marker('meta/m/j/'), Buffer.alloc(0));
    await db.close();
    const reopened = (await openLocalNodes(join(folder, '..'), 1, false, silent, 0)).drives[0]!;
    expect((await reopened.shelf.scan('', 10)).map((i) => i.name)).toEqual(['meta/m/j/1.rec', 'meta/m/k/1.rec']);
    await reopened.shelf.remove(['meta/m/k/1.rec']);
    expect(await reopened.shelf.put([{ name: 'meta/m/k/2.rec', bytes: Buffer.from('two'), askFirst: true }])).toEqual([{ written: true, firstInFolder: true }]);
    await reopened.close!();
    const after = openLmdb<Buffer, Buffer>(file, { keyEncoding: 'binary', encoding: 'binary', compression: false, readOnly: true });
    expect([after.getBinary(marker('meta/m/k/')), after.getBinary(marker('meta/m/j/'))]).toEqual([undefined, Buffer.alloc(0)]);
    await after.close();
  });

  /** One process of its own using the folder's shelf: what it met, and how it exited. */
  const inProcess = (folder: string, ...args: string[]) => {
    const run = spawnSync(process.execPath, [fileURLToPath(new URL('../helpers/shelf-client.mjs', import.meta.url)), folder, ...args], { encoding: 'utf8' });
    return { met: run.stdout ? JSON.parse(run.stdout) as string[] : [], status: run.status, signal: run.signal };
  };

  for (const [what, garble, why] of [
    ['garbage over its first 5 KB', (fd: number) => writeSync(fd, randomBytes(5000), 0, 5000, 0), /meta page/],
    ['its pages garbled behind the meta pages\' magic numbers', (fd: number) => { for (const page of [0, 4096]) writeSync(fd, randomBytes(4000), 0, 4000, page + 32); }, /an LMDB meta page is damaged \(meta page at \d+: /],
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

  const walksOf = (folder: string, ...args: string[]) => {
    const run = spawnSync(process.execPath, [fileURLToPath(new URL('../helpers/shelf-client.mjs', import.meta.url)), folder, ...args], { encoding: 'utf8', env: { ...process.env, SHOW_WALKS: '1' } });
    return JSON.parse(run.stdout) as { met: string[]; walks: number };
  };

  it('closed cleanly, is mapped by the next process without a walk; changed since (written by a process that crashed, garbled), it is walked first', () => {
    const folder = join(tempDir('kintsugi-shelf-'), 'node');
    mkdirSync(folder);
    expect(walksOf(folder, 'put', 'meta/s/k/1.rec', 'one', 'close')).toEqual({ met: ['written'], walks: 0 });
    // Nothing changed it since its close: opened at once, however large it is.
    expect(walksOf(folder, 'get', 'meta/s/k/1.rec', 'close')).toEqual({ met: ['found', 'found'], walks: 0 });
    // Written by a process that ended without closing it (a crash): walked before it is mapped.
    expect(walksOf(folder, 'put', 'meta/s/k/2.rec', 'two')).toEqual({ met: ['written'], walks: 0 });
    expect(walksOf(folder, 'get', 'meta/s/k/2.rec')).toEqual({ met: ['found', 'found'], walks: 1 });
    // Found sound, it is stamped: the next process trusts it again.
    expect(walksOf(folder, 'get', 'meta/s/k/2.rec')).toEqual({ met: ['found', 'found'], walks: 0 });
    // Changed behind its back (same bytes, but its change time moved): walked again.
    const now = new Date();
    utimesSync(shelfFile(folder), now, now);
    expect(walksOf(folder, 'get', 'meta/s/k/1.rec')).toEqual({ met: ['found', 'found'], walks: 1 });
  });

  it('left by a crash, is walked in the background: the node is "checking" (no operation waits on the walk) until the walk ends', async () => {
    const folder = join(tempDir('kintsugi-shelf-'), 'node');
    mkdirSync(folder);
    expect(inProcess(folder, 'put', 'meta/c/k/1.rec', 'crashed after this').met).toEqual(['written']);
    const drive = new LocalDrive(0, folder, false, 'cluster');
    const { waitMs, backgroundBytes } = shelfChecks;
    // As a large file's: the walk goes on in the background at once.
    Object.assign(shelfChecks, { waitMs: 0, backgroundBytes: 0 });
    try {
      await expect(drive.probe()).rejects.toMatchObject({ code: 'ERR_NODE_CHECKING' });
      await expect(drive.shelf.get('meta/c/k/1.rec')).rejects.toMatchObject({ code: 'ERR_NODE_CHECKING' });
      expect(stateFor(await drive.probe().catch((err: unknown) => err))).toBe('checking');
      let probed: unknown;
      for (let i = 0; i < 100; i++) {
        probed = await drive.probe().then(() => 'ok', (err: { code?: string }) => err.code);
        if (probed === 'ok') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(probed).toBe('ok');
      expect(Buffer.from((await drive.shelf.get('meta/c/k/1.rec'))!.bytes).toString()).toBe('crashed after this');
    } finally {
      Object.assign(shelfChecks, { waitMs, backgroundBytes });
      await drive.close();
    }
  });

  it('a meta page seen torn for a moment (a writer preempted mid-copy) is not taken for damaged; one that stays rotten is, with what is wrong', async () => {
    const folder = join(tempDir('kintsugi-shelf-'), 'node');
    mkdirSync(folder);
    expect(inProcess(folder, 'put', 'meta/t/k/0.rec', 'first').met).toEqual(['written']);
    const file = shelfFile(folder);
    const guard = MetaGuard.learn(file, SHELF_MAP_BYTES)!;
    const sound = readFileSync(file);
    const at = sound.indexOf(Buffer.from([0xde, 0xc0, 0xef, 0xbe]));
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(4, 0x55), 0, 4, at);
    expect(guard.intact()).toBe(false);
    // Whole again 40 ms later: the check looked again before judging.
    const mended = new Promise<void>((r) => setTimeout(() => { writeSync(fd, sound.subarray(at, at + 4), 0, 4, at); r(); }, 40));
    expect(await guard.settledIntact()).toBe(true);
    await mended;
    writeSync(fd, Buffer.alloc(4, 0x55), 0, 4, at);
    expect(await guard.settledIntact()).toBe(false);
    expect(guard.why).toMatch(/no magic number/);
    closeSync(fd);
    guard.close();
  });

  it('a meta page naming a last page past the file\'s end is sound while its roots lie within the file (LMDB leaves pages freed within a commit unwritten)', () => {
    const folder = join(tempDir('kintsugi-shelf-'), 'node');
    mkdirSync(folder);
    expect(inProcess(folder, 'put', 'meta/l/k/0.rec', 'first').met).toEqual(['written']);
    const file = shelfFile(folder);
    const bytes = readFileSync(file);
    const first = bytes.indexOf(Buffer.from([0xde, 0xc0, 0xef, 0xbe]));
    const pageSize = bytes.indexOf(Buffer.from([0xde, 0xc0, 0xef, 0xbe]), first + 512) - first;
    const filePages = BigInt(bytes.length / pageSize);
    const fd = openSync(file, 'r+');
    const field = (at: number, value: bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(value); writeSync(fd, b, 0, 8, first + at); };
    const guard = MetaGuard.learn(file, SHELF_MAP_BYTES)!;
    try {
      // As bench:scale met it: the newest meta two pages past the end, every root inside.
      field(120, filePages + 1n);
      expect(guard.intact()).toBe(true);
      // A root past the end would send LMDB to a page that is not there.
      const mainRoot = bytes.readBigUInt64LE(first + 24 + 48 + 40);
      field(24 + 48 + 40, filePages);
      expect(guard.intact()).toBe(false);
      expect(guard.why).toMatch(/database root .* the file's/);
      field(24 + 48 + 40, mainRoot);
      // A last page past the map is not a page LMDB could have allocated.
      field(120, BigInt(SHELF_MAP_BYTES / pageSize));
      expect(guard.intact()).toBe(false);
      expect(guard.why).toMatch(/beyond the map/);
    } finally {
      closeSync(fd);
      guard.close();
    }
  });

  it('growing under another process\'s commits is never taken for damaged by the meta check', async () => {
    const folder = join(tempDir('kintsugi-shelf-'), 'node');
    mkdirSync(folder);
    expect(inProcess(folder, 'put', 'meta/g/k/0.rec', 'first').met).toEqual(['written']);
    // Another process commits as fast as it can, each commit growing the file.
    const writer = spawn(process.execPath, ['--input-type=module', '-e', `
      import { LocalDrive } from ${JSON.stringify(new URL('../../dist/plugins/drive-local/local-drive.js', import.meta.url).href)};
      const drive = new LocalDrive(0, ${JSON.stringify(folder)}, false, 'cluster');
      const until = Date.now() + 3000;
      for (let i = 0; Date.now() < until; i++) await drive.shelf.put([{ name: 'meta/g/k/' + i + '.rec', bytes: Buffer.alloc(3000, i) }]);
      await drive.close();
    `], { stdio: 'ignore' });
    const exited = new Promise((r) => writer.once('exit', r));
    const guard = MetaGuard.learn(shelfFile(folder), SHELF_MAP_BYTES)!;
    let checks = 0;
    let damaged = 0;
    const grownFrom = statSync(shelfFile(folder)).size;
    while (writer.exitCode === null) {
      if (!guard.intact()) damaged++;
      if (++checks % 200 === 0) await new Promise((r) => setImmediate(r));
    }
    await exited;
    guard.close();
    expect(statSync(shelfFile(folder)).size).toBeGreaterThan(grownFrom * 4);
    expect(checks).toBeGreaterThan(1000);
    expect(damaged).toBe(0);
  });

  it('removed under a running node (a wiped disk) is started again empty; the node folder gone reads as empty and refuses writes', async () => {
    const { drive, file, folder } = await localDrive();
    // A wipe comes from outside the process: it is met from the next event loop turn on (one look at the path per turn).
    const nextTurn = () => new Promise((r) => setImmediate(r));
    await drive.shelf.put([{ name: 'meta/w/k/1.rec', bytes: Buffer.from('x') }]);
    rmSync(file);
    await nextTurn();
    expect(await drive.shelf.list('meta/w/k')).toEqual([]);
    await drive.shelf.put([{ name: 'meta/w/k/2.rec', bytes: Buffer.from('y') }]);
    expect(await drive.shelf.list('meta/w/k')).toEqual(['2.rec']);
    renameSync(folder, `${folder}.away`);
    await nextTurn();
    expect(await drive.shelf.get('meta/w/k/2.rec')).toBeUndefined();
    await expect(drive.shelf.put([{ name: 'meta/w/k/3.rec', bytes: Buffer.from('z') }])).rejects.toMatchObject({ code: 'ENOENT' });
    renameSync(`${folder}.away`, folder);
    expect(await drive.shelf.list('meta/w/k')).toEqual(['2.rec']);
  });
});
