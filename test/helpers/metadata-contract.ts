import { describe, expect, it } from 'vitest';

import type { MetadataStore, ObjectRecord } from '../../core/contracts/metadata.js';
import { newVersionId } from '../../core/version-id.js';

/** A store under test, with what the suite needs to do to its nodes. */
export interface OpenedMetadataStore {
  readonly store: MetadataStore;
  /** how many nodes it may lose and still take writes (a minority of the metadata copies) */
  readonly tolerated: number;
  /** takes node n out of service (its copies unreachable) until `restore` */
  loseNode(n: number): Promise<void>;
  restore(n: number): Promise<void>;
  close(): Promise<void>;
}

let clock = Date.now();
/** A record as the engine writes one, for a version id taken now (each later than the one before). */
function record(bucket: string, key: string, extra: Partial<ObjectRecord> = {}, versioned = true): ObjectRecord {
  clock = Math.max(clock + 1, Date.now());
  return {
    bucket, key, versionId: newVersionId(clock, versioned), size: 10, etag: '0123456789abcdef0123456789abcdef', createdMs: clock,
    codec: { k: 4, m: 3, w: 8, technique: 'cauchy_good', packetSize: 4096 }, stripeBytes: 1 << 20, shardNodes: [0, 1, 2, 3, 4, 5, 6],
    ...extra,
  };
}

/**
 * The lasting part of the MetadataStore contract as a suite (the listing
 * indexes' coordination is the node link's to settle, and is left out):
 * quorum writes, versions, tombstones, listing order, paging from a marker.
 * Each implementation's test file calls it with a way to open a fresh store.
 */
export function testMetadataStore(name: string, open: () => Promise<OpenedMetadataStore>): void {
  describe(`${name} metadata store`, () => {
    it('reads back what it wrote: the current version by default, any version by id, newest first in versions()', async () => {
      const { store, close } = await open();
      const first = record('b', 'k', { size: 1 });
      const second = record('b', 'k', { size: 2, userMetadata: { a: '1' }, tags: [['t', 'v']] });
      await store.put(first);
      await store.put(second);
      expect(await store.get('b', 'k')).toMatchObject({ versionId: second.versionId, size: 2, userMetadata: { a: '1' }, tags: [['t', 'v']] });
      expect(await store.get('b', 'k', first.versionId)).toMatchObject({ versionId: first.versionId, size: 1 });
      expect((await store.versions('b', 'k')).map((r) => r.versionId)).toEqual([second.versionId, first.versionId]);
      expect(await store.get('b', 'other')).toBeUndefined();
      // A delete marker is a version like any: the current one, until it is purged.
      const marker = record('b', 'k', { deleted: true, size: 0 });
      await store.put(marker);
      expect(await store.get('b', 'k')).toMatchObject({ versionId: marker.versionId, deleted: true });
      await close();
    });

    it('writes on a quorum: with a tolerated number of nodes lost, every put succeeds and reads back, and the nodes catch up', async () => {
      const opened = await open();
      const { store } = opened;
      for (let n = 0; n < opened.tolerated; n++) await opened.loseNode(n);
      const written = [];
      for (let i = 0; i < 20; i++) {
        const r = record('q', `key-${i}`);
        await store.put(r);
        written.push(r);
      }
      for (const r of written) expect((await store.get('q', r.key))?.versionId).toBe(r.versionId);
      for (let n = 0; n < opened.tolerated; n++) await opened.restore(n);
      for (const r of written) expect((await store.get('q', r.key))?.versionId).toBe(r.versionId);
      // The copies the lost nodes missed are known, for the healer to write.
      const missing = (await Promise.all(written.map((r) => store.missingCopies(r)))).flat();
      expect(missing.length).toBeGreaterThan(0);
      expect(missing.every((n) => n < opened.tolerated)).toBe(true);
      await opened.close();
    });

    it('purges a version for good: its tombstone outvotes any stale copy, the next newest is current', async () => {
      const { store, close } = await open();
      const older = record('t', 'k');
      const newer = record('t', 'k');
      await store.put(older);
      await store.put(newer);
      await store.purge(newer);
      expect(await store.get('t', 'k', newer.versionId)).toBeUndefined();
      expect((await store.get('t', 'k'))?.versionId).toBe(older.versionId);
      expect((await store.versions('t', 'k')).map((r) => r.versionId)).toEqual([older.versionId]);
      // A late write of the same version (a node that missed the purge coming back) does not bring it back.
      await store.put(newer).catch(() => undefined);
      expect((await store.get('t', 'k'))?.versionId).toBe(older.versionId);
      await close();
    });

    it('sweeps every key in key order, each version with the nodes that miss its copy; restoreCopies writes them back', async () => {
      const opened = await open();
      const { store } = opened;
      const keys = Array.from({ length: 40 }, (_, i) => `sweep-${String(i).padStart(3, '0')}`);
      const written = new Map<string, ObjectRecord[]>();
      for (const key of keys) {
        const versions = [record('s', key), record('s', key, { size: 20 })];
        for (const r of versions) await store.put(r);
        written.set(key, versions.reverse());
      }
      // Copies written while a node was out are missing there.
      await opened.loseNode(0);
      const late = record('s', 'sweep-late');
      await store.put(late);
      written.set('sweep-late', [late]);
      await opened.restore(0);

      const swept = [];
      for await (const batch of store.sweep({ batchKeys: 7 })) {
        expect(batch.length).toBeLessThanOrEqual(7);
        swept.push(...batch);
      }
      // Each key once, versions newest first as written, nothing unread.
      expect(swept.map((k) => k.key).sort()).toEqual([...written.keys()].sort());
      for (const k of swept) {
        expect(k.versions.map((v) => v.record.versionId)).toEqual(written.get(k.key)!.map((r) => r.versionId));
        expect(k.unread).toEqual([]);
        expect(k.tombstones).toEqual([]);
        for (const v of k.versions) {
          expect(v.agreed).toBe(true);
          expect(v.missing).toEqual(k.key === 'sweep-late' ? [0] : []);
        }
      }
      const lateSwept = swept.find((k) => k.key === 'sweep-late')!.versions[0]!;
      expect(await store.restoreCopies([{ record: lateSwept.record, nodes: lateSwept.missing }])).toBe(1);
      expect(await store.missingCopies(late)).toEqual([]);
      // Rewritten where it is (a rebalance naming new shard nodes): the copies change, the listing keeps the version.
      const renamed = { ...late, shardNodes: [...late.shardNodes].reverse() };
      const holders = [...lateSwept.holders, ...lateSwept.missing];
      expect(await store.restoreCopies([{ record: renamed, nodes: holders, listed: holders }])).toBe(holders.length);
      expect((await store.get('s', 'sweep-late'))?.shardNodes).toEqual(renamed.shardNodes);
      expect((await store.list({ bucket: 's', prefix: 'sweep-late', maxKeys: 10 })).entries.map((e) => [e.key, e.versionId])).toEqual([['sweep-late', late.versionId]]);
      // A purged version shows as a tombstone, its record no longer as a version.
      await store.purge(written.get('sweep-001')![0]!);
      for await (const batch of store.sweep()) {
        const k = batch.find((x) => x.key === 'sweep-001');
        if (!k) continue;
        expect(k.tombstones).toEqual([written.get('sweep-001')![0]!.versionId]);
        expect(k.versions.map((v) => v.record.versionId)).toEqual([written.get('sweep-001')![1]!.versionId]);
      }
      await opened.close();
    });

    it('a copy restored without its index entry is not listed until its nodes are reindexed from their records', async () => {
      const { store, close } = await open();
      const listed = async () => (await store.list({ bucket: 'u', maxKeys: 10 })).entries.map((e) => e.key);
      const indexed = record('u', 'indexed');
      await store.put(indexed);
      expect(await listed()).toEqual(['indexed']);
      // Written everywhere, indexed nowhere (as a rebalance fills new nodes).
      const quiet = record('u', 'quiet');
      const nodes = [0, 1, 2, 3, 4, 5, 6];
      expect(await store.restoreCopies([{ record: quiet, nodes, unindexed: nodes }])).toBe(nodes.length);
      expect(await listed()).toEqual(['indexed']);
      expect((await store.get('u', 'quiet'))?.versionId).toBe(quiet.versionId);
      const reports = await store.reindex(nodes);
      expect(reports.map((r) => [r.node, r.state])).toEqual(nodes.map((n) => [n, 'rebuilt']));
      expect(await listed()).toEqual(['indexed', 'quiet']);
      await close();
    });

    it('lists keys in binary order, current versions only (no deleted keys), with prefix, delimiter and paging from a marker', async () => {
      const { store, close } = await open();
      const keys = ['a', 'a/1', 'a/2', 'b c', 'b', 'caf\u00e9', 'cafe\u0301', 'z', '\u{1F600}', 'gone'];
      for (const key of keys) await store.put(record('l', key));
      await store.put(record('l', 'gone', { deleted: true, size: 0 }));
      const binary = keys.filter((k) => k !== 'gone').sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      const all = await store.list({ bucket: 'l', maxKeys: 1000 });
      expect(all.entries.map((e) => e.key)).toEqual(binary);
      const paged: string[] = [];
      for (let startAfter: string | undefined; ;) {
        const page = await store.list({ bucket: 'l', maxKeys: 3, ...(startAfter !== undefined ? { startAfter } : {}) });
        paged.push(...page.entries.map((e) => e.key));
        if (!page.isTruncated) break;
        startAfter = page.next;
      }
      expect(paged).toEqual(binary);
      const grouped = await store.list({ bucket: 'l', delimiter: '/', maxKeys: 1000 });
      expect([grouped.entries.map((e) => e.key), grouped.commonPrefixes]).toEqual([binary.filter((k) => !k.includes('/')), ['a/']]);
      expect((await store.list({ bucket: 'l', prefix: 'b', maxKeys: 1000 })).entries.map((e) => e.key)).toEqual(['b', 'b c']);
      await close();
    });

    it('lists versions newest first within each key, delete markers among them, paging by key and version markers', async () => {
      const { store, close } = await open();
      const puts = [record('v', 'k1'), record('v', 'k1'), record('v', 'k1', { deleted: true, size: 0 }), record('v', 'k2'), record('v', 'k3')];
      for (const r of puts) await store.put(r);
      const expected = [puts[2]!, puts[1]!, puts[0]!, puts[3]!, puts[4]!].map((r) => `${r.key} ${r.versionId}${r.deleted ? ' marker' : ''}`);
      const seen: string[] = [];
      let keyMarker: string | undefined;
      let versionIdMarker: string | undefined;
      for (;;) {
        const page = await store.listVersions({ bucket: 'v', maxKeys: 2, ...(keyMarker !== undefined ? { keyMarker } : {}), ...(versionIdMarker !== undefined ? { versionIdMarker } : {}) });
        seen.push(...page.entries.map((e) => `${e.key} ${e.versionId}${e.deleted ? ' marker' : ''}`));
        if (!page.isTruncated) break;
        [keyMarker, versionIdMarker] = [page.nextKeyMarker, page.nextVersionIdMarker];
      }
      expect(seen).toEqual(expected);
      const latest = (await store.listVersions({ bucket: 'v', maxKeys: 100 })).entries.filter((e) => e.isLatest).map((e) => e.versionId);
      expect(latest).toEqual([puts[2]!.versionId, puts[3]!.versionId, puts[4]!.versionId]);
      await close();
    });
  });
}
