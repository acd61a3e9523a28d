import { pack, unpack } from 'msgpackr';

import type { NodeServices } from '../../core/contracts/drive.js';
import type { DerivedReport } from '../../core/contracts/metadata.js';
import { LISTING_INDEX_SERVICE, type IndexCalls } from './index-service.js';
import type { IndexEntry, IndexPort, IndexRow } from './listing-index.js';

/** The listing index a node on another host keeps (see listingIndexService), reached through the node's services. */
export class RemoteIndex implements IndexPort {
  closed = false;

  constructor(readonly path: string, private readonly services: NodeServices) {}

  async call<K extends keyof IndexCalls>(op: K, args: IndexCalls[K], access: 'read' | 'write'): Promise<unknown> {
    return unpack(await this.services.call(LISTING_INDEX_SERVICE, op, new Uint8Array(pack(args)), access));
  }

  async upsert(bucket: string, entry: IndexEntry): Promise<void> {
    await this.call('upsert', { bucket, entries: [entry] }, 'write');
  }

  async remove(bucket: string, key: string, versionIds: readonly string[]): Promise<void> {
    await this.call('remove', { bucket, key, versionIds: [...versionIds] }, 'write');
  }

  async scan(bucket: string, from: Buffer, limit: number): Promise<IndexRow[]> {
    const rows = (await this.call('scan', { bucket, from, limit }, 'read')) as [Uint8Array, Uint8Array][];
    return rows.map(([key, value]) => ({ key: Buffer.from(key), value: Buffer.from(value) }));
  }

  async ready(): Promise<boolean> {
    return ((await this.call('state', {}, 'read')) as { ready: boolean }).ready;
  }

  async check(wait: boolean): Promise<DerivedReport> {
    return (await this.call('check', { wait }, 'read')) as DerivedReport;
  }

  async fault(why: string): Promise<void> {
    await this.call('fault', { why }, 'read');
  }
}
