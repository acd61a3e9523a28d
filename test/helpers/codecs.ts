import { randomBytes } from 'node:crypto';

import type { CodecImpl, CodecParams, ExtendedErasureCoder, Technique } from '../../core/contracts/codec.js';
import { JerasureCoder } from '../../plugins/codec-jerasure/erasure-coder.js';
import { loadNativeBuild } from '../../codecs/jerasure-native/index.js';
import { loadWasmBuild } from '../../codecs/jerasure-wasm/index.js';

export const IMPLS: readonly CodecImpl[] = ['native', 'wasm'];
export const TECHNIQUE_LIST: readonly Technique[] = ['cauchy_good', 'cauchy_orig', 'reed_sol_van'];

const builds = { native: loadNativeBuild(), wasm: loadWasmBuild() };

/** A coder over one build, bypassing config (tests pick builds explicitly). */
export function coderFor(impl: CodecImpl, params: Partial<CodecParams> & { k: number; m: number }): ExtendedErasureCoder {
  const full: CodecParams = { w: 8, technique: 'cauchy_good', packetSize: 64, ...params };
  return JerasureCoder.open(builds[impl], full);
}

export function randomShards(count: number, size: number): Uint8Array[] {
  return Array.from({ length: count }, () => new Uint8Array(randomBytes(size)));
}

/** All subsets of {0..n-1} with 1..max elements. */
export function subsetsUpTo(n: number, max: number): number[][] {
  const out: number[][] = [];
  const walk = (start: number, cur: number[]) => {
    if (cur.length > 0) out.push([...cur]);
    if (cur.length === max) return;
    for (let i = start; i < n; i++) walk(i + 1, [...cur, i]);
  };
  walk(0, []);
  return out;
}

/** `count` random subsets of {0..n-1} of size 1..max, from a seeded generator. */
export function randomSubsets(n: number, max: number, count: number, seed = 1): number[][] {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: count }, () => {
    const size = 1 + Math.floor(rnd() * max);
    const all = Array.from({ length: n }, (_, i) => i).sort(() => rnd() - 0.5);
    return all.slice(0, size).sort((a, b) => a - b);
  });
}
