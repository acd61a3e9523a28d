import { createHash, type Hash } from 'node:crypto';

import { CRC_ALGORITHMS, type CrcAlgorithm, type CrcEngine } from '../../../core/contracts/crc.js';
import { crcBase64 } from '../../../core/engine/upload-checksum.js';
import { header, type S3Request } from '../context.js';
import { S3Error } from '../s3-error.js';

/** The x-amz-checksum-* algorithms S3 accepts, by header suffix. */
export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** x-amz-checksum-* headers that name no algorithm: how a checksum is asked for or was taken. */
const CHECKSUM_SETTINGS = new Set(['x-amz-checksum-type', 'x-amz-checksum-mode', 'x-amz-checksum-algorithm']);

/**
 * The algorithm an x-amz-checksum-* header carries a value of; undefined
 * for the settings headers; InvalidRequest for an algorithm S3 does not
 * have (a checksum the server would not check must not pass as checked).
 */
export function checksumHeaderAlgorithm(name: string): ChecksumAlgorithm | undefined {
  if (!name.startsWith('x-amz-checksum-') || CHECKSUM_SETTINGS.has(name)) return undefined;
  const algorithm = name.slice('x-amz-checksum-'.length);
  if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm)) throw new S3Error('InvalidRequest', `Invalid checksum algorithm header ${name}`);
  return algorithm as ChecksumAlgorithm;
}

/**
 * The checksum values a request's x-amz-checksum-* headers carry, by
 * algorithm: at most one (InvalidRequest for two, as S3 answers, and for
 * an algorithm S3 does not have).
 */
export function checksumHeaders(req: Pick<S3Request, 'headers'>): [ChecksumAlgorithm, string][] {
  const sent: [ChecksumAlgorithm, string][] = [];
  for (const name of Object.keys(req.headers)) {
    const algorithm = checksumHeaderAlgorithm(name);
    const value = algorithm && header(req, name);
    if (algorithm && value) sent.push([algorithm, value]);
  }
  if (sent.length > 1) throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  return sent;
}

/** The XML element that carries a checksum of `algorithm` (ChecksumCRC64NVME...). */
export const checksumElement = (algorithm: string) => `Checksum${algorithm.toUpperCase()}`;

interface Running {
  update(data: Uint8Array): void;
  base64(): string;
}

function crcRunner(crc: CrcEngine, algorithm: CrcAlgorithm): Running {
  let value = 0n;
  return {
    update: (d) => { value = crc.update(algorithm, value, d); },
    base64: () => crcBase64(algorithm, value),
  };
}

function hashRunner(name: string): Running {
  const h: Hash = createHash(name);
  return { update: (d) => { h.update(d); }, base64: () => h.digest('base64') };
}

export function runner(algorithm: ChecksumAlgorithm, crc: CrcEngine): Running {
  switch (algorithm) {
    case 'sha1': return hashRunner('sha1');
    case 'sha256': return hashRunner('sha256');
    default: return crcRunner(crc, algorithm);
  }
}

/**
 * Passes a body through while computing what it must be checked against:
 * Content-MD5, a signed x-amz-content-sha256, and any x-amz-checksum-* the
 * client declared (in a header, or in a trailer that arrives at the end).
 * A mismatch throws at the end of the body, so the put never commits.
 * `computed` ends with the declared checksums, or with a CRC-64/NVME of
 * the body when none was declared, and with those of `also`.
 */
export async function* verifyBody(
  body: AsyncIterable<Uint8Array>,
  expect: {
    contentMd5?: string;
    sha256Hex?: string;
    checksums: Map<ChecksumAlgorithm, string | undefined>;
    /** trailers, filled when the body has ended */
    trailers?: Map<string, string>;
    /** a body framed for trailers that announced none: some SDKs send a checksum trailer all the same, checked when it is a CRC */
    unannounced?: boolean;
    declaredLength?: number;
  },
  computed: Map<ChecksumAlgorithm, string>,
  crc: CrcEngine,
  also: readonly ChecksumAlgorithm[] = [],
): AsyncGenerator<Uint8Array> {
  const md5 = expect.contentMd5 ? createHash('md5') : undefined;
  const sha = expect.sha256Hex ? createHash('sha256') : undefined;
  // A body sent with no checksum gets S3's own, CRC-64/NVME, kept with what it is stored as.
  const kept = new Set<ChecksumAlgorithm>([...(expect.checksums.size > 0 ? expect.checksums.keys() : ['crc64nvme' as const]), ...also]);
  const runners = new Map([...kept].map((a) => [a, runner(a, crc)]));
  // The CRCs run at memory speed: every one is kept ready for a trailer nobody announced.
  const ready = new Map(expect.unannounced ? CRC_ALGORITHMS.filter((a) => !runners.has(a)).map((a) => [a, runner(a, crc)]) : []);
  let length = 0;
  for await (const chunk of body) {
    md5?.update(chunk);
    sha?.update(chunk);
    for (const r of runners.values()) r.update(chunk);
    for (const r of ready.values()) r.update(chunk);
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
  if (expect.unannounced) {
    for (const [name, value] of expect.trailers ?? []) {
      const algorithm = checksumHeaderAlgorithm(name);
      if (!algorithm || expect.checksums.has(algorithm)) continue;
      const r = runners.get(algorithm) ?? ready.get(algorithm as CrcAlgorithm);
      if (!r) throw new S3Error('InvalidRequest', `The trailer ${name} was not announced in x-amz-trailer`);
      if (r.base64() !== value) throw new S3Error('BadDigest', `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
      expect.checksums.set(algorithm, value);
      runners.set(algorithm, r);
      // The client's checksum is the object's: S3's own is not added beside it.
      if (!also.includes('crc64nvme') && algorithm !== 'crc64nvme' && expect.checksums.size === 1) runners.delete('crc64nvme');
    }
  }
  for (const [algorithm, r] of runners) {
    const got = r.base64();
    if (!expect.checksums.has(algorithm)) {
      computed.set(algorithm, got);
      continue;
    }
    const want = expect.checksums.get(algorithm) ?? expect.trailers?.get(`x-amz-checksum-${algorithm}`);
    if (want === undefined) throw new S3Error('InvalidRequest', `x-amz-checksum-${algorithm} was declared but not sent`);
    if (got !== want) throw new S3Error('BadDigest', `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
    computed.set(algorithm, got);
  }
}
