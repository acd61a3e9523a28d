import cluster from 'node:cluster';
import { resolve } from 'node:path';

import { nodesShared, type KintsugiConfig } from '../core/config.js';
import { createContainer } from '../core/container.js';
import { BUCKET_EPOCH_ENV, FileBucketEpoch, LeaseBucketEpoch } from '../core/engine/bucket-epoch.js';
import { Healer } from '../core/engine/healer.js';
import { LifecycleWorker } from '../core/engine/lifecycle.js';
import { LAYOUT_POLL_MS, Rebalancer } from '../core/engine/rebalancer.js';
import { readLayouts } from '../core/layout-store.js';
import { asToPrimary, fromPrimary, sendQuietly, toPrimary, type ToWorker } from '../core/cluster-messages.js';
import { JsonLineLogger } from '../core/logger.js';
import { TOKENS } from '../core/tokens.js';
import { openLocalNodes } from '../plugins/drive-local/index.js';
import { PLUGINS } from './plugins.js';
import { configForLayout, nodesEnv, startPrimary } from './primary.js';

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
      if (msg.kintsugi === 'rebalance-status') container.resolve(Rebalancer).adopt(msg.status);
    });
  }
  health.start();
  // A newer layout over the same nodes is taken at once; one with nodes this
  // process has not opened stops its writes until the primary replaces it.
  // The primary replaces this worker when the layout names new nodes; should that not happen (a race in
  // the replacing), the worker leaves by itself after a while and the primary starts one on the new nodes.
  let outdatedSince: number | undefined;
  let leaving = false;
  container.resolve(TOKENS.Layout).watch(LAYOUT_POLL_MS, () => {
    outdatedSince ??= Date.now();
    if (leaving || !process.send || Date.now() - outdatedSince < OUTDATED_LEAVE_MS) return;
    leaving = true;
    void close().then(() => process.exit(0));
  });
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

/** How long a worker may go on refusing writes for a layout it cannot use before it leaves (see serveHere). */
const OUTDATED_LEAVE_MS = 12_000;
/** Worker deaths within this window that count towards a crash loop. */
const DEATH_WINDOW_MS = 60_000;

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
    const broadcast = (msg: ToWorker) => { for (const w of Object.values(cluster.workers ?? {})) if (w?.isConnected()) sendQuietly(w, msg); };
    let stopping = false;
    let growing = false;
    const grow = () => { void regrow(); };
    let services = await startPrimary(config, log, broadcast, grow);
    // Workers are always separate processes: that is how they get a libuv
    // pool sized for the sync policy (read when a process starts, hence the
    // env). With SYNC on, threads sit in fdatasync for milliseconds and 16
    // keep the seven nodes' writes going (4 halved small puts); with SYNC off
    // every call is short and 4 threads cost less CPU per call than 16 on
    // two cores (thread wake-ups): small puts and gets ran 10-300% faster.
    // The workers share one bucket epoch (core/engine/bucket-epoch.ts).
    let workerEnv: Record<string, string> = {
      UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? (config.sync ? '16' : '4'),
      ...(nodesShared(config) ? {} : { [BUCKET_EPOCH_ENV]: FileBucketEpoch.create() }),
    };
    for (let i = 0; i < config.workers; i++) cluster.fork(workerEnv);
    let ready = 0;
    /** workers that said they listen: they take the shutdown message; one still starting only knows signals */
    const listening = new Set<number>();
    /** workers replaced by ones on a newer layout: their exit is expected */
    const retiring = new Set<number>();
    cluster.on('message', (w, raw: unknown) => {
      const msg = asToPrimary(raw);
      if (msg?.kintsugi === 'listening') {
        listening.add(w.id);
        if (++ready === config.workers) process.stdout.write(banner(config, msg.port, services.codec));
        sendQuietly(w, { kintsugi: 'heal-status', status: services.healer.status() });
        sendQuietly(w, { kintsugi: 'rebalance-status', status: services.rebalancer.status() });
      }
      // What a worker wants every worker to hear (a console sign-out).
      if (msg?.kintsugi === 'relay') broadcast(msg.message);
      if (msg?.kintsugi === 'heal-start' && services.healer.startPass()) services.tellHeal();
      if (msg?.kintsugi === 'heal-rate') {
        services.healer.setRate(msg.objectsPerSecond);
        services.tellHeal();
      }
      if (msg?.kintsugi === 'rebalance-rate') {
        services.rebalancer.setRate(msg.objectsPerSecond);
        services.tellRebalance();
      }
    });
    /**
     * The nodes' layout names nodes this gateway has not opened (`kintsugi
     * layout add` ran): the primary's services start again on them, then
     * each worker is replaced by one that has them, the new one listening
     * before the old one is told to finish, so the port never goes quiet.
     * Until its replacement listens, an old worker refuses writes (503).
     */
    const regrow = async (): Promise<void> => {
      if (growing || stopping) return;
      growing = true;
      try {
        const { newest } = await readLayouts(services.nodes());
        if (!newest || newest.nodes.length === services.config.numNodes) return;
        const grown = configForLayout(services.config, newest);
        log.warn('the cluster layout names new nodes: the gateway moves onto them', { version: newest.version, nodes: grown.numNodes });
        await services.stop();
        services = await startPrimary(grown, log, broadcast, grow);
        workerEnv = { ...workerEnv, ...nodesEnv(grown) };
        for (const old of Object.values(cluster.workers ?? {})) {
          if (!old || retiring.has(old.id) || stopping) continue;
          const fresh = cluster.fork(workerEnv);
          await new Promise<void>((done) => {
            const check = (w: { id: number }, raw: unknown) => {
              if (w.id === fresh.id && asToPrimary(raw)?.kintsugi === 'listening') { cluster.off('message', check); done(); }
            };
            cluster.on('message', check);
            fresh.once('exit', () => { cluster.off('message', check); done(); });
          });
          retiring.add(old.id);
          if (listening.has(old.id)) sendQuietly(old, { kintsugi: 'shutdown' });
          else old.kill('SIGTERM');
        }
      } catch (err) {
        log.error('moving onto the new layout failed; trying again', { error: (err as Error).message });
        setTimeout(grow, 5000).unref();
      } finally {
        growing = false;
      }
    };
    const deaths: number[] = [];
    let loopLogged = false;
    cluster.on('exit', (worker, code, signal) => {
      if (stopping || retiring.delete(worker.id)) return;
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
      if (listening.has(w!.id)) sendQuietly(w!, { kintsugi: 'shutdown' });
      else w!.kill('SIGTERM');
    })));
    // Closed last, after every worker: the node folders' shelves are stamped as left, and the next start opens them without a walk.
    await services.stop();
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
