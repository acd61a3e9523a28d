import type { DriveShelf } from '../../core/contracts/drive.js';
import type { ObjectRecord, SweptKey, SweptVersion } from '../../core/contracts/metadata.js';
import { RECORD_SUFFIX, TOMBSTONE_SUFFIX } from '../../core/layout.js';
import { decodeCopy, type RecordCopy } from './record-codec.js';

/** Shelf items one call of a sweep reads from a node (inline copies carry up to a 32 KiB shard each). */
const SWEEP_ITEMS = 1024;

type Item = { name: string; bytes: Uint8Array };

/**
 * One node's record items in name order, a key's folder at a time, the next
 * batch asked for while the current one is taken apart (one round trip per
 * batch, hidden behind the work on the one before). A shelf that fails to
 * read ends the walk and marks the node unread.
 */
class FolderWalk {
  private items: Item[] = [];
  private at = 0;
  private next: Promise<Item[]> | undefined;
  private ended = false;
  failed = false;

  constructor(private readonly shelf: DriveShelf, from: string) {
    this.next = this.fetch(from);
  }

  private fetch(after: string): Promise<Item[]> {
    return this.shelf.scan(after, SWEEP_ITEMS).catch(() => {
      this.failed = true;
      return [];
    });
  }

  /** The folder of the next item, or undefined at the end. */
  async head(): Promise<string | undefined> {
    if (this.at >= this.items.length && !(await this.refill())) return undefined;
    return folderOf(this.items[this.at]!.name);
  }

  /** The items of `folder` (the current head), by name. */
  async take(folder: string): Promise<Item[]> {
    const out: Item[] = [];
    for (;;) {
      while (this.at < this.items.length && folderOf(this.items[this.at]!.name) === folder) out.push(this.items[this.at++]!);
      if (this.at < this.items.length || !(await this.refill())) return out;
    }
  }

  private async refill(): Promise<boolean> {
    if (this.ended || !this.next) return false;
    const batch = await this.next;
    const records = batch.filter((i) => i.name.startsWith('meta/'));
    const last = batch[batch.length - 1]?.name;
    this.next = batch.length === SWEEP_ITEMS && records.length === batch.length ? this.fetch(last!) : undefined;
    this.ended = this.failed || this.next === undefined;
    this.items = records;
    this.at = 0;
    return records.length > 0;
  }
}

const folderOf = (name: string) => name.slice(0, name.lastIndexOf('/'));

/** Two copies place the shards alike. */
function sameShardNodes(a: ObjectRecord, b: ObjectRecord): boolean {
  const same = (x: readonly number[], y: readonly number[]) => x.length === y.length && x.every((n, i) => n === y[i]);
  if (!same(a.shardNodes, b.shardNodes)) return false;
  if (!a.parts || !b.parts) return a.parts === b.parts;
  return a.parts.length === b.parts.length && a.parts.every((p, i) => same(p.shardNodes, b.parts![i]!.shardNodes));
}

/**
 * Every key's record copies on all nodes, merged in key order: each node's
 * shelf walked once, in large batches, in parallel. `metaNodes` says where
 * a key's replicas are (whose copy is the record); `only`: one folder.
 */
export async function* sweepRecords(
  shelves: readonly DriveShelf[],
  metaNodes: (bucket: string, key: string) => readonly number[],
  batchKeys: number,
  only?: string,
  after?: string,
): AsyncIterable<SweptKey[]> {
  // A folder's items sort right after its own name ('/' < '0': past a folder's items, before the next folder).
  const walks = shelves.map((s) => new FolderWalk(s, only ?? (after !== undefined ? `${after}0` : 'meta/')));
  let batch: SweptKey[] = [];
  for (;;) {
    const heads = await Promise.all(walks.map((w) => w.head()));
    let folder: string | undefined;
    for (const h of heads) if (h !== undefined && (folder === undefined || h < folder)) folder = h;
    if (folder === undefined || (only !== undefined && folder !== only)) break;
    const held = await Promise.all(walks.map((w, n) => (heads[n] === folder ? w.take(folder) : Promise.resolve([] as Item[]))));
    const unread = walks.flatMap((w, n) => (w.failed ? [n] : []));
    const swept = sweptKey(folder, held, unread, metaNodes);
    if (swept) batch.push(swept);
    if (batch.length >= batchKeys) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** What the nodes' items of one key folder say: its versions, their copies and tombstones. */
function sweptKey(folderOfKey: string, held: readonly Item[][], unread: readonly number[], metaNodes: (bucket: string, key: string) => readonly number[]): SweptKey | undefined {
  const copies = new Map<string, (RecordCopy | undefined)[]>();
  const tombstones = new Set<string>();
  let stone: ObjectRecord | undefined;
  held.forEach((items, node) => {
    for (const { name, bytes } of items) {
      const file = name.slice(name.lastIndexOf('/') + 1);
      if (file.endsWith(TOMBSTONE_SUFFIX)) {
        tombstones.add(file.slice(0, -TOMBSTONE_SUFFIX.length));
        stone ??= decodeCopy(bytes)?.record;
      } else if (file.endsWith(RECORD_SUFFIX)) {
        const id = file.slice(0, -RECORD_SUFFIX.length);
        const copy = decodeCopy(bytes);
        let byNode = copies.get(id);
        if (!byNode) copies.set(id, (byNode = []));
        byNode[node] = copy?.record.versionId === id ? copy : undefined;
      }
    }
  });
  // A key with tombstones only is named by them (a tombstone keeps what identifies its version): the healer collects them.
  const identity = [...copies.values()].flat().find((c) => c !== undefined)?.record ?? stone;
  if (!identity) return undefined;
  const { bucket, key } = identity;
  const meta = metaNodes(bucket, key);
  const versions: SweptVersion[] = [];
  for (const id of [...copies.keys()].sort().reverse()) {
    if (tombstones.has(id)) continue;
    const byNode = copies.get(id)!;
    const holder = [...meta, ...byNode.keys()].find((n) => byNode[n] !== undefined);
    if (holder === undefined) continue;
    const record = byNode[holder]!.record;
    const targets = new Set([...meta, ...record.shardNodes]);
    const missing = [...targets].filter((n) => n < held.length && !unread.includes(n) && !(byNode[n] && (!record.inline || !record.shardNodes.includes(n) || byNode[n]!.shard)));
    const agreed = byNode.every((c) => c === undefined || sameShardNodes(c.record, record));
    const shards = record.inline ? record.shardNodes.map((n, i) => (byNode[n]?.record.shardNodes[i] === n ? byNode[n]!.shard : undefined)) : undefined;
    const holders = [...byNode.keys()].filter((n) => byNode[n] !== undefined);
    versions.push({ record, missing: missing.sort((a, b) => a - b), holders, agreed, ...(shards ? { shards } : {}) });
  }
  return { bucket, key, folder: folderOfKey, versions, tombstones: [...tombstones].sort(), unread };
}
