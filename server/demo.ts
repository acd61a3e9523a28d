import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { KintsugiConfig } from '../core/config.js';
import type { Codec } from '../core/contracts/codec.js';
import type { Placement } from '../core/contracts/placement.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * Until the object engine exists: erasure-codes a file (or 8 MiB of random
 * bytes) stripe by stripe into the node folders under NODEPATH, deletes the
 * shard files of PARITY nodes, reads the rest back, reconstructs and checks
 * that the bytes are exactly the original ones.
 */
export async function runDemo(config: KintsugiConfig, codec: Codec, placement: Placement, file?: string): Promise<boolean> {
  const original = file ? await readFile(file) : randomBytes(8 << 20);
  const { data: k, parity: m, blockSize } = config;
  const coder = codec.coder({ k, m, w: config.w, technique: config.technique, packetSize: config.packetSize });
  const nodes = Array.from({ length: config.numNodes }, (_, i) => ({ index: i, id: `node-${i}` }));
  const { shards: shardNodes } = placement.place({ bucket: 'demo', key: file ?? 'random', nodes, metaCopies: config.metaCopies, shardCount: k + m });
  const dir = (node: number) => join(config.nodePath, `node-${node}`, 'demo');
  const say = (s: string) => process.stdout.write(s + '\n');

  say(`codec: jerasure ${codec.impl} (${codec.reason}); ${k}+${m} ${config.technique}, alignment ${coder.alignment} B`);
  say(`object: ${file ?? 'random bytes'}, ${original.byteLength} bytes, sha256 ${sha256(original).slice(0, 16)}…`);
  say(`shards of shard i go to node ${shardNodes.join(', ')} under ${config.nodePath}`);

  await Promise.all(shardNodes.map((n) => mkdir(dir(n), { recursive: true })));
  const stripes: number[] = [];
  for (let at = 0, s = 0; at < original.byteLength || s === 0; at += blockSize, s++) {
    const stripe = await coder.encodeStripe(original.subarray(at, at + blockSize));
    stripes.push(stripe.dataLength);
    await Promise.all(stripe.shards.map((b, i) => writeFile(join(dir(shardNodes[i]!), `${s}.${i}`), b)));
  }
  say(`encoded ${stripes.length} stripes into ${k + m} shards each`);

  const lost = [...shardNodes].sort(() => Math.random() - 0.5).slice(0, m);
  await Promise.all(lost.map((n) => rm(dir(n), { recursive: true, force: true })));
  say(`destroyed nodes ${lost.join(', ')} (${m} = PARITY shard files per stripe gone)`);

  const parts: Uint8Array[] = [];
  for (let s = 0; s < stripes.length; s++) {
    const shards = await Promise.all(shardNodes.map((n, i) =>
      readFile(join(dir(n), `${s}.${i}`)).then((b) => new Uint8Array(b), () => null)));
    parts.push(await coder.decodeStripe(shards, stripes[s]!));
  }
  const restored = Buffer.concat(parts);
  const ok = sha256(restored) === sha256(original);
  say(`reconstructed ${restored.byteLength} bytes: ${ok ? 'bit-exact' : 'MISMATCH'}`);
  await Promise.all(shardNodes.map((n) => rm(dir(n), { recursive: true, force: true })));
  return ok;
}
