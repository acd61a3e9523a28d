import type { ClusterLayout } from '../core/cluster-layout.js';
import type { ToWorker } from '../core/cluster-messages.js';
import type { KintsugiConfig } from '../core/config.js';
import { createContainer } from '../core/container.js';
import type { Logger } from '../core/contracts/logger.js';
import type { NodeSet } from '../core/contracts/nodes.js';
import { Healer } from '../core/engine/healer.js';
import { LifecycleWorker } from '../core/engine/lifecycle.js';
import { LAYOUT_POLL_MS, Rebalancer } from '../core/engine/rebalancer.js';
import { TOKENS } from '../core/tokens.js';
import { PLUGINS } from './plugins.js';

/** How often the primary asks the nodes' scrubs where they stand (and takes the damage they found). */
const SCRUB_POLL_MS = 10_000;
/** How often a running pass's progress is told to the workers. */
const STATUS_MS = 2000;
/** How often the primary looks for moves to make when none is running. */
const REBALANCE_POLL_MS = 10_000;

/** What the server's primary runs for the whole gateway: one of each background worker. */
export interface PrimaryServices {
  readonly config: KintsugiConfig;
  readonly codec: string;
  readonly healer: Healer;
  readonly rebalancer: Rebalancer;
  /** the nodes it opened */
  nodes(): NodeSet;
  /** tells every worker where the healer stands */
  tellHeal(): void;
  /** tells every worker where the rebalance stands */
  tellRebalance(): void;
  /** stops the background work (a running rebalance at its next batch) and closes the nodes */
  stop(): Promise<void>;
}

/**
 * The configuration a gateway needs for a layout that names more nodes
 * than it was started with (`kintsugi layout add` ran beside it).
 */
export function configForLayout(config: KintsugiConfig, layout: ClusterLayout): KintsugiConfig {
  // The nodes it has keep the addresses it reaches them by; the new ones are reached as `layout add` named them.
  const locations = [...(config.nodes ?? []), ...layout.nodes.slice(config.nodes?.length ?? 0).map((n) => n.location)];
  return config.nodes ? { ...config, nodes: locations, numNodes: locations.length } : { ...config, numNodes: layout.nodes.length };
}

/** The environment that makes a worker open the same nodes as `config` (NODES or NUMNODES). */
export function nodesEnv(config: KintsugiConfig): Record<string, string> {
  return config.nodes ? { NODES: config.nodes.join(','), NUMNODES: String(config.nodes.length) } : { NUMNODES: String(config.numNodes) };
}

/**
 * Starts the primary's services over the configured nodes: the heal
 * scanner, the nodes' scrubs, the lifecycle worker, the rebalance and the
 * layout watch (`onNeedsNodes` when the nodes' layout names nodes this
 * gateway has not opened).
 */
export async function startPrimary(config: KintsugiConfig, log: Logger, broadcast: (msg: ToWorker) => void, onNeedsNodes: (version: number) => void): Promise<PrimaryServices> {
  const container = await createContainer(config, PLUGINS, { logger: { info() {}, warn: log.warn.bind(log), error: log.error.bind(log) } });
  const codec = container.resolve(TOKENS.Codec).impl;
  const metadata = container.resolve(TOKENS.MetadataStore);
  const nodes = container.resolve(TOKENS.Nodes);
  container.resolve(TOKENS.NodeHealth).start();
  // Listing indexes that are not complete (an upgrade, an interrupted rebuild) are rebuilt before the workers list from them.
  await metadata.checkDerived();
  // One background scanner for the whole cluster of workers, in the primary.
  // Its passes are told to the workers, which answer the admin status.
  const healer = container.resolve(Healer);
  const tellHeal = () => broadcast({ kintsugi: 'heal-status', status: healer.status() });
  // HEAL_INTERVAL=0 turns the periodic passes off; a pass asked for by the admin endpoint still runs.
  healer.startScanner(config.healIntervalS * 1000, config.healRate, tellHeal);
  // Each node scrubs its own bytes; the primary asks where they stand and repairs what they found.
  if (config.scrubPeriodDays > 0) healer.startScrub({ rateBytes: config.scrubRateMB * 1e6, periodMs: config.scrubPeriodDays * 86_400_000 }, SCRUB_POLL_MS, tellHeal);
  const rebalancer = container.resolve(Rebalancer);
  const tellRebalance = () => broadcast({ kintsugi: 'rebalance-status', status: rebalancer.status() });
  rebalancer.start(REBALANCE_POLL_MS, config.rebalanceRate, tellRebalance);
  // The primary also gives nodes that lack the newest layout (a replaced disk) a copy.
  container.resolve(TOKENS.Layout).watch(LAYOUT_POLL_MS, onNeedsNodes, true);
  // Progress of a running pass, for the workers' admin status and metrics.
  const progress = setInterval(() => {
    if (healer.status().scanning) tellHeal();
    if (rebalancer.status().state !== 'idle') tellRebalance();
  }, STATUS_MS);
  progress.unref();
  // And one lifecycle worker; the workers learn its progress for their metrics.
  const lifecycle = container.resolve(LifecycleWorker);
  lifecycle.start((status) => broadcast({ kintsugi: 'lifecycle-status', status }));
  return {
    config, codec, healer, rebalancer, tellHeal, tellRebalance,
    nodes: () => nodes,
    stop: async () => {
      clearInterval(progress);
      healer.stopScanner();
      lifecycle.stop();
      await rebalancer.stop();
      await metadata.close();
      await nodes.close();
    },
  };
}
