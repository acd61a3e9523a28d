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
}

/**
 * Buckets are tiny records on every node (`buckets/<name>`): a bucket exists
 * when a majority of the nodes that answer hold it, so losing PARITY nodes
 * neither loses nor resurrects one.
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

  /** Buckets seen recently: object requests check their bucket, and 7 reads each would cost more than the request. */
  private readonly recent = new Map<string, { info: BucketInfo; until: number }>();
  private static readonly CACHE_MS = 2000;

  async get(name: string): Promise<BucketInfo> {
    assertBucketName(name);
    const hit = this.recent.get(name);
    if (hit && hit.until > Date.now()) return hit.info;
    const info = await this.read(name);
    this.recent.set(name, { info, until: Date.now() + BucketStore.CACHE_MS });
    return info;
  }

  private async read(name: string): Promise<BucketInfo> {
    const bytes = await readFromMajority(this.nodes, `buckets/${name}`);
    if (!bytes) throw new NoSuchBucketError(name);
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as BucketInfo;
  }

  async create(name: string): Promise<void> {
    assertBucketName(name);
    this.recent.delete(name);
    if (await this.get(name).then(() => true, () => false)) throw new BucketExistsError(name);
    await writeOnAll(this.nodes, `buckets/${name}`, Buffer.from(JSON.stringify({ name, createdMs: Date.now() } satisfies BucketInfo)));
  }

  async delete(name: string): Promise<void> {
    await this.get(name);
    const page = await this.metadata.list({ bucket: name, maxKeys: 1 });
    if (page.entries.length > 0 || page.commonPrefixes.length > 0) throw new BucketNotEmptyError(name);
    await removeOnAll(this.nodes, `buckets/${name}`);
    this.recent.delete(name);
  }
}
