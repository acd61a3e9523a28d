import 'reflect-metadata';

import { inject, injectable } from 'tsyringe';

import { ByteArena } from '../../core/byte-arena.js';
import type { KintsugiConfig } from '../../core/config.js';
import type { DriveShelf } from '../../core/contracts/drive.js';
import type { Logger } from '../../core/contracts/logger.js';
import type { CopyDrop, CopyRestore, DerivedReport, ListPage, ScrubPace, ScrubReport, ListRequest, ListVersionsRequest, MetadataStore, ObjectRecord, SweptKey, VersionPage, VersionSelector } from '../../core/contracts/metadata.js';
import type { NodeSet } from '../../core/contracts/nodes.js';
import type { Placement } from '../../core/contracts/placement.js';
import type { LayoutView } from '../../core/layout-view.js';
import { WriteQuorumError, type NodeFailure } from '../../core/errors.js';
import { RECORD_SUFFIX, recordDir, recordPath, TOMBSTONE_SUFFIX, tombstonePath } from '../../core/layout.js';
import { shardWriteQuorum } from '../../core/shard-quorum.js';
import { TOKENS } from '../../core/tokens.js';
import { isNullVersion, versionTime } from '../../core/version-id.js';
import { decodeCopy, decodeRecord, encodeRecord, recordCopies } from './record-codec.js';
import { idsOf, writeCopy } from './record-copies.js';
import { indexEntry, recordBatches } from './record-scan.js';
import { NodeIndexes } from './node-indexes.js';
import { sweepRecords } from './record-sweep.js';
import { entryRow, IndexCorruptError, mergeListing, mergeVersions, removalRows, type IndexReader } from './listing-index.js';

/** How long a record copy that does not decode may still be one being written. */
const IN_PROGRESS_MS = 60_000;
/** The largest chunk a batch of restored copies shares. */
const RESTORE_CHUNK_BYTES = 1 << 20;

/**
 * A copy's answer: the readable record of the version asked for, or
 * nothing; `reached`: the node could be read at all; `gone`: versions it
 * holds tombstones of.
 */
type Answer = { node: number; record: ObjectRecord | undefined; shard?: Uint8Array; reached: boolean; gone?: readonly string[] };


/**
 * Metadata as msgpack records, one file per version, on the METACOPIES nodes
 * that placement picks for the key and on every node holding one of the
 * object's shards (as MinIO keeps xl.meta beside the data): with 4+3 and 3
 * copies, losing 3 nodes could take all 3 replicas, never all 7 copies.
 * Writing a new file per version means concurrent writers never overwrite
 * each other; the greatest version id wins.
 */
@injectable()
export class MsgpackMetadataStore implements MetadataStore {
  private readonly slots: NodeIndexes;
  /**
   * Inline shards that came with the copies a `get` read, by shard index, so
   * that reading the object does not fetch those copies a second time.
   */
  private readonly shardsRead = new WeakMap<ObjectRecord, Map<number, Uint8Array>>();

  constructor(
    @inject(TOKENS.Config) private readonly config: KintsugiConfig,
    @inject(TOKENS.Nodes) private readonly nodes: NodeSet,
    @inject(TOKENS.Placement) private readonly placement: Placement,
    @inject(TOKENS.Logger) private readonly log: Logger,
    @inject(TOKENS.Layout) private readonly layout: LayoutView,
  ) {
    this.slots = new NodeIndexes(nodes, () => layout.settledNodes(), () => layout.fillingNodes(), config.parity);
  }

  /** The METACOPIES nodes placement picks for a key. */
  metaNodes(bucket: string, key: string): number[] {
    return this.placed(bucket, key, 0).metadata;
  }

  private placed(bucket: string, key: string, shardCount: number) {
    return this.placement.place({
      bucket, key,
      nodes: this.layout.placementNodes(),
      metaCopies: this.config.metaCopies,
      shardCount,
    });
  }

  async put(record: ObjectRecord, shards?: readonly Uint8Array[]): Promise<{ firstVersion: boolean }> {
    const meta = this.metaNodes(record.bucket, record.key);
    const targets = [...new Set([...meta, ...record.shardNodes])];
    const copyFor = recordCopies(record);
    const path = recordPath(record.bucket, record.key, record.versionId);
    const entry = indexEntry(record);
    const failures: NodeFailure[] = [];
    // The copy and its listing entry go in one commit: one call per node, one flush.
    const row = entryRow(record.bucket, entry);
    const written = await Promise.all(targets.map((n) => {
      const shard = shards?.[record.shardNodes.indexOf(n)];
      const bytes = copyFor(shard);
      return writeCopy(this.shelf(n), path, bytes, [row]).catch((err: Error) => {
        this.log.warn('metadata replica write failed', { node: n, error: err.message });
        failures.push({ node: n, why: err.message });
        return undefined;
      });
    }));
    const ok = written.map((w) => w !== undefined);
    this.assertQuorum('metadata', meta, targets, ok, failures);
    if (shards) {
      // Inline data is only as safe as the shards that landed.
      const landed = record.shardNodes.filter((n) => ok[targets.indexOf(n)]).length;
      const need = shardWriteQuorum(record.codec.k, record.codec.m);
      if (landed < need) throw new WriteQuorumError(`only ${landed} of ${record.shardNodes.length} inline shards written, ${need} needed`, failures);
    }
    // Offline nodes may hold older versions: only a write that made every
    // target's folder knows there is nothing older anywhere.
    return { firstVersion: written.every((w) => w?.newFolder === true) };
  }

  async revise(record: ObjectRecord): Promise<void> {
    const path = recordPath(record.bucket, record.key, record.versionId);
    const targets = this.targets(record.bucket, record.key, record.shardNodes);
    const meta = this.metaNodes(record.bucket, record.key);
    // Each copy is rewritten from itself: an inline object's copy keeps its node's shard.
    const written = await Promise.all(targets.map(async (n) => {
      try {
        const bytes = (await this.shelf(n).get(path))?.bytes;
        const copy = bytes && decodeCopy(bytes);
        if (!copy || copy.record.versionId !== record.versionId) return false;
        await this.shelf(n).put([{ name: path, bytes: encodeRecord(record, copy.shard) }]);
        return true;
      } catch {
        return false;
      }
    }));
    this.assertQuorum('revised record', meta, targets, written);
  }

  /**
   * Throws WriteQuorumError unless copies landed on a majority of the
   * replicas and more than PARITY nodes; or, when most replicas cannot take
   * them (PARITY nodes read-only, refused, offline), on all but PARITY of
   * the key's nodes, which every read meets (reads gather PARITY + 1 answers
   * besides the replica majority).
   */
  private assertQuorum(what: string, meta: readonly number[], targets: readonly number[], ok: readonly boolean[], failures: readonly NodeFailure[] = []): void {
    const metaOk = meta.filter((n) => ok[targets.indexOf(n)]).length;
    const total = ok.filter(Boolean).length;
    const usual = metaOk > meta.length / 2 && total >= Math.min(targets.length, this.config.parity + 1);
    const wide = total >= targets.length - this.config.parity;
    if (!usual && !wide) throw new WriteQuorumError(`${what} written to ${metaOk}/${meta.length} replicas and ${total}/${targets.length} copies: no quorum`, failures);
  }

  async readShard(record: ObjectRecord, shard: number): Promise<Uint8Array | undefined> {
    const seen = this.shardsRead.get(record)?.get(shard);
    if (seen) return seen;
    const node = record.shardNodes[shard];
    if (node === undefined || !this.nodes.drives[node]) return undefined;
    const bytes = (await this.shelf(node).get(recordPath(record.bucket, record.key, record.versionId)).catch(() => undefined))?.bytes;
    const copy = bytes && decodeCopy(bytes);
    return copy && copy.record.versionId === record.versionId && copy.record.shardNodes[shard] === node ? copy.shard : undefined;
  }

  async get(bucket: string, key: string, version?: VersionSelector): Promise<ObjectRecord | undefined> {
    const placed = this.placed(bucket, key, this.config.data + this.config.parity);
    const meta = placed.metadata;
    const answers = await this.readQuorum(bucket, key, version, meta, placed.shards.filter((n) => !meta.includes(n)));
    let best = newest(answers);
    let others: Answer[] = [];
    if (answers.filter((a) => a.record && meta.includes(a.node)).length <= meta.length / 2) {
      // Too few replicas answered: ask every other node for its copy.
      const rest = this.nodes.drives.map((d) => d.index).filter((n) => !answers.some((a) => a.node === n));
      others = await Promise.all(rest.map((n) => this.readVersion(n, bucket, key, version)));
      best = newest([...answers, ...others]);
    }
    // An inline record's copies each carry their node's shard, which only
    // the healer can rebuild: no quick repair for those.
    if (best?.inline) this.keepShards(best, [...answers, ...others]);
    else if (best && version === undefined) this.repair(best, meta, answers);
    return best;
  }

  async versions(bucket: string, key: string): Promise<ObjectRecord[]> {
    const placed = this.placed(bucket, key, this.config.data + this.config.parity);
    const dir = recordDir(bucket, key);
    const names = await Promise.all(this.nodes.drives.map((d) => d.shelf.list(dir).catch(() => [] as string[])));
    const gone = new Set(idsOf(names.flat(), TOMBSTONE_SUFFIX));
    const ids = [...new Set(idsOf(names.flat(), RECORD_SUFFIX))].filter((v) => !gone.has(v)).sort().reverse();
    // The key's own nodes first: they hold every version written the usual way.
    const order = [...new Set([...placed.metadata, ...placed.shards, ...this.nodes.drives.map((d) => d.index)])];
    const records: ObjectRecord[] = [];
    for (const id of ids) {
      for (const n of order.filter((x) => names[x]!.includes(`${id}${RECORD_SUFFIX}`))) {
        const bytes = (await this.shelf(n).get(recordPath(bucket, key, id)).catch(() => undefined))?.bytes;
        const record = bytes && decodeRecord(bytes);
        if (record && record.versionId === id) {
          records.push(record);
          break;
        }
      }
    }
    return records;
  }

  private keepShards(record: ObjectRecord, answers: Answer[]): void {
    const shards = new Map<number, Uint8Array>();
    for (const a of answers) {
      const i = record.shardNodes.indexOf(a.node);
      // Same version, and the copy agrees where its shard belongs (a healed copy may have moved it).
      if (a.shard && i >= 0 && a.record?.versionId === record.versionId && a.record.shardNodes[i] === a.node) shards.set(i, a.shard);
    }
    this.shardsRead.set(record, shards);
  }

  async prune(bucket: string, key: string, versionId: string, nodes: readonly number[]): Promise<{ keep: string; hadOlder: boolean }> {
    const targets = this.targets(bucket, key, nodes);
    const dir = recordDir(bucket, key);
    const listings = await Promise.all(targets.map((n) => this.shelf(n).list(dir).catch(() => [] as string[])));
    const versions = listings.map((names) => idsOf(names, RECORD_SUFFIX).filter(isNullVersion));
    // A concurrent writer may have committed a newer null version meanwhile.
    const keep = versions.flat().reduce((a, b) => (b > a ? b : a), versionId);
    const older = versions.map((vs) => vs.filter((v) => v < keep));
    await Promise.all(targets.map(async (n, i) => {
      if (older[i]!.length === 0) return;
      await this.shelf(n).remove(older[i]!.map((v) => recordPath(bucket, key, v)), removalRows(bucket, key, older[i]!)).catch(() => undefined);
    }));
    return { keep, hadOlder: older.some((vs) => vs.length > 0) };
  }

  async purge(record: ObjectRecord): Promise<void> {
    const { bucket, key, versionId } = record;
    const targets = this.targets(bucket, key, record.shardNodes);
    const meta = this.metaNodes(bucket, key);
    // A tombstone keeps what identifies the version (and indexes it), not what described its bytes.
    const { headers: _h, userMetadata: _u, checksums: _c, parts: _p, inline: _i, tags: _t, ...identifying } = record;
    const stone = encodeRecord(identifying);
    const gone = entryRow(bucket, { ...indexEntry(record), gone: true });
    const written = await Promise.all(targets.map((n) => writeCopy(this.shelf(n), tombstonePath(bucket, key, versionId), stone, [gone]).then(() => true, (err: Error) => {
      this.log.warn('tombstone write failed', { node: n, error: err.message });
      return false;
    })));
    this.assertQuorum('tombstone', meta, targets, written);
    await Promise.all(targets.filter((_, i) => written[i]).map((n) => this.shelf(n).remove([recordPath(bucket, key, versionId)]).catch(() => undefined)));
  }

  async collectTombstones(bucket: string, key: string, graceMs: number): Promise<number> {
    const dir = recordDir(bucket, key);
    // A removed node holds nothing a tombstone would have to outvote.
    const drives = this.nodes.drives.filter((d) => this.layout.inService(d.index));
    const listed = await Promise.all(drives.map((d) => d.shelf.list(dir).then((x) => x, () => undefined)));
    const names: (string[] | undefined)[] = [];
    drives.forEach((d, i) => { names[d.index] = listed[i]; });
    // A node that cannot be read may still hold a record a tombstone outvotes.
    if (listed.some((x) => x === undefined)) return 0;
    const gone = [...new Set(idsOf(listed.flat() as string[], TOMBSTONE_SUFFIX))];
    let collected = 0;
    for (const id of gone) {
      const holders = drives.filter((d) => names[d.index]!.includes(`${id}${TOMBSTONE_SUFFIX}`));
      // Any stale record copy is removed first; the tombstone goes once it is old.
      await Promise.all(drives.filter((d) => names[d.index]!.includes(`${id}${RECORD_SUFFIX}`)).map((d) => d.shelf.remove([recordPath(bucket, key, id)]).catch(() => undefined)));
      const stats = await Promise.all(holders.map((d) => d.shelf.get(tombstonePath(bucket, key, id)).catch(() => undefined)));
      if (stats.some((st) => !st || Date.now() - st.mtimeMs < graceMs)) continue;
      await Promise.all(holders.map((d) => d.shelf.remove([tombstonePath(bucket, key, id)], removalRows(bucket, key, [id]))));
      collected++;
    }
    return collected;
  }

  async dropCopies(drops: readonly CopyDrop[]): Promise<void> {
    const byNode = new Map<number, { names: string[]; rows: ReturnType<typeof removalRows> }>();
    for (const { record, nodes } of drops) {
      const { bucket, key, versionId } = record;
      for (const n of nodes) {
        let batch = byNode.get(n);
        if (!batch) byNode.set(n, (batch = { names: [], rows: [] }));
        batch.names.push(recordPath(bucket, key, versionId));
        batch.rows.push(...removalRows(bucket, key, [versionId]));
      }
    }
    await Promise.all([...byNode].map(([n, { names, rows }]) => this.shelf(n).remove(names, rows)));
  }

  async discard(bucket: string, key: string, versionId: string, nodes: readonly number[]): Promise<void> {
    const path = recordPath(bucket, key, versionId);
    const rows = removalRows(bucket, key, [versionId]);
    await Promise.all(this.targets(bucket, key, nodes).map((n) => this.shelf(n).remove([path], rows).catch(() => undefined)));
  }

  private targets(bucket: string, key: string, nodes: readonly number[]): number[] {
    return [...new Set([...this.metaNodes(bucket, key), ...nodes])];
  }

  /**
   * Merges the indexes of NUMNODES - PARITY nodes that are up: every put and
   * delete reached at least PARITY + 1 nodes (the write quorum above), so
   * any NUMNODES - PARITY of them hold a copy of every key and of its newest
   * version. Merging fewer cursors is what a page of 1000 mostly costs.
   */
  list(request: ListRequest): Promise<ListPage> {
    return this.merged((indexes) => mergeListing(indexes, request));
  }

  listVersions(request: ListVersionsRequest): Promise<VersionPage> {
    return this.merged((indexes) => mergeVersions(indexes, request));
  }

  /** Runs a merge over the listable indexes; one that fails mid-listing is taken out and the page listed again from the others. */
  private async merged<T>(merge: (indexes: IndexReader[]) => Promise<T>): Promise<T> {
    for (;;) {
      const picked = await this.slots.listable();
      try {
        return await merge(picked.map((p) => p.index));
      } catch (err) {
        const bad = err instanceof IndexCorruptError ? picked.find((p) => p.index === (err as IndexCorruptError & { index?: IndexReader }).index) : undefined;
        if (!bad) throw err;
        await this.slots.fault(bad.node, err);
      }
    }
  }

  scrub(pace: ScrubPace): Promise<ScrubReport[]> {
    const asked = this.nodes.drives.filter((d) => !pace.nodes || pace.nodes.includes(d.index));
    return Promise.all(asked.map(async (d): Promise<ScrubReport> => {
      if (!this.nodes.health.canRead(d.index)) return { node: d.index, state: 'unavailable', why: `node ${this.nodes.health.status()[d.index]?.state ?? 'unavailable'}`, damaged: [] };
      try {
        return { node: d.index, ...(await this.slots.node(d.index).scrub(pace)) };
      } catch (err) {
        return { node: d.index, state: 'unavailable', why: (err as Error).message, damaged: [] };
      }
    }));
  }

  checkDerived(options: { wait?: boolean } = {}): Promise<DerivedReport[]> {
    return this.slots.checkAll(options.wait ?? false);
  }

  reindex(nodes: readonly number[]): Promise<DerivedReport[]> {
    return this.slots.reindex(nodes);
  }

  async missingCopies(record: ObjectRecord): Promise<number[]> {
    const path = recordPath(record.bucket, record.key, record.versionId);
    const targets = this.targets(record.bucket, record.key, record.shardNodes);
    const sound = await Promise.all(targets.map(async (n) => {
      const bytes = (await this.shelf(n).get(path).catch(() => undefined))?.bytes;
      const copy = bytes && decodeCopy(bytes);
      // An inline object's copy on a shard node must carry that node's shard.
      const needsShard = record.inline === true && record.shardNodes.includes(n);
      return copy !== undefined && copy.record.versionId === record.versionId && (!needsShard || copy.shard !== undefined);
    }));
    return targets.filter((_, i) => !sound[i]);
  }

  async *allObjects(): AsyncIterable<{ bucket: string; key: string }> {
    const seen = new Set<string>();
    for (const drive of this.nodes.drives) {
      for await (const folders of recordBatches(drive.shelf, false, true)) {
        for (const { records, id } of folders) {
          if (seen.has(id)) continue;
          seen.add(id);
          yield { bucket: records[0]!.record.bucket, key: records[0]!.record.key };
        }
      }
    }
  }

  sweep(options: { batchKeys?: number; folder?: string; after?: string } = {}): AsyncIterable<SweptKey[]> {
    return sweepRecords(this.nodes.drives.map((d) => d.shelf), (bucket, key) => this.metaNodes(bucket, key), options.batchKeys ?? 512, options.folder, options.after);
  }

  async restoreCopies(restores: readonly CopyRestore[]): Promise<number> {
    const byNode = new Map<number, { items: { name: string; bytes: Uint8Array }[]; rows: ReturnType<typeof entryRow>[] }>();
    // A batch's copies (thousands, for a rebalance) share a few chunks: they go together once the puts are done.
    const arena = new ByteArena(RESTORE_CHUNK_BYTES);
    const alloc = (n: number) => arena.alloc(n);
    for (const { record, nodes, shards, listed, unindexed } of restores) {
      const name = recordPath(record.bucket, record.key, record.versionId);
      const row = entryRow(record.bucket, indexEntry(record));
      const copyFor = recordCopies(record, alloc);
      for (const n of nodes) {
        const shard = shards?.[record.shardNodes.indexOf(n)];
        let batch = byNode.get(n);
        if (!batch) byNode.set(n, (batch = { items: [], rows: [] }));
        batch.items.push({ name, bytes: copyFor(shard) });
        if (!listed?.includes(n) && !unindexed?.includes(n)) batch.rows.push(row);
      }
    }
    const landed = await Promise.all([...byNode].map(([n, { items, rows }]) => this.shelf(n).put(items, rows).then(() => items.length, (err: Error) => {
      this.log.warn('record copies not restored', { node: n, copies: items.length, error: err.message });
      return 0;
    })));
    return landed.reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    // The node-side keepers are the nodes' hosts' to close (NodeSet.close).
  }

  /** Node n's shelf, where its record copies are kept (group-committed). */
  private shelf(n: number): DriveShelf {
    return this.nodes.drives[n]!.shelf;
  }

  /**
   * Reads copies until a majority of the metadata replicas has answered with
   * a record and PARITY + 1 of the key's nodes could be read at all (or all
   * were asked). The majority meets every version written the usual way (to
   * a majority of replicas); the PARITY + 1 meet one written while most
   * replicas could not take it (to all but PARITY of the key's nodes). Only
   * that many are asked at first; another is asked for each that has
   * nothing (a replica) or cannot be read.
   */
  private readQuorum(bucket: string, key: string, version: VersionSelector, meta: number[], others: number[]): Promise<Answer[]> {
    return new Promise((resolve) => {
      const answers: Answer[] = [];
      const needFound = Math.floor(meta.length / 2) + 1;
      const needReached = Math.min(this.config.parity + 1, meta.length + others.length);
      let metaAsked = 0;
      let othersAsked = 0;
      let settled = 0;
      let found = 0;
      let reached = 0;
      const done = (a: Answer, replica: boolean) => {
        answers.push(a);
        settled++;
        if (a.reached) reached++;
        if (replica && a.record) found++;
        else if (replica && metaAsked < meta.length) ask(meta[metaAsked++]!, true);
        else if (!a.reached && othersAsked < others.length) ask(others[othersAsked++]!, false);
        if ((found >= needFound && reached >= needReached) || settled === metaAsked + othersAsked) resolve([...answers]);
      };
      const ask = (n: number, replica: boolean) => { void this.readVersion(n, bucket, key, version).then((a) => done(a, replica)); };
      while (metaAsked < Math.min(needFound, meta.length)) ask(meta[metaAsked++]!, true);
      while (metaAsked + othersAsked < needReached && othersAsked < others.length) ask(others[othersAsked++]!, false);
      while (metaAsked + othersAsked < needReached && metaAsked < meta.length) ask(meta[metaAsked++]!, true);
    });
  }

  /**
   * The record of the version asked for on one node (by default its newest,
   * for `null` its newest null version) that passes its checksum and has no
   * tombstone there.
   */
  private async readVersion(n: number, bucket: string, key: string, version: VersionSelector): Promise<Answer> {
    try {
      const { bytes, gone, unreadable } = await this.slots.node(n).readCopy(bucket, key, version);
      // Copies are created in place: a young one that does not decode is
      // most likely still being written, not rot worth a warning.
      for (const id of unreadable) {
        if (Date.now() - versionTime(id) > IN_PROGRESS_MS) this.log.warn('rotten metadata record ignored', { node: n, file: recordPath(bucket, key, id) });
      }
      const copy = bytes && decodeCopy(bytes);
      if (copy) return { node: n, record: copy.record, reached: true, gone, ...(copy.shard ? { shard: copy.shard } : {}) };
      return { node: n, record: undefined, reached: true, gone };
    } catch (err) {
      // A node known to be out of service says so once, in its health, not per read.
      if ((err as { code?: string }).code !== 'ERR_NODE_UNAVAILABLE') this.log.warn('metadata replica unreadable', { node: n, error: (err as Error).message });
    }
    return { node: n, record: undefined, reached: false };
  }

  /** Rewrites the winning record to replicas that lack it, in the background. */
  private repair(best: ObjectRecord, meta: number[], answers: Answer[]): void {
    const stale = meta.filter((n) => {
      const a = answers.find((x) => x.node === n);
      return a !== undefined && (!a.record || a.record.versionId < best.versionId);
    });
    if (stale.length === 0) return;
    const bytes = encodeRecord(best);
    const path = recordPath(best.bucket, best.key, best.versionId);
    const row = entryRow(best.bucket, indexEntry(best));
    for (const n of stale) {
      this.shelf(n).put([{ name: path, bytes }], [row]).then(
        () => this.log.info('metadata replica repaired', { node: n, bucket: best.bucket, key: best.key }),
        () => undefined,
      );
    }
  }
}

/** The newest record answered that no answer holds a tombstone of (a node that missed a delete is outvoted). */
function newest(answers: Answer[]): ObjectRecord | undefined {
  const gone = new Set(answers.flatMap((a) => a.gone ?? []));
  let best: ObjectRecord | undefined;
  for (const a of answers) if (a.record && !gone.has(a.record.versionId) && (!best || a.record.versionId > best.versionId)) best = a.record;
  return best;
}
