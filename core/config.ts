import { readFileSync } from 'node:fs';

import type { Technique } from './contracts/codec.js';
import { ConfigError } from './errors.js';
import { absent, MATRIX_TYPES, SETTING_NAMES, SETTINGS, type RawValue, type SettingName, type SettingValues } from './settings.js';

export { CODEC_CHOICES, DEFAULT_ACCESS_KEY, DEFAULT_BLOCK_SIZE, DEFAULT_PACKET_SIZE, DEFAULT_SECRET_KEY, type CodecChoice } from './settings.js';

/**
 * The configuration: every setting of the table in core/settings.ts (its
 * field names and types come from there), and what is derived from them.
 */
export interface KintsugiConfig extends Omit<SettingValues, 'nodes' | 'clusterSecret' | 'metricsToken' | 'domain'> {
  /** NODES, when given (absent: NODEPATH/node-0 …) */
  readonly nodes?: readonly string[];
  readonly clusterSecret?: string;
  readonly metricsToken?: string;
  readonly domain?: string;
  /** MATRIXTYPE, resolved to a jerasure technique */
  readonly technique: Technique;
  /** whether the credentials are the built-in defaults (the server warns) */
  readonly defaultCredentials: boolean;
}

/** Raw settings by their origin names, from the environment or a config file. */
export type RawSettings = Partial<Record<SettingName, RawValue>>;

/** Reads a JSON config file whose keys are the setting names (DATA, PARITY, ...). */
export function readConfigFile(path: string): RawSettings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError('config file', `cannot read ${path}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('config file', `${path} must hold a JSON object`);
  }
  const out: RawSettings = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!SETTING_NAMES.includes(key)) {
      throw new ConfigError(key, `unknown setting in ${path} (known: ${SETTING_NAMES.join(', ')})`);
    }
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new ConfigError(key, `must be a string or a number in ${path}`);
    }
    out[key as SettingName] = value;
  }
  return out;
}

/** Picks the known settings out of an environment. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): RawSettings {
  const out: RawSettings = {};
  for (const name of SETTING_NAMES) {
    const value = env[name];
    if (value !== undefined && value !== '') out[name as SettingName] = value;
  }
  return out;
}

/** Validates raw settings over the defaults; throws ConfigError naming the setting and rule. */
export function parseConfig(raw: RawSettings): KintsugiConfig {
  const values = Object.fromEntries(Object.entries(SETTINGS).map(([field, s]) => [field, s.read(raw[s.name as SettingName])])) as unknown as SettingValues;
  const { data, parity, nodes, metaCopies, w, packetSize, accessKey, secretKey } = values;
  if (nodes && raw.NUMNODES !== undefined && Number(raw.NUMNODES) !== nodes.length) {
    throw new ConfigError('NODES', `names ${nodes.length} nodes but NUMNODES is ${raw.NUMNODES}`);
  }
  const numNodes = nodes ? nodes.length : values.numNodes;
  if (nodes?.some(isNodeUrl) && !values.clusterSecret) {
    throw new ConfigError('CLUSTER_SECRET', 'is needed to reach nodes on other hosts (NODES has URLs)');
  }
  if (accessKey.length < 3) throw new ConfigError('ACCESS_KEY', 'must be at least 3 characters');
  if (secretKey.length < 8) throw new ConfigError('SECRET_KEY', 'must be at least 8 characters');
  if (w !== 8) throw new ConfigError('W', `only w=8 is supported, got ${w}`);
  if (data + parity > 256) {
    throw new ConfigError('DATA+PARITY', `must be at most 256 for w=8 (GF(2^8) has 256 elements), got ${data + parity}`);
  }
  if (data + parity > numNodes) {
    throw new ConfigError('DATA+PARITY', `must not exceed NUMNODES (${numNodes}): each shard of a stripe needs its own node, got ${data}+${parity}`);
  }
  if (metaCopies % 2 === 0) {
    throw new ConfigError('METACOPIES', `must be odd so that a majority exists, got ${metaCopies}`);
  }
  if (metaCopies > numNodes) {
    throw new ConfigError('METACOPIES', `must not exceed NUMNODES (${numNodes}), got ${metaCopies}`);
  }
  if (packetSize % 8 !== 0) {
    throw new ConfigError('PACKETSIZE', `must be a multiple of 8, got ${packetSize}`);
  }
  // Optional settings are left out when unset (not present as undefined).
  const present = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined && v !== ''));
  return {
    ...(present as unknown as SettingValues),
    numNodes,
    // With node folders on this host a worker's requests wait on every node's file I/O in its thread pool and the
    // primary heals and rebalances beside it: one worker per two cores (on two cores one worker loaded 60,000 small
    // PUTs at 1,075 objects/s, two at 930-954; docs/benchmarks.md). Nodes behind URLs do their I/O in their own processes.
    ...(absent(raw.WORKERS) ? { workers: nodes?.every(isNodeUrl) ? values.workers : Math.max(1, Math.floor(values.workers / 2)) } : {}),
    technique: MATRIX_TYPES[values.matrixType as keyof typeof MATRIX_TYPES],
    defaultCredentials: raw.ACCESS_KEY === undefined && raw.SECRET_KEY === undefined,
  } as KintsugiConfig;
}

/** The configuration with nothing set: the defaults. */
export const DEFAULT_CONFIG: KintsugiConfig = parseConfig({});

/**
 * The configuration in force: defaults, overridden by the JSON file named by
 * KINTSUGI_CONFIG (or `configFile`), overridden by environment variables.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, configFile = env.KINTSUGI_CONFIG): KintsugiConfig {
  const fromFile = configFile ? readConfigFile(configFile) : {};
  return parseConfig({ ...fromFile, ...settingsFromEnv(env) });
}

/** Whether a NODES entry names a `kintsugi node` on another host (else it is a folder). */
export function isNodeUrl(location: string): boolean {
  return /^https?:\/\//.test(location);
}

/**
 * Whether gateways on other hosts may share these nodes (some are `kintsugi
 * node` URLs): nothing a gateway keeps in memory or on its own host may then
 * stand for the cluster's state.
 */
export function nodesShared(config: KintsugiConfig): boolean {
  return config.nodes?.some(isNodeUrl) ?? false;
}
