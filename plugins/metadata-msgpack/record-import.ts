import type { Drive } from '../../core/contracts/drive.js';
import { RECORD_SUFFIX, TOMBSTONE_SUFFIX } from '../../core/layout.js';

/**
 * Moves a node's record files from before shelves existed (a file per
 * version under `meta/<bucket>/<fan>/<hash>/`) onto the node's shelf under
 * the same names, then removes them; returns how many it moved. An item
 * already on the shelf stays (it is as new or newer: the healer wrote it).
 * Interrupted, it starts over where it stopped: a file is removed only once
 * its folder is on the shelf.
 */
export async function importRecordFiles(drive: Drive): Promise<number> {
  let moved = 0;
  for (const bucket of await drive.list('meta')) {
    for (const fan of await drive.list(`meta/${bucket}`)) {
      for (const rest of await drive.list(`meta/${bucket}/${fan}`)) {
        const dir = `meta/${bucket}/${fan}/${rest}`;
        const names = (await drive.list(dir)).filter((f) => f.endsWith(RECORD_SUFFIX) || f.endsWith(TOMBSTONE_SUFFIX));
        const items = [];
        for (const name of names) {
          const bytes = await drive.readFile(`${dir}/${name}`);
          if (bytes) items.push({ name: `${dir}/${name}`, bytes, ifAbsent: true });
        }
        if (items.length > 0) await drive.shelf.put(items);
        moved += items.length;
        await drive.remove(dir);
      }
    }
  }
  if (moved > 0 || (await drive.stat('meta'))) await drive.remove('meta');
  return moved;
}
