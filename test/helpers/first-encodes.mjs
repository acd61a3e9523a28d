// A fresh process whose very first encodes run together on the thread pool:
// prints "ok" when every one wrote the parity a lone synchronous encode writes.
import { createRequire } from 'node:module';

const [addonPath, technique] = process.argv.slice(2);
const { NativeJerasure } = createRequire(import.meta.url)(addonPath);
const codec = new NativeJerasure(4, 3, 8, Number(technique), 64);
const size = codec.alignment * 4;
const shards = (n, fill) => Array.from({ length: n }, (_, i) => Buffer.alloc(size, fill + i));
const data = shards(4, 1);
const parities = Array.from({ length: 64 }, () => shards(3, 0));
await Promise.all(parities.map((p) => codec.encodeAsync(data, p)));
const expected = shards(3, 0);
codec.encode(data, expected);
const same = parities.every((p) => p.every((s, i) => s.equals(expected[i])));
process.stdout.write(same ? 'ok' : 'parity differs');
