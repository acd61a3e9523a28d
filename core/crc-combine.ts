import { CRC_BITS, type CrcAlgorithm } from './contracts/crc.js';

/** The reflected polynomials (bit width-1 holds x^0), as published with each CRC. */
const POLY: Readonly<Record<CrcAlgorithm, bigint>> = { crc32: 0xedb88320n, crc32c: 0x82f63b78n, crc64nvme: 0x9a6c9329ac4bc9b5n };

/** a*b modulo the CRC's polynomial, both reflected (after zlib's multmodp). */
function multiply(algorithm: CrcAlgorithm, a: bigint, b: bigint): bigint {
  const poly = POLY[algorithm];
  let m = 1n << BigInt(CRC_BITS[algorithm] - 1);
  let p = 0n;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1n)) === 0n) return p;
    }
    m >>= 1n;
    b = b & 1n ? (b >> 1n) ^ poly : b >> 1n;
  }
}

/** x^(8n) modulo the polynomial, reflected: the effect of n bytes on a CRC register. */
function bytesPower(algorithm: CrcAlgorithm, n: number): bigint {
  const top = BigInt(CRC_BITS[algorithm] - 1);
  let power = 1n << top; // x^0
  let square = 1n << (top - 8n); // x^8
  for (let k = BigInt(n); k > 0n; k >>= 1n) {
    if (k & 1n) power = multiply(algorithm, power, square);
    square = multiply(algorithm, square, square);
  }
  return power;
}

/**
 * The CRC of A followed by B from the CRCs of each and B's length, without
 * reading either: for these CRCs (initial value and final XOR both all
 * ones) it is CRC(A) times x^(8*|B|), plus CRC(B). A multipart upload's
 * full-object checksum is its parts' CRCs combined this way.
 */
export function crcCombine(algorithm: CrcAlgorithm, first: bigint, second: bigint, secondLength: number): bigint {
  if (secondLength === 0) return first;
  return multiply(algorithm, bytesPower(algorithm, secondLength), first) ^ second;
}
