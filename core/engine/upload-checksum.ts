import { createHash } from 'node:crypto';

import { CRC_ALGORITHMS, CRC_BITS, type CrcAlgorithm, type CrcEngine } from '../contracts/crc.js';
import type { ChecksumType } from '../contracts/metadata.js';
import { crcCombine } from '../crc-combine.js';

/** What a multipart upload's checksum is to be: CreateMultipartUpload's x-amz-checksum-algorithm and -type. */
export interface UploadChecksum {
  /** lower case, as in x-amz-checksum-<algorithm> */
  readonly algorithm: string;
  readonly type: ChecksumType;
}

/**
 * The types of a multipart upload's checksum each algorithm allows (AWS's
 * table): a CRC of the whole object can be combined from its parts' CRCs,
 * a hash cannot; CRC-64/NVME is only ever of the whole object.
 */
export const UPLOAD_CHECKSUM_TYPES: Readonly<Record<string, readonly ChecksumType[]>> = {
  crc32: ['COMPOSITE', 'FULL_OBJECT'],
  crc32c: ['COMPOSITE', 'FULL_OBJECT'],
  crc64nvme: ['FULL_OBJECT'],
  sha1: ['COMPOSITE'],
  sha256: ['COMPOSITE'],
};

/** The type an upload that names only an algorithm gets. */
export const defaultUploadChecksumType = (algorithm: string): ChecksumType => (algorithm === 'crc64nvme' ? 'FULL_OBJECT' : 'COMPOSITE');

const isCrc = (algorithm: string): algorithm is CrcAlgorithm => (CRC_ALGORITHMS as readonly string[]).includes(algorithm);

/** A CRC's value as S3 sends it: its bytes, most significant first, in base64. */
export function crcBase64(algorithm: CrcAlgorithm, value: bigint): string {
  const b = Buffer.alloc(CRC_BITS[algorithm] / 8);
  if (b.length === 8) b.writeBigUInt64BE(value);
  else b.writeUInt32BE(Number(value));
  return b.toString('base64');
}

function crcValue(base64: string): bigint {
  const b = Buffer.from(base64, 'base64');
  return b.length === 8 ? b.readBigUInt64BE() : BigInt(b.readUInt32BE());
}

/**
 * A multipart object's checksum from its parts' (none when a part has no
 * value of that algorithm): FULL_OBJECT combines the parts' CRCs into the
 * CRC of all the bytes, without reading them; COMPOSITE is the checksum of
 * the parts' checksums' bytes, with `-N` for N parts.
 */
export function uploadChecksumValue(crc: CrcEngine, want: UploadChecksum, parts: readonly { checksums?: Readonly<Record<string, string>>; size: number }[]): string | undefined {
  const values = parts.map((p) => p.checksums?.[want.algorithm]);
  if (values.some((v) => v === undefined)) return undefined;
  const algorithm = want.algorithm;
  if (want.type === 'FULL_OBJECT') {
    if (!isCrc(algorithm)) return undefined;
    let value = 0n;
    values.forEach((v, i) => { value = crcCombine(algorithm, value, crcValue(v!), parts[i]!.size); });
    return crcBase64(algorithm, value);
  }
  const joined = Buffer.concat(values.map((v) => Buffer.from(v!, 'base64')));
  const digest = isCrc(algorithm) ? crcBase64(algorithm, crc.update(algorithm, 0n, joined)) : createHash(algorithm).update(joined).digest('base64');
  return `${digest}-${parts.length}`;
}
