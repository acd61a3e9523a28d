import type { CrcAlgorithm } from '../../core/contracts/crc.js';

/** The published parameters (reflected polynomial, width) of S3's CRCs. */
const PARAMS: Record<CrcAlgorithm, { poly: bigint; width: bigint }> = {
  crc32: { poly: 0xedb88320n, width: 32n },
  crc32c: { poly: 0x82f63b78n, width: 32n },
  crc64nvme: { poly: 0x9a6c9329ac4bc9b5n, width: 64n },
};

/**
 * A CRC bit by bit, straight from its definition: slow, and written apart
 * from the C implementation, to check it against. Keep inputs to tens of KiB.
 */
export function referenceCrc(algorithm: CrcAlgorithm, data: Uint8Array, crc = 0n): bigint {
  const { poly, width } = PARAMS[algorithm];
  const mask = (1n << width) - 1n;
  let c = crc ^ mask;
  for (const byte of data) {
    c ^= BigInt(byte);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ poly : c >> 1n;
  }
  return c ^ mask;
}

/** The value as an x-amz-checksum-* header carries it. */
export function referenceCrcBase64(algorithm: CrcAlgorithm, data: Uint8Array): string {
  const value = referenceCrc(algorithm, data);
  const bytes = Buffer.alloc(Number(PARAMS[algorithm].width / 8n));
  if (bytes.length === 8) bytes.writeBigUInt64BE(value);
  else bytes.writeUInt32BE(Number(value));
  return bytes.toString('base64');
}
