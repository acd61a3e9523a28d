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
  await mkdir(resolve(nodePath), { recursive: true });
  return openFolders(nodeFolders(nodePath, count), sync, log, tmpGraceMs);
}

/** Opens the given node folders (NODES), as openLocalNodes does. */
export async function openFolders(folders: readonly string[], sync: boolean, log: Parameters<typeof checkNodes>[1], tmpGraceMs?: number): Promise<DriveSet> {
  const { clusterId, faults } = await checkNodes(folders, log, tmpGraceMs);
  return { clusterId, drives: folders.map((f, i) => new LocalDrive(i, f, sync, clusterId)), startFaults: faults };
}

/** Drive plugin: every node is a local folder (NODEPATH/node-i, or the folders NODES names). */
export const localDrivePlugin: Plugin = {
  contract: 'drive',
  names: ['local'],
  async register(container, config) {
    const log = container.resolve(TOKENS.Logger);
    const nodes = config.nodes
      ? await openFolders(config.nodes.map((f) => resolve(f)), config.sync, log)
      : await openLocalNodes(config.nodePath, config.numNodes, config.sync, log);
    container.register(TOKENS.Drives, { useValue: nodes });
  },
};

export { LocalDrive } from './local-drive.js';
export { readIdentity } from './identity.js';
