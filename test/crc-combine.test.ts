import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { CRC_ALGORITHMS } from '../core/contracts/crc.js';
import { crcCombine } from '../core/crc-combine.js';
import { referenceCrc } from './helpers/crc-reference.js';

describe('combining CRCs', () => {
  it.each(CRC_ALGORITHMS)('%s: the CRC of two pieces together, from theirs and the second\'s length alone, for pieces of any length', (algorithm) => {
    const data = randomBytes(3000);
    for (const [a, b] of [[0, 0], [0, 17], [17, 0], [1, 1], [100, 1000], [1000, 1999], [2999, 1], [1, 2999]] as const) {
      const first = data.subarray(0, a);
      const second = data.subarray(a, a + b);
      expect(crcCombine(algorithm, referenceCrc(algorithm, first), referenceCrc(algorithm, second), second.length), `${a}+${b}`).toBe(referenceCrc(algorithm, data.subarray(0, a + b)));
    }
  });

  it.each(CRC_ALGORITHMS)('%s: many pieces combined one after another equal the whole', (algorithm) => {
    const pieces = [300, 1, 4096, 77, 1500].map((n) => randomBytes(n));
    let crc = 0n;
    for (const p of pieces) crc = crcCombine(algorithm, crc, referenceCrc(algorithm, p), p.length);
    expect(crc).toBe(referenceCrc(algorithm, Buffer.concat(pieces)));
  });
});
