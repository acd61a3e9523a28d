import { inject, injectable } from 'tsyringe';

import type { MetadataStore } from '../contracts/metadata.js';
import type { NodeSet } from '../contracts/nodes.js';
import { BucketExistsError, BucketNotEmptyError, NoSuchBucketError, WriteQuorumError } from '../errors.js';
import { TOKENS } from '../tokens.js';
import { assertBucketName } from './names.js';

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
    const answers = await this.answers();
    const seen = new Map<string, { info: BucketInfo; votes: number }>();
    for (const names of answers) {
      for (const [name, info] of names) {
        const s = seen.get(name);
        if (s) s.votes++;
        else seen.set(name, { info, votes: 1 });
      }
    }
    return [...seen.values()].filter((s) => s.votes > answers.length / 2).map((s) => s.info).sort((a, b) => (a.name < b.name ? -1 : 1));
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
    const answers = await Promise.all(this.nodes.drives.map((d) => d.readFile(`buckets/${name}`).then((b) => b, () => null)));
    const up = answers.filter((a) => a !== null);
    const held = up.filter((a) => a !== undefined) as Uint8Array[];
    if (held.length === 0 || held.length <= up.length / 2) throw new NoSuchBucketError(name);
    return JSON.parse(Buffer.from(held[0]!).toString('utf8')) as BucketInfo;
  }

  async create(name: string): Promise<void> {
    assertBucketName(name);
    this.recent.delete(name);
    if (await this.get(name).then(() => true, () => false)) throw new BucketExistsError(name);
    const info = Buffer.from(JSON.stringify({ name, createdMs: Date.now() } satisfies BucketInfo));
    const ok = await Promise.all(this.nodes.drives.map((d) => d.writeFile(`buckets/${name}`, info).then(() => true, () => false)));
    if (ok.filter(Boolean).length <= this.nodes.drives.length / 2) throw new WriteQuorumError(`bucket ${name} written to too few nodes`);
  }

  async delete(name: string): Promise<void> {
    await this.get(name);
    const page = await this.metadata.list({ bucket: name, maxKeys: 1 });
    if (page.entries.length > 0 || page.commonPrefixes.length > 0) throw new BucketNotEmptyError(name);
    await Promise.all(this.nodes.drives.map((d) => d.remove(`buckets/${name}`).catch(() => undefined)));
    this.recent.delete(name);
  }

  /** Per node that answered, its buckets. */
  private async answers(): Promise<Map<string, BucketInfo>[]> {
    const per = await Promise.all(this.nodes.drives.map(async (d) => {
      try {
        if (!(await d.healthy())) return null;
        const names = await d.list('buckets');
        const infos = await Promise.all(names.map(async (n) => {
          const b = await d.readFile(`buckets/${n}`);
          return b ? (JSON.parse(Buffer.from(b).toString('utf8')) as BucketInfo) : undefined;
        }));
        return new Map(infos.filter((i): i is BucketInfo => !!i).map((i) => [i.name, i]));
      } catch {
        return null;
      }
    }));
    return per.filter((p): p is Map<string, BucketInfo> => p !== null);
  }
}
