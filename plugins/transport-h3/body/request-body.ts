import { decodeAwsChunked } from './aws-chunked.js';
import { CHECKSUM_ALGORITHMS, verifyBody, type ChecksumAlgorithm } from './checksums.js';
import { header, type S3Request } from '../context.js';
import { S3Error } from '../s3-error.js';
import { STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, UNSIGNED, type Verified } from '../auth/sigv4.js';

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * The request body as the client meant it: aws-chunked frames removed
 * (when the payload is declared STREAMING-*), and checked, as it streams,
 * against Content-Length, Content-MD5, a signed payload hash and any
 * x-amz-checksum-* (header or trailer). `computed` holds the checksums once
 * the body has been consumed.
 */
export function requestBody(req: S3Request, auth: Verified): { body: AsyncIterable<Uint8Array>; computed: Map<ChecksumAlgorithm, string> } {
  const declared = header(req, 'content-length');
  let body = req.body;
  const trailers = new Map<string, string>();
  const payload = auth.payloadHash;
  // Only a STREAMING-* payload is framed: a body sent with
  // `Content-Encoding: aws-chunked` but a plain payload hash is stored as sent.
  const chunked = payload.startsWith('STREAMING-');
  if (!chunked && payload !== UNSIGNED && !HEX_SHA256.test(payload)) {
    throw new S3Error('InvalidArgument', `invalid x-amz-content-sha256 ${payload}`);
  }
  const contentMd5 = header(req, 'content-md5');
  if (contentMd5 !== undefined && !isMd5Base64(contentMd5)) throw new S3Error('InvalidDigest');
  if (chunked) {
    const signed = payload === STREAMING_SIGNED || payload === STREAMING_SIGNED_TRAILER;
    if (signed && !auth.seed) throw new S3Error('InvalidRequest', `${payload} needs a Signature Version 4 request`);
    body = decodeAwsChunked(body, {
      trailers,
      ...(signed ? { seed: auth.seed!, signedTrailer: payload === STREAMING_SIGNED_TRAILER } : {}),
    });
  }
  const checksums = new Map<ChecksumAlgorithm, string | undefined>();
  for (const a of CHECKSUM_ALGORITHMS) {
    const v = header(req, `x-amz-checksum-${a}`);
    if (v) checksums.set(a, v);
  }
  for (const t of (header(req, 'x-amz-trailer') ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    const a = t.replace(/^x-amz-checksum-/, '') as ChecksumAlgorithm;
    if (!CHECKSUM_ALGORITHMS.includes(a)) throw new S3Error('InvalidRequest', `unsupported trailer ${t}`);
    checksums.set(a, undefined);
  }
  const decodedLength = header(req, 'x-amz-decoded-content-length');
  const computed = new Map<ChecksumAlgorithm, string>();
  const verified = verifyBody(body, {
    ...(contentMd5 !== undefined ? { contentMd5 } : {}),
    ...(HEX_SHA256.test(payload) ? { sha256Hex: payload } : {}),
    checksums,
    trailers,
    ...(chunked ? (decodedLength !== undefined ? { declaredLength: Number(decodedLength) } : {}) : (declared !== undefined ? { declaredLength: Number(declared) } : {})),
  }, computed);
  return { body: verified, computed };
}

/** A Content-MD5 is the base64 of 16 bytes; anything else (empty included) is InvalidDigest. */
function isMd5Base64(value: string): boolean {
  return /^[A-Za-z0-9+/]{22}==$/.test(value.trim());
}
