import { Packr } from 'msgpackr';

import { CHECKSUM_BYTES, checksumInto, checksumMatches } from '../../core/checksum.js';
import type { ObjectRecord } from '../../core/contracts/metadata.js';

// Plain maps (no shared structures): a record must decode on its own, years
// later, from any one replica.
const packr = new Packr({ useRecords: false, moreTypes: false });

/** msgpack of the record followed by an xxHash64 of those bytes. */
export function encodeRecord(record: ObjectRecord): Uint8Array {
  const body = packr.pack(record);
  const out = Buffer.allocUnsafe(body.byteLength + CHECKSUM_BYTES);
  out.set(body, 0);
  checksumInto(body, out, body.byteLength);
  return out;
}

/** The record, or undefined when the bytes are truncated or rotten. */
export function decodeRecord(bytes: Uint8Array): ObjectRecord | undefined {
  if (bytes.byteLength <= CHECKSUM_BYTES) return undefined;
  const body = bytes.subarray(0, bytes.byteLength - CHECKSUM_BYTES);
  if (!checksumMatches(body, bytes, body.byteLength)) return undefined;
  try {
    return packr.unpack(body) as ObjectRecord;
  } catch {
    return undefined;
  }
}
