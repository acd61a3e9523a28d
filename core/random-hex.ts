import { randomFillSync } from 'node:crypto';

/** Random bytes drawn ahead: a call to randomBytes for a few bytes cost ~16 µs here, two per PUT. */
const pool = Buffer.alloc(4096);
let at = pool.length;

/** `bytes` random bytes (from the system's CSPRNG, drawn 4 KiB at a time) as lower-case hex. */
export function randomHex(bytes: number): string {
  if (bytes > pool.length) throw new RangeError(`randomHex: ${bytes} bytes`);
  if (at + bytes > pool.length) {
    randomFillSync(pool);
    at = 0;
  }
  const hex = pool.toString('hex', at, at + bytes);
  at += bytes;
  return hex;
}
