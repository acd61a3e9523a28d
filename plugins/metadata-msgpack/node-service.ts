import { pack, unpack } from 'msgpackr';

import type { Drive, NodeService } from '../../core/contracts/drive.js';
import { nodeFault } from '../../core/errors.js';
import type { Logger } from '../../core/contracts/logger.js';
import type { VersionSelector } from '../../core/contracts/metadata.js';
import type { NodeHealthView, NodeSet, NodeStatus } from '../../core/contracts/nodes.js';
import { IndexSlots } from './index-slots.js';
import type { IndexEntry, IndexRow } from './listing-index.js';
import { readCopy, writeCopy } from './record-copies.js';
import { importRecordFiles } from './record-import.js';
import { indexEntries } from './record-scan.js';

/** The name gateways call a node's listing index by. */
export const METADATA_SERVICE = 'msgpack-metadata';

/** The calls the service answers, and their bodies (msgpack). */
export interface NodeCalls {
  /** entries of a bucket upserted */
  upsert: { bucket: string; entries: IndexEntry[] };
  /** versions of a key taken out */
  remove: { bucket: string; key: string; versionIds: string[] };
  /** up to `limit` rows of `bucket` from `from` on; fails with ERR_INDEX_NOT_READY while the index is not complete */
  scan: { bucket: string; from: Uint8Array; limit: number };
  /** whether the index is complete */
  state: Record<string, never>;
  /** check the index now (and wait for its rebuild): a DerivedReport */
  check: { wait: boolean };
  /** a gateway met a fault in it (a row failing its checksum): check it again */
  fault: { why: string };
  /** a record copy written (see writeCopy) and its entry upserted: { newFolder } */
  putRecord: { path: string; data: Uint8Array; bucket: string; entry: IndexEntry };
  /** what the node holds of a key (see readCopy): a NodeCopy */
  readCopy: { bucket: string; key: string; version?: string };
}

/**
 * The listing index of one node folder, kept by the node process itself:
 * the same IndexSlots a gateway uses for a local folder (checked in a child
 * process before it is mapped, set aside and rebuilt from the folder's
 * records), serving upserts and range scans to the gateways. The node is
 * its only keeper: no gateway maps a remote node's LMDB file.
 */
export function metadataNodeService(drive: Drive, clusterId: string, sync: boolean, log: Logger): NodeService {
  const n = drive.index;
  let rebuilding = false;
  const health: NodeHealthView = {
    canRead: () => true,
    canWrite: () => true,
    status: () => [] as NodeStatus[],
    refresh: async () => undefined,
    setIndexRebuilding: (_node, on) => { rebuilding = on; },
  };
  // Only slot n has a folder: IndexSlots leaves the others alone.
  const drives = Array.from({ length: n + 1 }, (_, i) => (i === n ? drive : undefined)) as unknown as Drive[];
  const nodes: NodeSet = { clusterId, drives, health };
  const slots = new IndexSlots(nodes, sync, log, () => indexEntries(drive.shelf), 1);
  const answer = (value: unknown) => new Uint8Array(pack(value));

  async function writable() {
    const index = await slots.forWrite(n);
    if (!index) throw nodeFault('ERR_INDEX_UNAVAILABLE', `the listing index of node ${n} cannot be opened now`);
    return index;
  }

  async function change(run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (err) {
      await slots.fault(n, err);
      throw nodeFault('ERR_INDEX_FAULT', (err as Error).message);
    }
  }

  return {
    async handle(op, body) {
      const args = (body.byteLength > 0 ? unpack(body) : {}) as NodeCalls[keyof NodeCalls];
      switch (op) {
        case 'upsert': {
          const { bucket, entries } = args as NodeCalls['upsert'];
          const index = await writable();
          await change(() => (entries.length === 1 ? index.upsert(bucket, entries[0]!) : index.upsertMany(bucket, entries)));
          return answer(true);
        }
        case 'remove': {
          const { bucket, key, versionIds } = args as NodeCalls['remove'];
          const index = await writable();
          await change(() => index.remove(bucket, key, versionIds));
          return answer(true);
        }
        case 'scan': {
          const { bucket, from, limit } = args as NodeCalls['scan'];
          const index = await slots.forList(n);
          if (!index) throw nodeFault('ERR_INDEX_NOT_READY', `the listing index of node ${n} is ${rebuilding ? 'being rebuilt' : 'not open'}`);
          let rows: IndexRow[];
          try {
            rows = index.scan(bucket, Buffer.from(from), limit);
          } catch (err) {
            await slots.fault(n, err);
            throw nodeFault('ERR_INDEX_FAULT', (err as Error).message);
          }
          return answer(rows.map((r) => [r.key, r.value]));
        }
        case 'putRecord': {
          const { path, data, bucket, entry } = args as NodeCalls['putRecord'];
          const written = await writeCopy(drive.shelf, path, data);
          // The record is written: an index that cannot take its entry is the index's fault, not the write's.
          const index = await slots.forWrite(n);
          if (index) await index.upsert(bucket, entry).catch((err) => slots.fault(n, err));
          return answer(written);
        }
        case 'readCopy': {
          const { bucket, key, version } = args as NodeCalls['readCopy'];
          return answer(await readCopy(drive.shelf, bucket, key, version as VersionSelector));
        }
        case 'state':
          return answer({ ready: (await slots.forList(n)) !== undefined, rebuilding });
        case 'check': {
          await importRecordFiles(drive);
          const reports = await slots.checkAll((args as NodeCalls['check']).wait);
          return answer(reports[n]);
        }
        case 'fault':
          await slots.reported(n, (args as NodeCalls['fault']).why);
          return answer(true);
        default:
          throw nodeFault('ERR_BAD_REQUEST', `the listing index has no call ${op}`);
      }
    },
    close: () => slots.close(),
  };
}
