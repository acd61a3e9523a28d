import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

import { S3Error } from '../s3-error.js';

export const UNSIGNED = 'UNSIGNED-PAYLOAD';
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** How far a request's date may be from our clock (S3 allows 15 minutes). */
export const MAX_SKEW_MS = 15 * 60 * 1000;

export interface SignedRequest {
  method: string;
  /** raw path as sent, still percent-encoded */
  rawPath: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
}

export interface Verified {
  accessKey: string;
  /** what the body is claimed to be: a hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING-* form */
  payloadHash: string;
  /** for aws-chunked bodies with chunk signatures */
  seed?: { signature: string; signingKey: Buffer; scope: string; amzDate: string };
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
const sha256hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * Signing keys derived already: one per secret, day, region and service, so
 * four HMACs a request become a lookup (small objects are thousands of
 * requests a second). Cleared when it grows past a bound (a day's keys).
 */
const derived = new Map<string, Buffer>();
const DERIVED_MAX = 1024;

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  // Unambiguous whatever the parts hold (region and service come from the request).
  const id = JSON.stringify([secret, date, region, service]);
  let key = derived.get(id);
  if (!key) {
    if (derived.size >= DERIVED_MAX) derived.clear();
    key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
    derived.set(id, key);
  }
  return key;
}

/** RFC 3986 encoding as SigV4 wants it (S3 keeps '/' in paths). */
function uriEncode(s: string, keepSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function canonicalPath(rawPath: string): string {
  // S3 signs the path as sent, each segment decoded once and re-encoded.
  return rawPath.split('/').map((seg) => uriEncode(safeDecode(seg), false)).join('/');
}

function safeDecode(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}

function canonicalQuery(query: URLSearchParams, skip?: string): string {
  const pairs: [string, string][] = [];
  for (const [k, v] of query) if (k !== skip) pairs.push([uriEncode(k, false), uriEncode(v, false)]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** A header's value as signers see it: repeated values joined with commas. */
export function signedHeaderValue(headers: SignedRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function canonicalHeaders(req: SignedRequest, signed: readonly string[]): string {
  return signed.map((h) => {
    const v = signedHeaderValue(req.headers, h);
    if (v === undefined) throw new S3Error('AccessDenied', `signed header ${h} is missing`);
    return `${h}:${v.trim().replace(/\s+/g, ' ')}\n`;
  }).join('');
}

/**
 * SigV4's canonical request: what signer and verifier both hash. `skip`
 * leaves a query parameter out (a presigned URL's own X-Amz-Signature).
 */
export function canonicalRequest(req: SignedRequest, signedHeaders: readonly string[], payloadHash: string, skip?: string): string {
  return [req.method, canonicalPath(req.rawPath), canonicalQuery(req.query, skip), canonicalHeaders(req, signedHeaders), signedHeaders.join(';'), payloadHash].join('\n');
}

/** The signature of a canonical request, and the key that made it (aws-chunked bodies chain from both). */
export function signCanonical(secret: string, amzDate: string, region: string, service: string, canonical: string): { signature: string; key: Buffer; scope: string } {
  const date = amzDate.slice(0, 8);
  const scope = `${date}/${region}/${service}/aws4_request`;
  const key = signingKey(secret, date, region, service);
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonical)].join('\n');
  return { signature: createHmac('sha256', key).update(stringToSign).digest('hex'), key, scope };
}

function parseAmzDate(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) throw new S3Error('AccessDenied', `invalid X-Amz-Date ${amzDate}`);
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Verifies AWS Signature Version 4, in the Authorization header or in a
 * presigned URL's query. `secretFor` returns the secret of an access key or
 * undefined. Throws S3Error with S3's codes: AccessDenied (no or malformed
 * auth), InvalidAccessKeyId, SignatureDoesNotMatch, RequestTimeTooSkewed,
 * and AccessDenied "Request has expired" for presigned URLs.
 */
export function verifySigV4(req: SignedRequest, secretFor: (accessKey: string) => string | undefined, now = Date.now()): Verified {
  const auth = signedHeaderValue(req.headers, 'authorization');
  const presigned = req.query.get('X-Amz-Algorithm');
  let credential: string;
  let signedHeaders: string[];
  let signature: string;
  let amzDate: string;
  let payloadHash: string;

  if (auth) {
    const m = /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})\s*$/.exec(auth);
    if (!m) throw new S3Error('AuthorizationHeaderMalformed', 'malformed AWS4-HMAC-SHA256 Authorization header');
    [, credential, , signature] = m as unknown as [string, string, string, string];
    signedHeaders = m[2]!.split(';');
    amzDate = signedHeaderValue(req.headers, 'x-amz-date') ?? '';
    if (!amzDate) throw new S3Error('AccessDenied', 'X-Amz-Date is missing');
    payloadHash = signedHeaderValue(req.headers, 'x-amz-content-sha256') ?? EMPTY_SHA256;
    if (Math.abs(now - parseAmzDate(amzDate)) > MAX_SKEW_MS) {
      throw new S3Error('RequestTimeTooSkewed');
    }
  } else if (presigned) {
    if (presigned !== 'AWS4-HMAC-SHA256') throw new S3Error('AuthorizationQueryParametersError', `X-Amz-Algorithm only supports "AWS4-HMAC-SHA256", not ${presigned}`);
    credential = req.query.get('X-Amz-Credential') ?? '';
    signedHeaders = (req.query.get('X-Amz-SignedHeaders') ?? '').split(';');
    signature = req.query.get('X-Amz-Signature') ?? '';
    amzDate = req.query.get('X-Amz-Date') ?? '';
    const expires = Number(req.query.get('X-Amz-Expires'));
    if (!credential || !signature || !amzDate || !Number.isInteger(expires)) throw new S3Error('AccessDenied', 'malformed presigned URL');
    // A URL valid for 0 seconds has expired when it arrives (AWS answers 403).
    if (expires < 1) throw new S3Error('AccessDenied', 'Request has expired');
    if (expires > 604800) throw new S3Error('AuthorizationQueryParametersError', 'X-Amz-Expires must be less than a week (in seconds) that is 604800');
    const signedAt = parseAmzDate(amzDate);
    if (now > signedAt + expires * 1000) throw new S3Error('AccessDenied', 'Request has expired');
    if (signedAt - now > MAX_SKEW_MS) throw new S3Error('RequestTimeTooSkewed', 'presigned URL is dated in the future');
    payloadHash = UNSIGNED;
  } else {
    throw new S3Error('AccessDenied', 'the request is not signed with AWS4-HMAC-SHA256');
  }

  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request') throw new S3Error('AuthorizationHeaderMalformed', `malformed credential ${credential}`);
  const [accessKey, date, region, service] = parts as [string, string, string, string];
  const secret = secretFor(accessKey);
  if (secret === undefined) throw new S3Error('InvalidAccessKeyId');
  if (!amzDate.startsWith(date)) throw new S3Error('AuthorizationHeaderMalformed', 'credential date does not match X-Amz-Date');

  const canonical = canonicalRequest(req, signedHeaders, payloadHash, presigned ? 'X-Amz-Signature' : undefined);
  const { signature: expected, key, scope } = signCanonical(secret, amzDate, region, service, canonical);
  if (!same(expected, signature)) {
    throw new S3Error('SignatureDoesNotMatch');
  }
  return { accessKey, payloadHash, seed: { signature, signingKey: key, scope, amzDate } };
}

const sign = (seed: NonNullable<Verified['seed']>, lines: string[]) => createHmac('sha256', seed.signingKey).update(lines.join('\n')).digest('hex');

/** The signature of one aws-chunked chunk (given its SHA-256), chained from the previous one. */
export function chunkSignature(seed: NonNullable<Verified['seed']>, previous: string, chunkSha256Hex: string): string {
  return sign(seed, ['AWS4-HMAC-SHA256-PAYLOAD', seed.amzDate, seed.scope, previous, EMPTY_SHA256, chunkSha256Hex]);
}

/** The signature of an aws-chunked body's trailers (`name:value\n` lines), chained from the last chunk's. */
export function trailerSignature(seed: NonNullable<Verified['seed']>, previous: string, canonicalTrailers: string): string {
  return sign(seed, ['AWS4-HMAC-SHA256-TRAILER', seed.amzDate, seed.scope, previous, sha256hex(canonicalTrailers)]);
}

export { same as signaturesEqual };
