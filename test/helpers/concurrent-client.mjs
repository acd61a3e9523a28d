// A separate process working on the same node folders as others: puts,
// gets and deletes of a few shared keys. Every body carries the SHA-256 of
// the rest of itself, so any reader can tell a whole object from a torn one.
// Prints one JSON line of counts. Runs the built code (dist/).
import { createHash, randomBytes } from 'node:crypto';

const [root, nodePath, id, ops, seed] = process.argv.slice(2);
const { seededRandom } = await import('./seed.mjs');
const random = seededRandom(Number(seed) + Number(id));
const { openEngine } = await import('./open-engine.mjs');
const engine = await openEngine(root, nodePath);

function payload() {
  const body = randomBytes(1 + Math.floor(random() * (2.5 * 1024 * 1024)));
  return Buffer.concat([createHash('sha256').update(body).digest(), body]);
}
const whole = (b) => b.length >= 32 && createHash('sha256').update(b.subarray(32)).digest().equals(b.subarray(0, 32));

const counts = { id, puts: 0, gets: 0, deletes: 0, missing: 0, torn: 0, errors: [] };
for (let i = 0; i < Number(ops); i++) {
  const key = `shared-${i % 3}`;
  const r = random();
  try {
    if (r < 0.5) {
      const body = payload();
      await engine.put('race', key, (async function* () { for (let at = 0; at < body.length; at += 100_000) yield body.subarray(at, at + 100_000); })());
      counts.puts++;
    } else if (r < 0.9) {
      const { body } = await engine.get('race', key);
      const parts = [];
      for await (const p of body) parts.push(p);
      counts.gets++;
      if (!whole(Buffer.concat(parts))) counts.torn++;
    } else {
      await engine.delete('race', key);
      counts.deletes++;
    }
  } catch (err) {
    if (err.code === 'ERR_NO_SUCH_KEY') counts.missing++;
    else counts.errors.push(`${err.code ?? ''} ${err.message}`);
  }
}
process.stdout.write(JSON.stringify(counts) + '\n');
process.exit(0);
