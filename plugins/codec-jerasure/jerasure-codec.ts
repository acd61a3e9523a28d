import 'reflect-metadata';

import { inject, injectable } from 'tsyringe';

import type { CodecChoice, KintsugiConfig } from '../../core/config.js';
import type { Codec, CodecImpl, CodecParams, ErasureCoder } from '../../core/contracts/codec.js';
import type { Logger } from '../../core/contracts/logger.js';
import { CodecUnavailableError } from '../../core/errors.js';
import { TOKENS } from '../../core/tokens.js';
import type { RawCodecBuild } from '../../codecs/common/raw-code.js';
import { loadNativeBuild } from '../../codecs/jerasure-native/index.js';
import { loadWasmBuild } from '../../codecs/jerasure-wasm/index.js';
import { JerasureCoder } from './erasure-coder.js';

export interface BuildLoaders<B = RawCodecBuild> {
  native: () => B;
  wasm: () => B;
}

const DEFAULT_LOADERS: BuildLoaders = { native: loadNativeBuild, wasm: loadWasmBuild };

/** Picks a build for CODEC=auto|native|wasm; auto tries native, then WASM. */
export function chooseBuild<B = RawCodecBuild>(choice: CodecChoice, loaders: BuildLoaders<B> = DEFAULT_LOADERS as unknown as BuildLoaders<B>): { build: B; reason: string } {
  const load = (impl: CodecImpl): B => {
    try {
      return loaders[impl]();
    } catch (err) {
      throw new CodecUnavailableError(`${impl} jerasure build unavailable: ${(err as Error).message}`, { cause: err });
    }
  };
  if (choice !== 'auto') return { build: load(choice), reason: `CODEC=${choice}` };
  try {
    return { build: load('native'), reason: 'CODEC=auto: native addon loaded' };
  } catch (nativeErr) {
    const build = load('wasm');
    return { build, reason: `CODEC=auto: fell back to WASM because the ${(nativeErr as Error).message}` };
  }
}

/** The Codec contract over jerasure: one coder per parameter set, built once. */
@injectable()
export class JerasureCodec implements Codec {
  readonly impl: CodecImpl;
  readonly reason: string;
  private readonly build: RawCodecBuild;
  private readonly coders = new Map<string, ErasureCoder>();

  constructor(
    @inject(TOKENS.Config) config: KintsugiConfig,
    @inject(TOKENS.Logger) log: Logger,
  ) {
    const chosen = chooseBuild(config.codec);
    this.build = chosen.build;
    this.impl = chosen.build.impl;
    this.reason = chosen.reason;
    log.info(`codec: jerasure ${this.impl}`, { codec: this.impl, reason: this.reason });
  }

  coder(params: CodecParams): ErasureCoder {
    const key = `${params.k}/${params.m}/${params.w}/${params.technique}/${params.packetSize}`;
    let coder = this.coders.get(key);
    if (!coder) {
      coder = JerasureCoder.open(this.build, params);
      this.coders.set(key, coder);
    }
    return coder;
  }
}
