// Puts `MiB` mebibytes of generated data through the engine (built code) and
// prints the peak resident set size seen while doing it, in MiB.
import { randomFillSync } from 'node:crypto';

const [root, nodePath, mib] = process.argv.slice(2);
const { openEngine } = await import('./open-engine.mjs');
const engine = await openEngine(root, nodePath);
let peak = 0;
const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
async function* body() {
  // A fresh buffer per chunk, as a network stream delivers them.
  for (let i = 0; i < Number(mib); i++) yield randomFillSync(Buffer.allocUnsafe(1 << 20));
}
const record = await engine.put('big', 'object', body());
clearInterval(sample);
peak = Math.max(peak, process.memoryUsage().rss);
process.stdout.write(JSON.stringify({ size: record.size, peakMiB: Math.round(peak / (1 << 20)) }) + '\n');
process.exit(0);
