import type { Plugin } from '../../core/plugins.js';
import { TOKENS } from '../../core/tokens.js';
import { RendezvousPlacement } from './rendezvous.js';

/** Placement plugin: PLACEMENT=hash (rendezvous hashing). */
export const hashPlacementPlugin: Plugin = {
  contract: 'placement',
  names: ['hash'],
  register(container) {
    container.register(TOKENS.Placement, { useValue: new RendezvousPlacement() });
  },
};

export { RendezvousPlacement } from './rendezvous.js';
