import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Logger } from '../../core/contracts/logger.js';
import { IDENTITY_DIR, TMP_DIR } from './local-drive.js';

/** What every node folder carries in `.kintsugi/format.json`. */
export interface NodeIdentity {
  readonly format: 1;
  readonly clusterId: string;
  readonly index: number;
}

export type NodeState =
  | { readonly state: 'ok'; readonly identity: NodeIdentity }
  | { readonly state: 'initialised'; readonly identity: NodeIdentity; readonly why: string }
  | { readonly state: 'refused'; readonly why: string };

const FORMAT_FILE = join(IDENTITY_DIR, 'format.json');

async function readIdentity(folder: string): Promise<NodeIdentity | 'missing' | 'unreadable'> {
  try {
    const parsed = JSON.parse(await readFile(join(folder, FORMAT_FILE), 'utf8')) as NodeIdentity;
    if (parsed.format !== 1 || typeof parsed.clusterId !== 'string' || !Number.isInteger(parsed.index)) return 'unreadable';
    return parsed;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
  }
}

/**
 * Checks every node folder's identity at start. The cluster id is the one
 * most folders carry (a new one when none does). A folder of another cluster,
 * or of this cluster but another index (folders swapped), is refused: it
 * stays offline and untouched. A missing, empty or identity-less folder is
 * (re)initialised, which is what a replaced disk looks like; the healer
 * refills it. Temporary files left by a crash are swept.
 */
export async function checkNodes(folders: readonly string[], log: Logger, tmpGraceMs = TMP_GRACE_MS): Promise<{ clusterId: string; states: NodeState[] }> {
  const found = await Promise.all(folders.map(readIdentity));
  const votes = new Map<string, number>();
  for (const f of found) if (typeof f === 'object') votes.set(f.clusterId, (votes.get(f.clusterId) ?? 0) + 1);
  const clusterId = [...votes].sort((a, b) => b[1] - a[1])[0]?.[0] ?? randomUUID();

  const states = await Promise.all(folders.map(async (folder, index): Promise<NodeState> => {
    const f = found[index]!;
    if (typeof f === 'object') {
      if (f.clusterId !== clusterId) {
        const why = `${folder} belongs to cluster ${f.clusterId}, not ${clusterId}: refused (wrong disk?)`;
        log.error('node refused', { node: index, folder, why });
        return { state: 'refused', why };
      }
      if (f.index !== index) {
        const why = `${folder} is node ${f.index} of this cluster, not node ${index}: refused (folders swapped?)`;
        log.error('node refused', { node: index, folder, why });
        return { state: 'refused', why };
      }
      await sweepTmp(folder, tmpGraceMs);
      return { state: 'ok', identity: f };
    }
    if (f === 'unreadable') {
      const why = `${folder} has an unreadable identity file: refused`;
      log.error('node refused', { node: index, folder, why });
      return { state: 'refused', why };
    }
    const entries = await readdir(folder).catch(() => [] as string[]);
    const why = entries.length === 0 ? 'missing or empty folder (new disk)' : 'folder without identity';
    const identity: NodeIdentity = { format: 1, clusterId, index };
    await mkdir(join(folder, IDENTITY_DIR), { recursive: true });
    await mkdir(join(folder, TMP_DIR), { recursive: true });
    await writeFile(join(folder, FORMAT_FILE), JSON.stringify(identity) + '\n');
    log.warn('node initialised', { node: index, folder, why });
    return { state: 'initialised', identity, why };
  }));
  return { clusterId, states };
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
