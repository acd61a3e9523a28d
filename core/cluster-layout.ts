import type { KintsugiConfig } from './config.js';
import type { NodeRef } from './contracts/placement.js';
import { LayoutError } from './errors.js';

/**
 * A node's part in the cluster: `active` takes new data; `draining` takes
 * none and has everything moved off it; `removed` is out for good (its index
 * is never reused, so records naming it stay unambiguous).
 */
export type NodeRole = 'active' | 'draining' | 'removed';

export interface LayoutNode {
  readonly index: number;
  /** the node's folder or URL, as NODES names it (NODEPATH/node-i without NODES) */
  readonly location: string;
  /** its share of new data, relative to the others (1: an equal share) */
  readonly weight: number;
  readonly role: NodeRole;
  /**
   * added by a change whose rebalance has not finished: it holds only what
   * was moved to it so far, so a listing does not count on its index
   */
  readonly filling?: boolean;
}

/**
 * The cluster layout, versioned and stored on every node (Garage's layout
 * history is the model). Each change makes a new version; gateways use the
 * newest they find and refuse writes while theirs is older.
 */
export interface ClusterLayout {
  readonly version: number;
  readonly nodes: readonly LayoutNode[];
  readonly changedMs: number;
  /** what the last change did, for `kintsugi layout show` */
  readonly change: string;
  /** data is to move to this version's placement (a weight changed; nodes added or draining say so themselves) */
  readonly moving?: boolean;
}

/** What a configuration says the nodes are (locations by index). */
export function configuredLocations(config: KintsugiConfig): string[] {
  return config.nodes ? [...config.nodes] : Array.from({ length: config.numNodes }, (_, i) => `node-${i}`);
}

/** The first layout of a store: every configured node active, equal weights. */
export function initialLayout(config: KintsugiConfig, nowMs = Date.now()): ClusterLayout {
  return {
    version: 1,
    nodes: configuredLocations(config).map((location, index) => ({ index, location, weight: 1, role: 'active' as const })),
    changedMs: nowMs,
    change: 'created from the configuration',
  };
}

/**
 * Why a configuration cannot run against the stored layout, or undefined
 * when they agree: the configuration must name as many nodes as the layout
 * has (a removed node's place stays taken). Locations are not compared:
 * gateways may reach one node by different addresses (a proxy, NAT, another
 * name), and each node's identity (cluster and index) is checked on every
 * call anyway, so a node named at the wrong place is refused there.
 */
export function configDisagreement(layout: ClusterLayout, config: KintsugiConfig): string | undefined {
  const configured = configuredLocations(config);
  if (configured.length === layout.nodes.length) return undefined;
  const want = layout.nodes.map((n) => n.location);
  const setting = config.nodes
    ? `NODES to ${want.length} nodes in index order (the layout has ${want.join(',')})`
    : `NUMNODES=${want.length}`;
  return `the cluster layout stored on the nodes (version ${layout.version}) wins over the configuration: ` +
    `the configuration names ${configured.length} nodes, the layout ${want.length}. ` +
    `Set ${setting}; removed nodes keep their place. See \`kintsugi layout show\``;
}

/** The nodes that take new data, as placement sees them. */
export function placementNodes(layout: ClusterLayout): NodeRef[] {
  return layout.nodes.filter((n) => n.role === 'active').map((n) => ({ index: n.index, id: `node-${n.index}`, weight: n.weight }));
}

/** Nodes whose listing index holds every key they should: a listing counts on these. */
export function settledNodes(layout: ClusterLayout): number[] {
  return layout.nodes.filter((n) => n.role !== 'removed' && !n.filling).map((n) => n.index);
}

/** Nodes added by a change whose rebalance is not done (one removed meanwhile, lost, fills no more). */
export function fillingNodes(layout: ClusterLayout): number[] {
  return layout.nodes.filter((n) => n.filling && n.role !== 'removed').map((n) => n.index);
}

/** Whether the layout has moves to make: nodes filling or draining, or weights changed. */
export function needsRebalance(layout: ClusterLayout): boolean {
  return layout.moving === true || layout.nodes.some((n) => n.filling || n.role === 'draining');
}

interface StripeShape {
  readonly data: number;
  readonly parity: number;
  readonly metaCopies: number;
}

/** Refuses a change that would leave too few active nodes for a stripe or the metadata copies. */
function checkLeft(layout: ClusterLayout, indexes: readonly number[], shape: StripeShape, doing: string): void {
  const left = layout.nodes.filter((n) => n.role === 'active' && !indexes.includes(n.index)).length;
  const need = Math.max(shape.data + shape.parity, shape.metaCopies);
  if (left < need) {
    throw new LayoutError(`${doing} ${indexes.map((i) => `node ${i}`).join(', ')} would leave ${left} active nodes; ` +
      `every stripe needs DATA+PARITY = ${shape.data + shape.parity} nodes and the metadata METACOPIES = ${shape.metaCopies}: add nodes first`);
  }
}

/** The next version; moves a weight change asked for stay asked for until a rebalance settles them. */
function next(layout: ClusterLayout, nodes: LayoutNode[], change: string, nowMs: number): ClusterLayout {
  return { version: layout.version + 1, nodes, changedMs: nowMs, change, ...(layout.moving ? { moving: true } : {}) };
}

/** Adds nodes at the next indexes (active, filling until the rebalance is done). */
export function addNodes(layout: ClusterLayout, locations: readonly string[], weight = 1, nowMs = Date.now()): ClusterLayout {
  if (locations.length === 0) throw new LayoutError('name at least one node to add');
  for (const l of locations) {
    if (layout.nodes.some((n) => n.location === l)) throw new LayoutError(`${l} is node ${layout.nodes.find((n) => n.location === l)!.index} already`);
  }
  if (new Set(locations).size !== locations.length) throw new LayoutError('a node is named twice');
  if (!(weight > 0) || !Number.isFinite(weight)) throw new LayoutError(`weight must be a positive number, got ${weight}`);
  const added = locations.map((location, i) => ({ index: layout.nodes.length + i, location, weight, role: 'active' as const, filling: true }));
  return next(layout, [...layout.nodes, ...added], `added ${added.map((n) => `node ${n.index}`).join(', ')}`, nowMs);
}

/**
 * Starts draining nodes: refused when what stays active could not hold a
 * stripe (DATA+PARITY nodes) or the metadata copies (METACOPIES).
 */
export function drainNodes(layout: ClusterLayout, indexes: readonly number[], shape: StripeShape, nowMs = Date.now()): ClusterLayout {
  for (const i of indexes) {
    const node = layout.nodes[i];
    if (!node) throw new LayoutError(`there is no node ${i} (the layout has ${layout.nodes.length})`);
    if (node.role !== 'active') throw new LayoutError(`node ${i} is ${node.role} already`);
  }
  checkLeft(layout, indexes, shape, 'draining');
  const nodes = layout.nodes.map((n) => (indexes.includes(n.index) ? { ...n, role: 'draining' as const, filling: undefined } : n)).map(clean);
  return next(layout, nodes, `draining ${indexes.map((i) => `node ${i}`).join(', ')}`, nowMs);
}

/**
 * Takes drained nodes out for good; the caller has checked they are empty.
 * `lost`: nodes that died, taken out undrained (what they held is rebuilt
 * elsewhere by the healer), under the same rule as a drain.
 */
export function removeNodes(layout: ClusterLayout, indexes: readonly number[], shape: StripeShape, lost = false, nowMs = Date.now()): ClusterLayout {
  for (const i of indexes) {
    const node = layout.nodes[i];
    if (!node) throw new LayoutError(`there is no node ${i} (the layout has ${layout.nodes.length})`);
    if (node.role === 'removed') throw new LayoutError(`node ${i} is removed already`);
    if (node.role !== 'draining' && !lost) throw new LayoutError(`node ${i} is ${node.role}: drain it first (\`kintsugi layout drain ${i}\`), then remove it once it reports empty; a node that died is removed with --lost`);
  }
  if (lost) checkLeft(layout, indexes, shape, 'removing');
  const nodes = layout.nodes.map((n) => (indexes.includes(n.index) ? { ...n, role: 'removed' as const } : n));
  return next(layout, nodes, `removed ${indexes.map((i) => `node ${i}`).join(', ')}`, nowMs);
}

/** Gives a node another share of new data; the rebalance moves existing data to match. */
export function reweigh(layout: ClusterLayout, index: number, weight: number, nowMs = Date.now()): ClusterLayout {
  const node = layout.nodes[index];
  if (!node) throw new LayoutError(`there is no node ${index} (the layout has ${layout.nodes.length})`);
  if (node.role !== 'active') throw new LayoutError(`node ${index} is ${node.role}: only an active node's weight counts`);
  if (!(weight > 0) || !Number.isFinite(weight)) throw new LayoutError(`weight must be a positive number, got ${weight}`);
  const nodes = layout.nodes.map((n) => (n.index === index ? { ...n, weight } : n));
  return { ...next(layout, nodes, `node ${index} weight ${node.weight} -> ${weight}`, nowMs), moving: true };
}

/** The layout once a rebalance has moved everything: filling nodes hold their share. */
export function settled(layout: ClusterLayout, nowMs = Date.now()): ClusterLayout {
  // (Draining nodes stay draining: the operator removes them once they report empty.)
  const filled = layout.nodes.filter((n) => n.filling).map((n) => n.index);
  const { moving: _, ...done } = next(layout, layout.nodes.map((n) => clean({ ...n, filling: undefined })), `rebalanced${filled.length ? ` (node ${filled.join(', ')} filled)` : ''}`, nowMs);
  return done;
}

function clean(n: LayoutNode): LayoutNode {
  const { filling, ...rest } = n;
  return filling ? { ...rest, filling } : rest;
}

/** Checks a layout read from a node: anything else is not trusted. */
export function isClusterLayout(v: unknown): v is ClusterLayout {
  const l = v as ClusterLayout;
  return typeof l === 'object' && l !== null && Number.isSafeInteger(l.version) && l.version > 0 && Array.isArray(l.nodes)
    && typeof l.changedMs === 'number' && typeof l.change === 'string' && (l.moving === undefined || typeof l.moving === 'boolean')
    && l.nodes.every((n, i) => n && n.index === i && typeof n.location === 'string' && typeof n.weight === 'number' && n.weight > 0
      && (n.role === 'active' || n.role === 'draining' || n.role === 'removed') && (n.filling === undefined || typeof n.filling === 'boolean'));
}
