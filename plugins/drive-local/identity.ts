import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Logger } from '../../core/contracts/logger.js';
import { nodeFault, NodeIdentityError } from '../../core/errors.js';
import { TMP_DIR } from '../../core/layout.js';
import { IDENTITY_DIR, IDENTITY_FILE } from './folder-layout.js';
import { identityMismatch, isNodeIdentity, type NodeIdentity } from '../../core/node-identity.js';

export type { NodeIdentity } from '../../core/node-identity.js';

const FORMAT_FILE = IDENTITY_FILE;


/** The node folder is there and is a folder; throws ERR_NODE_GONE / ENOTDIR otherwise. */
export async function checkFolder(folder: string): Promise<void> {
  let st;
  try {
    st = await stat(folder);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw nodeFault('ERR_NODE_GONE', `node folder ${folder} is missing`);
    throw err;
  }
  if (!st.isDirectory()) throw nodeFault('ENOTDIR', `node path ${folder} is not a folder`);
}

/** The identity a folder carries, 'missing', or a NodeIdentityError for an unreadable one. */
export async function readIdentity(folder: string): Promise<NodeIdentity | 'missing'> {
  let text: string;
  try {
    text = await readFile(join(folder, FORMAT_FILE), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR') throw nodeFault('ENOTDIR', `node path ${folder} is not a folder`);
    throw err;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (isNodeIdentity(parsed)) return parsed;
  } catch { /* reported below */ }
  throw new NodeIdentityError(`${folder} has an unreadable identity file ${FORMAT_FILE}: refused`);
}

/** Refuses a folder of another cluster, or of another node of this one. */
function checkIdentity(folder: string, found: NodeIdentity, clusterId: string, index: number): void {
  const why = identityMismatch(folder, found, clusterId, index);
  if (why) throw new NodeIdentityError(why);
}

/**
 * The folder's identity as found made this node's: checked against it, or
 * given to an identity-less folder (a new or wiped disk), in which case it
 * says why that was needed.
 */
export async function adoptIdentity(folder: string, found: NodeIdentity | 'missing', identity: NodeIdentity): Promise<string | undefined> {
  if (found === 'missing') return initialise(folder, identity);
  checkIdentity(folder, found, identity.clusterId, identity.index);
  return undefined;
}

/** Gives an identity-less folder (a new or wiped disk) this node's identity; says why it was needed. */
async function initialise(folder: string, identity: NodeIdentity): Promise<string> {
  const entries = await readdir(folder).catch(() => [] as string[]);
  await mkdir(join(folder, IDENTITY_DIR), { recursive: true });
  await mkdir(join(folder, TMP_DIR), { recursive: true });
  await writeFile(join(folder, FORMAT_FILE), JSON.stringify(identity) + '\n');
  return entries.length === 0 ? 'missing or empty folder (new disk)' : 'folder without identity';
}

/**
 * Checks every node folder's identity at start. The cluster id is the one
 * most folders carry (a new one when none does). A folder of another cluster,
 * or of this cluster but another index (folders swapped), or with an
 * unreadable identity, is refused: it is left untouched, and comes back when
 * a probe finds it right. A path that is not a folder is offline. A missing,
 * empty or identity-less folder is (re)initialised, which is what a replaced
 * disk looks like; the healer refills it. Temporary files left by a crash
 * are swept. A faulty node never stops the start: its fault is returned.
 */
export async function checkNodes(folders: readonly string[], log: Logger, tmpGraceMs = TMP_GRACE_MS): Promise<{ clusterId: string; faults: (Error | undefined)[] }> {
  const found = await Promise.all(folders.map((f) => readIdentity(f).catch((err: Error) => err)));
  const votes = new Map<string, number>();
  for (const f of found) if (typeof f === 'object' && !(f instanceof Error)) votes.set(f.clusterId, (votes.get(f.clusterId) ?? 0) + 1);
  const clusterId = [...votes].sort((a, b) => b[1] - a[1])[0]?.[0] ?? randomUUID();

  const faults = await Promise.all(folders.map(async (folder, index): Promise<Error | undefined> => {
    try {
      const f = found[index]!;
      if (f instanceof Error) throw f;
      const why = await adoptIdentity(folder, f, { format: 1, clusterId, index });
      if (why) log.warn('node initialised', { node: index, folder, why });
      await checkFolder(folder);
      await sweepTmp(folder, tmpGraceMs);
      return undefined;
    } catch (err) {
      log.error(err instanceof NodeIdentityError ? 'node refused' : 'node unusable', { node: index, folder, why: (err as Error).message });
      return err as Error;
    }
  }));
  return { clusterId, faults };
}

/**
 * Temporary files untouched for this long are a crash's leftovers. Younger
 * ones may be another worker's write in flight (every append updates mtime),
 * so a start next to running processes leaves them; the healer sweeps later.
 */
export const TMP_GRACE_MS = 120_000;

async function sweepTmp(folder: string, graceMs: number): Promise<void> {
  const dir = join(folder, TMP_DIR);
  await mkdir(dir, { recursive: true });
  const now = Date.now();
  for (const name of await readdir(dir)) {
    const st = await stat(join(dir, name)).catch(() => undefined);
    if (st && now - st.mtimeMs >= graceMs) await rm(join(dir, name), { recursive: true, force: true });
  }
}
