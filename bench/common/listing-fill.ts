import { openLocalNodes } from '../../plugins/drive-local/index.js';
import { loadListing } from '../../plugins/metadata-msgpack/listing-keeper.js';

/** Every `every`-th key gets `versions` versions (the others one). */
export interface ExtraVersions {
  readonly every: number;
  readonly versions: number;
}

/**
 * Loads `count` keys (100 folders `dir-NNN/`) straight into the listing index
 * of every node: building a million-key bucket through puts would take the
 * benchmark longer than everything else together, and only listing is measured.
 */
export async function fillListingIndexes(nodePath: string, nodes: number, bucket: string, count: number, extra?: ExtraVersions): Promise<void> {
  const silent = { info() {}, warn() {}, error() {} };
  const { drives } = await openLocalNodes(nodePath, nodes, false, silent, 0);
  for (const drive of drives) {
    await loadListing(drive.shelf, bucket, (function* () {
      for (let i = 0; i < count; i++) {
        const key = `dir-${String(i % 100).padStart(3, '0')}/object-${String(i).padStart(8, '0')}`;
        const versions = extra && i % extra.every === 0 ? extra.versions : 1;
        // Versions of a versioning-enabled bucket (g-v in the last 8 characters), oldest first.
        for (let v = 0; v < versions; v++) {
          const versionId = `${v.toString(16).padStart(16, '0')}${extra ? 'gggggggg' : '0000000a'}`;
          yield { key, versionId, size: 1000 + v, etag: 'd41d8cd98f00b204e9800998ecf8427e', modifiedMs: v };
        }
      }
    })());
  }
}
