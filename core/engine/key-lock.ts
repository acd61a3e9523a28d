import { randomBytes } from 'node:crypto';

import type { NodeSet } from '../contracts/nodes.js';
import { ConditionalConflictError, WriteQuorumError } from '../errors.js';
import { lockPath } from '../layout.js';

/** A lock older than this was left by a process that died holding it. */
const STALE_MS = 30_000;
/** How long a writer waits for another's conditional commit before answering 409. */
const WAIT_MS = 5_000;

/**
 * Mutual exclusion for one key across processes and hosts that share the
 * nodes: a lock file created exclusively on a majority of the key's
 * metadata nodes. Conditional writes (If-None-Match, If-Match) check the
 * current version and commit theirs while holding it, so that of racing
 * writers exactly one finds the key absent.
 */
export class KeyLocks {
  constructor(private readonly nodes: NodeSet) {}

  async with<T>(bucket: string, key: string, on: readonly number[], run: () => Promise<T>): Promise<T> {
    const path = lockPath(bucket, key);
    const release = await this.acquire(bucket, key, path, on);
    try {
      return await run();
    } finally {
      await release();
    }
  }

  private async acquire(bucket: string, key: string, path: string, on: readonly number[]): Promise<() => Promise<void>> {
    const body = Buffer.from(JSON.stringify({ owner: randomBytes(8).toString('hex'), pid: process.pid }));
    const deadline = Date.now() + WAIT_MS;
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      // true: taken; false: another holds it; null: the node cannot take writes
      const held = await Promise.all(on.map((n) => this.drive(n).createFile(path, body).then(() => true, (err: { code?: string }) => (err.code === 'EEXIST' ? false : null))));
      const mine = on.filter((_, i) => held[i]);
      const release = () => Promise.all(mine.map((n) => this.drive(n).remove(path).catch(() => undefined))).then(() => undefined);
      if (mine.length > on.length / 2) return release;
      await release();
      // Waiting cannot help when most of the key's metadata nodes take no writes (503, not 409).
      const unable = held.filter((h) => h === null).length;
      if (on.length - unable <= on.length / 2) throw new WriteQuorumError(`${unable} of the key's ${on.length} metadata nodes cannot take the lock of a conditional write`);
      await this.breakStale(path, on.filter((_, i) => !held[i]));
      if (Date.now() > deadline) throw new ConditionalConflictError(bucket, key);
      await new Promise((r) => setTimeout(r, pause + Math.random() * pause));
    }
  }

  /** Removes lock files left behind by a crashed holder. */
  private async breakStale(path: string, on: readonly number[]): Promise<void> {
    await Promise.all(on.map(async (n) => {
      const st = await this.drive(n).stat(path).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > STALE_MS) await this.drive(n).remove(path).catch(() => undefined);
    }));
  }

  private drive(n: number) {
    return this.nodes.drives[n]!;
  }
}
