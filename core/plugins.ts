import type { DependencyContainer } from 'tsyringe';

import type { KintsugiConfig } from './config.js';
import type { NodeServiceFactory } from './contracts/drive.js';

/** The contracts a plugin can fill, and the config setting that picks it. */
export type Contract = 'codec' | 'placement' | 'metadata' | 'drive' | 'transport';

/**
 * A plugin fills one contract under one or more names. `register` binds the
 * contract's token in the container; it runs only when configuration picks
 * one of the plugin's names.
 */
export interface Plugin {
  readonly contract: Contract;
  readonly names: readonly string[];
  register(container: DependencyContainer, config: KintsugiConfig, chosenName: string): void | Promise<void>;
  /** structures the plugin keeps beside a node's files, by name: run on the node's host (core/node-host.ts) */
  readonly nodeServices?: Readonly<Record<string, NodeServiceFactory>>;
}
