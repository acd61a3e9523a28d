import 'reflect-metadata';

import { inject, injectable } from 'tsyringe';

import type { KintsugiConfig } from '../config.js';
import type { Codec, CodecParams } from '../contracts/codec.js';
import type { DriveWriter } from '../contracts/drive.js';
import type { Logger } from '../contracts/logger.js';
import type { DataSpan, MetadataStore, ObjectRecord } from '../contracts/metadata.js';
import type { NodeSet } from '../contracts/nodes.js';
import type { Placement } from '../contracts/placement.js';
import type { LayoutView } from '../layout-view.js';
import { WriteQuorumError, type NodeFailure } from '../errors.js';
import { objectDir, shardPath } from '../layout.js';
import { shardWriteQuorum } from '../shard-quorum.js';
import { TOKENS } from '../tokens.js';
import { isNullVersion } from '../version-id.js';
import { packetSizeFor } from './geometry.js';
import { Md5Worker } from './md5-worker.js';
import { StripeWriter } from './stripe-writer.js';

/** Shard files written but not yet in place; see VersionWriter.stage. */
export interface StagedSpan {
  readonly md5: string;
  readonly size: number;
  /** Renames the shard files into folder `dir` of the object's data folder. */
  commit(dir: string): Promise<DataSpan>;
  /** Removes the temporary files (after a failed commit too). */
  abort(): Promise<void>;
}

/**
 * Where shard writers are created; they are renamed into their version's
 * folder on commit, so nothing is ever written under this name.
 */
const STAGING_DIR = 'staging';

/**
 * Writes versions: streams bodies into shard files on the object's nodes
 * (spans), commits a version's record once its data is in place, and
 * removes what an older or failed version leaves. The object engine (puts)
 * and multipart uploads (parts, completion) write through it.
 */
@injectable()
export class VersionWriter {
  private readonly md5 = new Md5Worker();

  constructor(
    @inject(TOKENS.Config) private readonly config: KintsugiConfig,
    @inject(TOKENS.Codec) private readonly codec: Codec,
    @inject(TOKENS.Placement) private readonly placement: Placement,
    @inject(TOKENS.MetadataStore) private readonly metadata: MetadataStore,
    @inject(TOKENS.Nodes) private readonly nodes: NodeSet,
    @inject(TOKENS.Logger) private readonly log: Logger,
    @inject(TOKENS.Layout) private readonly layout: LayoutView,
  ) {}

  /**
   * Shards written before a put is acknowledged: k, plus one when k = m so
   * that two halves of a split cluster cannot both win (MinIO's rule). The
   * healer restores the rest.
   */
  get writeQuorum(): number {
    return shardWriteQuorum(this.config.data, this.config.parity);
  }

  /** Shards a read needs: any k of a stripe's. */
  get readQuorum(): number {
    return this.config.data;
  }

  baseParams(): CodecParams {
    const { data: k, parity: m } = this.config;
    return { k, m, w: this.config.w, technique: this.config.technique, packetSize: this.config.packetSize };
  }

  /** Where placement puts a key's metadata replicas (and its lock) and its shards. */
  placed(bucket: string, key: string) {
    return this.placement.place({
      bucket, key, nodes: this.layout.placementNodes(), metaCopies: this.config.metaCopies, shardCount: this.config.data + this.config.parity,
    });
  }

  shardNodesFor(bucket: string, key: string): number[] {
    return this.placed(bucket, key).shards;
  }

  /**
   * Streams `body` into shard files in folder `dir` of the object's data
   * folder and commits them; on any failure the files are removed. Returns
   * the span and the body's MD5.
   */
  async write(bucket: string, key: string, dir: string, body: AsyncIterable<Uint8Array>): Promise<{ span: DataSpan; md5: string }> {
    const staged = await this.stage(bucket, key, body);
    return { span: await staged.commit(dir), md5: staged.md5 };
  }

  /**
   * Streams `body` into temporary shard files on the object's nodes; they
   * become the span in folder `dir` when committed. The folder is named only
   * then, so that a new version's id is taken when its bytes have all
   * arrived: of two overlapping puts, the one that completes last wins.
   */
  async stage(bucket: string, key: string, body: AsyncIterable<Uint8Array>): Promise<StagedSpan> {
    this.layout.assertCurrent();
    const base = this.baseParams();
    const k = base.k;
    let coder = this.codec.coder(base);
    const shardNodes = this.shardNodesFor(bucket, key);

    // Why each node that fails its part failed: a WriteQuorumError names them.
    const failures: NodeFailure[] = [];
    const writers = await Promise.all(shardNodes.map((node, i) =>
      this.nodes.drives[node]!.createWriter(shardPath(bucket, key, STAGING_DIR, i)).catch((err: Error) => {
        this.log.warn('shard writer unavailable', { node, error: err.message });
        failures.push({ node, why: err.message });
        return null;
      })));
    const abortAll = async () => { await Promise.all(writers.map((w) => w?.abort().catch(() => undefined))); };
    if (writers.filter(Boolean).length < this.writeQuorum) {
      await abortAll();
      throw new WriteQuorumError(`only ${writers.filter(Boolean).length} nodes can take shards, ${this.writeQuorum} needed`, failures);
    }

    let size = 0;
    const stripeWriter = new StripeWriter(coder, writers, coder.shardSizeFor(this.config.blockSize), this.writeQuorum,
      (length) => (coder = this.codec.coder({ ...base, packetSize: packetSizeFor(length, k, base.packetSize) })), shardNodes, failures);
    const md5 = this.md5.hasher(stripeWriter.stripeBytes);
    try {
      for await (const chunk of body) {
        await md5.update(chunk);
        size += chunk.byteLength;
        await stripeWriter.write(chunk);
      }
      await stripeWriter.end();
      coder = stripeWriter.usedCoder;
    } catch (err) {
      md5.abandon();
      await abortAll();
      throw err;
    }
    const digest = await md5.digest();
    return {
      md5: digest,
      size,
      commit: async (dir) => {
        try {
          await this.commitShards(writers, size, (i) => shardPath(bucket, key, dir, i), shardNodes, failures);
        } catch (err) {
          await abortAll();
          await this.removeDir(bucket, key, dir, shardNodes);
          throw err;
        }
        return { dir, size, codec: coder.params, stripeBytes: stripeWriter.stripeBytes, shardNodes };
      },
      abort: abortAll,
    };
  }

  /** Makes a record whose data is in place visible, then (a null version) removes the older null versions. */
  async commit(record: ObjectRecord, inlineShards?: readonly Uint8Array[]): Promise<ObjectRecord> {
    const { bucket, key, versionId, shardNodes } = record;
    // Placed by a layout older than the nodes': a rebalance may have passed this key already.
    this.layout.assertCurrent();
    let firstVersion: boolean;
    try {
      ({ firstVersion } = await this.metadata.put(record, inlineShards));
    } catch (err) {
      await this.metadata.discard(bucket, key, versionId, shardNodes);
      if (!record.inline) await this.removeDir(bucket, key, versionId, shardNodes);
      throw err;
    }
    if (!firstVersion && isNullVersion(versionId)) await this.pruneOlder(bucket, key, versionId, shardNodes);
    return record;
  }

  private async commitShards(writers: (DriveWriter | null)[], size: number, pathOf: (shard: number) => string, shardNodes: readonly number[], failures: NodeFailure[]): Promise<void> {
    if (size === 0) {
      // An empty object has no stripes: nothing to keep on the nodes.
      await Promise.all(writers.map((w) => w?.abort()));
      return;
    }
    const committed = await Promise.all(writers.map((w, i) => (w ? w.commit(pathOf(i)).then(() => true, (err: Error) => {
      failures.push({ node: shardNodes[i]!, why: err.message });
      return false;
    }) : false)));
    const ok = committed.filter(Boolean).length;
    if (ok < this.writeQuorum) throw new WriteQuorumError(`only ${ok} of ${writers.length} shard files committed, ${this.writeQuorum} needed`, failures);
  }

  /** Removes records, then shard folders, of null versions older than the newest committed one. */
  async pruneOlder(bucket: string, key: string, versionId: string, shardNodes: readonly number[]): Promise<void> {
    const dir = objectDir(bucket, key);
    try {
      const { keep, hadOlder } = await this.metadata.prune(bucket, key, versionId, shardNodes);
      // A key written for the first time has nothing older on any node.
      if (!hadOlder) return;
      await Promise.all(this.nodes.drives.map(async (d) => {
        const versions = await d.list(dir).catch(() => [] as string[]);
        await Promise.all(versions.filter((v) => isNullVersion(v) && v < keep).map((v) => d.remove(`${dir}/${v}`).catch(() => undefined)));
      }));
    } catch (err) {
      this.log.warn('pruning old versions failed', { bucket, key, error: (err as Error).message });
    }
  }

  /** Removes data folders of an object (a version deleted for good) on the given nodes. */
  async removeData(bucket: string, key: string, dirs: readonly string[], nodes: readonly number[]): Promise<void> {
    await Promise.all(dirs.map((dir) => this.removeDir(bucket, key, dir, nodes)));
  }

  /** Removes a folder of the object's data folder on the given nodes. */
  private async removeDir(bucket: string, key: string, dir: string, shardNodes: readonly number[]): Promise<void> {
    const path = `${objectDir(bucket, key)}/${dir}`;
    await Promise.all(shardNodes.map((n) => this.nodes.drives[n]!.remove(path).catch(() => undefined)));
  }
}
