// Puts `MiB` mebibytes of generated data through the engine (built code) and
// prints the peak resident set size seen while doing it, in MiB.
import { randomFillSync } from 'node:crypto';
import { join } from 'node:path';

const [root, nodePath, mib] = process.argv.slice(2);
const dist = (p) => join(root, 'dist', p);
const { parseConfig } = await import(dist('core/config.js'));
const { createContainer } = await import(dist('core/container.js'));
const { ObjectEngine } = await import(dist('core/engine/object-engine.js'));
const { MemoryLogger } = await import(dist('core/logger.js'));
const { PLUGINS } = await import(dist('server/plugins.js'));

const container = await createContainer(parseConfig({ NODEPATH: nodePath, SYNC: 'off' }), PLUGINS, { logger: new MemoryLogger() });
const engine = container.resolve(ObjectEngine);
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
