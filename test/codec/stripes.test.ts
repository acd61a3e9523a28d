import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { IMPLS, TECHNIQUE_LIST, coderFor, randomShards } from '../helpers/codecs.js';

describe.each(IMPLS)('stripes through the %s build', (impl) => {
  describe.each(TECHNIQUE_LIST)('with %s', (technique) => {
    const coder = coderFor(impl, { k: 4, m: 3, technique, packetSize: 512 });
    const a = coder.alignment;
    const lengths = [0, 1, a - 1, a, a + 1, 4 * a - 1, 4 * a, 4 * a + 1, 10 * a + 7, 123_457];

    it.each(lengths)('pads a %i-byte stripe to aligned shards and gives back exactly those bytes', async (length) => {
      const data = randomBytes(length);
      const stripe = await coder.encodeStripe(data);
      expect(stripe.dataLength).toBe(length);
      expect(stripe.shardSize % a).toBe(0);
      expect(stripe.shardSize).toBeGreaterThanOrEqual(Math.ceil(length / 4));
      expect(stripe.shards).toHaveLength(7);
      stripe.shards.forEach((s) => expect(s.byteLength).toBe(stripe.shardSize));
      expect(Buffer.compare(await coder.decodeStripe(stripe.shards, length), data)).toBe(0);
      const degraded = stripe.shards.map((s, i) => (i === 1 || i === 3 || i === 6 ? null : s));
      expect(Buffer.compare(await coder.decodeStripe(degraded, length), data)).toBe(0);
    });

    it('returns healthy data shards without decoding (parity shards may be garbage)', async () => {
      const data = randomBytes(3 * a + 5);
      const stripe = await coder.encodeStripe(data);
      const shards = stripe.shards.map((s, i) => (i >= 4 ? new Uint8Array(s.byteLength).fill(7) : s));
      expect(Buffer.compare(await coder.decodeStripe(shards, data.length), data)).toBe(0);
    });
  });

  it('encodes and rebuilds shards whose addresses differ modulo 16 (reed_sol_van SIMD would abort)', () => {
    const coder = coderFor(impl, { k: 4, m: 3, technique: 'reed_sol_van' });
    const size = 4096;
    const carve = (count: number, offset: number) => {
      const backing = Buffer.alloc(count * size + offset);
      return Array.from({ length: count }, (_, i) => backing.subarray(offset + i * size, offset + (i + 1) * size));
    };
    const data = randomShards(4, size);
    const expected = randomShards(3, size);
    coder.encodeSync(data, expected);

    const skewedData = carve(4, 3);
    skewedData.forEach((s, i) => s.set(data[i]!));
    const skewedParity = carve(3, 8);
    coder.encodeSync(skewedData, skewedParity);
    skewedParity.forEach((p, i) => expect(Buffer.compare(p, expected[i]!)).toBe(0));

    const shards = [...carve(2, 5), ...carve(5, 12)];
    [...data, ...expected].forEach((s, i) => shards[i]!.set(s));
    shards[0]!.fill(0);
    shards[5]!.fill(0);
    coder.reconstructSync(shards, [0, 5]);
    expect(Buffer.compare(shards[0]!, data[0]!)).toBe(0);
    expect(Buffer.compare(shards[5]!, expected[1]!)).toBe(0);
  });
});
