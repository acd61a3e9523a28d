import { randomUUID } from 'node:crypto';

import { isNodeUrl } from '../../core/config.js';
import type { Drive } from '../../core/contracts/drive.js';
import type { Logger } from '../../core/contracts/logger.js';
import type { DriveSet } from '../../core/contracts/nodes.js';
import { NodeIdentityError } from '../../core/errors.js';
import type { Plugin } from '../../core/plugins.js';
import { TOKENS } from '../../core/tokens.js';
import { identityMismatch, type NodeIdentity } from '../../core/node-identity.js';
import { LocalDrive, readIdentity } from '../drive-local/index.js';
import { RemoteDrive } from './remote-drive.js';

/** What a gateway names as the cluster before it knows it (the identity call expects nothing). */
const UNKNOWN_CLUSTER = '?';

/**
 * Opens NODES: each a folder on this host or the URL of a `kintsugi node`.
 * The cluster id is the one most nodes carry (a new one when none does); a
 * node carrying another, or unreachable, is opened with its fault, so that
 * the core keeps it out of service until a probe finds it right. An
 * identity-less node is given this cluster's identity by its first probe.
 */
export async function openNodes(locations: readonly string[], secret: string, sync: boolean, log: Logger): Promise<DriveSet> {
  const found = await Promise.all(locations.map((loc, i) =>
    (isNodeUrl(loc) ? remoteIdentity(i, loc, secret) : readIdentity(loc)).catch((err: Error) => err)));
  const votes = new Map<string, number>();
  for (const f of found) if (typeof f === 'object' && !(f instanceof Error)) votes.set(f.clusterId, (votes.get(f.clusterId) ?? 0) + 1);
  const clusterId = [...votes].sort((a, b) => b[1] - a[1])[0]?.[0] ?? randomUUID();
  const drives: Drive[] = locations.map((loc, i) => (isNodeUrl(loc) ? new RemoteDrive(i, loc, secret, clusterId) : new LocalDrive(i, loc, sync, clusterId)));
  const startFaults = await Promise.all(drives.map(async (drive, i): Promise<Error | undefined> => {
    const f = found[i] as NodeIdentity | 'missing' | Error;
    try {
      if (f instanceof Error) throw f;
      const mismatch = f === 'missing' ? undefined : identityMismatch(drive.location, f, clusterId, i);
      if (mismatch) throw new NodeIdentityError(mismatch);
      await drive.probe();
      return undefined;
    } catch (err) {
      log.error(err instanceof NodeIdentityError ? 'node refused' : 'node unusable', { node: i, location: drive.location, why: (err as Error).message });
      return err as Error;
    }
  }));
  return { clusterId, drives, startFaults };
}

/** What a `kintsugi node` folder carries, asked over a connection pool that is closed again (the drive proper opens its own). */
async function remoteIdentity(index: number, url: string, secret: string): Promise<NodeIdentity | 'missing'> {
  const asking = new RemoteDrive(index, url, secret, UNKNOWN_CLUSTER);
  try {
    return await asking.identity();
  } finally {
    await asking.close();
  }
}

/** Drive plugin: NODES naming `kintsugi node` URLs (and folders, which may be mixed in). */
export const remoteDrivePlugin: Plugin = {
  contract: 'drive',
  names: ['remote'],
  async register(container, config) {
    const nodes = await openNodes(config.nodes ?? [], config.clusterSecret ?? '', config.sync, container.resolve(TOKENS.Logger));
    container.register(TOKENS.Drives, { useValue: nodes });
  },
};

export { RemoteDrive } from './remote-drive.js';
