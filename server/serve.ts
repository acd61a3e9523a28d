import cluster from 'node:cluster';
import { resolve } from 'node:path';

import { nodesShared, type KintsugiConfig } from '../core/config.js';
import { createContainer } from '../core/container.js';
import { BUCKET_EPOCH_ENV, FileBucketEpoch, LeaseBucketEpoch } from '../core/engine/bucket-epoch.js';
import { Healer } from '../core/engine/healer.js';
import { LifecycleWorker } from '../core/engine/lifecycle.js';
import { asToPrimary, fromPrimary, toPrimary, type ToWorker } from '../core/cluster-messages.js';
import { JsonLineLogger } from '../core/logger.js';
import { TOKENS } from '../core/tokens.js';
import { openLocalNodes } from '../plugins/drive-local/index.js';
import { PLUGINS } from './plugins.js';

/** Serves S3 in this process until SIGTERM/SIGINT; resolves with the bound address. */
export async function serveHere(config: KintsugiConfig): Promise<{ host: string; port: number; close: () => Promise<void> }> {
  const epochFile = process.env[BUCKET_EPOCH_ENV];
  // Gateways on other hosts cannot see this gateway's epoch file: a lease instead.
  const bucketEpoch = nodesShared(config) ? new LeaseBucketEpoch() : epochFile ? new FileBucketEpoch(epochFile) : undefined;
  const container = await createContainer(config, PLUGINS, bucketEpoch ? { bucketEpoch } : {});
  const metadata = container.resolve(TOKENS.MetadataStore);
  const health = container.resolve(TOKENS.NodeHealth);
  if (process.send) {
    fromPrimary((msg) => {
      if (msg.kintsugi === 'heal-status') container.resolve(Healer).adopt(msg.status);
      if (msg.kintsugi === 'lifecycle-status') container.resolve(LifecycleWorker).adopt(msg.status);
    });
  }
  health.start();
  // Objects a read had to reconstruct are healed in the background.
  container.resolve(Healer).watch();
  const transport = container.resolve(TOKENS.Transport);
  const address = await transport.listen(config.host, config.port);
  const close = async () => {
    health.stop();
    await transport.close();
    await metadata.close();
    await container.resolve(TOKENS.Nodes).close();
  };
  return { ...address, close };
}

/** Worker deaths within this window that count towards a crash loop. */
const DEATH_WINDOW_MS = 60_000;
/** How often the primary asks the nodes' scrubs where they stand (and takes the damage they found). */
const SCRUB_POLL_MS = 10_000;
/** How often a running pass's progress is told to the workers. */
const HEAL_STATUS_MS = 2000;

function banner(config: KintsugiConfig, port: number, codec: string): string {
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  return [
    `Kintsugi S3 endpoint  http://${host}:${port}${config.domain ? `  (virtual hosts: <bucket>.${config.domain})` : ''}`,
    `credentials           ${config.defaultCredentials ? `built-in defaults ${config.accessKey} / ${config.secretKey}: set ACCESS_KEY and SECRET_KEY` : 'ACCESS_KEY / SECRET_KEY'}${Object.keys(config.users).length ? ` + ${Object.keys(config.users).length} from USERS` : ''}`,
    `codec                 jerasure ${codec}, ${config.data}+${config.parity} ${config.technique}`,
    config.nodes
      ? `layout                ${config.numNodes} nodes, ${config.metaCopies} metadata copies, SYNC=${config.sync ? 'on' : 'off'}\n${config.nodes.map((n, i) => `  node ${i}              ${n}`).join('\n')}`
      : `layout                ${config.numNodes} nodes under ${resolve(config.nodePath)}, ${config.metaCopies} metadata copies, SYNC=${config.sync ? 'on' : 'off'}`,
    `workers               ${config.workers}`,
    `web console           http://${host}:${port}/_kintsugi/console/`,
    '',
    // A secret of one's own is not printed (output ends up in logs); the built-in default is no secret.
    `  aws configure set aws_access_key_id ${config.accessKey}; aws configure set aws_secret_access_key ${config.defaultCredentials ? config.secretKey : '"$SECRET_KEY"'}`,
    `  aws --endpoint-url http://${host}:${port} s3 mb s3://my-bucket`,
    `  aws --endpoint-url http://${host}:${port} s3 cp ./file s3://my-bucket/`,
    '',
  ].join('\n');
}

/**
 * `kintsugi server`: the primary checks the node folders once (identities,
 * crash leftovers) and forks WORKERS processes that share the port and the
 * nodes; on SIGTERM/SIGINT each worker stops accepting, finishes its
 * in-flight requests and exits.
 */
export async function runServer(config: KintsugiConfig): Promise<void> {
  const log = new JsonLineLogger();
  if (cluster.isPrimary) {
    // Local folders are checked (crash leftovers swept) once, by the primary; nodes on other hosts check their own.
    if (!config.nodes) await openLocalNodes(config.nodePath, config.numNodes, config.sync, log, 0);
    const container = await createContainer(config, PLUGINS, { logger: { info() {}, warn: log.warn.bind(log), error: log.error.bind(log) } });
    const codec = container.resolve(TOKENS.Codec).impl;
    const metadata = container.resolve(TOKENS.MetadataStore);
    container.resolve(TOKENS.NodeHealth).start();
    const broadcast = (msg: ToWorker) => { for (const w of Object.values(cluster.workers ?? {})) if (w?.isConnected()) w.send(msg); };
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
    // A pass's progress, for the workers' admin status and metrics.
    setInterval(() => { if (healer.status().scanning) tellHeal(); }, HEAL_STATUS_MS).unref();
    // And one lifecycle worker; the workers learn its progress for their metrics.
    container.resolve(LifecycleWorker).start((status) => broadcast({ kintsugi: 'lifecycle-status', status }));
    // Workers are always separate processes: that is how they get a libuv
    // pool sized for the sync policy (read when a process starts, hence the
    // env). With SYNC on, threads sit in fdatasync for milliseconds and 16
    // keep the seven nodes' writes going (4 halved small puts); with SYNC off
    // every call is short and 4 threads cost less CPU per call than 16 on
    // two cores (thread wake-ups): small puts and gets ran 10-300% faster.
    // The workers share one bucket epoch (core/engine/bucket-epoch.ts).
    const workerEnv = {
      UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? (config.sync ? '16' : '4'),
      ...(nodesShared(config) ? {} : { [BUCKET_EPOCH_ENV]: FileBucketEpoch.create() }),
    };
    for (let i = 0; i < config.workers; i++) cluster.fork(workerEnv);
    let ready = 0;
    /** workers that said they listen: they take the shutdown message; one still starting only knows signals */
    const listening = new Set<number>();
    const tell = (w: { send(msg: ToWorker): unknown }, msg: ToWorker) => w.send(msg);
    cluster.on('message', (w, raw: unknown) => {
      const msg = asToPrimary(raw);
      if (msg?.kintsugi === 'listening') {
        listening.add(w.id);
        if (++ready === config.workers) process.stdout.write(banner(config, msg.port, codec));
        tell(w, { kintsugi: 'heal-status', status: healer.status() });
      }
      // What a worker wants every worker to hear (a console sign-out).
      if (msg?.kintsugi === 'relay') broadcast(msg.message);
      if (msg?.kintsugi === 'heal-start' && healer.startPass()) tellHeal();
      if (msg?.kintsugi === 'heal-rate') {
        healer.setRate(msg.objectsPerSecond);
        tellHeal();
      }
    });
    let stopping = false;
    const deaths: number[] = [];
    let loopLogged = false;
    cluster.on('exit', (worker, code, signal) => {
      if (stopping) return;
      if (ready < config.workers) {
        // A worker that dies before listening (port taken) would die again:
        // restarting it would spin forever. Node faults do not stop a start.
        log.error('worker failed to start; stopping', { pid: worker.process.pid, code, signal });
        stopping = true;
        for (const w of Object.values(cluster.workers ?? {})) w?.kill();
        process.exit(1);
      }
      const now = Date.now();
      deaths.push(now);
      while (deaths[0]! < now - DEATH_WINDOW_MS) deaths.shift();
      log.warn('worker exited, starting another', { pid: worker.process.pid, code, signal });
      let delayMs = 0;
      if (deaths.length >= 3) {
        // Dying again and again: restart, but slower and slower, not in a loop.
        delayMs = Math.min(30_000, 1000 * 2 ** (deaths.length - 3));
        if (!loopLogged) log.error('workers keep dying; restarting them with a delay', { deaths: deaths.length, windowS: DEATH_WINDOW_MS / 1000 });
        loopLogged = true;
      }
      setTimeout(() => { if (!stopping) cluster.fork(workerEnv); }, delayMs);
    });
    await waitForSignal();
    stopping = true;
    await Promise.all(Object.values(cluster.workers ?? {}).map((w) => new Promise<void>((done) => {
      w!.once('exit', () => done());
      if (listening.has(w!.id)) tell(w!, { kintsugi: 'shutdown' });
      else w!.kill('SIGTERM');
    })));
    // Closed last, after every worker: the node folders' shelves are stamped as left, and the next start opens them without a walk.
    healer.stopScanner();
    container.resolve(LifecycleWorker).stop();
    await metadata.close();
    await container.resolve(TOKENS.Nodes).close();
    return;
  }
  let server: Awaited<ReturnType<typeof serveHere>>;
  try {
    server = await serveHere(config);
  } catch (err) {
    // Open handles (indexes, the thread pool) would keep a failed worker alive.
    process.stderr.write(`kintsugi worker: ${(err as Error).message}\n`);
    process.exit(1);
  }
  toPrimary({ kintsugi: 'listening', port: server.port });
  fromPrimary((msg) => {
    if (msg.kintsugi === 'shutdown') void server.close().then(() => process.exit(0));
  });
  process.on('SIGINT', () => undefined); // the primary coordinates shutdown
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
}
