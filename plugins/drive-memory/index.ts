import { randomUUID } from 'node:crypto';

import type { DriveSet } from '../../core/contracts/nodes.js';
import { MemoryDrive } from './memory-drive.js';

/**
 * NUMNODES nodes held in memory, for tests of what needs drives only
 * (shard files, shelves): nothing touches a disk, and faults can be aimed
 * at any call. Not a plugin the server offers: a store that forgets
 * everything at exit is no store.
 */
export function openMemoryNodes(count: number): DriveSet & { drives: readonly MemoryDrive[] } {
  return { clusterId: randomUUID(), drives: Array.from({ length: count }, (_, i) => new MemoryDrive(i)), startFaults: Array.from({ length: count }, () => undefined) };
}

export { MemoryDrive } from './memory-drive.js';
export type { DriveCall, FaultRule } from './faults.js';
