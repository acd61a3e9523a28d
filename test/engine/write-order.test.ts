import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PreconditionFailedError } from '../../core/errors.js';
import type { WriteCondition } from '../../core/engine/object-engine.js';
import { lockPath } from '../../core/layout.js';
import { collect, openStore, random, sha256, type TestStore } from '../helpers/engine.js';

/** Create-only, as If-None-Match: * asks. */
const absent: WriteCondition = (current) => { if (current) throw new PreconditionFailedError(); };

/** A body that yields its first half, then waits for `release` before the rest. */
function held(data: Buffer, release: Promise<void>): AsyncIterable<Uint8Array> {
  return (async function* () {
    yield data.subarray(0, data.length >> 1);
    await release;
    yield data.subarray(data.length >> 1);
  })();
}

describe('write order and write conditions in the engine', () => {
  let store: TestStore;
  beforeAll(async () => { store = await openStore(); });
  afterAll(async () => { await store.close(); });

  it.each([['inline', 30_000], ['erasure-coded', 3 << 20]])('the put that completes last is the current version, whichever started first (%s)', async (_, size) => {
    const key = `order-${size}`;
    const first = random(size);
    const second = random(size);
    let release!: () => void;
    const slow = store.engine.put('order', key, held(first, new Promise<void>((r) => { release = r; })));
    await store.engine.put('order', key, (async function* () { yield second; })());
    release();
    await slow;
    expect(sha256(await collect((await store.engine.get('order', key)).body))).toBe(sha256(first));
  });

  it('a conditional put checks the version current when it commits, not when it started', async () => {
    let release!: () => void;
    const conditional = store.engine.put('order', 'create-only', held(random(300_000), new Promise<void>((r) => { release = r; })), { condition: absent });
    await store.engine.put('order', 'create-only', (async function* () { yield Buffer.from('got there first'); })());
    release();
    await expect(conditional).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await collect((await store.engine.get('order', 'create-only')).body)).toString()).toBe('got there first');
  });

  it('breaks a key lock left behind by a process that died holding it', async () => {
    const old = new Date(Date.now() - 60_000);
    for (let i = 0; i < store.config.numNodes; i++) {
      const file = join(store.nodeFolder(i), lockPath('order', 'orphaned-lock'));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, 'dead holder');
      utimesSync(file, old, old);
    }
    await store.engine.put('order', 'orphaned-lock', (async function* () { yield Buffer.from('written'); })(), { condition: absent });
    expect((await collect((await store.engine.get('order', 'orphaned-lock')).body)).toString()).toBe('written');
  });

  it('waits for a live lock, then answers a conflict rather than writing', async () => {
    for (let i = 0; i < store.config.numNodes; i++) {
      const file = join(store.nodeFolder(i), lockPath('order', 'busy'));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, 'live holder');
    }
    await expect(store.engine.put('order', 'busy', (async function* () { yield Buffer.from('x'); })(), { condition: absent }))
      .rejects.toMatchObject({ code: 'ERR_CONDITIONAL_CONFLICT' });
    await expect(store.engine.head('order', 'busy')).rejects.toMatchObject({ code: 'ERR_NO_SUCH_KEY' });
  });
});
