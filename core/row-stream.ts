import type { ShelfRow, ShelfRowBatch, ShelfRowRange, ShelfRowStream, ShelfRowStreamRange } from './contracts/drive.js';

/**
 * Where a row stream stands: the key its next batch starts at and how many
 * rows that batch holds (the first size, then 4× the one before, up to the
 * most). What reads a stream batch by batch and what resumes one cut off
 * keep it the same way.
 */
export class RowStreamPosition {
  from: Uint8Array;
  size: number;

  constructor(private readonly range: ShelfRowStreamRange) {
    this.from = range.from;
    this.size = Math.min(range.first, range.most);
  }

  /** Moves past a batch that was read. */
  passed(rows: readonly ShelfRow[]): void {
    this.size = Math.min(this.size * 4, this.range.most);
    if (rows.length > 0) this.from = Buffer.concat([rows[rows.length - 1]!.key, Buffer.from([0])]);
  }
}

/**
 * A row stream read batch by batch as it is asked for, through a drive's
 * own range read: for drives in this process, where reading ahead would
 * only spend work a reader that seeks elsewhere throws away.
 */
export function pagedRowStream(read: (range: ShelfRowRange) => Promise<ShelfRow[]>, range: ShelfRowStreamRange): ShelfRowStream {
  const at = new RowStreamPosition(range);
  let done = false;
  return {
    async next(): Promise<ShelfRowBatch> {
      if (done) return { rows: [], last: true };
      const limit = at.size;
      const rows = await read({ from: at.from, to: range.to, limit });
      at.passed(rows);
      done = rows.length < limit;
      return { rows, last: done };
    },
    close(): void {
      done = true;
    },
  };
}
