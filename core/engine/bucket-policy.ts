import { KintsugiError } from '../errors.js';

/** A bucket policy Kintsugi cannot hold as sent (S3's MalformedPolicy). */
export class MalformedPolicyError extends KintsugiError {
  constructor(message: string) {
    super('ERR_MALFORMED_POLICY', message);
  }
}

/** One statement of a bucket policy: who is anyone (`*`), what, on which resources. */
export interface PolicyStatement {
  readonly effect: 'Allow' | 'Deny';
  /** action patterns (`s3:GetObject`, `s3:Get*`, `s3:*`, `*`) */
  readonly actions: readonly string[];
  /** ARN patterns inside the bucket (`arn:aws:s3:::bucket`, `arn:aws:s3:::bucket/prefix/*`) */
  readonly resources: readonly string[];
}

/** A policy document's size limit, as S3's. */
export const MAX_POLICY_BYTES = 20 * 1024;

const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function strings(v: unknown, what: string): string[] {
  const all = list(v);
  if (all.length === 0 || all.some((x) => typeof x !== 'string' || x === '')) throw new MalformedPolicyError(`${what} must be a string or a list of strings`);
  return all as string[];
}

/** IAM's wildcards: `*` any run of characters, `?` any one. */
export function globMatch(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let star = -1;
  let mark = 0;
  while (v < value.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === value[v])) { p++; v++; }
    else if (p < pattern.length && pattern[p] === '*') { star = p++; mark = v; }
    else if (star >= 0) { p = star + 1; v = ++mark; }
    else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * Parses a bucket policy, keeping what Kintsugi evaluates: statements for
 * everyone (`"Principal": "*"` or `{"AWS": "*"}`) allowing or denying S3
 * actions on the bucket or objects in it. What it would have to ignore to
 * accept — another principal, a Condition, NotAction, NotResource — is
 * refused, so that a policy never grants more (or denies less) than it
 * says.
 */
export function parsePolicy(bucket: string, text: string): PolicyStatement[] {
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES) throw new MalformedPolicyError(`a bucket policy is at most ${MAX_POLICY_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new MalformedPolicyError('Policies must be valid JSON and the first byte must be \'{\'');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new MalformedPolicyError('a policy is a JSON object');
  const { Version, Statement } = doc as { Version?: unknown; Statement?: unknown };
  if (Version !== undefined && Version !== '2012-10-17' && Version !== '2008-10-17') throw new MalformedPolicyError(`unknown policy Version ${JSON.stringify(Version)}`);
  const statements = list(Statement);
  if (statements.length === 0) throw new MalformedPolicyError('Missing required field Statement');
  return statements.map((raw) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new MalformedPolicyError('a Statement is a JSON object');
    const st = raw as Record<string, unknown>;
    for (const unsupported of ['Condition', 'NotAction', 'NotResource', 'NotPrincipal']) {
      if (st[unsupported] !== undefined) throw new MalformedPolicyError(`${unsupported} is not supported by Kintsugi: the statement would grant or deny other than it says`);
    }
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') throw new MalformedPolicyError('Effect must be Allow or Deny');
    const principal = st.Principal;
    const anyone = principal === '*' || (typeof principal === 'object' && principal !== null && !Array.isArray(principal)
      && Object.keys(principal).length === 1 && strings((principal as Record<string, unknown>).AWS, 'Principal.AWS').every((p) => p === '*'));
    if (!anyone) throw new MalformedPolicyError('only the principal "*" (everyone) is supported: users are access keys, with full access to their store');
    const actions = strings(st.Action, 'Action');
    for (const a of actions) if (a !== '*' && !/^s3:[A-Za-z0-9*?]+$/.test(a)) throw new MalformedPolicyError(`Policy has invalid action ${a}`);
    const resources = strings(st.Resource, 'Resource');
    for (const r of resources) {
      if (r !== `arn:aws:s3:::${bucket}` && !r.startsWith(`arn:aws:s3:::${bucket}/`)) throw new MalformedPolicyError(`Policy has invalid resource ${r}`);
    }
    return { effect: st.Effect, actions, resources };
  });
}

/** Whether the statements let anyone do `action` on `resource` (an ARN): some Allow matches and no Deny does. */
export function anyoneMay(statements: readonly PolicyStatement[], action: string, resource: string): boolean {
  let allowed = false;
  for (const st of statements) {
    if (!st.actions.some((a) => globMatch(a, action)) || !st.resources.some((r) => globMatch(r, resource))) continue;
    if (st.effect === 'Deny') return false;
    allowed = true;
  }
  return allowed;
}

/** The statements the canned ACL `public-read` stands for: anyone may list the bucket and read its objects. */
export function publicReadStatements(bucket: string): PolicyStatement[] {
  return [{ effect: 'Allow', actions: ['s3:GetObject', 's3:ListBucket'], resources: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] }];
}

/** What publicStatements reads of a bucket: its name, canned ACL and policy text. */
export interface PublicSettings {
  readonly name: string;
  readonly publicRead?: boolean;
  readonly policy?: string;
}

/** Parsed policies by their text: a public bucket's policy is read on every anonymous request. */
const parsed = new Map<string, PolicyStatement[]>();

/** What a bucket lets anyone do: its canned ACL public-read, then its policy (parsed once per policy text). */
export function publicStatements(bucket: PublicSettings): PolicyStatement[] {
  const statements: PolicyStatement[] = bucket.publicRead ? publicReadStatements(bucket.name) : [];
  if (bucket.policy) {
    let p = parsed.get(bucket.policy);
    if (!p) {
      p = parsePolicy(bucket.name, bucket.policy);
      if (parsed.size > 1000) parsed.clear();
      parsed.set(bucket.policy, p);
    }
    statements.push(...p);
  }
  return statements;
}
