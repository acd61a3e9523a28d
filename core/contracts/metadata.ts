import type { CodecParams } from './codec.js';

/** The record kept for one object version. */
export interface ObjectRecord {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string;
  readonly size: number;
  readonly etag: string;
  readonly contentType?: string;
  readonly userMetadata?: Readonly<Record<string, string>>;
  readonly createdMs: number;
  readonly codec: CodecParams;
  /** stripe size in data bytes (k x shard block) */
  readonly blockSize: number;
  /** node index holding shard i */
  readonly shardNodes: readonly number[];
}

export interface ListRequest {
  readonly bucket: string;
  readonly prefix?: string;
  readonly delimiter?: string;
  readonly startAfter?: string;
  readonly maxKeys: number;
}

export interface ListPage {
  readonly objects: ObjectRecord[];
  readonly commonPrefixes: string[];
  readonly isTruncated: boolean;
  readonly nextStartAfter?: string;
}

/**
 * Object metadata, replicated: reads confirm against a quorum and newest
 * version wins; writes are atomic and succeed on a quorum.
 */
export interface MetadataStore {
  get(bucket: string, key: string): Promise<ObjectRecord | undefined>;
  put(record: ObjectRecord): Promise<void>;
  delete(bucket: string, key: string, versionId: string): Promise<void>;
  list(request: ListRequest): Promise<ListPage>;
}
