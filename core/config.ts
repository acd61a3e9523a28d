import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

import type { Technique } from './contracts/codec.js';
import { ConfigError } from './errors.js';

export type CodecChoice = 'auto' | 'native' | 'wasm';
export const CODEC_CHOICES: readonly CodecChoice[] = ['auto', 'native', 'wasm'];

/**
 * MATRIXTYPE values. `cauchy` is the origin system's name and means jerasure's
 * improved ("good") Cauchy matrix; the others name jerasure techniques directly.
 */
const MATRIX_TYPES: Readonly<Record<string, Technique>> = {
  cauchy: 'cauchy_good',
  cauchy_good: 'cauchy_good',
  cauchy_orig: 'cauchy_orig',
  reed_sol_van: 'reed_sol_van',
};

/**
 * Bytes per packet of the Cauchy XOR schedule. jerasure runs the whole XOR
 * schedule over one group of w x packetSize bytes of every shard before
 * moving on, so a group of all k+m shards should stay in the 512 KiB L2 of
 * this machine's cores: 4096 gives 7 x 32 KiB = 224 KiB at 4+3 and 384 KiB at
 * 8+4. Measured (`npm run bench:codec -- --sweep`, 1 MiB shards, medians of
 * 7 interleaved rounds, GB/s native/WASM): 4+3 at 1024/2048/4096/8192/16384 =
 * 2.9/3.1/3.8/4.0/4.1 and 8+4 = 1.5/1.8/1.9/1.9/1.9. 4096 is within 5% of the
 * best at 4+3, the best at 8+4, and keeps the shard alignment (8 x 4 KiB =
 * 32 KiB) small enough for 64 KiB objects.
 */
export const DEFAULT_PACKET_SIZE = 4096;

/**
 * Bytes of object data per stripe: 1 MiB, so 256 KiB shard blocks at 4+3.
 * The same sweep measured 4+3 encode at ~4.05 GB/s for shards of 64-512 KiB
 * and 2.9 GB/s at 1 MiB, 2.6 GB/s at 4 MiB (the stripe no longer stays in
 * cache between reading the data and writing the parity). 256 KiB blocks
 * are the largest on the fast plateau: per-block costs (a checksum, a write
 * call, promise hops) are amortised and a put in flight holds a few MiB.
 */
export const DEFAULT_BLOCK_SIZE = 1 << 20;

export interface KintsugiConfig {
  /** DATA: data shards per stripe */
  readonly data: number;
  /** PARITY: parity shards per stripe; this many nodes may fail */
  readonly parity: number;
  /** NUMNODES: storage nodes (folders under NODEPATH on the embedded default) */
  readonly numNodes: number;
  /** METACOPIES: nodes holding a metadata replica; odd, for majorities */
  readonly metaCopies: number;
  /** NODEPATH: where the node folders live */
  readonly nodePath: string;
  /**
   * NODES: every node in index order, each a folder path or the
   * `http://host:port` of a `kintsugi node` (absent: NODEPATH/node-0 …)
   */
  readonly nodes?: readonly string[];
  /** CLUSTER_SECRET: what gateways and `kintsugi node` processes sign their requests with */
  readonly clusterSecret?: string;
  /** METRICS_TOKEN: when set, `/_kintsugi/metrics` answers only `Authorization: Bearer <token>` (as Prometheus scrapers send it) */
  readonly metricsToken?: string;
  /** MATRIXTYPE, resolved to a jerasure technique */
  readonly technique: Technique;
  /** MATRIXTYPE as given */
  readonly matrixType: string;
  /** CODEC: which codec build */
  readonly codec: CodecChoice;
  /** PLACEMENT: placement plugin name */
  readonly placement: string;
  /** PACKETSIZE: Cauchy packet bytes */
  readonly packetSize: number;
  /** BLOCKSIZE: data bytes per stripe (rounded up so that each shard block is aligned) */
  readonly blockSize: number;
  /** W: Galois field width; jerasure's byte-oriented w=8 only */
  readonly w: number;
  /**
   * SYNC: flush shard and metadata files and their folders before a put is
   * acknowledged (on by default, as MinIO and Ceph do); off for tmpfs/benches.
   */
  readonly sync: boolean;
  /** ACCESS_KEY / SECRET_KEY: the S3 credentials */
  readonly accessKey: string;
  readonly secretKey: string;
  /** USERS: more users, `key:secret` pairs separated by commas */
  readonly users: Readonly<Record<string, string>>;
  /** whether the credentials are the built-in defaults (the server warns) */
  readonly defaultCredentials: boolean;
  /** DOMAIN: serve virtual-host style requests for <bucket>.DOMAIN */
  readonly domain?: string;
  /** HOST / PORT: where the server listens */
  readonly host: string;
  readonly port: number;
  /** WORKERS: server processes sharing the nodes (default: number of cores) */
  readonly workers: number;
  /** HEAL_INTERVAL: seconds between background heal passes (0: off) */
  readonly healIntervalS: number;
  /** HEAL_RATE: objects per second the background scanner checks at most */
  readonly healRate: number;
  /** PROBE_INTERVAL: seconds between health probes of every node (0: only when an operation needs a sick node) */
  readonly probeIntervalS: number;
  /** LIFECYCLE_DAY_SECONDS: the length of a lifecycle day (rules count days of this many seconds; tests use a few) */
  readonly lifecycleDayS: number;
  /** LIFECYCLE_RATE: objects per second the lifecycle worker looks at, at most */
  readonly lifecycleRate: number;
}

/** MinIO-style well-known defaults, so that the first start works; the banner says to change them. */
export const DEFAULT_ACCESS_KEY = 'kintsugiadmin';
export const DEFAULT_SECRET_KEY = 'kintsugiadmin';

export const DEFAULT_CONFIG: KintsugiConfig = {
  data: 4,
  parity: 3,
  numNodes: 7,
  metaCopies: 3,
  nodePath: './data',
  technique: 'cauchy_good',
  matrixType: 'cauchy',
  codec: 'auto',
  placement: 'hash',
  packetSize: DEFAULT_PACKET_SIZE,
  blockSize: DEFAULT_BLOCK_SIZE,
  w: 8,
  sync: true,
  accessKey: DEFAULT_ACCESS_KEY,
  secretKey: DEFAULT_SECRET_KEY,
  defaultCredentials: true,
  users: {},
  host: '0.0.0.0',
  port: 9000,
  workers: availableParallelism(),
  healIntervalS: 3600,
  healRate: 20,
  probeIntervalS: 15,
  lifecycleDayS: 86_400,
  lifecycleRate: 200,
};

/** Raw settings by their origin names, from the environment or a config file. */
export type RawSettings = Partial<Record<SettingName, string | number>>;
const SETTING_NAMES = [
  'DATA', 'PARITY', 'NUMNODES', 'METACOPIES', 'NODEPATH', 'MATRIXTYPE',
  'CODEC', 'PLACEMENT', 'PACKETSIZE', 'BLOCKSIZE', 'W', 'SYNC',
  'ACCESS_KEY', 'SECRET_KEY', 'USERS', 'DOMAIN', 'HOST', 'PORT', 'WORKERS', 'HEAL_INTERVAL', 'HEAL_RATE', 'PROBE_INTERVAL',
  'LIFECYCLE_DAY_SECONDS', 'LIFECYCLE_RATE', 'NODES', 'CLUSTER_SECRET', 'METRICS_TOKEN',
] as const;
type SettingName = (typeof SETTING_NAMES)[number];

function integer(name: SettingName, value: string | number | undefined, fallback: number, min: number): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(value.trim());
  if (!Number.isInteger(n)) throw new ConfigError(name, `must be an integer, got '${value}'`);
  if (n < min) throw new ConfigError(name, `must be at least ${min}, got ${n}`);
  return n;
}

function flag(name: SettingName, value: string | number | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  const v = String(value).trim().toLowerCase();
  if (['1', 'on', 'true', 'yes'].includes(v)) return true;
  if (['0', 'off', 'false', 'no'].includes(v)) return false;
  throw new ConfigError(name, `must be on or off, got '${value}'`);
}

function text(value: string | number | undefined, fallback: string): string {
  return value === undefined || value === '' ? fallback : String(value).trim();
}

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
    if (!(SETTING_NAMES as readonly string[]).includes(key)) {
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
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

/** Validates raw settings over the defaults; throws ConfigError naming the setting and rule. */
export function parseConfig(raw: RawSettings): KintsugiConfig {
  const d = DEFAULT_CONFIG;
  const data = integer('DATA', raw.DATA, d.data, 1);
  const parity = integer('PARITY', raw.PARITY, d.parity, 1);
  const nodes = raw.NODES === undefined ? undefined : String(raw.NODES).split(',').map((n) => n.trim()).filter(Boolean);
  if (nodes && raw.NUMNODES !== undefined && Number(raw.NUMNODES) !== nodes.length) {
    throw new ConfigError('NODES', `names ${nodes.length} nodes but NUMNODES is ${raw.NUMNODES}`);
  }
  const numNodes = nodes ? nodes.length : integer('NUMNODES', raw.NUMNODES, d.numNodes, 1);
  const clusterSecret = raw.CLUSTER_SECRET === undefined ? undefined : String(raw.CLUSTER_SECRET);
  if (nodes?.some(isNodeUrl) && !clusterSecret) {
    throw new ConfigError('CLUSTER_SECRET', 'is needed to reach nodes on other hosts (NODES has URLs)');
  }
  const metaCopies = integer('METACOPIES', raw.METACOPIES, d.metaCopies, 1);
  const w = integer('W', raw.W, d.w, 1);
  const packetSize = integer('PACKETSIZE', raw.PACKETSIZE, d.packetSize, 8);
  const blockSize = integer('BLOCKSIZE', raw.BLOCKSIZE, d.blockSize, 4096);
  const nodePath = text(raw.NODEPATH, d.nodePath);
  const matrixType = text(raw.MATRIXTYPE, d.matrixType).toLowerCase();
  const codec = text(raw.CODEC, d.codec).toLowerCase();
  const placement = text(raw.PLACEMENT, d.placement).toLowerCase();
  const sync = flag('SYNC', raw.SYNC, d.sync);
  const accessKey = text(raw.ACCESS_KEY, d.accessKey);
  const secretKey = text(raw.SECRET_KEY, d.secretKey);
  const port = integer('PORT', raw.PORT, d.port, 0);
  const workers = integer('WORKERS', raw.WORKERS, d.workers, 1);
  const domain = raw.DOMAIN === undefined || raw.DOMAIN === '' ? undefined : String(raw.DOMAIN).trim().toLowerCase();
  if (port > 65535) throw new ConfigError('PORT', `must be at most 65535, got ${port}`);
  if (accessKey.length < 3) throw new ConfigError('ACCESS_KEY', 'must be at least 3 characters');
  if (secretKey.length < 8) throw new ConfigError('SECRET_KEY', 'must be at least 8 characters');
  const users: Record<string, string> = {};
  for (const pair of text(raw.USERS, '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const at = pair.indexOf(':');
    if (at < 3 || pair.length - at - 1 < 8) throw new ConfigError('USERS', 'each user must be key:secret, key at least 3 and secret at least 8 characters');
    users[pair.slice(0, at)] = pair.slice(at + 1);
  }
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
  const technique = MATRIX_TYPES[matrixType];
  if (!technique) {
    throw new ConfigError('MATRIXTYPE', `unknown technique '${matrixType}' (known: ${Object.keys(MATRIX_TYPES).join(', ')})`);
  }
  if (!(CODEC_CHOICES as readonly string[]).includes(codec)) {
    throw new ConfigError('CODEC', `unknown codec '${codec}' (known: ${CODEC_CHOICES.join(', ')})`);
  }
  if (packetSize % 8 !== 0) {
    throw new ConfigError('PACKETSIZE', `must be a multiple of 8, got ${packetSize}`);
  }

  return {
    data, parity, numNodes, metaCopies, nodePath, technique, matrixType,
    ...(nodes ? { nodes } : {}), ...(clusterSecret ? { clusterSecret } : {}),
    ...(raw.METRICS_TOKEN ? { metricsToken: String(raw.METRICS_TOKEN) } : {}),
    codec: codec as CodecChoice, placement, packetSize, blockSize, w, sync,
    accessKey, secretKey, users, defaultCredentials: raw.ACCESS_KEY === undefined && raw.SECRET_KEY === undefined,
    ...(domain ? { domain } : {}),
    host: text(raw.HOST, d.host), port, workers,
    healIntervalS: integer('HEAL_INTERVAL', raw.HEAL_INTERVAL, d.healIntervalS, 0),
    healRate: integer('HEAL_RATE', raw.HEAL_RATE, d.healRate, 1),
    probeIntervalS: integer('PROBE_INTERVAL', raw.PROBE_INTERVAL, d.probeIntervalS, 0),
    lifecycleDayS: integer('LIFECYCLE_DAY_SECONDS', raw.LIFECYCLE_DAY_SECONDS, d.lifecycleDayS, 1),
    lifecycleRate: integer('LIFECYCLE_RATE', raw.LIFECYCLE_RATE, d.lifecycleRate, 1),
  };
}

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
