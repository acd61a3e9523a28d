import { pack, unpack } from 'msgpackr';

import type { NodeServices } from '../../core/contracts/drive.js';
import type { DerivedReport, VersionSelector } from '../../core/contracts/metadata.js';
import { METADATA_SERVICE, type NodeCalls } from './node-service.js';
import type { IndexEntry, IndexPort, IndexRow } from './listing-index.js';
import type { NodeCopy } from './record-copies.js';

/**
 * The metadata side of a node on another host (see metadataNodeService),
 * reached through the node's services: its listing index, and record calls
 * that take several steps there in one round trip.
 */
export class RemoteMetadataNode implements IndexPort {
  closed = false;

  constructor(readonly path: string, private readonly services: NodeServices) {}

  async call<K extends keyof NodeCalls>(op: K, args: NodeCalls[K], access: 'read' | 'write'): Promise<unknown> {
    return unpack(await this.services.call(METADATA_SERVICE, op, new Uint8Array(pack(args)), access));
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

  /** Writes a record copy and puts its entry into the node's index, in one round trip. */
  async putRecord(path: string, data: Uint8Array, bucket: string, entry: IndexEntry): Promise<{ newFolder: boolean }> {
    return (await this.call('putRecord', { path, data, bucket, entry }, 'write')) as { newFolder: boolean };
  }

  /** What the node holds of a key (see readCopy), in one round trip. */
  async readCopy(bucket: string, key: string, version: VersionSelector): Promise<NodeCopy> {
    return (await this.call('readCopy', { bucket, key, ...(version !== undefined ? { version } : {}) }, 'read')) as NodeCopy;
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
