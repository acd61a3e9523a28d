import { rename } from 'node:fs/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ListPage } from '../../core/contracts/metadata.js';
import { chunked, openStore, random, type TestStore } from '../helpers/engine.js';

/** S3's listing semantics over a plain sorted array: the reference model. */
function reference(keys: string[], prefix: string, delimiter: string | undefined, startAfter: string | undefined, maxKeys: number) {
  const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const entries: string[] = [];
  const prefixes: string[] = [];
  for (const key of sorted) {
    if (!key.startsWith(prefix)) continue;
    if (startAfter !== undefined && Buffer.compare(Buffer.from(key), Buffer.from(startAfter)) <= 0) continue;
    const at = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    if (delimiter && at >= 0) {
      const cp = key.slice(0, at + delimiter.length);
      if (startAfter !== undefined && Buffer.compare(Buffer.from(cp), Buffer.from(startAfter)) <= 0) continue;
      if (prefixes[prefixes.length - 1] !== cp) prefixes.push(cp);
    } else {
      entries.push(key);
    }
  }
  return { entries, prefixes };
}

/** Follows `next` until the listing is complete. */
async function listAll(store: TestStore, prefix: string, delimiter: string | undefined, maxKeys: number) {
  const entries: string[] = [];
  const prefixes: string[] = [];
  let startAfter: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page: ListPage = await store.engine.list({ bucket: 'list', prefix, delimiter, startAfter, maxKeys });
    expect(page.entries.length + page.commonPrefixes.length).toBeLessThanOrEqual(maxKeys);
    entries.push(...page.entries.map((e) => e.key));
    prefixes.push(...page.commonPrefixes);
    if (!page.isTruncated) break;
    startAfter = page.next;
  }
  return { entries, prefixes };
}

describe('ordered listing', () => {
  let store: TestStore;
  const keys: string[] = [];
  beforeAll(async () => {
    store = await openStore();
    const parts = ['a', 'b', 'photos', '2026', 'ü', '日本', 'x y', '.', '-', 'z'];
    let seed = 5;
    const pick = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return parts[seed % parts.length]!; };
    const wanted = new Set<string>();
    while (wanted.size < 300) {
      const depth = 1 + (pick().length % 3);
      wanted.add(Array.from({ length: depth }, pick).join('/') + (seed % 5 === 0 ? '/' : '') + (seed % 7));
    }
    keys.push(...wanted);
    await Promise.all(keys.map((k) => store.engine.put('list', k, chunked(random(17)))));
  }, 120_000);
  afterAll(async () => { await store.close(); });

  it('lists every key in byte order with sizes and ETags', async () => {
    const page = await store.engine.list({ bucket: 'list', maxKeys: 1000 });
    expect(page.entries.map((e) => e.key)).toEqual(reference(keys, '', undefined, undefined, 1000).entries);
    expect(page.entries.every((e) => e.size === 17 && /^[0-9a-f]{32}$/.test(e.etag))).toBe(true);
    expect(page.isTruncated).toBe(false);
  });

  const cases: [string, string | undefined, number][] = [
    ['', '/', 1000], ['', '/', 3], ['a/', '/', 2], ['photos/', '/', 1], ['b', undefined, 7], ['ü/', '/', 5], ['', undefined, 1], ['2026/a/', '/', 4], ['nomatch/', '/', 10],
  ];
  it.each(cases)('matches the reference model for prefix %j, delimiter %j, %i keys a page', async (prefix, delimiter, maxKeys) => {
    const want = reference(keys, prefix, delimiter, undefined, Infinity);
    expect(await listAll(store, prefix, delimiter, maxKeys)).toEqual(want);
  });

  it('starts after a given key', async () => {
    const sorted = reference(keys, '', undefined, undefined, Infinity).entries;
    const after = sorted[123]!;
    const page = await store.engine.list({ bucket: 'list', startAfter: after, maxKeys: 10 });
    expect(page.entries.map((e) => e.key)).toEqual(sorted.slice(124, 134));
  });

  it('shows an object as soon as its put returned, and forgets it as soon as its delete did', async () => {
    await store.engine.put('list', 'fresh', chunked(random(1)));
    expect((await store.engine.list({ bucket: 'list', prefix: 'fresh', maxKeys: 10 })).entries.map((e) => e.key)).toEqual(['fresh']);
    await store.engine.delete('list', 'fresh');
    expect((await store.engine.list({ bucket: 'list', prefix: 'fresh', maxKeys: 10 })).entries).toEqual([]);
  });

  it('stays complete while PARITY nodes are down, and a node that missed a delete does not bring the key back', async () => {
    const all = reference(keys, '', undefined, undefined, Infinity).entries;
    for (const n of [0, 3, 6]) await rename(store.nodeFolder(n), `${store.nodeFolder(n)}.away`);
    try {
      expect((await listAll(store, '', undefined, 50)).entries).toEqual(all);
      await store.engine.delete('list', all[0]!);
    } finally {
      for (const n of [0, 3, 6]) await rename(`${store.nodeFolder(n)}.away`, store.nodeFolder(n));
    }
    expect((await listAll(store, '', undefined, 50)).entries).toEqual(all.slice(1));
  });
});
