import type { ShelfRowBatch, ShelfRowStream, ShelfRowStreamRange } from '../../core/contracts/drive.js';
import { nodeFault } from '../../core/errors.js';
import { RowStreamPosition } from '../../core/row-stream.js';
import type { BatchStream } from './link/client-connection.js';
import { CALL_TIMEOUT_MS, type LinkClient } from './link/link-client.js';
import { type Answer, fromWireRow } from './link/operations.js';

/**
 * A table's rows streamed from a node: the node pushes batches ahead of the
 * reader (see ClientConnection.openStream). A stream cut with its
 * connection is opened once more, on a new one, just after the last row it
 * gave: a read, so nothing is repeated or lost.
 */
export function remoteRowStream(link: LinkClient, table: string, range: ShelfRowStreamRange): ShelfRowStream {
  const at = new RowStreamPosition(range);
  let done = false;
  let retried = false;
  let current: BatchStream<Answer<'shelf.stream'>> | undefined;

  const open = async () => (await link.connection('shelf.stream'))
    .openStream('shelf.stream', { table, range: { from: at.from, to: range.to, first: at.size, most: range.most } }, CALL_TIMEOUT_MS);

  return {
    async next(): Promise<ShelfRowBatch> {
      while (!done) {
        try {
          current ??= await open();
          const batch = await current.next();
          const rows = batch.rows.map(fromWireRow);
          at.passed(rows);
          if (batch.last) { done = true; current = undefined; }
          return { rows, last: batch.last };
        } catch (err) {
          current = undefined;
          if ((err as { code?: string }).code !== 'ERR_LINK_BROKEN') throw err;
          if (retried) throw nodeFault('ERR_NODE_GONE', `${link.where}: ${(err as Error).message}`);
          retried = true;
        }
      }
      return { rows: [], last: true };
    },
    close(): void {
      done = true;
      current?.cancel();
      current = undefined;
    },
  };
}
