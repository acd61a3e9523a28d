import { Bench } from 'tinybench';

/**
 * Median milliseconds per call of `fn` under tinybench. The machines are
 * shared and noisy, so the median (not the mean) is what gets reported.
 */
export async function medianMs(name: string, fn: () => unknown, timeMs: number): Promise<number> {
  const bench = new Bench({ time: timeMs, warmupTime: Math.min(100, timeMs / 4), iterations: 5 });
  bench.add(name, fn);
  await bench.run();
  const result = bench.tasks[0]!.result;
  if (result.state !== 'completed') throw new Error(`${name}: ${result.state}${'error' in result ? `: ${String(result.error)}` : ''}`);
  return result.latency.p50;
}
