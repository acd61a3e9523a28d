import 'reflect-metadata';

import { inject, injectable } from 'tsyringe';

import type { KintsugiConfig } from '../../core/config.js';
import type { CodecImpl } from '../../core/contracts/codec.js';
import type { CrcAlgorithm, CrcEngine } from '../../core/contracts/crc.js';
import { TOKENS } from '../../core/tokens.js';
import type { RawCrcBuild } from '../../codecs/common/raw-crc.js';
import { loadNativeCrc } from '../../codecs/jerasure-native/index.js';
import { loadWasmCrc } from '../../codecs/jerasure-wasm/index.js';
import { chooseBuild, type BuildLoaders } from './jerasure-codec.js';

const CRC_LOADERS: BuildLoaders<RawCrcBuild> = { native: loadNativeCrc, wasm: loadWasmCrc };

/** The CRC contract over the codec's builds, chosen as the codec is (CODEC=auto|native|wasm). */
@injectable()
export class JerasureCrc implements CrcEngine {
  readonly impl: CodecImpl;
  private readonly build: RawCrcBuild;

  constructor(@inject(TOKENS.Config) config: KintsugiConfig) {
    this.build = chooseBuild(config.codec, CRC_LOADERS).build;
    this.impl = this.build.impl;
  }

  update(algorithm: CrcAlgorithm, crc: bigint, data: Uint8Array): bigint {
    return this.build.update(algorithm, crc, data);
  }
}
