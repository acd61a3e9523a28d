import { join } from 'node:path';

import { loadIntoIndex } from '../../plugins/metadata-msgpack/index-slots.js';

/**
 * Loads `count` keys (100 folders `dir-NNN/`) straight into the listing index
 * of every node: building a million-key bucket through puts would take the
 * benchmark longer than everything else together, and only listing is measured.
 */
export async function fillListingIndexes(nodePath: string, nodes: number, bucket: string, count: number): Promise<void> {
  for (let n = 0; n < nodes; n++) {
    await loadIntoIndex(join(nodePath, `node-${n}`), bucket, (function* () {
      for (let i = 0; i < count; i++) {
        const key = `dir-${String(i % 100).padStart(3, '0')}/object-${String(i).padStart(8, '0')}`;
        yield { key, versionId: '00000000000000000000000a', size: 1000, etag: 'd41d8cd98f00b204e9800998ecf8427e', modifiedMs: 0 };
      }
    })());
  }
}
