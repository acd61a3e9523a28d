import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { SHELF_FILE, SHELF_FORMAT_FILE, SHELF_REWRITING_FILE } from '../../plugins/drive-local/folder-layout.js';
import { freeListFormat } from '../../plugins/drive-local/lmdb-free-list.js';
import { LocalDrive } from '../../plugins/drive-local/local-drive.js';
import { shelfRewrites } from '../../plugins/drive-local/local-shelf.js';
import { SHELF_FORMAT } from '../../plugins/drive-local/shelf-format.js';
import { tempDir } from '../helpers/engine.js';

/**
 * The shelf is written by lmdb-js 2.9, whose free list is LMDB's own (safe
 * with several processes writing one file). lmdb-js 3, which earlier
 * releases linked, kept a free list of its own in the file, and lmdb-js
 * 2.9 aborts the process that writes into one. Such a file is rewritten
 * once before it is written to; one that lmdb-js 3 wrote into again after
 * that is found by its free list's own bytes and only read.
 */
const require = createRequire(import.meta.url);
const LMDB_2 = require.resolve('lmdb');
const LMDB_3 = require.resolve('lmdb-v3');

/** Runs `code` in a process of its own (an abort there is what is observed) with that LMDB's `open` and `path` bound. */
function withLmdb(entry: string, path: string, code: string) {
  const run = spawnSync(process.execPath, ['-e', `const { open } = require(${JSON.stringify(entry)}); const path = ${JSON.stringify(path)}; ${code}`], { encoding: 'utf8' });
  return { status: run.status, signal: run.signal, out: run.stdout, err: run.stderr };
}

/** Writes and removes 2,000 values of 0.5-5.5 KB four times over, under keys no shelf uses (0x02 churn/…), and leaves none. */
const CHURN = `
const db = open(path, { keyEncoding: 'binary', encoding: 'binary', compression: false, overlappingSync: false, mapSize: 2 ** 34 });
const key = (i) => Buffer.from('\\u0002churn/' + String(i).padStart(6, '0'));
for (let round = 0; round < 4; round++) {
  for (let b = 0; b < 2000; b += 100) db.transactionSync(() => { for (let i = b; i < b + 100; i++) db.putSync(key(i), Buffer.alloc(500 + (i * 37) % 5000, round)); });
  for (let b = 0; b < 2000; b += 100) db.transactionSync(() => { for (let i = b; i < b + 100; i += 1 + (round & 1)) db.removeSync(key(i)); });
}
for (let b = 0; b < 2000; b += 100) db.transactionSync(() => { for (let i = b; i < b + 100; i++) db.removeSync(key(i)); });
db.close();
`;

const WRITE = `
const db = open(path, { keyEncoding: 'binary', encoding: 'binary', compression: false, overlappingSync: false, mapSize: 2 ** 34 });
db.transactionSync(() => { for (let i = 0; i < 2000; i++) db.putSync(Buffer.from('\\u0002more/' + i), Buffer.alloc(3000, 7)); });
db.close();
`;

/** One process using the folder's shelf through the built drive (test/helpers/shelf-client.mjs): what it met, how it ended. */
function shelfClient(folder: string, args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, [fileURLToPath(new URL('../helpers/shelf-client.mjs', import.meta.url)), folder, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { met: run.stdout ? JSON.parse(run.stdout) as string[] : [], status: run.status, signal: run.signal, err: run.stderr };
}

describe('an LMDB file\'s free list, read from the file', () => {
  it('is LMDB\'s own as lmdb-js 2.9 writes it, empty or after heavy churn, and foreign as lmdb-js 3 writes it', () => {
    const dir = tempDir('kintsugi-freelist-');
    const fresh = join(dir, 'fresh.lmdb');
    expect(withLmdb(LMDB_2, fresh, `open(path, { mapSize: 2 ** 30 }).putSync('k', 'v');`).status).toBe(0);
    expect(freeListFormat(fresh)).toBe('classic');
    const churned = join(dir, 'churned-2.lmdb');
    expect(withLmdb(LMDB_2, churned, CHURN).status).toBe(0);
    expect(freeListFormat(churned)).toBe('classic');
    const foreign = join(dir, 'churned-3.lmdb');
    expect(withLmdb(LMDB_3, foreign, CHURN).status).toBe(0);
    expect(freeListFormat(foreign)).toBe('other');
    expect(freeListFormat(join(dir, 'none.lmdb'))).toBe('unknown');
  });
});

describe('a shelf file whose free list lmdb-js 3 wrote', () => {
  /** A node folder with one item, its shelf then churned by lmdb-js 3 and its format marker gone, as an earlier release left it. */
  const earlierRelease = () => {
    const folder = join(tempDir('kintsugi-format-'), 'node');
    mkdirSync(folder);
    expect(shelfClient(folder, ['put', 'meta/f/k/1.rec', 'written before the upgrade', 'close']).met).toEqual(['written']);
    expect(readFileSync(join(folder, SHELF_FORMAT_FILE), 'utf8')).toBe(SHELF_FORMAT);
    expect(withLmdb(LMDB_3, join(folder, SHELF_FILE), CHURN).status).toBe(0);
    rmSync(join(folder, SHELF_FORMAT_FILE));
    return folder;
  };

  it('aborts a process of lmdb-js 2.9 that writes into it as it is (why it is rewritten)', () => {
    const folder = earlierRelease();
    const copy = join(tempDir('kintsugi-format-'), 'shelf.lmdb');
    cpSync(join(folder, SHELF_FILE), copy);
    const run = withLmdb(LMDB_2, copy, WRITE);
    expect(run.signal).toBe('SIGABRT');
    expect(run.err).toMatch(/Assertion .* failed/);
  });

  it('is rewritten once, entry for entry, before it is written to: every item reads back, writes go on, and the next process opens it as it is', () => {
    const folder = earlierRelease();
    const written = shelfClient(folder, ['put', 'meta/f/k/2.rec', 'written after the upgrade', 'close']);
    expect(written).toMatchObject({ met: ['written'], status: 0, signal: null });
    expect(readFileSync(join(folder, SHELF_FORMAT_FILE), 'utf8')).toBe(SHELF_FORMAT);
    expect(existsSync(join(folder, SHELF_REWRITING_FILE))).toBe(false);
    expect(existsSync(join(folder, `${SHELF_FILE}.rewrite`))).toBe(false);
    expect(shelfClient(folder, ['get', 'meta/f/k/1.rec']).met).toEqual(['found', 'found']);
    expect(shelfClient(folder, ['get', 'meta/f/k/2.rec']).met).toEqual(['found', 'found']);
    // The rewritten file takes lmdb-js 2.9's writes, heavy ones included.
    expect(withLmdb(LMDB_2, join(folder, SHELF_FILE), CHURN)).toMatchObject({ status: 0, signal: null });
    expect(shelfClient(folder, ['get', 'meta/f/k/1.rec']).met).toEqual(['found', 'found']);
  });

  it('marked as rewritten, then written by lmdb-js 3 again (a release from before started on the folders): only read, writes refused saying how to have it rewritten, which then happens', async () => {
    const folder = join(tempDir('kintsugi-format-'), 'node');
    mkdirSync(folder);
    expect(shelfClient(folder, ['put', 'meta/f/k/1.rec', 'written by this release', 'close']).met).toEqual(['written']);
    expect(withLmdb(LMDB_3, join(folder, SHELF_FILE), CHURN).status).toBe(0);
    expect(shelfClient(folder, ['put', 'meta/f/k/5.rec', 'refused'])).toMatchObject({ met: ['EROFS'], status: 0, signal: null });
    const drive = new LocalDrive(0, folder, false, 'cluster');
    try {
      await expect(drive.shelf.put([{ name: 'meta/f/k/5.rec', bytes: Buffer.from('refused') }])).rejects.toMatchObject({
        code: 'EROFS', message: expect.stringMatching(/free list is not LMDB's own .* remove \.kintsugi\/shelf\.format/),
      });
      expect(Buffer.from((await drive.shelf.get('meta/f/k/1.rec'))!.bytes).toString()).toBe('written by this release');
    } finally {
      await drive.close();
    }
    rmSync(join(folder, SHELF_FORMAT_FILE));
    expect(shelfClient(folder, ['put', 'meta/f/k/5.rec', 'written', 'close'])).toMatchObject({ met: ['written'], status: 0, signal: null });
    expect(shelfClient(folder, ['get', 'meta/f/k/1.rec']).met).toEqual(['found', 'found']);
  });

  it('rewritten by a process killed before the copy took the file\'s place: the file was never touched, and the next process rewrites it again', () => {
    const folder = earlierRelease();
    const killed = shelfClient(folder, ['put', 'meta/f/k/3.rec', 'never written'], { KINTSUGI_FAILPOINT: 'shelf-rewritten:1' });
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(folder, `${SHELF_FILE}.rewrite`))).toBe(true);
    expect(existsSync(join(folder, SHELF_REWRITING_FILE))).toBe(true);
    expect(existsSync(join(folder, SHELF_FORMAT_FILE))).toBe(false);
    expect(shelfClient(folder, ['put', 'meta/f/k/3.rec', 'after the crash', 'close'])).toMatchObject({ met: ['written'], status: 0 });
    expect(shelfClient(folder, ['get', 'meta/f/k/1.rec']).met).toEqual(['found', 'found']);
    expect(existsSync(join(folder, `${SHELF_FILE}.rewrite`))).toBe(false);
    expect(existsSync(join(folder, SHELF_REWRITING_FILE))).toBe(false);
  });

  it('that cannot be rewritten now (something in the way of its copy) is only read: reads are served, writes refused as a read-only node\'s, and the rewrite is tried again later', async () => {
    const folder = earlierRelease();
    mkdirSync(join(folder, `${SHELF_FILE}.rewrite`, 'in the way'), { recursive: true });
    const refused = shelfClient(folder, ['put', 'meta/f/k/4.rec', 'refused']);
    expect(refused).toMatchObject({ met: ['EROFS'], status: 0, signal: null });
    expect(shelfClient(folder, ['get', 'meta/f/k/1.rec']).met).toEqual(['found', 'found']);
    // In one process: once the way is clear, the next try after the wait rewrites it and writes go on.
    const drive = new LocalDrive(0, folder, false, 'cluster');
    const { retryMs } = shelfRewrites;
    shelfRewrites.retryMs = 0;
    try {
      await expect(drive.shelf.put([{ name: 'meta/f/k/4.rec', bytes: Buffer.from('refused') }])).rejects.toMatchObject({ code: 'EROFS', message: expect.stringMatching(/only read until it is rewritten/) });
      expect((await drive.shelf.get('meta/f/k/1.rec'))?.bytes.byteLength).toBeGreaterThan(0);
      rmSync(join(folder, `${SHELF_FILE}.rewrite`), { recursive: true });
      expect(await drive.shelf.put([{ name: 'meta/f/k/4.rec', bytes: Buffer.from('written'), askFirst: true }])).toEqual([{ written: true, firstInFolder: false }]);
      expect(readFileSync(join(folder, SHELF_FORMAT_FILE), 'utf8')).toBe(SHELF_FORMAT);
    } finally {
      shelfRewrites.retryMs = retryMs;
      await drive.close();
    }
  });
});
