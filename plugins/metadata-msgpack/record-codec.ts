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
  const body = packr.pack(shard ? { ...record, [SHARD_FIELD]: shard } : record);
  const out = Buffer.allocUnsafe(body.byteLength + CHECKSUM_BYTES);
  out.set(body, 0);
  checksumInto(body, out, body.byteLength);
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
