import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { TECHNIQUE_LIST, coderFor, randomShards } from '../helpers/codecs.js';

const CODES = [[2, 1], [4, 2], [4, 3], [6, 3], [8, 4], [10, 4], [12, 4]] as const;

describe('the native and WASM builds', () => {
  describe.each(TECHNIQUE_LIST)('with %s', (technique) => {
    it.each(CODES)('write byte-identical parity for %i+%i on random data', (k, m) => {
      for (const packetSize of [64, 4096]) {
        const native = coderFor('native', { k, m, technique, packetSize });
        const wasm = coderFor('wasm', { k, m, technique, packetSize });
        const data = randomShards(k, native.alignment * 3);
        const pn = randomShards(m, native.alignment * 3);
        const pw = randomShards(m, native.alignment * 3);
        native.encodeSync(data, pn);
        wasm.encodeSync(data, pw);
        pn.forEach((p, i) => expect(Buffer.compare(p, pw[i]!), `parity ${i}`).toBe(0));
      }
    });

    it('read each other\'s stripes: encoded by native, rebuilt by WASM and back', async () => {
      const native = coderFor('native', { k: 4, m: 3, technique });
      const wasm = coderFor('wasm', { k: 4, m: 3, technique });
      const object = randomBytes(100_003);
      const byNative = await native.encodeStripe(object);
      const byWasm = await wasm.encodeStripe(object);
      byNative.shards.forEach((s, i) => expect(Buffer.compare(s, byWasm.shards[i]!)).toBe(0));
      const holes = byNative.shards.map((s, i) => (i === 0 || i === 2 || i === 5 ? null : s));
      expect(Buffer.compare(await wasm.decodeStripe(holes, object.length), object)).toBe(0);
      const holes2 = byWasm.shards.map((s, i) => (i < 3 ? null : s));
      expect(Buffer.compare(await native.decodeStripe(holes2, object.length), object)).toBe(0);
    });
  });

  it('agree when the shards live in WASM memory (the zero-copy path)', () => {
    const wasm = coderFor('wasm', { k: 4, m: 3 });
    const native = coderFor('native', { k: 4, m: 3 });
    const size = wasm.alignment;
    const inside = wasm.allocShards(7, size);
    const data = randomShards(4, size);
    data.forEach((d, i) => inside[i]!.set(d));
    wasm.encodeSync(inside.slice(0, 4), inside.slice(4));
    const parity = randomShards(3, size);
    native.encodeSync(data, parity);
    parity.forEach((p, i) => expect(Buffer.compare(p, inside[4 + i]!)).toBe(0));
    wasm.releaseShards(inside);
  });
});
