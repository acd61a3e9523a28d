import { anyoneMay, publicStatements } from '../../../core/engine/bucket-policy.js';
import type { Services } from '../context.js';
import type { Needed } from '../routes.js';
import { S3Error } from '../s3-error.js';
import { UNSIGNED, type Verified } from './sigv4.js';

/**
 * Lets an anonymous request through when its bucket is public for it: its
 * operation is one anyone may be allowed (a read: the route says what it
 * needs), and the bucket's policy — or its canned ACL public-read — allows
 * anyone that action on that resource, with no Deny matching. Everything
 * else is AccessDenied, the same answer whether the bucket exists or not.
 */
export async function admitAnonymous(need: Needed | undefined, bucket: string, key: string, services: Services): Promise<Verified> {
  const denied = new S3Error('AccessDenied', 'Access Denied: anonymous requests are not allowed here');
  if (!need?.anyone || !bucket) throw denied;
  const info = await services.buckets.get(bucket).catch(() => undefined);
  if (!info) throw denied;
  const resource = need.object ? `arn:aws:s3:::${bucket}/${key}` : `arn:aws:s3:::${bucket}`;
  if (!anyoneMay(publicStatements(info), need.action, resource)) throw denied;
  return { accessKey: '', payloadHash: UNSIGNED };
}
