import 'reflect-metadata';

import { inject, injectable } from 'tsyringe';

import type { MetadataStore } from '../contracts/metadata.js';
import type { NodeSet } from '../contracts/nodes.js';
import { BucketExistsError, BucketNotEmptyError, NoSuchBucketError } from '../errors.js';
import { TOKENS } from '../tokens.js';
import { assertBucketName } from './names.js';
import { listOnMajority, readFromMajority, removeOnAll, writeOnAll } from './node-quorum.js';

export interface BucketInfo {
  name: string;
  createdMs: number;
  /** a DeleteBucket is checking that it is empty: writes that commit meanwhile keep it */
  deleting?: boolean;
}

/**
 * Buckets are tiny records on every node (`buckets/<name>`): a bucket exists
 * when a majority of the nodes that answer hold it, so losing PARITY nodes
 * neither loses nor resurrects one. Nothing is cached: every worker and
 * gateway sees a bucket created or deleted by another on its next request.
 *
 * DeleteBucket first marks the bucket `deleting`, then checks that it is
 * empty, then removes it; a write checks its bucket again after committing
 * (see `stillExists`). Either the write's commit is seen by the emptiness
 * check (the delete fails), or the write sees the bucket gone and takes
 * itself back: no write is acknowledged into a deleted bucket.
 */
@injectable()
export class BucketStore {
  constructor(
    @inject(TOKENS.Nodes) private readonly nodes: NodeSet,
    @inject(TOKENS.MetadataStore) private readonly metadata: MetadataStore,
  ) {}

  async list(): Promise<BucketInfo[]> {
    const names = await listOnMajority(this.nodes, 'buckets');
    const infos = await Promise.all(names.map((n) => this.get(n).catch(() => undefined)));
    return infos.filter((i): i is BucketInfo => !!i).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** The bucket, or NoSuchBucketError. */
  async get(name: string): Promise<BucketInfo> {
    assertBucketName(name);
    const bytes = await readFromMajority(this.nodes, `buckets/${name}`);
    if (!bytes) throw new NoSuchBucketError(name);
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as BucketInfo;
  }

  /** Whether the bucket still exists, asked by a write after it committed. */
  async stillExists(name: string): Promise<boolean> {
    return this.get(name).then(() => true, (err) => {
      if (err instanceof NoSuchBucketError) return false;
      throw err;
    });
  }

  async create(name: string): Promise<void> {
    assertBucketName(name);
    if (await this.get(name).then(() => true, () => false)) throw new BucketExistsError(name);
    await this.write({ name, createdMs: Date.now() });
  }

  async delete(name: string): Promise<void> {
    const info = await this.get(name);
    await this.write({ ...info, deleting: true });
    const page = await this.metadata.list({ bucket: name, maxKeys: 1 });
    if (page.entries.length > 0 || page.commonPrefixes.length > 0) {
      await this.write({ name: info.name, createdMs: info.createdMs });
      throw new BucketNotEmptyError(name);
    }
    await removeOnAll(this.nodes, `buckets/${name}`);
  }

  private write(info: BucketInfo): Promise<void> {
    return writeOnAll(this.nodes, `buckets/${info.name}`, Buffer.from(JSON.stringify(info)));
  }
}
