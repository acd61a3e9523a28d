import type { BucketInfo } from '../../core/engine/buckets.js';
import { header, type Call, type S3Request } from './context.js';

/**
 * The bytes a request's body will bring, as its headers say (an aws-chunked
 * body's decoded length); 0 when they do not say.
 */
export function declaredSize(req: S3Request): number {
  const n = Number(header(req, 'x-amz-decoded-content-length') ?? header(req, 'content-length') ?? 0);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/**
 * Lets a write of `size` bytes into `bucket` in, before any of its body is
 * read: QuotaExceeded when it would take the bucket over its quota. The
 * write calls `done` when it is over, with the bytes it committed (none when
 * it failed), and awaits it before answering: the quota's ledger has them
 * then, for every gateway.
 */
export async function admitWrite(call: Call, bucket: BucketInfo, size: number): Promise<(committedBytes?: number) => Promise<void>> {
  if (bucket.quotaBytes === undefined) return async () => undefined;
  const usage = call.services.usage;
  const release = await usage.admit(bucket.name, bucket.quotaBytes, size);
  return async (committedBytes) => {
    try {
      if (committedBytes !== undefined) await usage.committed(bucket.name, committedBytes);
    } finally {
      release();
    }
  };
}

/** Awaits a write admitted by `admitWrite`, then tells `done` what it committed (or that it failed). */
export async function committing<T>(done: (committedBytes?: number) => Promise<void>, write: Promise<T>, bytes: (written: T) => number): Promise<T> {
  let written: T;
  try {
    written = await write;
  } catch (err) {
    await done();
    throw err;
  }
  await done(bytes(written));
  return written;
}
