import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** ISA-L's Reed-Solomon over a Cauchy matrix (bench/isal), the speed-of-light reference. */
export interface IsalCode {
  encode(data: Uint8Array[], parity: Uint8Array[]): void;
  decode(shards: Uint8Array[], erased: number[]): void;
}

export function loadIsal(root: string): (new (k: number, m: number) => IsalCode) | undefined {
  const path = join(root, 'bench/isal/build/Release/kintsugi_isal.node');
  if (!existsSync(path)) return undefined;
  return (createRequire(import.meta.url)(path) as { IsalCode: new (k: number, m: number) => IsalCode }).IsalCode;
}
