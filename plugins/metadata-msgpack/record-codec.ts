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
export function recordCopies(record: ObjectRecord, alloc: (bytes: number) => Buffer = Buffer.allocUnsafe): (shard?: Uint8Array) => Uint8Array {
  const body = packr.pack(record);
  let plain: Uint8Array | undefined;
  return (shard) => {
    if (!shard) return (plain ??= sealed(body, undefined, alloc));
    if (body[0] !== MAP16 || body.readUInt16BE(1) === 0xffff) return sealed(packr.pack({ ...record, [SHARD_FIELD]: shard }), undefined, alloc);
    return sealed(body, shard, alloc);
  };
}

/** The record's body, with the shard field added when given, followed by its checksum: one buffer per copy (from `alloc`), nothing else allocated. */
function sealed(body: Buffer, shard: Uint8Array | undefined, alloc: (bytes: number) => Buffer): Uint8Array {
  const length = body.byteLength + (shard ? SHARD_KEY.byteLength + binHeaderBytes(shard.byteLength) + shard.byteLength : 0);
  const out = alloc(length + CHECKSUM_BYTES);
  out.set(body, 0);
  if (shard) {
    out.writeUInt16BE(body.readUInt16BE(1) + 1, 1);
    out.set(SHARD_KEY, body.byteLength);
    out.set(shard, writeBinHeader(out, body.byteLength + SHARD_KEY.byteLength, shard.byteLength));
  }
  checksumInto(out.subarray(0, length), out, length);
  return out;
}

/** The size of msgpack's bin header for `n` bytes (bin8, bin16, bin32). */
function binHeaderBytes(n: number): number {
  return n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/** Writes msgpack's bin header for `n` bytes at `at`; returns where the bytes follow. */
function writeBinHeader(out: Buffer, at: number, n: number): number {
  if (n < 0x100) {
    out[at] = 0xc4;
    out[at + 1] = n;
  } else if (n < 0x10000) {
    out[at] = 0xc5;
    out.writeUInt16BE(n, at + 1);
  } else {
    out[at] = 0xc6;
    out.writeUInt32BE(n, at + 1);
  }
  return at + binHeaderBytes(n);
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

/** What a listing keeps of a record (and its bucket). */
export type ListedRecord = Pick<ObjectRecord, 'bucket' | 'key' | 'versionId' | 'size' | 'etag' | 'createdMs' | 'deleted'>;

/**
 * The fields of a record copy a listing keeps, or undefined when the bytes
 * are truncated or rotten: the copy's map as it unpacks, none of it copied
 * (a listing index rebuild reads every copy on a node, and copying each
 * record twice to drop its shard and settle old field names was a tenth of
 * the rebuild).
 */
export function decodeListed(bytes: Uint8Array): ListedRecord | undefined {
  if (bytes.byteLength <= CHECKSUM_BYTES) return undefined;
  const body = bytes.subarray(0, bytes.byteLength - CHECKSUM_BYTES);
  if (!checksumMatches(body, bytes, body.byteLength)) return undefined;
  try {
    const stored = packr.unpack(body) as ListedRecord | null;
    return typeof stored === 'object' && stored !== null ? stored : undefined;
  } catch {
    return undefined;
  }
}

/** The record alone, or undefined when the bytes are truncated or rotten. */
export function decodeRecord(bytes: Uint8Array): ObjectRecord | undefined {
  return decodeCopy(bytes)?.record;
}
