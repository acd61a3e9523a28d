import { Lifecycle } from 'tsyringe';

import type { Plugin } from '../../core/plugins.js';
import { TOKENS } from '../../core/tokens.js';
import { METADATA_SERVICE, metadataNodeService } from './node-service.js';
import { MsgpackMetadataStore } from './msgpack-store.js';

/** Metadata plugin: msgpack records on METACOPIES nodes plus the shard nodes; listing indexes in the nodes' shelves, kept on each node's host. */
export const msgpackMetadataPlugin: Plugin = {
  contract: 'metadata',
  names: ['msgpack'],
  register(container) {
    container.register(TOKENS.MetadataStore, { useClass: MsgpackMetadataStore }, { lifecycle: Lifecycle.ContainerScoped });
  },
  nodeServices: { [METADATA_SERVICE]: metadataNodeService },
};

export { MsgpackMetadataStore } from './msgpack-store.js';
