import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';

import { S3Error } from '../s3-error.js';

/** The x-amz-checksum-* algorithms S3 accepts, by header suffix. */
export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

const CRC32C_TABLE = (() => {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

interface Running {
  update(data: Uint8Array): void;
  base64(): string;
}

function crcRunner(step: (data: Uint8Array, prev: number) => number): Running {
  let value = 0;
  return {
    update: (d) => { value = step(d, value); },
    base64: () => { const b = Buffer.alloc(4); b.writeUInt32BE(value >>> 0); return b.toString('base64'); },
  };
}

function crc32c(data: Uint8Array, prev: number): number {
  let c = ~prev;
  for (let i = 0; i < data.length; i++) c = CRC32C_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function hashRunner(name: string): Running {
  const h: Hash = createHash(name);
  return { update: (d) => { h.update(d); }, base64: () => h.digest('base64') };
}

export function runner(algorithm: ChecksumAlgorithm): Running {
  switch (algorithm) {
    case 'crc32': return crcRunner((d, p) => crc32(d, p));
    case 'crc32c': return crcRunner(crc32c);
    case 'sha1': return hashRunner('sha1');
    default: return hashRunner('sha256');
  }
}

/**
 * Passes a body through while computing what it must be checked against:
 * Content-MD5, a signed x-amz-content-sha256, and any x-amz-checksum-* the
 * client declared (in a header, or in a trailer that arrives at the end).
 * A mismatch throws at the end of the body, so the put never commits.
 */
export async function* verifyBody(
  body: AsyncIterable<Uint8Array>,
  expect: {
    contentMd5?: string;
    sha256Hex?: string;
    checksums: Map<ChecksumAlgorithm, string | undefined>;
    /** trailers, filled when the body has ended */
    trailers?: Map<string, string>;
    declaredLength?: number;
  },
  computed: Map<ChecksumAlgorithm, string>,
): AsyncGenerator<Uint8Array> {
  const md5 = expect.contentMd5 ? createHash('md5') : undefined;
  const sha = expect.sha256Hex ? createHash('sha256') : undefined;
  const runners = new Map([...expect.checksums.keys()].map((a) => [a, runner(a)]));
  let length = 0;
  for await (const chunk of body) {
    md5?.update(chunk);
    sha?.update(chunk);
    for (const r of runners.values()) r.update(chunk);
    length += chunk.byteLength;
    yield chunk;
  }
  if (expect.declaredLength !== undefined && length !== expect.declaredLength) {
    throw new S3Error('IncompleteBody', `You did not provide the number of bytes specified by the Content-Length HTTP header (${length} of ${expect.declaredLength})`);
  }
  if (md5 && md5.digest('base64') !== expect.contentMd5) {
    throw new S3Error('BadDigest');
  }
  if (sha && sha.digest('hex') !== expect.sha256Hex) {
    throw new S3Error('XAmzContentSHA256Mismatch');
  }
  for (const [algorithm, r] of runners) {
    const got = r.base64();
    const want = expect.checksums.get(algorithm) ?? expect.trailers?.get(`x-amz-checksum-${algorithm}`);
    if (want === undefined) throw new S3Error('InvalidRequest', `x-amz-checksum-${algorithm} was declared but not sent`);
    if (got !== want) throw new S3Error('BadDigest', `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
    computed.set(algorithm, got);
  }
}
