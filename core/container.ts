import 'reflect-metadata';

import { Lifecycle, container as rootContainer, type DependencyContainer } from 'tsyringe';

import { nodesShared, type KintsugiConfig } from './config.js';
import { NO_BUCKET_EPOCH, type BucketEpoch } from './engine/bucket-epoch.js';
import { BucketStore } from './engine/buckets.js';
import { Healer } from './engine/healer.js';
import { LifecycleWorker } from './engine/lifecycle.js';
import { Rebalancer } from './engine/rebalancer.js';
import { MultipartUploads } from './engine/multipart.js';
import { ObjectEngine } from './engine/object-engine.js';
import type { NodeServiceFactory } from './contracts/drive.js';
import type { Logger } from './contracts/logger.js';
import type { NodeSet } from './contracts/nodes.js';
import { UnknownPluginError } from './errors.js';
import { JsonLineLogger } from './logger.js';
import { establishLayout } from './layout-store.js';
import { waitForChecks } from './node-checks.js';
import { LayoutView } from './layout-view.js';
import { Metrics } from './metrics.js';
import { GuardedDrive } from './guarded-drive.js';
import { NodeHealth } from './node-health.js';
import { NodeHost } from './node-host.js';
import type { Contract, Plugin } from './plugins.js';
import { TOKENS } from './tokens.js';

/** Which config setting names the plugin for each contract the core wires. */
const CHOSEN_BY: Partial<Record<Contract, (c: KintsugiConfig) => string>> = {
  codec: (c) => c.codec,
  placement: (c) => c.placement,
  // Nodes on other hosts (NODES with URLs) need the remote drive; folders alone, the local one.
  drive: (c) => (nodesShared(c) ? 'remote' : 'local'),
};

/** A probe (a small write, flush and read) slower than this marks the node offline. */
const PROBE_TIMEOUT_MS = 10_000;

export interface ContainerOptions {
  logger?: Logger;
  /** shared with the other processes of this gateway; none: buckets are read every time */
  bucketEpoch?: BucketEpoch;
  /**
   * false: the configuration may name other nodes than the stored layout
   * (the layout commands, which change it); else a disagreement refuses
   * the start
   */
  checkLayout?: boolean;
  /**
   * a command run beside a server: waits for the nodes this process walks
   * before it maps them, before the layout is read from them (told which)
   */
  waitForChecks?: (checking: number[]) => void;
}

/**
 * A child container with the configuration, a logger and, for each contract
 * the configuration picks (codec, placement), the plugin registered under the
 * chosen name. Unknown names are refused with the list of known ones.
 */
export async function createContainer(
  config: KintsugiConfig,
  plugins: readonly Plugin[],
  options: ContainerOptions = {},
): Promise<DependencyContainer> {
  const c = rootContainer.createChildContainer();
  c.register(TOKENS.Config, { useValue: config });
  c.register(TOKENS.Logger, { useValue: options.logger ?? new JsonLineLogger() });
  c.register(TOKENS.BucketEpoch, { useValue: options.bucketEpoch ?? NO_BUCKET_EPOCH });
  c.register(TOKENS.Metrics, { useValue: new Metrics({ worker: String(process.pid) }) });

  for (const [contract, pick] of Object.entries(CHOSEN_BY) as [Contract, (k: KintsugiConfig) => string][]) {
    const name = pick(config);
    const candidates = plugins.filter((p) => p.contract === contract);
    const plugin = candidates.find((p) => p.names.includes(name));
    if (!plugin) throw new UnknownPluginError(contract, name, candidates.flatMap((p) => p.names));
    await plugin.register(c, config, name);
  }
  // Contracts with a single implementation so far register unconditionally.
  for (const plugin of plugins) {
    if (!(plugin.contract in CHOSEN_BY)) await plugin.register(c, config, plugin.names[0]!);
  }
  // Every node behind its health gate, whichever plugin opened it.
  const opened = c.resolve(TOKENS.Drives);
  const log = c.resolve(TOKENS.Logger);
  const health = new NodeHealth(opened.drives, log, { probeIntervalMs: config.probeIntervalS * 1000, probeTimeoutMs: PROBE_TIMEOUT_MS }, opened.startFaults);
  // A node on another host runs its services itself; for any other, this process hosts them.
  const factories = Object.assign({}, ...plugins.map((p) => p.nodeServices ?? {})) as Record<string, NodeServiceFactory>;
  const hosts = opened.drives.map((d) => (d.services ? undefined : new NodeHost(d, factories, opened.clusterId, config.sync, log)));
  let view: LayoutView | undefined;
  const nodes: NodeSet = {
    clusterId: opened.clusterId,
    drives: opened.drives.map((d, i) => new GuardedDrive(d, health, d.services ?? hosts[i]!)),
    health,
    voter: (n) => view?.voter(n) ?? true,
    close: async () => {
      view?.stop();
      await Promise.all(hosts.map((h) => h?.close()));
      await Promise.all(opened.drives.map((d) => d.close?.().catch(() => undefined)));
    },
  };
  c.register(TOKENS.Nodes, { useValue: nodes });
  c.register(TOKENS.NodeHealth, { useValue: health });
  // States are right before the first request: a read-only or full node is not found by a client's write.
  await health.refresh();
  if (options.waitForChecks) await waitForChecks(nodes, options.waitForChecks);
  const layout = await establishLayout(config, nodes, options.checkLayout !== false);
  view = new LayoutView(layout, nodes, log);
  c.register(TOKENS.Layout, { useValue: view });
  // The core's services: one of each per container (the healer listens to this engine's events).
  for (const service of [ObjectEngine, BucketStore, MultipartUploads, Healer, LifecycleWorker, Rebalancer] as const) {
    c.register(service as never, { useClass: service as never }, { lifecycle: Lifecycle.ContainerScoped });
  }
  return c;
}
