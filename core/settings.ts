import { availableParallelism } from 'node:os';

import { ConfigError } from './errors.js';

/** A setting as it arrives: a string from the environment, a string or number from the JSON file, or nothing. */
export type RawValue = string | number | undefined;

/**
 * One setting: its name (as the origin system and the environment spell
 * it), what it means, how its default reads in the docs, and how a raw value
 * becomes the configuration's (the default when absent; a ConfigError naming
 * the setting and the rule when invalid). `secret`: never printed.
 */
export interface SettingSpec<T> {
  readonly name: string;
  readonly meaning: string;
  readonly shownDefault: string;
  readonly read: (raw: RawValue) => T;
  readonly secret?: boolean;
}

/** An unset value: missing, or empty. */
export const absent = (raw: RawValue): raw is undefined | '' => raw === undefined || raw === '';

function integer(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): (raw: RawValue) => number {
  return (raw) => {
    if (absent(raw)) return fallback;
    const n = typeof raw === 'number' ? raw : Number(raw.trim());
    if (!Number.isInteger(n)) throw new ConfigError(name, `must be an integer, got '${raw}'`);
    if (n < min) throw new ConfigError(name, `must be at least ${min}, got ${n}`);
    if (n > max) throw new ConfigError(name, `must be at most ${max}, got ${n}`);
    return n;
  };
}

function flag(name: string, fallback: boolean): (raw: RawValue) => boolean {
  return (raw) => {
    if (absent(raw)) return fallback;
    const v = String(raw).trim().toLowerCase();
    if (['1', 'on', 'true', 'yes'].includes(v)) return true;
    if (['0', 'off', 'false', 'no'].includes(v)) return false;
    throw new ConfigError(name, `must be on or off, got '${raw}'`);
  };
}

const text = (fallback: string, lower = false) => (raw: RawValue): string => {
  const v = absent(raw) ? fallback : String(raw).trim();
  return lower ? v.toLowerCase() : v;
};
const optionalText = (lower = false) => (raw: RawValue): string | undefined => (absent(raw) ? undefined : lower ? String(raw).trim().toLowerCase() : String(raw));

/** One of `known`, lowercased; `what` names a value in the refusal (`unknown codec 'gpu'`). */
function oneOf<T extends string>(name: string, what: string, fallback: T, known: readonly string[]): (raw: RawValue) => T {
  return (raw) => {
    const v = text(fallback, true)(raw);
    if (!known.includes(v)) throw new ConfigError(name, `unknown ${what} '${v}' (known: ${known.join(', ')})`);
    return v as T;
  };
}

const spec = <T>(s: SettingSpec<T>): SettingSpec<T> => s;

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

/** MinIO-style well-known defaults, so that the first start works; the banner says to change them. */
export const DEFAULT_ACCESS_KEY = 'kintsugiadmin';
export const DEFAULT_SECRET_KEY = 'kintsugiadmin';

export type CodecChoice = 'auto' | 'native' | 'wasm';
export const CODEC_CHOICES: readonly CodecChoice[] = ['auto', 'native', 'wasm'];

/**
 * MATRIXTYPE values. `cauchy` is the origin system's name and means jerasure's
 * improved ("good") Cauchy matrix; the others name jerasure techniques directly.
 */
export const MATRIX_TYPES = { cauchy: 'cauchy_good', cauchy_good: 'cauchy_good', cauchy_orig: 'cauchy_orig', reed_sol_van: 'reed_sol_van' } as const;

/**
 * Every setting, by the configuration field it fills: the one table the
 * configuration's type, its defaults, its parser, `kintsugi config` and the
 * settings table of docs/configuration.md are made from.
 */
export const SETTINGS = {
  data: spec({ name: 'DATA', meaning: 'data shards per stripe', shownDefault: '4', read: integer('DATA', 4, 1) }),
  parity: spec({ name: 'PARITY', meaning: 'parity shards per stripe: nodes that may be lost', shownDefault: '3', read: integer('PARITY', 3, 1) }),
  numNodes: spec({ name: 'NUMNODES', meaning: 'storage nodes; `DATA+PARITY` must fit (with `NODES`: how many it names)', shownDefault: '7', read: integer('NUMNODES', 7, 1) }),
  metaCopies: spec({ name: 'METACOPIES', meaning: 'metadata replicas; odd, at most `NUMNODES`', shownDefault: '3', read: integer('METACOPIES', 3, 1) }),
  nodePath: spec({ name: 'NODEPATH', meaning: 'where the node folders live (`node-0` …)', shownDefault: '`./data`', read: text('./data') }),
  nodes: spec({
    name: 'NODES', shownDefault: '',
    meaning: 'every node in index order, comma-separated, each a folder or the `http://host:port` of a `kintsugi node` (instead of `NODEPATH`)',
    read: (raw): readonly string[] | undefined => (absent(raw) ? undefined : String(raw).split(',').map((n) => n.trim()).filter(Boolean)),
  }),
  clusterSecret: spec({ name: 'CLUSTER_SECRET', meaning: 'what gateways and `kintsugi node` processes prove to each other and key their sealed link with (needed when `NODES` has URLs)', shownDefault: '', read: optionalText(), secret: true }),
  matrixType: spec({ name: 'MATRIXTYPE', meaning: '`cauchy` (= `cauchy_good`), `cauchy_orig`, `reed_sol_van`', shownDefault: '`cauchy`', read: oneOf('MATRIXTYPE', 'technique', 'cauchy', Object.keys(MATRIX_TYPES)) }),
  codec: spec({ name: 'CODEC', meaning: '`auto` (native, else WASM), `native`, `wasm`', shownDefault: '`auto`', read: oneOf<CodecChoice>('CODEC', 'codec', 'auto', CODEC_CHOICES) }),
  placement: spec({ name: 'PLACEMENT', meaning: 'placement plugin: `hash` (rendezvous hashing) or `ring` (consistent hashing)', shownDefault: '`hash`', read: text('hash', true) }),
  packetSize: spec({ name: 'PACKETSIZE', meaning: 'Cauchy packet bytes (a multiple of 8)', shownDefault: String(DEFAULT_PACKET_SIZE), read: integer('PACKETSIZE', DEFAULT_PACKET_SIZE, 8) }),
  blockSize: spec({ name: 'BLOCKSIZE', meaning: 'object bytes per stripe', shownDefault: String(DEFAULT_BLOCK_SIZE), read: integer('BLOCKSIZE', DEFAULT_BLOCK_SIZE, 4096) }),
  w: spec({ name: 'W', meaning: 'Galois field width; jerasure\'s byte-oriented 8 only', shownDefault: '8', read: integer('W', 8, 1) }),
  sync: spec({ name: 'SYNC', meaning: 'fdatasync shard and metadata files and their folders before a put is acknowledged; `off` for tmpfs and benchmarks', shownDefault: '`on`', read: flag('SYNC', true) }),
  accessKey: spec({ name: 'ACCESS_KEY', meaning: 'the S3 access key (the banner warns while it and the secret are the defaults)', shownDefault: `\`${DEFAULT_ACCESS_KEY}\``, read: text(DEFAULT_ACCESS_KEY) }),
  secretKey: spec({ name: 'SECRET_KEY', meaning: 'its secret', shownDefault: `\`${DEFAULT_SECRET_KEY}\``, read: text(DEFAULT_SECRET_KEY), secret: true }),
  users: spec({
    name: 'USERS', meaning: 'more users, `key:secret,key2:secret2`', shownDefault: '', secret: true,
    read: (raw): Readonly<Record<string, string>> => {
      const users: Record<string, string> = {};
      for (const pair of text('')(raw).split(',').map((p) => p.trim()).filter(Boolean)) {
        const at = pair.indexOf(':');
        if (at < 3 || pair.length - at - 1 < 8) throw new ConfigError('USERS', 'each user must be key:secret, key at least 3 and secret at least 8 characters');
        users[pair.slice(0, at)] = pair.slice(at + 1);
      }
      return users;
    },
  }),
  domain: spec({ name: 'DOMAIN', meaning: 'serve `<bucket>.DOMAIN` virtual-host style', shownDefault: '', read: optionalText(true) }),
  host: spec({ name: 'HOST', meaning: 'the address the server listens on', shownDefault: '0.0.0.0', read: text('0.0.0.0') }),
  port: spec({ name: 'PORT', meaning: 'the port it listens on', shownDefault: '9000', read: integer('PORT', 9000, 0, 65535) }),
  workers: spec({ name: 'WORKERS', meaning: 'server processes sharing the port and the nodes', shownDefault: 'half the cores (at least 1) with node folders on this host, cores when every node is a URL', read: integer('WORKERS', availableParallelism(), 1) }),
  healIntervalS: spec({ name: 'HEAL_INTERVAL', meaning: 'seconds between background heal passes (0: off)', shownDefault: '3600', read: integer('HEAL_INTERVAL', 3600, 0) }),
  healRate: spec({ name: 'HEAL_RATE', meaning: 'objects per second the background scanner checks at most (settable while it runs: `POST /_kintsugi/admin/heal?rate=N`)', shownDefault: '1000', read: integer('HEAL_RATE', 1000, 1) }),
  rebalanceRate: spec({ name: 'REBALANCE_RATE', meaning: 'objects per second a rebalance (nodes added or draining) moves at most, 0 for no limit (settable while it runs: `POST /_kintsugi/admin/rebalance?rate=N`)', shownDefault: '0', read: integer('REBALANCE_RATE', 0, 0) }),
  scrubPeriodDays: spec({ name: 'SCRUB_PERIOD', meaning: 'days within which every node reads all its bytes against their checksums again (0: no scrub)', shownDefault: '30', read: integer('SCRUB_PERIOD', 30, 0) }),
  scrubRateMB: spec({ name: 'SCRUB_RATE', meaning: 'megabytes per second each node scrubs at most', shownDefault: '100', read: integer('SCRUB_RATE', 100, 1) }),
  probeIntervalS: spec({ name: 'PROBE_INTERVAL', meaning: 'seconds between health probes of every node (0: only when an operation needs a degraded node)', shownDefault: '15', read: integer('PROBE_INTERVAL', 15, 0) }),
  lifecycleDayS: spec({ name: 'LIFECYCLE_DAY_SECONDS', meaning: 'the length of a lifecycle day (rules count days of this many seconds)', shownDefault: '86400', read: integer('LIFECYCLE_DAY_SECONDS', 86_400, 1) }),
  lifecycleRate: spec({ name: 'LIFECYCLE_RATE', meaning: 'versions per second the lifecycle worker looks at, at most', shownDefault: '200', read: integer('LIFECYCLE_RATE', 200, 1) }),
  metricsToken: spec({ name: 'METRICS_TOKEN', meaning: 'when set, `/_kintsugi/metrics` answers only `Authorization: Bearer <token>` (401 otherwise)', shownDefault: '', read: optionalText(), secret: true }),
};

export type SettingField = keyof typeof SETTINGS;
/** The settings' values, as their specs read them. */
export type SettingValues = { readonly [F in SettingField]: ReturnType<(typeof SETTINGS)[F]['read']> };
export type SettingName = (typeof SETTINGS)[SettingField]['name'];
export const SETTING_NAMES: readonly string[] = Object.values(SETTINGS).map((s) => s.name);

/** The settings table of docs/configuration.md (a test keeps the two the same). */
export function settingsTable(): string {
  const rows = Object.values(SETTINGS).map((s) => `| \`${s.name}\` | ${s.shownDefault} | ${s.meaning} |`);
  return ['| setting | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
