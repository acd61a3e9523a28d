import 'reflect-metadata';

import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { parseConfig } from '../../core/config.js';
import { CRC_ALGORITHMS, type CrcEngine } from '../../core/contracts/crc.js';
import { JerasureCrc } from '../../plugins/codec-jerasure/index.js';
import { loadNativeCrc } from '../../codecs/jerasure-native/index.js';
import { loadWasmCrc } from '../../codecs/jerasure-wasm/index.js';
import { referenceCrc } from '../helpers/crc-reference.js';

/**
 * The CRC contract, for every build: the check values published with each
 * CRC, a bit-by-bit reference over lengths around every boundary of the
 * folding (16-byte blocks, 128-byte strides, the 256 bytes where it starts),
 * and a value carried from one call to the next.
 */
const engines: [string, () => CrcEngine][] = [
  ['native', () => new JerasureCrc(parseConfig({ CODEC: 'native' }))],
  ['wasm', () => new JerasureCrc(parseConfig({ CODEC: 'wasm' }))],
];

const CHECK: Record<(typeof CRC_ALGORITHMS)[number], bigint> = { crc32: 0xcbf43926n, crc32c: 0xe3069283n, crc64nvme: 0xae8b14860a799888n };

describe.each(engines)('the %s build\'s CRCs', (impl, open) => {
  const crc = open();

  it('is the build it says', () => {
    expect(crc.impl).toBe(impl);
  });

  it.each(CRC_ALGORITHMS)('%s: the published check value of "123456789"', (algorithm) => {
    expect(crc.update(algorithm, 0n, Buffer.from('123456789'))).toBe(CHECK[algorithm]);
    expect(crc.update(algorithm, 0n, new Uint8Array(0))).toBe(0n);
  });

  it.each(CRC_ALGORITHMS)('%s: the bit-by-bit value for every length up to 600 bytes and at unaligned offsets', (algorithm) => {
    const data = randomBytes(4100);
    for (let length = 0; length <= 600; length++) {
      const offset = length % 7;
      const piece = data.subarray(offset, offset + length);
      expect(crc.update(algorithm, 0n, piece), `${length} bytes`).toBe(referenceCrc(algorithm, piece));
    }
    expect(crc.update(algorithm, 0n, data)).toBe(referenceCrc(algorithm, data));
  });

  it.each(CRC_ALGORITHMS)('%s: a value carried across calls of any size equals one call over all the bytes', (algorithm) => {
    const data = randomBytes(3 << 20);
    const whole = crc.update(algorithm, 0n, data);
    let carried = 0n;
    for (const [from, to] of [[0, 1], [1, 300], [300, 4096], [4096, 1 << 20], [1 << 20, (1 << 20) + 17], [(1 << 20) + 17, 3 << 20]] as const) carried = crc.update(algorithm, carried, data.subarray(from, to));
    expect(carried).toBe(whole);
    expect(crc.update(algorithm, referenceCrc(algorithm, data.subarray(0, 1000)), data.subarray(1000, 5000))).toBe(referenceCrc(algorithm, data.subarray(0, 5000)));
  });
});

describe('the two builds', () => {
  it('give the same CRCs of the same large random data', () => {
    const native = loadNativeCrc();
    const wasm = loadWasmCrc();
    const data = randomBytes(5 << 20);
    for (const algorithm of CRC_ALGORITHMS) {
      expect(wasm.update(algorithm, 0n, data)).toBe(native.update(algorithm, 0n, data));
      expect(native.update(algorithm, 0n, data, true)).toBe(native.update(algorithm, 0n, data));
    }
  });
});
