import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { NoSuchKeyError } from '../../core/errors.js';
import { ROOT } from '../helpers/cli.js';
import { chunked, collect, openStore, tempDir } from '../helpers/engine.js';
import { testSeed } from '../helpers/seed.mjs';
import { TOKENS } from '../../core/tokens.js';

function client(nodePath: string, id: number, ops: number, seed: number): Promise<{ puts: number; gets: number; deletes: number; torn: number; errors: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'test/helpers/concurrent-client.mjs'), ROOT, nodePath, String(id), String(ops), String(seed)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('error', reject);
    // 'close', not 'exit': its JSON line may still be on its way when it has exited.
    child.on('close', (code, signal) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`client ${id} exited ${code ?? signal}`))));
  });
}

describe('several processes on the same nodes', () => {
  it('put, get and delete the same keys: last writer by version id wins whole, no reader sees a torn object', async () => {
    const nodePath = tempDir('kintsugi-race-');
    // The cluster identity is written once, before the workers start (as the server's primary does).
    const setup = await openStore({}, nodePath);
    await setup.close();

    const seed = testSeed('processes racing on the same keys');
    const results = await Promise.all([1, 2, 3].map((id) => client(nodePath, id, 40, seed)));
    const total = results.reduce((a, r) => ({ puts: a.puts + r.puts, gets: a.gets + r.gets, torn: a.torn + r.torn }), { puts: 0, gets: 0, torn: 0 });
    expect(results.flatMap((r) => r.errors)).toEqual([]);
    expect(total.puts).toBeGreaterThan(20);
    expect(total.gets).toBeGreaterThan(10);
    expect(total.torn).toBe(0);

    const store = await openStore({}, nodePath);
    for (const key of ['shared-0', 'shared-1', 'shared-2']) {
      try {
        const body = await collect((await store.engine.get('race', key)).body);
        expect(createHash('sha256').update(body.subarray(32)).digest().equals(body.subarray(0, 32)), key).toBe(true);
        const listed = (await store.engine.list({ bucket: 'race', prefix: key, maxKeys: 10 })).entries;
        expect(listed.map((e) => e.key)).toEqual([key]);
        expect(listed[0]!.size).toBe(body.byteLength);
      } catch (err) {
        expect(err).toBeInstanceOf(NoSuchKeyError);
        expect((await store.engine.list({ bucket: 'race', prefix: key, maxKeys: 10 })).entries).toEqual([]);
      }
    }
    await store.close();
  });
});

describe('a read racing overwrites', () => {
  it('reads the newest version whole, however many overwrites in a row remove the one it just looked up', async () => {
    const store = await openStore();
    const metadata = store.container.resolve(TOKENS.MetadataStore);
    const body = (n: number) => Buffer.alloc(300_000, n);
    await store.engine.put('race', 'hot', chunked(body(0)));
    // Each of the first six lookups of the reader is followed, before it
    // opens the files, by a put that prunes the version it found.
    const lookup = metadata.get.bind(metadata);
    let overwrites = 0;
    let writing = false;
    metadata.get = async (...args: Parameters<typeof lookup>) => {
      const found = await lookup(...args);
      if (!writing && overwrites < 6) {
        writing = true;
        await store.engine.put('race', 'hot', chunked(body(++overwrites)));
        writing = false;
      }
      return found;
    };
    const read = await collect((await store.engine.get('race', 'hot')).body);
    expect(overwrites).toBe(6);
    expect(read.equals(body(6))).toBe(true);
    await store.close();
  });
});
