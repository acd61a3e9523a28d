import type { KintsugiConfig } from './config.js';
import type { NodeSet } from './contracts/nodes.js';
import { configDisagreement, initialLayout, isClusterLayout, type ClusterLayout } from './cluster-layout.js';
import { LayoutError } from './errors.js';

/** The shelf item every node keeps the cluster layout in. */
export const LAYOUT_ITEM = 'cluster/layout';

/** What the nodes hold: the newest layout any of them has, and how many could be read. */
export interface StoredLayouts {
  readonly newest: ClusterLayout | undefined;
  /** the version each node holds (0: none), undefined where the node could not be read */
  readonly versions: readonly (number | undefined)[];
}

/**
 * A JSON shelf item as each node holds it: the parsed value, null where the
 * node has none, undefined where it could not be read or does not parse.
 * For the cluster's own items (layout, rebalance progress).
 */
export async function readJsonItem(nodes: NodeSet, name: string): Promise<(unknown | null | undefined)[]> {
  return Promise.all(nodes.drives.map(async (d) => {
    if (!nodes.health.canRead(d.index)) return undefined;
    try {
      const item = await d.shelf.get(name);
      if (!item) return null;
      return JSON.parse(Buffer.from(item.bytes).toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  }));
}

/** Reads the layout from every node that answers; the newest version wins. */
export async function readLayouts(nodes: NodeSet): Promise<StoredLayouts> {
  // A copy that does not parse as a layout is as good as none: others, or a rewrite, replace it.
  const found = (await readJsonItem(nodes, LAYOUT_ITEM)).map((v) => (v === undefined ? undefined : isClusterLayout(v) ? v : null));
  let newest: ClusterLayout | undefined;
  for (const l of found) if (l && (!newest || l.version > newest.version)) newest = l;
  return { newest, versions: found.map((l) => (l === undefined ? undefined : l?.version ?? 0)) };
}

/**
 * Writes a layout to every node it has (removed ones too, while they answer:
 * a node taken out learns it). It replaces `previous` only: when a node
 * already holds a newer version, someone else changed the layout meanwhile
 * and the change is refused. It must land on a majority of the nodes it
 * keeps, so that any majority read finds it.
 */
export async function writeLayout(nodes: NodeSet, layout: ClusterLayout, previous: number): Promise<void> {
  const now = await readLayouts(nodes);
  if ((now.newest?.version ?? 0) > previous) {
    throw new LayoutError(`the layout changed meanwhile (version ${now.newest!.version} is on the nodes, this change was made from ${previous}): look again and retry`);
  }
  const bytes = Buffer.from(JSON.stringify(layout));
  const written = await Promise.all(nodes.drives.map((d) => (layout.nodes[d.index]
    ? d.shelf.put([{ name: LAYOUT_ITEM, bytes }]).then(() => true, () => false)
    : false)));
  const keeping = layout.nodes.filter((n) => n.role !== 'removed').map((n) => n.index);
  const landed = keeping.filter((n) => written[n]).length;
  if (landed <= keeping.length / 2) {
    throw new LayoutError(`layout version ${layout.version} reached ${landed} of ${keeping.length} nodes, a majority is needed: bring nodes back and retry`);
  }
}

/**
 * The layout a process starts with: the newest on the nodes, which the
 * configuration must agree with (`check`; the layout commands that change
 * it open the nodes without); or, for a store that has none, one made from
 * the configuration and written when a majority of the nodes answer (else
 * it is used unwritten, and the next start writes it).
 */
export async function establishLayout(config: KintsugiConfig, nodes: NodeSet, check: boolean): Promise<ClusterLayout> {
  const stored = await readLayouts(nodes);
  if (stored.newest) {
    const why = check ? configDisagreement(stored.newest, config) : undefined;
    if (why) throw new LayoutError(why);
    return stored.newest;
  }
  const layout = initialLayout(config);
  const answered = stored.versions.filter((v) => v !== undefined).length;
  if (answered > nodes.drives.length / 2) await writeLayout(nodes, layout, 0).catch(() => undefined);
  return layout;
}
