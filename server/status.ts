import { request } from 'node:http';

import type { KintsugiConfig } from '../core/config.js';
import type { ClusterLayout } from '../core/cluster-layout.js';
import type { NodeStatus } from '../core/contracts/nodes.js';
import { deferredText, type RebalanceStatus } from '../core/engine/rebalancer.js';
import type { BucketStatus } from '../plugins/transport-h3/admin-buckets.js';
import { signHeaders } from '../plugins/transport-h3/auth/sigv4-sign.js';

const STATUS_PATH = '/_kintsugi/admin/status';

/** What the admin endpoint answers (plugins/transport-h3/operations.ts). */
interface ClusterStatus {
  codec: string;
  nodes: (NodeStatus & { healthy: boolean })[];
  quorum: { writable: number; readable: number; writeQuorum: number; readQuorum: number };
  heal: {
    queued: number; healingDegraded: boolean; scanning: boolean; rate: number;
    pass?: { startedMs: number; keys: number; keysPerSecond: number; summary: { objectsChecked: number; shardsRebuilt: number; replicasRepaired: number; bytesRewritten: number } };
    lastPass?: { finishedMs: number; objectsChecked: number; shardsRebuilt: number; replicasRepaired: number; unrecoverable: string[]; deferred: number };
    scrub?: { node: number; state: string; why?: string; passStartedMs?: number; bytes?: number; items?: number; lastPass?: { finishedMs: number; bytes: number; damaged: number }; dueMs?: number }[];
  };
  layout?: ClusterLayout & { newestVersion: number };
  rebalance?: RebalanceStatus;
  buckets?: BucketStatus[];
}

function fetchStatus(config: KintsugiConfig, endpoint: URL): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: endpoint.hostname, port: endpoint.port, method: 'GET', path: STATUS_PATH, headers: signHeaders({ method: 'GET', rawPath: STATUS_PATH, query: new URLSearchParams(), host: endpoint.host }, config, { emptyBody: true }), timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${endpoint.origin} within 30 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** A bucket's usage (as last counted) and quota, on one line. */
function bucketLine(b: BucketStatus, now: number): string {
  const quota = b.quotaBytes !== undefined ? `, quota ${b.quotaBytes} bytes` : '';
  if (!b.usage) return `${b.name} not counted yet${quota}`;
  const u = b.usage;
  return `${b.name} ${u.objects} objects, ${u.versions} versions, ${u.bytes} bytes (${u.storedBytes} stored), ${u.uploads} uploads of ${u.uploadBytes} bytes${quota}; counted ${ago(now - u.countedMs)} ago`;
}

const ago = (ms: number) => (ms < 90_000 ? `${Math.round(ms / 1000)} s` : ms < 5_400_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`);

/**
 * `kintsugi status [--endpoint=URL] [--json]`: the nodes, quorum and heal
 * state of a running server, asked through its signed admin endpoint with
 * the configured credentials (the endpoint defaults to the configured PORT
 * on this host). Exit 0 when writes have their quorum, 1 when they do not,
 * 2 when the server cannot be asked.
 */
export async function runStatus(config: KintsugiConfig, args: string[]): Promise<number> {
  const json = args.includes('--json');
  const given = args.find((a) => a.startsWith('--endpoint='))?.slice('--endpoint='.length);
  const endpoint = new URL(given ?? `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`);
  let answer: { status: number; body: string };
  try {
    answer = await fetchStatus(config, endpoint);
  } catch (err) {
    process.stderr.write(`kintsugi status: cannot reach ${endpoint.origin}: ${(err as Error).message}\n`);
    return 2;
  }
  if (answer.status !== 200) {
    const code = /<Code>([^<]+)<\/Code>/.exec(answer.body)?.[1] ?? `HTTP ${answer.status}`;
    process.stderr.write(`kintsugi status: ${endpoint.origin} answered ${code}\n`);
    return 2;
  }
  const status = JSON.parse(answer.body) as ClusterStatus;
  // The server counts its quorum itself: its nodes' health and its own layout.
  const { writable, readable, writeQuorum: need, readQuorum } = status.quorum;
  if (json) {
    process.stdout.write(JSON.stringify(status, null, 2) + '\n');
    return writable >= need ? 0 : 1;
  }
  const now = Date.now();
  const out: string[] = [`${endpoint.origin} — codec ${status.codec}, ${config.data}+${config.parity}`];
  for (const n of status.nodes) {
    const error = n.error ? `; last error ${ago(now - (n.errorMs ?? now))} ago: ${n.error}` : '';
    out.push(`  node ${n.index}  ${n.state.padEnd(16)} ${n.location}  (${n.latencyMs.toFixed(1)} ms, ${n.errors} errors, ${n.state} for ${ago(now - n.sinceMs)}${error})`);
  }
  // Nodes taken out of the layout no longer count.
  const inService = status.nodes.filter((n) => n.state !== 'removed').length;
  out.push(`writes: ${writable >= need ? 'OK' : 'NO QUORUM'}, ${writable} of ${inService} nodes writable, ${need} needed`);
  out.push(`reads:  ${readable >= readQuorum ? 'OK' : 'NO QUORUM'}, ${readable} of ${inService} nodes readable, ${readQuorum} needed`);
  const heal = status.heal;
  const last = heal.lastPass
    ? `last pass ${ago(now - heal.lastPass.finishedMs)} ago: ${heal.lastPass.objectsChecked} objects checked, ${heal.lastPass.shardsRebuilt} shards rebuilt, ${heal.lastPass.replicasRepaired} copies repaired, ${heal.lastPass.unrecoverable.length} unrecoverable, ${heal.lastPass.deferred} deferred`
    : 'no background pass since start';
  out.push(`heal:   ${heal.queued} objects queued${heal.healingDegraded ? ' (healing)' : ''}${heal.scanning ? ', a pass running' : ''}; ${last}`);
  if (heal.pass) {
    const p = heal.pass;
    out.push(`        pass since ${ago(now - p.startedMs)}: ${p.keys} keys swept (${p.keysPerSecond.toFixed(0)}/s, at most ${heal.rate || 'unlimited'}/s), ${p.summary.shardsRebuilt} shards rebuilt, ${p.summary.replicasRepaired} copies repaired, ${p.summary.bytesRewritten} bytes rewritten`);
  }
  const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
  for (const sc of heal.scrub ?? []) {
    const current = sc.state === 'scrubbing' && sc.passStartedMs !== undefined ? `scrubbing since ${ago(now - sc.passStartedMs)}, ${mb(sc.bytes ?? 0)} read` : sc.state === 'waiting' ? 'waiting' : `unavailable${sc.why ? `: ${sc.why}` : ''}`;
    const lastScrub = sc.lastPass ? `; last pass ${ago(now - sc.lastPass.finishedMs)} ago, ${mb(sc.lastPass.bytes)}, ${sc.lastPass.damaged} damaged` : '; no pass finished yet';
    const due = sc.dueMs !== undefined ? `; next due in ${ago(Math.max(0, sc.dueMs - now))}` : '';
    out.push(`scrub:  node ${sc.node} ${current}${lastScrub}${due}`);
  }
  if (status.layout) {
    const l = status.layout;
    const count = (role: string) => l.nodes.filter((n) => n.role === role).length;
    const filling = l.nodes.filter((n) => n.filling).map((n) => n.index);
    out.push(`layout: version ${l.version}${l.newestVersion > l.version ? ` (the nodes have ${l.newestVersion}: this gateway is moving onto it)` : ''}, ${count('active')} active${filling.length ? ` (node ${filling.join(', ')} filling)` : ''}, ${count('draining')} draining, ${count('removed')} removed; ${l.change}`);
  }
  const r = status.rebalance;
  if (r?.progress && r.state !== 'idle') {
    const p = r.progress;
    out.push(`        rebalance ${r.state}: ${p.keys} keys, ${p.versionsMoved} versions moved (${p.shardsMoved} shards, ${mb(p.bytesMoved)}), ${deferredText(p)}${r.retryAtMs ? `, tried again in ${Math.ceil((r.retryAtMs - Date.now()) / 1000)} s` : ''}${r.objectsPerSecond !== undefined ? `, ${r.objectsPerSecond}/s` : ''} (at most ${r.rate || 'unlimited'}/s)`);
  }
  for (const d of r?.draining ?? []) out.push(`        node ${d.node} draining: ${d.empty ? 'empty, can be removed' : `${d.records} records, ${d.files} shard files left`}`);
  for (const b of status.buckets ?? []) out.push(`bucket: ${bucketLine(b, now)}`);
  process.stdout.write(out.join('\n') + '\n');
  return writable >= need ? 0 : 1;
}
