import { InvalidBucketNameError, InvalidKeyError } from '../errors.js';

/**
 * S3's bucket naming rules: 3-63 characters of lowercase letters, digits,
 * dots and hyphens, starting and ending with a letter or digit, no two
 * adjacent dots, no dot next to a hyphen, not shaped like an IP address.
 */
export function assertBucketName(name: string): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes('..') || name.includes('.-') || name.includes('-.') || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
    throw new InvalidBucketNameError(name);
  }
}

/** Keys are 1 to 1024 bytes of UTF-8; anything else S3 allows is fine, `../` included. */
export function assertKey(key: string): void {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes === 0) throw new InvalidKeyError('key must not be empty');
  if (bytes > 1024) throw new InvalidKeyError(`key is ${bytes} bytes of UTF-8, at most 1024 are allowed`, 'ERR_KEY_TOO_LONG');
  if (key.includes('\0')) throw new InvalidKeyError('key must not contain NUL');
  if (Buffer.from(key, 'utf8').toString('utf8') !== key) throw new InvalidKeyError('key is not valid unicode');
}
