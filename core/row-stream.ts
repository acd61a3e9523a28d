import type { ShelfRow, ShelfRowBatch, ShelfRowRange, ShelfRowStream, ShelfRowStreamRange } from './contracts/drive.js';

/** The size of the batch after one of `size` rows. */
export function nextBatchSize(size: number, range: ShelfRowStreamRange): number {
  return Math.min(size * 4, range.most);
}

/** The byte after which nothing sorts within keys starting with `key`: where a batch after `key` starts. */
export function justAfter(key: Uint8Array): Buffer {
  return Buffer.concat([key, Buffer.from([0])]);
}

/**
 * A row stream read batch by batch as it is asked for, through a drive's
 * own range read: for drives in this process, where reading ahead would
 * only spend work a reader that seeks elsewhere throws away.
 */
export function pagedRowStream(read: (range: ShelfRowRange) => Promise<ShelfRow[]>, range: ShelfRowStreamRange): ShelfRowStream {
  let from: Uint8Array | undefined = range.from;
  let size = Math.min(range.first, range.most);
  return {
    async next(): Promise<ShelfRowBatch> {
      if (from === undefined) return { rows: [], last: true };
      const limit = size;
      const rows = await read({ from, to: range.to, limit });
      size = nextBatchSize(size, range);
      const last = rows.length < limit;
      from = last ? undefined : justAfter(rows[rows.length - 1]!.key);
      return { rows, last };
    },
    close(): void {
      from = undefined;
    },
  };
}
