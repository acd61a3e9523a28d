import { randomFillSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

/** ISA-L's Reed-Solomon over a Cauchy matrix (bench/isal), the speed-of-light reference. */
export interface IsalCode {
  encode(data: Uint8Array[], parity: Uint8Array[]): void;
  decode(shards: Uint8Array[], erased: number[]): void;
}
type IsalCtor = new (k: number, m: number) => IsalCode;

/**
 * Loads the ISA-L addon with RTLD_DEEPBIND. The node binary exports a
 * `gf_mul` of its own (OpenSSL's curve code); without deep binding,
 * libisal's calls to its `gf_mul` land there, which silently corrupts the
 * encode tables and crashes gf_invert_matrix. A round trip checks the result.
 */
export function loadIsal(root: string): IsalCtor | undefined {
  const path = join(root, 'bench/isal/build/Release/kintsugi_isal.node');
  if (!existsSync(path)) return undefined;
  const mod = { exports: {} as { IsalCode: IsalCtor } };
  process.dlopen(mod, path, constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_DEEPBIND);
  selfCheck(mod.exports.IsalCode);
  return mod.exports.IsalCode;
}

function selfCheck(Isal: IsalCtor): void {
  const code = new Isal(4, 3);
  const shards = Array.from({ length: 7 }, () => randomFillSync(Buffer.alloc(4096)));
  code.encode(shards.slice(0, 4), shards.slice(4));
  const original = shards.map((s) => Buffer.from(s));
  for (const i of [0, 1, 3]) shards[i]!.fill(0);
  code.decode(shards, [0, 1, 3]);
  if (!shards.every((s, i) => s.equals(original[i]!))) throw new Error('ISA-L reference failed its round trip');
}
