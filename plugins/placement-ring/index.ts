import type { Plugin } from '../../core/plugins.js';
import { TOKENS } from '../../core/tokens.js';
import { RingPlacement } from './ring.js';

/** Placement plugin: PLACEMENT=ring (consistent hashing with virtual nodes). */
export const ringPlacementPlugin: Plugin = {
  contract: 'placement',
  names: ['ring'],
  register(container) {
    container.register(TOKENS.Placement, { useValue: new RingPlacement() });
  },
};

export { RingPlacement } from './ring.js';
