import { anyoneMay, parsePolicy, publicReadStatements, type PolicyStatement } from '../../core/engine/bucket-policy.js';
import type { BucketInfo } from '../../core/engine/buckets.js';
import type { S3Request, Services } from './context.js';
import type { Route } from './routes.js';
import { S3Error } from './s3-error.js';
import { UNSIGNED, type Verified } from './sigv4.js';

/** The S3 action (and whether it names the bucket or an object) each operation open to anyone needs. */
const ANONYMOUS: Readonly<Record<string, (req: S3Request) => { action: string; object: boolean }>> = {
  GetObject: (req) => ({ action: req.query.has('versionId') ? 's3:GetObjectVersion' : 's3:GetObject', object: true }),
  HeadObject: (req) => ({ action: req.query.has('versionId') ? 's3:GetObjectVersion' : 's3:GetObject', object: true }),
  ListObjects: () => ({ action: 's3:ListBucket', object: false }),
  ListObjectsV2: () => ({ action: 's3:ListBucket', object: false }),
  ListObjectVersions: () => ({ action: 's3:ListBucketVersions', object: false }),
};

/** Parsed policies by their text: a public bucket's policy is read on every anonymous request. */
const parsed = new Map<string, PolicyStatement[]>();

/** What a bucket lets anyone do: its canned ACL public-read, then its policy (parsed once per policy text). */
export function publicStatements(info: BucketInfo): PolicyStatement[] {
  const statements: PolicyStatement[] = info.publicRead ? publicReadStatements(info.name) : [];
  if (info.policy) {
    let p = parsed.get(info.policy);
    if (!p) {
      p = parsePolicy(info.name, info.policy);
      if (parsed.size > 1000) parsed.clear();
      parsed.set(info.policy, p);
    }
    statements.push(...p);
  }
  return statements;
}

/**
 * Lets an anonymous request through when its bucket is public for it: the
 * operation reads (GET/HEAD of an object, a listing), and the bucket's
 * policy — or its canned ACL public-read — allows anyone that action on
 * that resource, with no Deny matching. Everything else is AccessDenied,
 * the same answer whether the bucket exists or not.
 */
export async function admitAnonymous(route: Route | undefined, bucket: string, key: string, req: S3Request, services: Services): Promise<Verified> {
  const denied = new S3Error('AccessDenied', 'Access Denied: anonymous requests are not allowed here');
  const need = route ? ANONYMOUS[route.name]?.(req) : undefined;
  if (!need || !bucket) throw denied;
  const info = await services.buckets.get(bucket).catch(() => undefined);
  if (!info) throw denied;
  const statements = publicStatements(info);
  const resource = need.object ? `arn:aws:s3:::${bucket}/${key}` : `arn:aws:s3:::${bucket}`;
  if (!anyoneMay(statements, need.action, resource)) throw denied;
  return { accessKey: '', payloadHash: UNSIGNED };
}
