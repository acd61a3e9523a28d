import { S3Error } from './s3-error.js';

/**
 * A whole-number query parameter (max-keys, part-number-marker, ...), or
 * `fallback` when absent. Digits only: a sign, a space or a fraction is
 * refused with InvalidArgument rather than read as some other number.
 */
export function wholeNumberParam(q: URLSearchParams, name: string, fallback: number): number {
  const raw = q.get(name);
  if (raw === null) return fallback;
  if (!/^\d{1,15}$/.test(raw)) throw new S3Error('InvalidArgument', `${name} must be a whole number, not "${raw}"`);
  return Number(raw);
}
