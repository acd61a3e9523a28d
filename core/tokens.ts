import type { InjectionToken } from 'tsyringe';

import type { Codec } from './contracts/codec.js';
import type { CrcEngine } from './contracts/crc.js';
import type { BucketEpoch } from './engine/bucket-epoch.js';
import type { Metrics } from './metrics.js';
import type { NodeHealth } from './node-health.js';
import type { Logger } from './contracts/logger.js';
import type { MetadataStore } from './contracts/metadata.js';
import type { DriveSet, NodeSet } from './contracts/nodes.js';
import type { Placement } from './contracts/placement.js';
import type { Transport } from './contracts/transport.js';
import type { KintsugiConfig } from './config.js';
import type { LayoutView } from './layout-view.js';

/**
 * Injection tokens. Every constructor parameter is injected by an explicit
 * token, so resolution never depends on emitted decorator metadata and works
 * the same under tsc (built code), esbuild/oxc (tests) and benches.
 */
export const TOKENS = {
  Config: Symbol.for('kintsugi.Config') as InjectionToken<KintsugiConfig>,
  Logger: Symbol.for('kintsugi.Logger') as InjectionToken<Logger>,
  Codec: Symbol.for('kintsugi.Codec') as InjectionToken<Codec>,
  /** the CRCs of S3 checksums, from the codec's build */
  Crc: Symbol.for('kintsugi.Crc') as InjectionToken<CrcEngine>,
  Placement: Symbol.for('kintsugi.Placement') as InjectionToken<Placement>,
  MetadataStore: Symbol.for('kintsugi.MetadataStore') as InjectionToken<MetadataStore>,
  Transport: Symbol.for('kintsugi.Transport') as InjectionToken<Transport>,
  /** what the drive plugin opened; the core wraps it into Nodes */
  Drives: Symbol.for('kintsugi.Drives') as InjectionToken<DriveSet>,
  Nodes: Symbol.for('kintsugi.Nodes') as InjectionToken<NodeSet>,
  /** the same health as Nodes.health, with what only the process that runs it needs (probing) */
  NodeHealth: Symbol.for('kintsugi.NodeHealth') as InjectionToken<NodeHealth>,
  Metrics: Symbol.for('kintsugi.Metrics') as InjectionToken<Metrics>,
  BucketEpoch: Symbol.for('kintsugi.BucketEpoch') as InjectionToken<BucketEpoch>,
  /** the cluster layout in use: which nodes take new data */
  Layout: Symbol.for('kintsugi.Layout') as InjectionToken<LayoutView>,
} as const;
