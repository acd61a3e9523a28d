import type { Drive, NodeService } from '../../core/contracts/drive.js';
import { nodeFault } from '../../core/errors.js';
import type { Logger } from '../../core/contracts/logger.js';
import type { DerivedReport, ScrubPace, ScrubReport, VersionSelector } from '../../core/contracts/metadata.js';
import { ListingKeeper } from './listing-keeper.js';
import { NodeScrub } from './node-scrub.js';
import { readCopy, type NodeCopy } from './record-copies.js';

/** The name gateways call a node's metadata service by. */
export const METADATA_SERVICE = 'msgpack-metadata';

/** The calls the service answers: arguments and answers. */
export interface NodeCalls {
  /** check the listing index (rebuild it when not complete; `wait`: until done) */
  check: { args: { wait: boolean }; answer: DerivedReport };
  /** a gateway met a row that fails its checksum: rebuild */
  fault: { args: { why: string }; answer: true };
  /** rebuild the index from the records, once more if a rebuild is under way (see ListingKeeper.reindex) */
  reindex: { args: { why: string }; answer: true };
  /** what the node holds of a key (see readCopy), in one call */
  readCopy: { args: { bucket: string; key: string; version?: string }; answer: NodeCopy };
  /** start the node's scrub at this pace (or set it); where it stands, and the damage found since the last call */
  scrub: { args: ScrubPace; answer: Omit<ScrubReport, 'node'> };
}

/**
 * The metadata plugin's side of one node, on the node's host: the keeper
 * of its listing index, its scrub (it knows where the records place shard
 * files), and the reads that take several shelf steps there in one call.
 */
export function metadataNodeService(drive: Drive, _clusterId: string, _sync: boolean, log: Logger): NodeService {
  const keeper = new ListingKeeper(drive, log);
  const scrub = new NodeScrub(drive, log);
  const handlers: { [K in keyof NodeCalls]: (args: NodeCalls[K]['args']) => Promise<NodeCalls[K]['answer']> } = {
    check: ({ wait }) => keeper.check(wait === true),
    fault: async ({ why }) => { keeper.fault(String(why)); return true; },
    reindex: async ({ why }) => { keeper.reindex(String(why)); return true; },
    readCopy: ({ bucket, key, version }) => readCopy(drive.shelf, bucket, key, version as VersionSelector),
    scrub: ({ rateBytes, periodMs, now }) => {
      if (!(rateBytes > 0) || !(periodMs > 0)) throw nodeFault('ERR_BAD_REQUEST', 'a scrub pace needs a rate and a period');
      return scrub.report({ rateBytes, periodMs, now: now === true });
    },
  };
  return {
    async handle(op, args) {
      if (!Object.prototype.hasOwnProperty.call(handlers, op)) throw nodeFault('ERR_BAD_REQUEST', `the metadata service has no call ${op}`);
      return handlers[op as keyof NodeCalls](args as never);
    },
    close: async () => { await Promise.all([keeper.close(), scrub.close()]); },
  };
}
