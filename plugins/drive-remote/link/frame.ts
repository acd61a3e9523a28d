/**
 * The node link's frame: a fixed 16-byte header, then the payload, then (on
 * a sealed connection) the 16-byte AES-GCM tag. The header travels in clear
 * (the receiver needs the length before it can open anything) and is
 * authenticated as the tag's additional data, so a changed header fails
 * the frame like a changed payload.
 *
 *   0  version   u8    LINK_VERSION
 *   1  type      u8    FrameType
 *   2  flags     u8    FrameFlag bits
 *   3  reserved  u8    0
 *   4  stream    u32   the call or writer it belongs to (0: the connection)
 *   8  length    u32   payload bytes (tag not counted)
 *  12  deadline  u32   ms the sender still waits for an answer (0: none)
 */
export const LINK_VERSION = 1;
export const HEADER_BYTES = 16;
export const TAG_BYTES = 16;

export const enum FrameType {
  /** a call: msgpack [operation, arguments, operation id or null] */
  Call = 1,
  /** a call's answer: msgpack, or bytes as they are (FrameFlag.Raw) */
  Reply = 2,
  /** a call's failure: msgpack { code, message } */
  Fail = 3,
  /** a writer's bytes: an 8-byte position (FrameFlag.Append: none) and the bytes */
  Data = 4,
  /** the receiver of a writer's bytes has taken this many more (u32); the caller of a stream, this many more batches */
  Credit = 5,
  /** the caller gave up on a call */
  Cancel = 6,
  Ping = 7,
  Pong = 8,
}

export const enum FrameFlag {
  Raw = 1,
  Append = 2,
  /** a streamed answer's batch that is not its last */
  More = 4,
}

/** Largest payload a frame may carry: a shard read or a small file; more goes as a writer's data frames. */
export const MAX_PAYLOAD = 8 << 20;

export interface FrameHeader {
  readonly type: FrameType;
  readonly flags: number;
  readonly stream: number;
  readonly length: number;
  readonly deadlineMs: number;
}

/** A Credit frame's payload: `n` more bytes (a writer) or batches (a stream). */
export function creditPayload(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}

export function writeHeader(h: FrameHeader): Buffer {
  const b = Buffer.allocUnsafe(HEADER_BYTES);
  b[0] = LINK_VERSION;
  b[1] = h.type;
  b[2] = h.flags;
  b[3] = 0;
  b.writeUInt32BE(h.stream, 4);
  b.writeUInt32BE(h.length, 8);
  b.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.ceil(h.deadlineMs))), 12);
  return b;
}

/** A header as read, or why the connection must close (a peer that speaks anything else is cut off). */
export function readHeader(b: Buffer): FrameHeader | string {
  if (b[0] !== LINK_VERSION) return `link version ${b[0]}`;
  const type = b[1]!;
  if (type < FrameType.Call || type > FrameType.Pong) return `frame type ${type}`;
  if (b[3] !== 0) return 'reserved header bits set';
  const length = b.readUInt32BE(8);
  // A data frame carries its 8-byte position besides the bytes.
  if (length > MAX_PAYLOAD + 8) return `frame of ${length} bytes`;
  return { type, flags: b[2]!, stream: b.readUInt32BE(4), length, deadlineMs: b.readUInt32BE(12) };
}
