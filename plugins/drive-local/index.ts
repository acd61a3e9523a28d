import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import type { Drive } from '../../core/contracts/drive.js';
import type { NodeSet } from '../../core/contracts/nodes.js';
import { OfflineDrive } from '../../core/offline-drive.js';
import type { Plugin } from '../../core/plugins.js';
import { TOKENS } from '../../core/tokens.js';
import { checkNodes } from './identity.js';
import { LocalDrive } from './local-drive.js';

/** The node folders: NODEPATH/node-0 ... node-(NUMNODES-1). */
export function nodeFolders(nodePath: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => join(resolve(nodePath), `node-${i}`));
}

/** Opens the node folders, checking identities; refused nodes stay offline. */
export async function openLocalNodes(nodePath: string, count: number, sync: boolean, log: Parameters<typeof checkNodes>[1], tmpGraceMs?: number): Promise<NodeSet> {
  const folders = nodeFolders(nodePath, count);
  await mkdir(resolve(nodePath), { recursive: true });
  const { clusterId, states } = await checkNodes(folders, log, tmpGraceMs);
  const drives: Drive[] = states.map((s, i) =>
    s.state === 'refused' ? new OfflineDrive(i, folders[i]!, s.why) : new LocalDrive(i, folders[i]!, sync));
  return { clusterId, drives };
}

/** Drive plugin: every node is a local folder under NODEPATH. */
export const localDrivePlugin: Plugin = {
  contract: 'drive',
  names: ['local'],
  async register(container, config) {
    const nodes = await openLocalNodes(config.nodePath, config.numNodes, config.sync, container.resolve(TOKENS.Logger));
    container.register(TOKENS.Nodes, { useValue: nodes });
  },
};

export { LocalDrive } from './local-drive.js';
