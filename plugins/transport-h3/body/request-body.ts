import { decodeAwsChunked } from './aws-chunked.js';
import { checksumHeaderAlgorithm, checksumHeaders, verifyBody, type ChecksumAlgorithm } from './checksums.js';
import { header, type Call } from '../context.js';
import { S3Error } from '../s3-error.js';
import { STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, UNSIGNED, type Verified } from '../auth/sigv4.js';

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * The request body as the client meant it: aws-chunked frames removed
 * (when the payload is declared STREAMING-*), and checked, as it streams,
 * against Content-Length, Content-MD5, a signed payload hash and any
 * x-amz-checksum-* (header or trailer). `computed` holds the checksums once
 * the body has been consumed (those of `also` too, checked or not).
 */
export function requestBody(
  call: Pick<Call, 'req' | 'auth' | 'services'>, also: readonly ChecksumAlgorithm[] = [], options: { checksumHeaders?: boolean } = {},
): { body: AsyncIterable<Uint8Array>; computed: Map<ChecksumAlgorithm, string>; declared: ChecksumAlgorithm[] } {
  const { req, auth } = call;
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
  // CompleteMultipartUpload's x-amz-checksum-* headers describe the object it completes, not its XML.
  const checksums = new Map<ChecksumAlgorithm, string | undefined>(options.checksumHeaders === false ? [] : checksumHeaders(req));
  for (const t of (header(req, 'x-amz-trailer') ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    const a = t.startsWith('x-amz-checksum-') ? checksumHeaderAlgorithm(t) : undefined;
    if (!a) throw new S3Error('InvalidRequest', `unsupported trailer ${t}`);
    checksums.set(a, undefined);
  }
  if (checksums.size > 1) throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  const decodedLength = header(req, 'x-amz-decoded-content-length');
  const computed = new Map<ChecksumAlgorithm, string>();
  const verified = verifyBody(body, {
    ...(contentMd5 !== undefined ? { contentMd5 } : {}),
    ...(HEX_SHA256.test(payload) ? { sha256Hex: payload } : {}),
    checksums,
    trailers,
    ...(payload.endsWith('-TRAILER') && !header(req, 'x-amz-trailer') ? { unannounced: true } : {}),
    ...(chunked ? (decodedLength !== undefined ? { declaredLength: Number(decodedLength) } : {}) : (declared !== undefined ? { declaredLength: Number(declared) } : {})),
  }, computed, call.services.crc, also);
  return { body: verified, computed, declared: [...checksums.keys()] };
}

/** A Content-MD5 is the base64 of 16 bytes; anything else (empty included) is InvalidDigest. */
function isMd5Base64(value: string): boolean {
  return /^[A-Za-z0-9+/]{22}==$/.test(value.trim());
}
