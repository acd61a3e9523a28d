import { Packr } from 'msgpackr';

import { CHECKSUM_BYTES, checksumInto, checksumMatches } from '../../core/checksum.js';
import { withStripeBytes, type ObjectRecord } from '../../core/contracts/metadata.js';

// Plain maps (no shared structures): a record must decode on its own, years
// later, from any one replica.
const packr = new Packr({ useRecords: false, moreTypes: false });

/** The field of a copy's map that carries its node's shard of an inline object. */
const SHARD_FIELD = 'shard';

/** One node's copy of a record: the record and, for inline objects, that node's shard. */
export interface RecordCopy {
  record: ObjectRecord;
  shard?: Uint8Array;
}

/** msgpack of the record (with the node's shard, if any) followed by an xxHash64 of those bytes. */
export function encodeRecord(record: ObjectRecord, shard?: Uint8Array): Uint8Array {
  return recordCopies(record)(shard);
}

/** msgpack's map16 header (msgpackr writes every plain object with one), and the shard field's name as a fixstr. */
const MAP16 = 0xde;
const SHARD_KEY = Buffer.from([0xa0 | SHARD_FIELD.length, ...Buffer.from(SHARD_FIELD)]);

/**
 * A version's copies, one per node: the record is packed once and each
 * node's shard appended as the map's last field, bytes the same as packing
 * the record with its shard (a version goes to up to NUMNODES nodes, and
 * packing dominated a rebalance's rewrite of every copy).
 */
export function recordCopies(record: ObjectRecord): (shard?: Uint8Array) => Uint8Array {
  const body = packr.pack(record);
  let plain: Uint8Array | undefined;
  return (shard) => {
    if (!shard) return (plain ??= sealed(body, undefined));
    if (body[0] !== MAP16 || body.readUInt16BE(1) === 0xffff) return sealed(packr.pack({ ...record, [SHARD_FIELD]: shard }), undefined);
    return sealed(body, shard);
  };
}

/** The record's body, with the shard field added when given, followed by its checksum. */
function sealed(body: Buffer, shard: Uint8Array | undefined): Uint8Array {
  const field = shard ? Buffer.concat([SHARD_KEY, binHeader(shard.byteLength)]) : undefined;
  const length = body.byteLength + (field && shard ? field.byteLength + shard.byteLength : 0);
  const out = Buffer.allocUnsafe(length + CHECKSUM_BYTES);
  out.set(body, 0);
  if (field && shard) {
    out.writeUInt16BE(body.readUInt16BE(1) + 1, 1);
    out.set(field, body.byteLength);
    out.set(shard, body.byteLength + field.byteLength);
  }
  checksumInto(out.subarray(0, length), out, length);
  return out;
}

/** msgpack's bin header for `n` bytes. */
function binHeader(n: number): Buffer {
  if (n < 0x100) return Buffer.from([0xc4, n]);
  if (n < 0x10000) return Buffer.from([0xc5, n >> 8, n & 0xff]);
  const out = Buffer.alloc(5);
  out[0] = 0xc6;
  out.writeUInt32BE(n, 1);
  return out;
}

/** The record copy, or undefined when the bytes are truncated or rotten. */
export function decodeCopy(bytes: Uint8Array): RecordCopy | undefined {
  if (bytes.byteLength <= CHECKSUM_BYTES) return undefined;
  const body = bytes.subarray(0, bytes.byteLength - CHECKSUM_BYTES);
  if (!checksumMatches(body, bytes, body.byteLength)) return undefined;
  try {
    const { [SHARD_FIELD]: shard, ...stored } = packr.unpack(body) as ObjectRecord & { [SHARD_FIELD]?: Uint8Array };
    const record = withStripeBytes(stored.parts ? { ...stored, parts: stored.parts.map(withStripeBytes) } : stored);
    return shard ? { record, shard } : { record };
  } catch {
    return undefined;
  }
}

/** The record alone, or undefined when the bytes are truncated or rotten. */
export function decodeRecord(bytes: Uint8Array): ObjectRecord | undefined {
  return decodeCopy(bytes)?.record;
}
