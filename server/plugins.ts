import type { Plugin } from '../core/plugins.js';
import { jerasureCodecPlugin } from '../plugins/codec-jerasure/index.js';
import { hashPlacementPlugin } from '../plugins/placement-hash/index.js';

/** Every plugin this build ships; configuration picks among them. */
export const PLUGINS: readonly Plugin[] = [jerasureCodecPlugin, hashPlacementPlugin];
