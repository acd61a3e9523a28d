import { medianMs } from './measure.js';

/** One thing measured in a comparison: `run` does `units` of work per call. */
export interface Contender {
  readonly name: string;
  readonly run: () => unknown;
  readonly units: number;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/**
 * Measures the contenders in interleaved rounds (A B C, B C A, ...) so that
 * the shared machine's slow and fast phases fall on all of them alike.
 * Returns per contender the median rate (units per ms) over rounds, and the
 * per-round rates so that callers can take the median of per-round ratios.
 */
export async function interleaved(contenders: Contender[], rounds: number, timeMs: number): Promise<Map<string, { rate: number; perRound: number[] }>> {
  const perRound = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(i + r) % contenders.length]!;
      const ms = await medianMs(c.name, c.run, timeMs);
      perRound.get(c.name)!.push(c.units / ms);
    }
  }
  return new Map([...perRound].map(([name, rates]) => [name, { rate: median(rates), perRound: rates }]));
}

/** Median over rounds of a/b, each round's figures taken together. */
export function medianRatio(a: number[], b: number[]): number {
  return median(a.map((x, i) => x / b[i]!));
}
