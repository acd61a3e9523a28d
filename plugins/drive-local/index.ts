import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import type { DriveSet } from '../../core/contracts/nodes.js';
import type { Plugin } from '../../core/plugins.js';
import { TOKENS } from '../../core/tokens.js';
import { checkNodes } from './identity.js';
import { LocalDrive } from './local-drive.js';

/** The node folders: NODEPATH/node-0 ... node-(NUMNODES-1). */
export function nodeFolders(nodePath: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => join(resolve(nodePath), `node-${i}`));
}

/**
 * Opens the node folders, checking identities; a node that fails the check
 * is opened all the same, with its fault, so that the core keeps it out of
 * service until a probe finds it repaired.
 */
export async function openLocalNodes(nodePath: string, count: number, sync: boolean, log: Parameters<typeof checkNodes>[1], tmpGraceMs?: number): Promise<DriveSet> {
  const folders = nodeFolders(nodePath, count);
  await mkdir(resolve(nodePath), { recursive: true });
  const { clusterId, faults } = await checkNodes(folders, log, tmpGraceMs);
  return { clusterId, drives: folders.map((f, i) => new LocalDrive(i, f, sync, clusterId)), startFaults: faults };
}

/** Drive plugin: every node is a local folder under NODEPATH. */
export const localDrivePlugin: Plugin = {
  contract: 'drive',
  names: ['local'],
  async register(container, config) {
    const nodes = await openLocalNodes(config.nodePath, config.numNodes, config.sync, container.resolve(TOKENS.Logger));
    container.register(TOKENS.Drives, { useValue: nodes });
  },
};

export { LocalDrive } from './local-drive.js';
