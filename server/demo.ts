import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import type { KintsugiConfig } from '../core/config.js';
import { extensionsOf, type Codec } from '../core/contracts/codec.js';
import type { NodeSet } from '../core/contracts/nodes.js';
import type { Placement } from '../core/contracts/placement.js';
import { DEMO_DIR, demoShardPath } from '../core/layout.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * Erasure-codes a file (or 8 MiB of random bytes) stripe by stripe onto the
 * nodes (folders or `kintsugi node` hosts, through their drives), deletes the
 * shard files of PARITY nodes, reads the rest back, reconstructs and checks
 * that the bytes are exactly the original ones.
 */
export async function runDemo(config: KintsugiConfig, codec: Codec, placement: Placement, nodeSet: NodeSet, file?: string): Promise<boolean> {
  const original = file ? await readFile(file) : randomBytes(8 << 20);
  const { data: k, parity: m, blockSize } = config;
  // The demo shows stripes whole: it needs a build with the coder extensions (jerasure has them).
  const coder = extensionsOf(codec.coder({ k, m, w: config.w, technique: config.technique, packetSize: config.packetSize }));
  if (!coder) throw new Error(`the ${codec.impl} codec offers no whole-stripe encoding for the demo`);
  const nodes = nodeSet.drives.map((d) => ({ index: d.index, id: `node-${d.index}` }));
  const { shards: shardNodes } = placement.place({ bucket: 'demo', key: file ?? 'random', nodes, metaCopies: config.metaCopies, shardCount: k + m });
  const drive = (n: number) => nodeSet.drives[n]!;
  const say = (s: string) => process.stdout.write(s + '\n');

  say(`codec: jerasure ${codec.impl} (${codec.reason}); ${k}+${m} ${config.technique}, alignment ${coder.alignment} B`);
  say(`object: ${file ?? 'random bytes'}, ${original.byteLength} bytes, sha256 ${sha256(original).slice(0, 16)}…`);
  say(`shards of shard i go to node ${shardNodes.join(', ')} (${shardNodes.map((n) => drive(n).location).join(', ')})`);

  const stripes: number[] = [];
  for (let at = 0, s = 0; at < original.byteLength || s === 0; at += blockSize, s++) {
    const stripe = await coder.encodeStripe(original.subarray(at, at + blockSize));
    stripes.push(stripe.dataLength);
    await Promise.all(stripe.shards.map((b, i) => drive(shardNodes[i]!).writeFile(demoShardPath(s, i), b)));
  }
  say(`encoded ${stripes.length} stripes into ${k + m} shards each`);

  const lost = [...shardNodes].sort(() => Math.random() - 0.5).slice(0, m);
  await Promise.all(lost.map((n) => drive(n).remove(DEMO_DIR)));
  say(`destroyed nodes ${lost.join(', ')} (${m} = PARITY shard files per stripe gone)`);

  const parts: Uint8Array[] = [];
  for (let s = 0; s < stripes.length; s++) {
    const shards = await Promise.all(shardNodes.map((n, i) => drive(n).readFile(demoShardPath(s, i)).then((b) => b ?? null, () => null)));
    parts.push(await coder.decodeStripe(shards, stripes[s]!));
  }
  const restored = Buffer.concat(parts);
  const ok = sha256(restored) === sha256(original);
  say(`reconstructed ${restored.byteLength} bytes: ${ok ? 'bit-exact' : 'MISMATCH'}`);
  await Promise.all(shardNodes.map((n) => drive(n).remove(DEMO_DIR).catch(() => undefined)));
  return ok;
}
