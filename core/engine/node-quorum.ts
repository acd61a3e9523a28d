import type { NodeSet } from '../contracts/nodes.js';
import { DataUnavailableError, WriteQuorumError, type NodeFailure } from '../errors.js';

/**
 * Small records kept on every node (buckets, multipart uploads and parts):
 * a write must reach a majority of the nodes, and a read believes what a
 * majority of the nodes that answer hold. Losing PARITY nodes then neither
 * loses such a record nor brings back a deleted one. Only voters count
 * (NodeSet.voter): nodes that joined hold none until a rebalance copies
 * them, and removed ones are out; writes go to every node all the same.
 */
export async function writeOnAll(nodes: NodeSet, path: string, bytes: Uint8Array): Promise<void> {
  const failures: NodeFailure[] = [];
  const ok = await Promise.all(nodes.drives.map((d) => d.writeFile(path, bytes).then(() => true, (err: Error) => {
    failures.push({ node: d.index, why: err.message });
    return false;
  })));
  const voters = nodes.drives.filter((d) => nodes.voter(d.index));
  if (voters.filter((d) => ok[d.index]).length <= voters.length / 2) throw new WriteQuorumError(`${path} written to too few nodes`, failures);
}

/**
 * Throws DataUnavailableError when no node answered: a gateway cut off from
 * every node (a partition) knows nothing, which is not "there is none".
 */
function assertAnyAnswered(answered: number, path: string): void {
  if (answered === 0) throw new DataUnavailableError(`no node could be reached for ${path}`);
}

/** The file as a majority of the answering nodes hold it, or undefined. */
export async function readFromMajority(nodes: NodeSet, path: string): Promise<Uint8Array | undefined> {
  const answers = await Promise.all(nodes.drives.map((d) => (nodes.voter(d.index) ? d.readFile(path).then((b) => b, () => null) : null)));
  const up = answers.filter((a) => a !== null);
  assertAnyAnswered(up.length, path);
  const held = up.filter((a): a is Uint8Array => a !== undefined);
  return held.length > 0 && held.length > up.length / 2 ? held[0] : undefined;
}

/** The JSON value a majority of the answering nodes hold, or undefined (also when it does not parse). */
export async function readJsonFromMajority<T>(nodes: NodeSet, path: string): Promise<T | undefined> {
  const bytes = await readFromMajority(nodes, path);
  try {
    return bytes && (JSON.parse(Buffer.from(bytes).toString('utf8')) as T);
  } catch {
    return undefined;
  }
}

/** Names in a folder that a majority of the answering nodes list. */
export async function listOnMajority(nodes: NodeSet, dir: string): Promise<string[]> {
  const listings = await Promise.all(nodes.drives.map((d) => (nodes.voter(d.index) ? d.list(dir).catch(() => null) : null)));
  const up = listings.filter((l): l is string[] => l !== null);
  assertAnyAnswered(up.length, dir);
  const votes = new Map<string, number>();
  for (const names of up) for (const n of names) votes.set(n, (votes.get(n) ?? 0) + 1);
  return [...votes].filter(([, v]) => v > up.length / 2).map(([name]) => name);
}

/** Removes a path on every node that can be reached. */
export async function removeOnAll(nodes: NodeSet, path: string): Promise<void> {
  await Promise.all(nodes.drives.map((d) => d.remove(path).catch(() => undefined)));
}

/**
 * Rewrites a majority-held file onto the answering nodes that lack it (after
 * a disk was replaced); returns how many copies were written.
 */
export async function restoreOnAll(nodes: NodeSet, path: string): Promise<number> {
  const bytes = await readFromMajority(nodes, path);
  if (!bytes) return 0;
  const copies = await Promise.all(nodes.drives.map((d) => d.readFile(path).then((b) => b, () => null)));
  const lacking = nodes.drives.filter((_, i) => copies[i] === undefined);
  const ok = await Promise.all(lacking.map((d) => d.writeFile(path, bytes).then(() => 1, () => 0)));
  return ok.reduce<number>((a, b) => a + b, 0);
}
