import type { Codec } from '../../core/contracts/codec.js';
import type { BucketUsage } from '../../core/engine/bucket-usage.js';
import type { BucketStore } from '../../core/engine/buckets.js';
import type { NodeSet, NodeState } from '../../core/contracts/nodes.js';
import type { Healer } from '../../core/engine/healer.js';
import type { Rebalancer } from '../../core/engine/rebalancer.js';
import type { LayoutView } from '../../core/layout-view.js';
import { toPrimary } from '../../core/cluster-messages.js';
import type { LifecycleWorker } from '../../core/engine/lifecycle.js';
import type { DegradedRead, ObjectEngine } from '../../core/engine/object-engine.js';
import type { Metrics } from '../../core/metrics.js';
import { bucketsStatus, countedBucket, setQuota } from './admin-buckets.js';
import { authenticate } from './auth/auth.js';
import { header, type Credentials, type S3Request, type S3Response } from './context.js';
import { S3Error } from './s3-error.js';
import { signaturesEqual } from './auth/sigv4.js';

/**
 * Endpoints for operators, under `/_kintsugi/` (an underscore is not allowed
 * in bucket names, so these never shadow a bucket): liveness, readiness
 * (enough nodes for a write quorum), Prometheus metrics, and a signed admin
 * status with node health and heal state.
 */
export const OPS_PREFIX = '/_kintsugi/';

const NODE_STATES: readonly NodeState[] = ['ok', 'read-only', 'full', 'index-rebuilding', 'checking', 'refused', 'offline', 'removed'];

export class Operations {
  constructor(
    private readonly engine: ObjectEngine,
    private readonly healer: Healer,
    private readonly lifecycle: LifecycleWorker,
    private readonly rebalancer: Rebalancer,
    private readonly layout: LayoutView,
    private readonly nodes: NodeSet,
    private readonly codec: Codec,
    private readonly buckets: BucketStore,
    private readonly usage: BucketUsage,
    readonly metrics: Metrics,
    private readonly credentials: Credentials,
    /** METRICS_TOKEN, when metrics need a bearer token */
    private readonly metricsToken?: string,
  ) {
    metrics.set('kintsugi_codec_info', 'The codec build in use', { impl: codec.impl }, 1);
    engine.on('degraded', (e: DegradedRead) => {
      metrics.inc('kintsugi_degraded_reads_total', 'Reads that had to reconstruct shards');
      metrics.inc('kintsugi_shards_reconstructed_total', 'Shards found missing or rotten and rebuilt on read', {}, e.damage.shards.size);
    });
    metrics.collect(async () => {
      for (const n of this.nodes.health.status()) {
        metrics.set('kintsugi_node_up', 'Whether a storage node serves reads (ok, read-only, full or rebuilding its index)', { node: String(n.index) }, this.nodes.health.canRead(n.index) ? 1 : 0);
        metrics.set('kintsugi_node_writable', 'Whether a storage node takes writes', { node: String(n.index) }, this.nodes.health.canWrite(n.index) ? 1 : 0);
        for (const state of NODE_STATES) metrics.set('kintsugi_node_state', 'A storage node\'s state (1 for the state it is in)', { node: String(n.index), state }, n.state === state ? 1 : 0);
        metrics.set('kintsugi_node_state_since_seconds', 'When a storage node entered its state (Unix time)', { node: String(n.index) }, n.sinceMs / 1000);
        metrics.set('kintsugi_node_errors_total', 'Operations that failed on a storage node', { node: String(n.index) }, n.errors);
        metrics.set('kintsugi_node_latency_seconds', 'A moving average of a storage node\'s operation latency', { node: String(n.index) }, n.latencyMs / 1000);
        if (n.lastSuccessMs !== undefined) metrics.set('kintsugi_node_last_success_seconds', 'When an operation last succeeded on a storage node (Unix time)', { node: String(n.index) }, n.lastSuccessMs / 1000);
      }
      const heal = this.healer.status();
      metrics.set('kintsugi_heal_queue', 'Objects waiting to be healed after a degraded read or a scrub', {}, heal.queued);
      metrics.set('kintsugi_heal_scanning', 'Whether a background heal pass is running', {}, heal.scanning ? 1 : 0);
      metrics.set('kintsugi_heal_rate_limit', 'Objects a second background heal passes check at most (0: no limit)', {}, heal.rate);
      if (heal.pass) {
        metrics.set('kintsugi_heal_pass_keys', 'Keys the running heal pass has swept', {}, heal.pass.keys);
        metrics.set('kintsugi_heal_pass_keys_per_second', 'The running heal pass\'s rate', {}, heal.pass.keysPerSecond);
        metrics.set('kintsugi_heal_pass_bytes_rewritten', 'Bytes the running heal pass has rebuilt', {}, heal.pass.summary.bytesRewritten);
      }
      for (const sc of heal.scrub ?? []) {
        const node = { node: String(sc.node) };
        metrics.set('kintsugi_scrub_running', 'Whether a node\'s scrub pass is under way', node, sc.state === 'scrubbing' ? 1 : 0);
        if (sc.bytes !== undefined) metrics.set('kintsugi_scrub_pass_bytes', 'Bytes the node\'s current (or last) scrub pass has read', node, sc.bytes);
        if (sc.lastPass) metrics.set('kintsugi_scrub_last_pass_finished_seconds', 'When the node\'s last scrub pass finished (Unix time)', node, sc.lastPass.finishedMs / 1000);
        if (sc.lastPass) metrics.set('kintsugi_scrub_last_pass_damaged', 'What the node\'s last scrub pass found damaged', node, sc.lastPass.damaged);
      }
      metrics.set('kintsugi_layout_version', 'The cluster layout version this process places data by', {}, this.layout.layout.version);
      const rebalance = this.rebalancer.status();
      metrics.set('kintsugi_rebalance_moving', 'Whether a rebalance is moving data to the layout in use', {}, rebalance.state === 'moving' ? 1 : 0);
      if (rebalance.progress) {
        metrics.set('kintsugi_rebalance_keys', 'Keys the rebalance has looked at', {}, rebalance.progress.keys);
        metrics.set('kintsugi_rebalance_shards_moved', 'Shards the rebalance has moved', {}, rebalance.progress.shardsMoved);
        metrics.set('kintsugi_rebalance_bytes_moved', 'Shard bytes the rebalance has copied', {}, rebalance.progress.bytesMoved);
      }
      if (heal.lastPass) {
        metrics.set('kintsugi_heal_last_pass_objects', 'Objects checked by the last heal pass', {}, heal.lastPass.objectsChecked);
        metrics.set('kintsugi_heal_last_pass_shards_rebuilt', 'Shards rebuilt by the last heal pass', {}, heal.lastPass.shardsRebuilt);
        metrics.set('kintsugi_heal_last_pass_unrecoverable', 'Objects the last heal pass could not recover', {}, heal.lastPass.unrecoverable.length);
      }
      // The lifecycle worker runs in the server's primary, which tells every worker its status after each pass.
      const lc = this.lifecycle.status();
      metrics.set('kintsugi_lifecycle_passes', 'Lifecycle passes finished', {}, lc.passes);
      metrics.set('kintsugi_lifecycle_running', 'Whether a lifecycle pass is running', {}, lc.running ? 1 : 0);
      for (const [action, n] of Object.entries(lc.totals)) metrics.set('kintsugi_lifecycle_total', 'What lifecycle passes did (versions scanned, expired, aborted)', { action }, n);
      if (lc.lastPass) metrics.set('kintsugi_lifecycle_last_pass_finished_seconds', 'When the last lifecycle pass finished (Unix time)', {}, lc.lastPass.finishedMs / 1000);
      for (const b of await bucketsStatus(this.buckets, this.usage).catch(() => [])) {
        const bucket = { bucket: b.name };
        if (b.quotaBytes !== undefined) metrics.set('kintsugi_bucket_quota_bytes', 'A bucket\'s hard quota', bucket, b.quotaBytes);
        if (!b.usage) continue;
        metrics.set('kintsugi_bucket_objects', 'Objects in a bucket (current versions), as last counted', bucket, b.usage.objects);
        metrics.set('kintsugi_bucket_versions', 'Object versions in a bucket, current and noncurrent, as last counted', bucket, b.usage.versions);
        metrics.set('kintsugi_bucket_bytes', 'Bytes of a bucket\'s versions, as last counted', bucket, b.usage.bytes);
        metrics.set('kintsugi_bucket_stored_bytes', 'Bytes of a bucket\'s versions with parity, as last counted', bucket, b.usage.storedBytes);
        metrics.set('kintsugi_bucket_upload_bytes', 'Bytes of a bucket\'s incomplete multipart uploads, as last counted', bucket, b.usage.uploadBytes);
      }
    });
  }

  /** Counts one S3 request. */
  record(api: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void {
    this.metrics.inc('kintsugi_requests_total', 'S3 requests by API and HTTP status', { api, code: String(status) });
    this.metrics.observe('kintsugi_request_duration_seconds', 'S3 request latency', { api }, seconds);
    if (bytesIn) this.metrics.inc('kintsugi_bytes_in_total', 'Request body bytes received', {}, bytesIn);
    if (bytesOut) this.metrics.inc('kintsugi_bytes_out_total', 'Response body bytes sent', {}, bytesOut);
  }

  async handle(req: S3Request): Promise<S3Response> {
    const path = req.rawPath.slice(OPS_PREFIX.length);
    const text = (status: number, body: string, type = 'text/plain; charset=utf-8'): S3Response => ({ status, headers: { 'content-type': type }, body });
    switch (path) {
      case 'health/live':
        return text(200, 'OK\n');
      case 'health/ready': {
        await this.nodes.health.refresh();
        // Nodes taken out of the layout are neither counted nor sick.
        const nodes = this.nodes.health.status().filter((n) => n.state !== 'removed');
        const writable = nodes.filter((n) => this.nodes.health.canWrite(n.index)).length;
        const sick = nodes.filter((n) => n.state !== 'ok').map((n) => `node ${n.index} ${n.state}`);
        const detail = `${writable} of ${nodes.length} nodes writable${sick.length ? `; degraded: ${sick.join(', ')}` : ''}`;
        return writable >= this.engine.writeQuorum ? text(200, `OK ${detail}\n`) : text(503, `NOT READY: ${detail}, ${this.engine.writeQuorum} needed\n`);
      }
      case 'metrics':
        if (this.metricsToken !== undefined && !bearerMatches(header(req, 'authorization'), this.metricsToken)) {
          // A scraper shows the token; a user (the console) may sign the request instead.
          if (!signedAsS3(req)) {
            return { status: 401, headers: { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="kintsugi metrics"' }, body: 'a bearer token is needed (METRICS_TOKEN)\n' };
          }
          authenticate(req, (k) => this.credentials.secretFor(k));
        }
        return text(200, await this.metrics.render(), 'text/plain; version=0.0.4');
      case 'admin/status': {
        authenticate(req, (k) => this.credentials.secretFor(k));
        await this.nodes.health.refresh();
        const nodes = this.nodes.health.status().map((n) => ({ ...n, healthy: n.state === 'ok' }));
        const quorum = {
          writable: nodes.filter((n) => this.nodes.health.canWrite(n.index)).length,
          readable: nodes.filter((n) => this.nodes.health.canRead(n.index)).length,
          writeQuorum: this.engine.writeQuorum,
          readQuorum: this.engine.readQuorum,
        };
        const layout = { ...this.layout.layout, newestVersion: this.layout.newestVersion };
        const buckets = await bucketsStatus(this.buckets, this.usage);
        return text(200, JSON.stringify({ codec: this.codec.impl, nodes, quorum, heal: this.healer.status(), lifecycle: this.lifecycle.status(), layout, rebalance: this.rebalancer.status(), buckets }), 'application/json');
      }
      case 'admin/usage': {
        authenticate(req, (k) => this.credentials.secretFor(k));
        if (req.method !== 'GET') throw new S3Error('MethodNotAllowed', 'a bucket\'s usage is read with GET');
        return text(200, JSON.stringify(await countedBucket(req, this.buckets, this.usage)), 'application/json');
      }
      case 'admin/quota': {
        authenticate(req, (k) => this.credentials.secretFor(k));
        if (req.method !== 'PUT') throw new S3Error('MethodNotAllowed', 'a bucket\'s quota is set with PUT');
        return text(200, JSON.stringify(await setQuota(req, this.buckets)), 'application/json');
      }
      case 'admin/heal': {
        // The background passes' pace, changed while one runs (rate=OBJECTS_PER_SECOND, 0: no limit),
        // and a pass started now (start=pass: a wiped node refilled without stopping the server).
        authenticate(req, (k) => this.credentials.secretFor(k));
        if (req.method !== 'POST') throw new S3Error('MethodNotAllowed', 'the heal pace is set with POST');
        const rate = req.query.get('rate');
        const start = req.query.get('start');
        const known = [...req.query.keys()].every((k) => k === 'rate' || k === 'start');
        if (!known || (rate === null && start === null) || (rate !== null && !/^\d{1,9}$/.test(rate)) || (start !== null && start !== 'pass')) {
          throw new S3Error('InvalidArgument', 'POST /_kintsugi/admin/heal takes rate=N (objects a second, 0 for no limit) and/or start=pass, nothing else');
        }
        if (rate !== null) {
          this.healer.setRate(Number(rate));
          toPrimary({ kintsugi: 'heal-rate', objectsPerSecond: Number(rate) });
        }
        if (start !== null) toPrimary({ kintsugi: 'heal-start' });
        return text(200, JSON.stringify({ ...(rate !== null ? { rate: Number(rate) } : {}), ...(start !== null ? { started: true } : {}) }), 'application/json');
      }
      case 'admin/rebalance': {
        // The rebalance's pace, changed while it runs (rate=OBJECTS_PER_SECOND, 0: no limit).
        authenticate(req, (k) => this.credentials.secretFor(k));
        if (req.method !== 'POST') throw new S3Error('MethodNotAllowed', 'the rebalance pace is set with POST');
        const rate = req.query.get('rate');
        if ([...req.query.keys()].some((k) => k !== 'rate') || rate === null || !/^\d{1,9}$/.test(rate)) {
          throw new S3Error('InvalidArgument', 'POST /_kintsugi/admin/rebalance takes rate=N (objects a second, 0 for no limit), nothing else');
        }
        this.rebalancer.setRate(Number(rate));
        toPrimary({ kintsugi: 'rebalance-rate', objectsPerSecond: Number(rate) });
        return text(200, JSON.stringify({ rate: Number(rate) }), 'application/json');
      }
      default:
        throw new S3Error('NoSuchKey', `no operations endpoint ${req.rawPath}`);
    }
  }
}

/** Whether an Authorization header carries the bearer token (compared in constant time). */
function bearerMatches(authorization: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  return m !== null && signaturesEqual(m[1]!.trim(), token);
}

/** Whether a request is signed the way S3 requests are (SigV4 or SigV2, header or query). */
function signedAsS3(req: S3Request): boolean {
  const auth = header(req, 'authorization') ?? '';
  return auth.startsWith('AWS4-HMAC-SHA256 ') || auth.startsWith('AWS ') || req.query.has('X-Amz-Algorithm') || req.query.has('AWSAccessKeyId');
}
