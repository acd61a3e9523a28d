import type { DerivedReport, ScrubPace, ScrubReport, VersionSelector } from '../../core/contracts/metadata.js';
import type { ServedDrive } from '../../core/contracts/nodes.js';
import { METADATA_SERVICE, type NodeCalls } from './node-service.js';
import type { NodeCopy } from './record-copies.js';

/** The metadata service of one node (see metadataNodeService), wherever the node lives: one call each. */
export class MetadataNode {
  constructor(private readonly drive: ServedDrive) {}

  private async call<K extends keyof NodeCalls>(op: K, args: NodeCalls[K]['args'], access: 'read' | 'write'): Promise<NodeCalls[K]['answer']> {
    return (await this.drive.services.call(METADATA_SERVICE, op, args, access)) as NodeCalls[K]['answer'];
  }

  /** What the node holds of a key. */
  readCopy(bucket: string, key: string, version: VersionSelector): Promise<NodeCopy> {
    return this.call('readCopy', { bucket, key, ...(version !== undefined ? { version } : {}) }, 'read');
  }

  check(wait: boolean): Promise<DerivedReport> {
    return this.call('check', { wait }, 'read');
  }

  /** The node's scrub, started at `pace` where it is not running. */
  scrub(pace: ScrubPace): Promise<Omit<ScrubReport, 'node'>> {
    return this.call('scrub', { rateBytes: pace.rateBytes, periodMs: pace.periodMs, ...(pace.now ? { now: true } : {}) }, 'read');
  }

  /** Has the node's index rebuilt from its records (after one under way, which may have walked past newer copies). */
  async reindex(why: string): Promise<void> {
    await this.call('reindex', { why }, 'read');
  }

  async fault(why: string): Promise<void> {
    await this.call('fault', { why }, 'read');
  }
}
