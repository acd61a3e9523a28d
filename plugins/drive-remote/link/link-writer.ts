import type { DriveWriter } from '../../../core/contracts/drive.js';
import { nodeFault } from '../../../core/errors.js';
import type { ClientConnection, WriterStream } from './client-connection.js';
import { CALL_TIMEOUT_MS, type LinkClient } from './link-client.js';
import { DATA_PIECE, WRITER_WINDOW } from './operations.js';

/**
 * A file being written on a node over the link's bulk lane: the writer is
 * a stream opened by `writer.open`, its bytes go as data frames on that
 * stream (never copied into a batch: each piece is sealed as it is sent),
 * and no more than the node's credit is ever on the way — a node that
 * stops taking bytes stops the writer, not the gateway's memory. The
 * node aborts a writer whose connection breaks, so a shard cut in the
 * middle is never committed; the commit then fails, unless the node had
 * already committed it and answers the retry with that.
 */
export class LinkWriter implements DriveWriter {
  private bytes = 0;

  private constructor(private readonly link: LinkClient, private readonly conn: ClientConnection, private readonly stream: number, private readonly state: WriterStream) {}

  static async open(link: LinkClient, path: string): Promise<LinkWriter> {
    const conn = await link.connection('writer.open');
    const stream = conn.stream();
    const state = conn.addWriter(stream, WRITER_WINDOW);
    try {
      await link.call('writer.open', { path }, { on: conn, stream });
    } catch (err) {
      conn.dropWriter(stream);
      throw err;
    }
    return new LinkWriter(link, conn, stream, state);
  }

  async write(chunk: Uint8Array, position?: number): Promise<void> {
    for (let at = 0; at < chunk.byteLength; at += DATA_PIECE) {
      const piece = chunk.subarray(at, Math.min(chunk.byteLength, at + DATA_PIECE));
      // Between pieces the event loop takes what came meanwhile (answers to small calls) instead of waiting for the whole chunk to be sealed.
      if (at > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      await this.credit(piece.byteLength);
      this.bytes += piece.byteLength;
      this.conn.data(this.stream, position === undefined ? undefined : position + at, piece);
    }
    if (this.state.failure) throw this.state.failure;
  }

  /**
   * Waits until the node's credit covers `bytes` (or the writer failed) and
   * takes them from it, in the same turn as the check: writes waiting
   * together must not both see the same credit.
   */
  private async credit(bytes: number): Promise<void> {
    const deadline = Date.now() + CALL_TIMEOUT_MS;
    while (!this.state.failure && this.state.credit < bytes) {
      const left = deadline - Date.now();
      if (left <= 0) throw (this.state.failure = nodeFault('ERR_NODE_GONE', `${this.link.where}: the node took no bytes for ${CALL_TIMEOUT_MS} ms`));
      await new Promise<void>((resolve) => {
        const resume = () => { clearTimeout(timer); this.state.waiting.delete(resume); resolve(); };
        const timer = setTimeout(resume, left);
        this.state.waiting.add(resume);
      });
    }
    if (this.state.failure) throw this.state.failure;
    this.state.credit -= bytes;
  }

  async commit(path?: string): Promise<void> {
    if (this.state.failure) { this.conn.dropWriter(this.stream); throw this.state.failure; }
    try {
      await this.link.call('writer.commit', { writer: this.stream, bytes: this.bytes, path: path ?? null }, { on: this.conn });
    } finally {
      this.conn.dropWriter(this.stream);
    }
  }

  async abort(): Promise<void> {
    this.conn.dropWriter(this.stream);
    // A broken connection aborted the writer already.
    if (this.conn.isClosed) return;
    await this.link.call('writer.abort', { writer: this.stream }, { on: this.conn }).catch((err: Error & { code?: string }) => {
      if (err.code !== 'ERR_NODE_GONE') throw err;
    });
  }
}
