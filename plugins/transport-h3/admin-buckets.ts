import type { BucketStore } from '../../core/engine/buckets.js';
import type { BucketUsage, UsageFigures } from '../../core/engine/bucket-usage.js';
import type { S3Request } from './context.js';
import { S3Error } from './s3-error.js';

/** A bucket as operators see it: its newest usage count (absent until one ran) and its quota. */
export interface BucketStatus {
  name: string;
  usage?: UsageFigures;
  quotaBytes?: number;
}

/** Every bucket with its published usage (no counting: a heal pass or a quota check counted). */
export async function bucketsStatus(buckets: BucketStore, usage: BucketUsage): Promise<BucketStatus[]> {
  const list = await buckets.list();
  const figures = await Promise.all(list.map((b) => usage.published(b.name)));
  return list.map((b, i) => ({ name: b.name, ...(figures[i] ? { usage: figures[i] } : {}), ...(b.quotaBytes !== undefined ? { quotaBytes: b.quotaBytes } : {}) }));
}

/** GET admin/usage?bucket=NAME: the bucket counted now. */
export async function countedBucket(req: S3Request, buckets: BucketStore, usage: BucketUsage): Promise<BucketStatus> {
  if ([...req.query.keys()].some((k) => k !== 'bucket')) throw new S3Error('InvalidArgument', 'GET /_kintsugi/admin/usage takes bucket=NAME, nothing else');
  const name = req.query.get('bucket');
  if (name === null) throw new S3Error('InvalidArgument', 'GET /_kintsugi/admin/usage needs bucket=NAME');
  const info = await buckets.get(name);
  return { name, usage: await usage.count(name), ...(info.quotaBytes !== undefined ? { quotaBytes: info.quotaBytes } : {}) };
}

/** PUT admin/quota?bucket=NAME&bytes=N (or none): sets or removes a bucket's hard quota. */
export async function setQuota(req: S3Request, buckets: BucketStore): Promise<{ name: string; quotaBytes: number | null }> {
  const name = req.query.get('bucket');
  const bytes = req.query.get('bytes');
  if (name === null || bytes === null || [...req.query.keys()].some((k) => k !== 'bucket' && k !== 'bytes')) {
    throw new S3Error('InvalidArgument', 'PUT /_kintsugi/admin/quota takes bucket=NAME and bytes=N (or none), nothing else');
  }
  const quota = bytes === 'none' ? undefined : /^\d{1,16}$/.test(bytes) ? Number(bytes) : NaN;
  if (quota !== undefined && !Number.isSafeInteger(quota)) throw new S3Error('InvalidArgument', `a quota is a whole number of bytes or none, not ${JSON.stringify(bytes)}`);
  await buckets.setQuota(name, quota);
  return { name, quotaBytes: quota ?? null };
}
