import { rename } from 'node:fs/promises';

import { TOKENS } from '../../core/tokens.js';
import { openStore } from '../helpers/engine.js';
import { testMetadataStore } from '../helpers/metadata-contract.js';

// The msgpack store on seven node folders, three metadata copies: it takes writes with one copy's node away.
testMetadataStore('msgpack', async () => {
  const store = await openStore();
  const nodes = store.container.resolve(TOKENS.Nodes);
  return {
    store: store.container.resolve(TOKENS.MetadataStore),
    tolerated: 1,
    async loseNode(n) {
      await rename(store.nodeFolder(n), `${store.nodeFolder(n)}.away`);
      await nodes.health.refresh();
    },
    async restore(n) {
      await rename(`${store.nodeFolder(n)}.away`, store.nodeFolder(n));
      await nodes.health.refresh();
    },
    close: () => store.close(),
  };
});
