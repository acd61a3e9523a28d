import { describe, expect, it } from 'vitest';

import { IMPLS, TECHNIQUE_LIST, coderFor, randomShards, randomSubsets, subsetsUpTo } from '../helpers/codecs.js';

const SMALL = [[2, 1], [4, 2], [4, 3], [6, 3]] as const;
const LARGE = [[8, 4], [10, 4], [12, 4]] as const;

describe.each(IMPLS)('the %s jerasure build', (impl) => {
  describe.each(TECHNIQUE_LIST)('with %s', (technique) => {
    describe.each([...SMALL, ...LARGE])('as a %i+%i code', (k, m) => {
      const coder = coderFor(impl, { k, m, technique });
      const size = coder.alignment * 2;
      const data = randomShards(k, size);
      const parity = randomShards(m, size);
      coder.encodeSync(data, parity);
      const original = [...data, ...parity];
      const small = SMALL.some(([a, b]) => a === k && b === m);
      const patterns = small ? subsetsUpTo(k + m, m) : randomSubsets(k + m, m, 40, k * 100 + m);

      it(`rebuilds ${small ? 'every' : 'random'} erasure pattern of up to ${m} shards (${patterns.length} patterns)`, async () => {
        for (const erased of patterns) {
          const shards = original.map((s) => new Uint8Array(s));
          for (const e of erased) shards[e]!.fill(0xa5);
          await coder.reconstruct(shards, erased);
          for (const e of erased) expect(Buffer.compare(shards[e]!, original[e]!), `pattern ${erased}`).toBe(0);
        }
      });

      it('leaves the data shards untouched when encoding', () => {
        const copy = data.map((d) => new Uint8Array(d));
        coder.encodeSync(data, randomShards(m, size));
        data.forEach((d, i) => expect(Buffer.compare(d, copy[i]!)).toBe(0));
      });
    });
  });
});
