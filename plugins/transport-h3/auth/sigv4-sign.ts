import { createHash } from 'node:crypto';

import { canonicalRequest, signCanonical, UNSIGNED } from './sigv4.js';

const REGION = 'us-east-1';
const ALGORITHM = 'AWS4-HMAC-SHA256';
const EMPTY_SHA256 = createHash('sha256').digest('hex');

export interface SigningUser {
  accessKey: string;
  secretKey: string;
}

export interface ToSign {
  method: string;
  /** the path as it goes on the wire, percent-encoded */
  rawPath: string;
  query: URLSearchParams;
  host: string;
}

const amzDateOf = (at: Date) => at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/**
 * The headers that sign a request with SigV4 in its Authorization header:
 * host, x-amz-date and x-amz-content-sha256 are signed; the body is not
 * (UNSIGNED-PAYLOAD, or the empty body's hash when `emptyBody`), so a
 * streamed body passes through untouched. The canonical form is the
 * verifier's own (sigv4.ts).
 */
export function signHeaders(req: ToSign, user: SigningUser, options: { emptyBody?: boolean; at?: Date } = {}): Record<string, string> {
  const amzDate = amzDateOf(options.at ?? new Date());
  const payload = options.emptyBody ? EMPTY_SHA256 : UNSIGNED;
  const headers: Record<string, string> = { host: req.host, 'x-amz-content-sha256': payload, 'x-amz-date': amzDate };
  const names = Object.keys(headers).sort();
  const { scope, signature } = signCanonical(user.secretKey, amzDate, REGION, 's3', canonicalRequest({ ...req, headers }, names, payload));
  return { ...headers, authorization: `${ALGORITHM} Credential=${user.accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
}

/** A presigned URL's query for `req` (host signed, body unsigned), valid for `expiresSeconds`. */
export function presignQuery(req: ToSign, user: SigningUser, expiresSeconds: number, at = new Date()): URLSearchParams {
  const amzDate = amzDateOf(at);
  const query = new URLSearchParams(req.query);
  query.set('X-Amz-Algorithm', ALGORITHM);
  query.set('X-Amz-Credential', `${user.accessKey}/${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`);
  query.set('X-Amz-Date', amzDate);
  query.set('X-Amz-Expires', String(expiresSeconds));
  query.set('X-Amz-SignedHeaders', 'host');
  const canonical = canonicalRequest({ ...req, query, headers: { host: req.host } }, ['host'], UNSIGNED);
  query.set('X-Amz-Signature', signCanonical(user.secretKey, amzDate, REGION, 's3', canonical).signature);
  return query;
}
