import { Lifecycle } from 'tsyringe';

import type { Plugin } from '../../core/plugins.js';
import { TOKENS } from '../../core/tokens.js';
import { JerasureCodec } from './jerasure-codec.js';
import { JerasureCrc } from './jerasure-crc.js';

/** Codec plugin: CODEC=auto (native, else WASM), native or wasm. */
export const jerasureCodecPlugin: Plugin = {
  contract: 'codec',
  names: ['auto', 'native', 'wasm'],
  register(container) {
    container.register(TOKENS.Codec, { useClass: JerasureCodec }, { lifecycle: Lifecycle.ContainerScoped });
    container.register(TOKENS.Crc, { useClass: JerasureCrc }, { lifecycle: Lifecycle.ContainerScoped });
  },
};

export { JerasureCodec, chooseBuild } from './jerasure-codec.js';
export { JerasureCoder } from './erasure-coder.js';
export { JerasureCrc } from './jerasure-crc.js';
