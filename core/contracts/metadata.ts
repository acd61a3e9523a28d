import type { CodecParams } from './codec.js';

/**
 * Where a run of an object's bytes lives: shard files `part.<i>` in `dir`
 * (relative to the object's data folder) on `shardNodes`, coded with `codec`.
 */
export interface DataSpan {
  readonly dir: string;
  readonly size: number;
  readonly codec: CodecParams;
  /** object bytes per full stripe (core/engine/geometry.ts) */
  readonly stripeBytes: number;
  readonly shardNodes: readonly number[];
}

/** One part of a multipart object. */
export interface PartSpan extends DataSpan {
  readonly partNumber: number;
  readonly etag: string;
  /** the part's x-amz-checksum-* values (base64) by algorithm, as its UploadPart checked or computed them */
  readonly checksums?: Readonly<Record<string, string>>;
}

/** S3's x-amz-checksum-type. */
export type ChecksumType = 'COMPOSITE' | 'FULL_OBJECT';

/** The record kept for one object version (or a delete marker, `deleted`). */
export const RETENTION_MODES = ['GOVERNANCE', 'COMPLIANCE'] as const;
export type RetentionMode = (typeof RETENTION_MODES)[number];

/** A version's Object Lock retention: kept until `untilMs`; COMPLIANCE against anyone, GOVERNANCE unless bypassed (core/engine/object-lock.ts). */
export interface Retention {
  readonly mode: RetentionMode;
  readonly untilMs: number;
}

export interface ObjectRecord {
  readonly bucket: string;
  readonly key: string;
  /** sortable id (core/version-id.ts); the greatest one is the current version; its spelling tells a null version from others */
  readonly versionId: string;
  /** a delete marker: the object is gone as of this version */
  readonly deleted?: boolean;
  readonly size: number;
  /** quoted-free hex MD5 of the body, or `md5-N` for multipart */
  readonly etag: string;
  readonly createdMs: number;
  readonly contentType?: string;
  /** Content-Encoding, Content-Disposition, Cache-Control, ... as sent */
  readonly headers?: Readonly<Record<string, string>>;
  /** x-amz-meta-* without the prefix */
  readonly userMetadata?: Readonly<Record<string, string>>;
  /** x-amz-checksum-* values by algorithm */
  readonly checksums?: Readonly<Record<string, string>>;
  /** how `checksums` were taken: of the whole object's bytes (absent: so), or of its parts' checksums (a multipart upload's COMPOSITE, `-N` at the end) */
  readonly checksumType?: ChecksumType;
  /** the version's tag set, in the order it was put (absent: none) */
  readonly tags?: readonly (readonly [string, string])[];
  /** Object Lock retention (absent: none) */
  readonly retention?: Retention;
  /** an Object Lock legal hold is on (absent: off) */
  readonly legalHold?: boolean;
  /** the code the object was written with */
  readonly codec: CodecParams;
  /** object bytes per full stripe (a multiple of k; core/engine/geometry.ts) */
  readonly stripeBytes: number;
  /** node index of shard i (data shards first, then parity) */
  readonly shardNodes: readonly number[];
  /** a multipart object's parts, in order; absent: the data is in folder `versionId` */
  readonly parts?: readonly PartSpan[];
  /**
   * a small object whose shards live inside the record copies: the copy on
   * shardNodes[i] carries shard i (MinIO's inline data), so a put writes
   * one item on each node's shelf and no shard file
   */
  readonly inline?: boolean;
}

/** The spans holding a record's bytes, in order. */
export function dataSpans(record: ObjectRecord): readonly DataSpan[] {
  return record.parts ?? [{ dir: record.versionId, size: record.size, codec: record.codec, stripeBytes: record.stripeBytes, shardNodes: record.shardNodes }];
}

/** The folders of the object's data folder that a record's bytes live in (a multipart object's parts share one). */
export function dataFolders(record: ObjectRecord): string[] {
  return [...new Set(dataSpans(record).map((s) => s.dir.split('/')[0]!))];
}

/** One row of a listing. */
export interface ListEntry {
  readonly key: string;
  readonly versionId: string;
  readonly size: number;
  readonly etag: string;
  readonly modifiedMs: number;
}

export interface ListRequest {
  readonly bucket: string;
  readonly prefix?: string;
  readonly delimiter?: string;
  /** list keys strictly after this one */
  readonly startAfter?: string;
  readonly maxKeys: number;
}

export interface ListPage {
  readonly entries: ListEntry[];
  readonly commonPrefixes: string[];
  readonly isTruncated: boolean;
  /** pass as startAfter to continue (a key or a common prefix) */
  readonly next?: string;
}

/** One row of a ListObjectVersions page. */
export interface VersionEntry extends ListEntry {
  /** a delete marker */
  readonly deleted: boolean;
  /** the key's current version (marker included) */
  readonly isLatest: boolean;
}

export interface ListVersionsRequest {
  readonly bucket: string;
  readonly prefix?: string;
  readonly delimiter?: string;
  /** list keys after this one, or (with versionIdMarker) this key's versions after that one */
  readonly keyMarker?: string;
  /** an internal version id, or `null` */
  readonly versionIdMarker?: string;
  readonly maxKeys: number;
}

export interface VersionPage {
  readonly entries: VersionEntry[];
  readonly commonPrefixes: string[];
  readonly isTruncated: boolean;
  readonly nextKeyMarker?: string;
  /** internal id of the last version listed (absent after a common prefix) */
  readonly nextVersionIdMarker?: string;
}

/**
 * Which version a read addresses: undefined, the current one (a delete
 * marker included); `null`, the bucket's null version; else a version id.
 */
export type VersionSelector = string | undefined;

/** What a check of one node's derived structures (its listing index) found. */
export interface DerivedReport {
  readonly node: number;
  /** sound; set aside and rebuilding (or `rebuilt` when waited for); unavailable (the node cannot be checked now); none (not a local node) */
  readonly state: 'sound' | 'rebuilding' | 'rebuilt' | 'unavailable' | 'none';
  readonly why?: string;
  readonly entries?: number;
}

/** One version as a sweep over every node's records found it. */
export interface SweptVersion {
  /** the record as its metadata replicas hold it (else any node that has it) */
  readonly record: ObjectRecord;
  /** nodes that should hold a sound copy (replicas and shard nodes), were read, and hold none */
  readonly missing: readonly number[];
  /** nodes that hold a sound copy, wherever it belongs */
  readonly holders: readonly number[];
  /** an inline record's framed shards as its shard nodes' copies carry them, by shard index (undefined: lost) */
  readonly shards?: readonly (Uint8Array | undefined)[];
  /** every sound copy places the shards alike (a copy a node kept from before a heal moved them does not) */
  readonly agreed: boolean;
}

/** What the nodes hold of one key, read in a sweep (see MetadataStore.sweep). */
export interface SweptKey {
  readonly bucket: string;
  readonly key: string;
  /** where the key's records are: a sweep resumed `after` it starts with the next key */
  readonly folder: string;
  /** versions with a sound record somewhere and a tombstone nowhere, newest first */
  readonly versions: readonly SweptVersion[];
  /** versions some node holds a tombstone of */
  readonly tombstones: readonly string[];
  /** nodes whose records could not be read in this sweep: what they hold is unknown */
  readonly unread: readonly number[];
}

/** A record copy to write back: the nodes it is missing on; an inline record's framed shards, by shard index. */
export interface CopyRestore {
  readonly record: ObjectRecord;
  readonly nodes: readonly number[];
  readonly shards?: readonly Uint8Array[];
  /**
   * Of `nodes`, those that already hold a copy of this version (a rewrite
   * naming new shard nodes): their listing entry, which names none, stays.
   */
  readonly listed?: readonly number[];
  /**
   * Of `nodes`, those that take the copy without its listing entry: a node
   * filling after it joined, whose index no listing counts on and which is
   * rebuilt whole from its records (`reindex`) before the node settles.
   * Entries written one by one land on random index pages; a rebuild
   * writes them many to a page.
   */
  readonly unindexed?: readonly number[];
}

/** A version's record copies to remove, from `nodes` only (where a rebalance no longer places them). */
export interface CopyDrop {
  readonly record: ObjectRecord;
  readonly nodes: readonly number[];
}

/**
 * How fast each node scrubs: at most `rateBytes` a second, every byte at
 * least once per `periodMs`; `now`: a pass starts now where none is under
 * way (an operator's `kintsugi scrub`); `nodes`: those nodes only.
 */
export interface ScrubPace {
  readonly rateBytes: number;
  readonly periodMs: number;
  readonly now?: boolean;
  readonly nodes?: readonly number[];
}

/**
 * What a node's scrub found wrong: a record copy or shard file failing its
 * checksum, or missing. A copy that does not decode does not say its key:
 * `folder` then names the key's records for a sweep of that key alone.
 */
export interface ScrubDamage {
  readonly bucket: string;
  readonly key?: string;
  readonly folder?: string;
  readonly versionId?: string;
  /** the item or file, and what is wrong with it */
  readonly what: string;
}

/** Where one node's scrub stands. */
export interface ScrubReport {
  readonly node: number;
  /** scrubbing; waiting for its next pass; or the node cannot be asked now */
  readonly state: 'scrubbing' | 'waiting' | 'unavailable';
  readonly why?: string;
  /** the pass under way (or the last one, while waiting): when it started, what it has read */
  readonly passStartedMs?: number;
  readonly bytes?: number;
  readonly items?: number;
  /** the last finished pass */
  readonly lastPass?: { readonly startedMs: number; readonly finishedMs: number; readonly bytes: number; readonly items: number; readonly damaged: number };
  /** when the next pass is due at the latest */
  readonly dueMs?: number;
  /** damage found since the last report (the caller repairs it) */
  readonly damaged: readonly ScrubDamage[];
}

/**
 * Object metadata, replicated: reads confirm against a majority and the
 * newest version wins; writes are atomic per replica and succeed on a quorum.
 */
export interface MetadataStore {
  /** The version's record (delete markers included), by default the current one; undefined if there is none. */
  get(bucket: string, key: string, version?: VersionSelector): Promise<ObjectRecord | undefined>;
  /** Every version of the key that has not been deleted for good, newest first (the healer's view). */
  versions(bucket: string, key: string): Promise<ObjectRecord[]>;
  /**
   * Writes a record (or a delete marker) to its replicas and the listing
   * index. For an inline record, `shards[i]` (the framed shard file bytes)
   * goes into the copy on shardNodes[i]. `firstVersion` is true when no node
   * written to had any record of the key before: there is nothing to prune.
   */
  put(record: ObjectRecord, shards?: readonly Uint8Array[]): Promise<{ firstVersion: boolean }>;
  /**
   * Rewrites every copy of one version's record as `record` (same bucket,
   * key and version id; what changed: its tags, its lock), each copy keeping
   * the inline shard it carries. WriteQuorumError when too few copies took it.
   */
  revise(record: ObjectRecord): Promise<void>;
  /** Shard i of an inline record, from the copy on its node, or undefined when that copy is missing or rotten. */
  readShard(record: ObjectRecord, shard: number): Promise<Uint8Array | undefined>;
  /**
   * Removes records of null versions older than the newest committed null
   * version (at least `versionId`) on the metadata nodes and `nodes`; returns
   * the version kept, so that the caller removes the same versions' data, and
   * whether there were older versions at all (when not, there is no data to
   * remove). Versions written while versioning was enabled stay.
   */
  prune(bucket: string, key: string, versionId: string, nodes: readonly number[]): Promise<{ keep: string; hadOlder: boolean }>;
  /**
   * Deletes one version for good: every copy of its record becomes a
   * tombstone, which a node that missed the delete cannot outvote.
   */
  purge(record: ObjectRecord): Promise<void>;
  /** Removes the key's tombstones once every node they belong on is reachable and they are older than graceMs (healer); returns how many. */
  collectTombstones(bucket: string, key: string, graceMs: number): Promise<number>;
  /** Removes one version's records after its put failed to reach a quorum. */
  discard(bucket: string, key: string, versionId: string, nodes: readonly number[]): Promise<void>;
  list(request: ListRequest): Promise<ListPage>;
  listVersions(request: ListVersionsRequest): Promise<VersionPage>;
  /** Nodes that should hold a copy of `record` but have no sound copy of it (for the healer). */
  missingCopies(record: ObjectRecord): Promise<number[]>;
  /** Every (bucket, key) with a record on some node, each once (for the healer's full pass). */
  allObjects(): AsyncIterable<{ bucket: string; key: string }>;
  /**
   * Walks every node's records at once, in key order, a large batch of keys
   * at a time (the healer's redundancy pass: no per-key round trips);
   * `folder` (from a ScrubDamage): that key's records alone; `after` (a
   * SweptKey's folder): the keys after that one (a sweep resumed).
   */
  sweep(options?: { batchKeys?: number; folder?: string; after?: string }): AsyncIterable<SweptKey[]>;
  /**
   * Writes record copies back where they are missing, with their listing
   * entries: one commit per node for the whole batch. Returns how many
   * copies landed; a node that fails takes none (the next pass retries).
   */
  restoreCopies(restores: readonly CopyRestore[]): Promise<number>;
  /**
   * Removes versions' record copies (and their listing entries) from the
   * given nodes only, one commit per node: copies left where a record no
   * longer belongs once a rebalance has written it to its new nodes.
   */
  dropCopies(drops: readonly CopyDrop[]): Promise<void>;
  /**
   * Each node's scrub: its own record copies and shard files read on the
   * node against their checksums at `pace`, no gateway in the path (started
   * where it is not running). Reports where each stands, and hands over the
   * damage found since the last call, for the caller to repair.
   */
  scrub(pace: ScrubPace): Promise<ScrubReport[]>;
  /**
   * Checks the structures derived from the records (listing indexes), each
   * on its node's host, and has those that are not complete rebuilt; with
   * `wait`, returns once the rebuilds are done.
   */
  checkDerived(options?: { wait?: boolean }): Promise<DerivedReport[]>;
  /**
   * Rebuilds these nodes' listing indexes from their records, a rebuild
   * already under way included (it may have walked past copies restored
   * since), and returns once each is done or cannot be.
   */
  reindex(nodes: readonly number[]): Promise<DerivedReport[]>;
  close(): Promise<void>;
}

/**
 * A span (or record) as stored before `stripeBytes` had its name: it was
 * `blockSize`. Decoders of stored records and upload state pass what they
 * read through this.
 */
export function withStripeBytes<T extends { stripeBytes: number }>(stored: T): T {
  const { blockSize, ...rest } = stored as T & { blockSize?: number };
  if (blockSize === undefined) return stored;
  return { ...rest, stripeBytes: rest.stripeBytes ?? blockSize } as T;
}
