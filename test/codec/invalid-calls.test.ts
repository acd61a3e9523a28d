import { describe, expect, it } from 'vitest';

import { CodecParamsError, ShardLayoutError, TooManyErasuresError } from '../../core/errors.js';
import { IMPLS, TECHNIQUE_LIST, coderFor, randomShards } from '../helpers/codecs.js';

describe.each(IMPLS)('invalid calls to the %s build', (impl) => {
  describe.each(TECHNIQUE_LIST)('with %s', (technique) => {
    const coder = coderFor(impl, { k: 4, m: 2, technique });
    const size = coder.alignment;

    it('refuse more erasures than parity shards with TooManyErasuresError', async () => {
      const shards = randomShards(6, size);
      await expect(coder.reconstruct(shards, [0, 1, 2])).rejects.toBeInstanceOf(TooManyErasuresError);
      expect(() => coder.reconstructSync(shards, [0, 1, 4])).toThrow(TooManyErasuresError);
    });

    it('refuse a stripe with more shards missing than parity', async () => {
      const { shards } = await coder.encodeStripe(new Uint8Array(1000));
      const holes = shards.map((s, i) => (i < 3 ? null : s));
      await expect(coder.decodeStripe(holes, 1000)).rejects.toBeInstanceOf(TooManyErasuresError);
    });

    it('refuse shard sizes that are not a positive multiple of the alignment', async () => {
      const bad = coder.alignment + (technique === 'reed_sol_van' ? 8 : 1);
      await expect(coder.encode(randomShards(4, bad), randomShards(2, bad))).rejects.toBeInstanceOf(ShardLayoutError);
      expect(() => coder.encodeSync(randomShards(4, 0), randomShards(2, 0))).toThrow(ShardLayoutError);
    });

    it('refuse shards of different sizes', () => {
      const data = [...randomShards(3, size), ...randomShards(1, size * 2)];
      expect(() => coder.encodeSync(data, randomShards(2, size))).toThrow(ShardLayoutError);
    });

    it('refuse the wrong number of shards', async () => {
      expect(() => coder.encodeSync(randomShards(3, size), randomShards(2, size))).toThrow(ShardLayoutError);
      expect(() => coder.encodeSync(randomShards(4, size), randomShards(3, size))).toThrow(ShardLayoutError);
      await expect(coder.reconstruct(randomShards(5, size), [0])).rejects.toBeInstanceOf(ShardLayoutError);
      await expect(coder.decodeStripe([null, null], 10)).rejects.toBeInstanceOf(ShardLayoutError);
    });

    it('refuse erased indexes that are out of range or repeated', () => {
      const shards = randomShards(6, size);
      expect(() => coder.reconstructSync(shards, [6])).toThrow(ShardLayoutError);
      expect(() => coder.reconstructSync(shards, [-1])).toThrow(ShardLayoutError);
      expect(() => coder.reconstructSync(shards, [1.5])).toThrow(ShardLayoutError);
      expect(() => coder.reconstructSync(shards, [2, 2])).toThrow(ShardLayoutError);
    });

    it('refuse non-byte-array shards', () => {
      const data = randomShards(4, size) as unknown[];
      data[2] = 'not a shard';
      expect(() => coder.encodeSync(data as Uint8Array[], randomShards(2, size))).toThrow(ShardLayoutError);
    });
  });

  it('refuses parameters no build can serve with CodecParamsError', () => {
    expect(() => coderFor(impl, { k: 200, m: 57 })).toThrow(CodecParamsError);
    expect(() => coderFor(impl, { k: 0, m: 2 })).toThrow(CodecParamsError);
    expect(() => coderFor(impl, { k: 4, m: 2, w: 16 })).toThrow(CodecParamsError);
    expect(() => coderFor(impl, { k: 4, m: 2, packetSize: 12 })).toThrow(CodecParamsError);
  });

  it('keeps working after refusing bad calls', () => {
    const coder = coderFor(impl, { k: 4, m: 2 });
    expect(() => coder.reconstructSync(randomShards(6, coder.alignment), [0, 1, 2])).toThrow();
    const data = randomShards(4, coder.alignment);
    const parity = randomShards(2, coder.alignment);
    coder.encodeSync(data, parity);
    const shards = [...data, ...parity].map((s) => new Uint8Array(s));
    shards[3]!.fill(0);
    coder.reconstructSync(shards, [3]);
    expect(Buffer.compare(shards[3]!, data[3]!)).toBe(0);
  });
});
