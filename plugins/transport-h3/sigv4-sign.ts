import { createHash, createHmac } from 'node:crypto';

import { canonicalPath, canonicalQuery, signingKey, UNSIGNED } from './sigv4.js';

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
const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');

function signature(user: SigningUser, amzDate: string, canonical: string): { scope: string; signature: string } {
  const date = amzDate.slice(0, 8);
  const scope = `${date}/${REGION}/s3/aws4_request`;
  const toSign = [ALGORITHM, amzDate, scope, sha256hex(canonical)].join('\n');
  return { scope, signature: createHmac('sha256', signingKey(user.secretKey, date, REGION, 's3')).update(toSign).digest('hex') };
}

/**
 * The headers that sign a request with SigV4 in its Authorization header:
 * host, x-amz-date and x-amz-content-sha256 are signed; the body is not
 * (UNSIGNED-PAYLOAD, or the empty body's hash when `emptyBody`), so a
 * streamed body passes through untouched. The verifier in sigv4.ts checks
 * exactly this.
 */
export function signHeaders(req: ToSign, user: SigningUser, options: { emptyBody?: boolean; at?: Date } = {}): Record<string, string> {
  const amzDate = amzDateOf(options.at ?? new Date());
  const payload = options.emptyBody ? EMPTY_SHA256 : UNSIGNED;
  const headers: Record<string, string> = { host: req.host, 'x-amz-content-sha256': payload, 'x-amz-date': amzDate };
  const names = Object.keys(headers).sort();
  const canonical = [req.method, canonicalPath(req.rawPath), canonicalQuery(req.query), ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), payload].join('\n');
  const { scope, signature: sig } = signature(user, amzDate, canonical);
  return { ...headers, authorization: `${ALGORITHM} Credential=${user.accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${sig}` };
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
  const canonical = [req.method, canonicalPath(req.rawPath), canonicalQuery(query), `host:${req.host}`, '', 'host', UNSIGNED].join('\n');
  query.set('X-Amz-Signature', signature(user, amzDate, canonical).signature);
  return query;
}
