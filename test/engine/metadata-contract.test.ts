import { rename } from 'node:fs/promises';

import { TOKENS } from '../../core/tokens.js';
import { openMemoryStore, openStore } from '../helpers/engine.js';
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

// The same store on seven nodes held in memory: a drive plugin written from
// the contracts alone, the listing indexes kept in their shelves by the
// node services the core hosts for them.
testMetadataStore('msgpack on memory drives', async () => {
  const { store, drives } = await openMemoryStore(7);
  const nodes = store.container.resolve(TOKENS.Nodes);
  return {
    store: store.container.resolve(TOKENS.MetadataStore),
    tolerated: 1,
    async loseNode(n) {
      drives.drives[n]!.inject({ action: 'fail', code: 'ENOENT' });
      await nodes.health.refresh();
    },
    async restore(n) {
      drives.drives[n]!.faults.clear();
      await nodes.health.refresh();
    },
    close: () => store.close(),
  };
});
