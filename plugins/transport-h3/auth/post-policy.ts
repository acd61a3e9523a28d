import { createHmac } from 'node:crypto';

import type { Credentials } from '../context.js';
import { S3Error } from '../s3-error.js';
import { signaturesEqual, signingKey } from './sigv4.js';

/**
 * The signed POST policy of a browser form upload: who signed it
 * (Signature Version 4 or 2), until when it holds, and the conditions
 * every form field must meet.
 */
export type Condition = { op: 'eq' | 'starts-with'; field: string; value: string } | { op: 'content-length-range'; min: number; max: number };

export interface PostPolicy {
  readonly expirationMs: number;
  readonly conditions: readonly Condition[];
}

/** Form fields the policy need not name (AWS's rule), lowercased as every field name is. */
const UNCHECKED = new Set(['x-amz-signature', 'signature', 'awsaccesskeyid', 'file', 'policy']);

/** AWS's expiration form: an ISO 8601 UTC instant (`2026-12-06T12:00:00Z`, milliseconds optional). */
const EXPIRATION = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

const invalidPolicy = (why: string) => new S3Error('InvalidPolicyDocument', `Invalid Policy: ${why}`);
const denied = (why: string) => new S3Error('AccessDenied', `Invalid according to Policy: ${why}`);

/**
 * Checks the form's signature over its policy and answers who signed it:
 * Signature Version 4 (`x-amz-algorithm`, `x-amz-credential`,
 * `x-amz-signature`: HMAC-SHA256 with the derived key) or Version 2
 * (`AWSAccessKeyId`, `signature`: HMAC-SHA1 with the secret), the form
 * boto3's generate_presigned_post makes by default. A wrong signature or
 * key is 403; a form that is missing a part of one is 400.
 */
export function verifyPostSignature(fields: ReadonlyMap<string, string>, credentials: Credentials): string {
  const policy = fields.get('policy');
  const algorithm = fields.get('x-amz-algorithm');
  const v2Key = fields.get('awsaccesskeyid');
  if (algorithm === undefined && v2Key === undefined) throw new S3Error('AccessDenied', 'a POST upload needs a signed policy (x-amz-algorithm or AWSAccessKeyId)');
  if (policy === undefined) throw new S3Error('InvalidArgument', 'Bucket POST must contain a field named \'policy\'.');
  if (algorithm !== undefined) {
    if (algorithm !== 'AWS4-HMAC-SHA256') throw new S3Error('InvalidArgument', `x-amz-algorithm must be AWS4-HMAC-SHA256, not "${algorithm}"`);
    const [accessKey, date, region, service, terminator] = (fields.get('x-amz-credential') ?? '').split('/');
    if (!accessKey || !date || !region || service !== 's3' || terminator !== 'aws4_request') throw new S3Error('InvalidArgument', 'x-amz-credential is malformed');
    const signature = fields.get('x-amz-signature');
    if (signature === undefined) throw new S3Error('InvalidArgument', 'Bucket POST must contain a field named \'x-amz-signature\'.');
    const secret = credentials.secretFor(accessKey);
    if (!secret) throw new S3Error('InvalidAccessKeyId');
    const expected = createHmac('sha256', signingKey(secret, date, region, 's3')).update(policy).digest('hex');
    if (!signaturesEqual(expected, signature)) throw new S3Error('SignatureDoesNotMatch');
    return accessKey;
  }
  const signature = fields.get('signature');
  if (signature === undefined) throw new S3Error('InvalidArgument', 'Bucket POST must contain a field named \'Signature\'.');
  const secret = credentials.secretFor(v2Key!);
  if (!secret) throw new S3Error('InvalidAccessKeyId');
  const expected = createHmac('sha1', secret).update(policy, 'utf8').digest('base64');
  if (!signaturesEqual(expected, signature)) throw new S3Error('SignatureDoesNotMatch');
  return v2Key!;
}

function parseCondition(c: unknown): Condition {
  if (Array.isArray(c)) {
    const [rawOp, a, b, ...rest] = c as unknown[];
    // Operators are matched without regard to case, as AWS matches them; field names too (form fields are).
    const op = typeof rawOp === 'string' ? rawOp.toLowerCase() : undefined;
    if (op === 'content-length-range') {
      if (rest.length || !Number.isSafeInteger(a) || !Number.isSafeInteger(b) || (a as number) < 0 || (a as number) > (b as number)) {
        throw invalidPolicy(`content-length-range takes two whole numbers, the least and the most: ${JSON.stringify(c)}`);
      }
      return { op, min: a as number, max: b as number };
    }
    if ((op === 'eq' || op === 'starts-with') && !rest.length && typeof a === 'string' && a.startsWith('$') && typeof b === 'string') {
      return { op, field: a.slice(1).toLowerCase(), value: b };
    }
  } else if (typeof c === 'object' && c !== null && Object.keys(c).length === 1) {
    const [[field, value]] = Object.entries(c as Record<string, unknown>);
    if (typeof value === 'string') return { op: 'eq', field: field!.toLowerCase(), value };
  }
  throw invalidPolicy(`a condition Kintsugi does not know: ${JSON.stringify(c)?.slice(0, 200)}`);
}

/** The policy's expiration and conditions; InvalidPolicyDocument (400) for a policy that is not one. */
export function parsePostPolicy(base64: string): PostPolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
  } catch {
    throw invalidPolicy('the policy is not base64-encoded JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalidPolicy('the policy is not a JSON object');
  // Both names are case-sensitive: EXPIRATION or CONDITIONS is no policy.
  const { expiration, conditions } = doc as { expiration?: unknown; conditions?: unknown };
  if (typeof expiration !== 'string' || !EXPIRATION.test(expiration) || !Number.isFinite(Date.parse(expiration))) {
    throw invalidPolicy(`Invalid 'expiration' value: ${JSON.stringify(expiration ?? null)}`);
  }
  if (!Array.isArray(conditions)) throw invalidPolicy('the policy needs a list of conditions');
  return { expirationMs: Date.parse(expiration), conditions: conditions.map(parseCondition) };
}

/**
 * The policy holds for the form's fields: not expired, every condition met
 * (content-length-range is checked as the file streams), every field named
 * by a condition. A violation is AccessDenied, as AWS answers it.
 */
export function checkPostPolicy(policy: PostPolicy, fields: ReadonlyMap<string, string>, now = Date.now()): void {
  if (now > policy.expirationMs) throw denied('Policy expired.');
  const covered = new Set<string>();
  for (const c of policy.conditions) {
    if (c.op === 'content-length-range') continue;
    covered.add(c.field);
    const value = fields.get(c.field) ?? '';
    if (c.op === 'eq' ? value !== c.value : !value.startsWith(c.value)) throw denied(`Policy Condition failed: ["${c.op}", "$${c.field}", "${c.value}"]`);
  }
  for (const name of fields.keys()) {
    if (UNCHECKED.has(name) || name.startsWith('x-ignore-') || covered.has(name)) continue;
    throw denied(`Extra input fields: ${name}`);
  }
}
