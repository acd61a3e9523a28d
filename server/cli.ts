#!/usr/bin/env node
import 'reflect-metadata';

import { loadConfig } from '../core/config.js';
import { SETTINGS, type SettingSpec } from '../core/settings.js';
import { createContainer } from '../core/container.js';
import { KintsugiError } from '../core/errors.js';
import { TOKENS } from '../core/tokens.js';
import { BUCKET_HELP, runBucket } from './bucket.js';
import { runDemo } from './demo.js';
import { runHeal } from './heal.js';
import { LAYOUT_HELP, runLayout } from './layout.js';
import { runScrub } from './scrub.js';
import { runNode } from './node-command.js';
import { runServer } from './serve.js';
import { runStatus } from './status.js';
import { PLUGINS } from './plugins.js';

const HELP = `kintsugi — an S3-compatible, erasure-coded object store

Usage: kintsugi <command> [options]

Commands:
  server        serve the S3 API (PORT, HOST, WORKERS, ACCESS_KEY, SECRET_KEY, DOMAIN)
  node          serve one node folder to the gateways (NODE_DIR, PORT, HOST,
                CLUSTER_SECRET); gateways name it in NODES as http://host:port
  heal [--json] [--grace=SECONDS] [--deep] [--rate=OBJECTS]
                check every object and rebuild lost shards and metadata
                copies, remove leftovers older than the grace (1 hour);
                --deep reads every block of large objects (else the nodes'
                scrub checks bytes), --rate caps objects a second;
                exit 0 only when nothing is unrecoverable
  scrub [--node=N,...] [--rate=MB] [--json]
                one scrub pass now: each node reads its own records and
                shard files against their checksums (no gateway reads);
                prints MB/s and what is damaged; exit 0 only when nothing
  layout show|add|weight|drain|remove|rebalance
                the cluster layout stored on the nodes: which nodes take
                data; nodes added or drained while serving (see below)
  status [--endpoint=URL] [--json]
                the nodes, quorum and heal state of a running server (its
                signed admin endpoint, with ACCESS_KEY and SECRET_KEY);
                exit 0 when writes have their quorum, 1 when not
${BUCKET_HELP}  demo [FILE]   erasure-code FILE (default: 8 MiB of random bytes) onto the
                nodes, destroy PARITY nodes' shards, reconstruct, verify
  config [--settings]
                print the configuration in force (secrets shown as ***), or
                every setting with its default and meaning
  help          this text

Layout:
${LAYOUT_HELP}
Settings (environment variables, or a JSON file named by KINTSUGI_CONFIG):
  DATA=4 PARITY=3 NUMNODES=7 METACOPIES=3 NODEPATH=./data MATRIXTYPE=cauchy
  CODEC=auto|native|wasm PLACEMENT=hash|ring PACKETSIZE=4096 BLOCKSIZE=1048576
  SYNC=on PORT=9000 HOST=0.0.0.0 WORKERS=<cores> ACCESS_KEY=… SECRET_KEY=… DOMAIN=
`;

async function main(argv: string[]): Promise<number> {
  const [command = 'help', ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return 0;
  }
  if (command === 'config' && rest[0] === '--settings') {
    process.stdout.write(Object.values(SETTINGS).map((s) => `${s.name.padEnd(22)} ${(s.shownDefault.replace(/`/g, '') || '-').padEnd(14)} ${s.meaning.replace(/`/g, '')}\n`).join(''));
    return 0;
  }
  const config = loadConfig();
  if (command === 'config') {
    process.stdout.write(JSON.stringify(config, redactSecrets, 2) + '\n');
    return 0;
  }
  if (command === 'server') {
    await runServer(config);
    return 0;
  }
  if (command === 'heal') return runHeal(config, rest);
  if (command === 'scrub') return runScrub(config, rest);
  if (command === 'layout') return runLayout(config, rest);
  if (command === 'node') return runNode(config);
  if (command === 'status') return runStatus(config, rest);
  if (command === 'bucket') return runBucket(config, rest);
  if (command === 'demo') {
    const container = await createContainer(config, PLUGINS);
    const ok = await runDemo(config, container.resolve(TOKENS.Codec), container.resolve(TOKENS.Placement), container.resolve(TOKENS.Nodes), rest[0]);
    return ok ? 0 : 1;
  }
  process.stderr.write(`unknown command '${command}'\n\n${HELP}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    if (err instanceof KintsugiError) {
      process.stderr.write(`kintsugi: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`kintsugi: ${(err as Error).stack ?? err}\n`);
      process.exitCode = 1;
    }
  },
);

/** JSON.stringify replacer for `kintsugi config`: the settings the table marks secret are not printed (USERS: its keys are). */
function redactSecrets(key: string, value: unknown): unknown {
  const spec = (SETTINGS as Record<string, SettingSpec<unknown>>)[key];
  if (!spec?.secret || value === undefined) return value;
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).map((k) => [k, '***']));
  return '***';
}
