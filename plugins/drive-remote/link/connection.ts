import type { Socket } from 'node:net';

import { type FrameHeader, FrameType, HEADER_BYTES, readHeader, TAG_BYTES, writeHeader } from './frame.js';
import type { FrameOpener, FrameSealer } from './seal.js';

/** A frame as it arrived: its payload in the pieces it was opened in (a writer's bytes are written from them as they are). */
export class Frame {
  private whole: Buffer | undefined;

  constructor(readonly header: FrameHeader, readonly parts: readonly Buffer[]) {}

  /** The payload in one buffer (copied together only when it came in pieces). */
  get payload(): Buffer {
    this.whole ??= this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    return this.whole;
  }
}

export interface ConnectionEvents {
  /** A frame that opened; throwing from here closes the connection (a protocol violation). */
  frame(frame: Frame): void;
  /** The connection is gone, and why; called once. */
  closed(why: Error): void;
}

/** Frames up to this size are copied into one buffer and written at once. */
const SMALL_FRAME = 16 << 10;
/** Bytes a connection holds for the work its frames started before it stops reading from its socket. */
const HELD_BYTES_LIMIT = 32 << 20;

/**
 * One authenticated, sealed link connection, on either side: frames out
 * (sealed; a small frame as one buffer, a large one's header and pieces
 * under cork, so that what one tick sends leaves in one writev without its
 * payload being copied into a bigger buffer) and frames in (cut from the
 * socket's chunks where they fall, opened, handed on). A frame that fails
 * its tag, has a bad header or is refused by the receiver closes the
 * connection.
 *
 * Memory stays bounded on both sides: what is on its way was asked for
 * (answers) or granted (a writer's credit); a receiver `hold`s what the
 * work its frames started still keeps, and the connection stops reading
 * while that exceeds HELD_BYTES_LIMIT (TCP then stops the sender);
 * `drained()` is there for senders of their own (the benchmark).
 */
export class LinkConnection {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private pending: FrameHeader | undefined;
  private pendingHeader: Buffer | undefined;
  private corked = false;
  /** frames are waiting for the next turn of the event loop (see drain) */
  private deferred = false;
  private held = 0;
  private closedWith: Error | undefined;
  /** when a frame last arrived (liveness) */
  lastHeardMs = Date.now();

  constructor(readonly socket: Socket, private readonly sealer: FrameSealer, private readonly opener: FrameOpener, private readonly events: ConnectionEvents, leftover: readonly Buffer[] = []) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('error', (err) => this.close(err));
    socket.on('close', () => this.close(Object.assign(new Error('the connection closed'), { code: 'ECONNRESET' })));
    for (const chunk of leftover) this.received(chunk);
  }

  get isClosed(): boolean {
    return this.closedWith !== undefined;
  }

  /**
   * Seals and sends a frame; false when the socket's buffer is full and
   * the sender should wait for drained() before sending more.
   */
  send(type: FrameType, stream: number, payload: readonly Uint8Array[] = [], flags = 0, deadlineMs = 0): boolean {
    if (this.closedWith) return false;
    let length = 0;
    for (const p of payload) length += p.byteLength;
    const pieces = this.sealer.seal(writeHeader({ type, flags, stream, length, deadlineMs }), payload);
    if (pieces.length === 1) {
      const sealed = pieces[0]!;
      const release = this.sealer.release;
      // Once the kernel has the bytes (or the socket is gone), the sealer may seal into that memory again.
      return release ? this.socket.write(sealed, () => release.call(this.sealer, sealed)) : this.socket.write(sealed);
    }
    // A small frame goes as one buffer in one write: cheaper than a writev of its pieces.
    if (length <= SMALL_FRAME) return this.socket.write(Buffer.concat(pieces));
    if (!this.corked) {
      // The pieces of large frames sent in this tick leave in one writev, their bytes not copied.
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => { this.corked = false; this.socket.uncork(); });
    }
    let room = true;
    for (const piece of pieces) room = this.socket.write(piece);
    return room;
  }

  /** Resolves when the socket's buffer has room again (at once if it has); rejects when the connection closes. */
  drained(): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => { this.socket.off('close', gone); resolve(); };
      const gone = () => { this.socket.off('drain', done); reject(this.closedWith ?? new Error('the connection closed')); };
      this.socket.once('drain', done);
      this.socket.once('close', gone);
    });
  }

  /** The receiver keeps `bytes` for work in progress (see HELD_BYTES_LIMIT). */
  hold(bytes: number): void {
    this.held += bytes;
    if (this.held > HELD_BYTES_LIMIT && !this.socket.isPaused()) this.socket.pause();
  }

  release(bytes: number): void {
    this.held -= bytes;
    if (this.held <= HELD_BYTES_LIMIT && this.socket.isPaused() && !this.closedWith) this.socket.resume();
  }

  close(why: Error): void {
    if (this.closedWith) return;
    this.closedWith = why;
    this.chunks = [];
    this.socket.destroy();
    this.events.closed(why);
  }

  private received(chunk: Buffer): void {
    if (this.closedWith) return;
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
    this.lastHeardMs = Date.now();
    if (!this.deferred) this.drain();
  }

  /**
   * Hands on the frames buffered, but after a large one the rest wait for
   * the next turn of the event loop: what arrived meanwhile on other
   * connections (a small call on the other lane) is handled in between,
   * instead of after every megabyte that came in one read.
   */
  private drain(): void {
    this.deferred = false;
    if (this.closedWith) return;
    try {
      for (;;) {
        const size = this.next();
        if (size === undefined) return;
        if (size > SMALL_FRAME && this.buffered > 0 && !this.closedWith) {
          this.deferred = true;
          setImmediate(() => this.drain());
          return;
        }
      }
    } catch (err) {
      this.close(err as Error);
    }
  }

  /** Takes the next frame off the buffered chunks when it is all there: its payload's size, or undefined when none was. */
  private next(): number | undefined {
    if (!this.pending) {
      if (this.buffered < HEADER_BYTES) return undefined;
      const header = this.take(HEADER_BYTES);
      const raw = header.length === 1 ? header[0]! : Buffer.concat(header);
      const read = readHeader(raw);
      if (typeof read === 'string') throw protocolError(read);
      this.pending = read;
      this.pendingHeader = raw;
    }
    if (this.buffered < this.pending.length + TAG_BYTES) return undefined;
    const sealed = this.take(this.pending.length);
    const tagParts = this.take(TAG_BYTES);
    const tag = tagParts.length === 1 ? tagParts[0]! : Buffer.concat(tagParts);
    const parts = this.opener.open(this.pendingHeader!, sealed, tag);
    if (!parts) throw protocolError('a frame failed its seal');
    const header = this.pending;
    this.pending = undefined;
    this.events.frame(new Frame(header, parts));
    return this.closedWith ? undefined : header.length;
  }

  /** The next `n` buffered bytes, as pieces of the chunks they arrived in (no copy). */
  private take(n: number): Buffer[] {
    const out: Buffer[] = [];
    while (n > 0) {
      const first = this.chunks[0]!;
      if (first.byteLength <= n) {
        out.push(first);
        this.chunks.shift();
        n -= first.byteLength;
        this.buffered -= first.byteLength;
      } else {
        out.push(first.subarray(0, n));
        this.chunks[0] = first.subarray(n);
        this.buffered -= n;
        n = 0;
      }
    }
    return out;
  }
}

export function protocolError(why: string): Error & { code: string } {
  return Object.assign(new Error(`node link: ${why}`), { code: 'ERR_LINK_PROTOCOL' });
}
