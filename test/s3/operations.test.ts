import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../helpers/cli.js';
import { ACCESS_KEY, SECRET_KEY, startServer, type RunningServer } from '../helpers/server.js';
import { send, signedHeaders } from '../helpers/sign.js';

describe('operator endpoints', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ WORKERS: '1' });
    const s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'ops' }));
    await s3.send(new PutObjectCommand({ Bucket: 'ops', Key: 'k', Body: Buffer.alloc(300_000, 1) }));
  });
  afterAll(async () => { await server.stop(); });

  it('answers liveness and readiness without credentials', async () => {
    expect(await send(server.port, 'GET', '/_kintsugi/health/live')).toMatchObject({ status: 200 });
    expect(await send(server.port, 'GET', '/_kintsugi/health/ready')).toMatchObject({ status: 200, body: 'OK 7 of 7 nodes writable\n' });
  });

  it('exports Prometheus metrics: requests by API and code, latency, bytes, codec, nodes, reconstructions', async () => {
    await rm(join(server.nodePath, 'node-0', 'data'), { recursive: true, force: true });
    const got = await server.client().send(new GetObjectCommand({ Bucket: 'ops', Key: 'k' }));
    await got.Body!.transformToByteArray();
    const { status, body } = await send(server.port, 'GET', '/_kintsugi/metrics');
    expect(status).toBe(200);
    expect(body).toMatch(/^kintsugi_requests_total\{worker="\d+",api="PutObject",code="200"\} 1$/m);
    expect(body).toMatch(/^kintsugi_request_duration_seconds_bucket\{worker="\d+",api="GetObject",le="\+Inf"\} 1$/m);
    expect(body).toMatch(/^kintsugi_bytes_in_total\{worker="\d+"\} \d+$/m);
    expect(body).toMatch(/^kintsugi_codec_info\{worker="\d+",impl="native"\} 1$/m);
    expect(body).toMatch(/^kintsugi_node_up\{worker="\d+",node="6"\} 1$/m);
    expect(body).toMatch(/^kintsugi_shards_reconstructed_total\{worker="\d+"\} 1$/m);
  });

  it('reports node health and heal state to signed admin requests only', async () => {
    expect((await send(server.port, 'GET', '/_kintsugi/admin/status')).status).toBe(403);
    const r = await send(server.port, 'GET', '/_kintsugi/admin/status', await signedHeaders(server.port, 'GET', '/_kintsugi/admin/status', {}));
    expect(r.status).toBe(200);
    const status = JSON.parse(r.body) as { codec: string; nodes: { healthy: boolean }[]; heal: { queued: number } };
    expect(status.codec).toBe('native');
    expect(status.nodes).toHaveLength(7);
    expect(status.heal).toMatchObject({ scanning: false });
  });

  it('sets the background passes\' pace to a signed POST (checked), and shows where every node\'s scrub stands', async () => {
    const path = '/_kintsugi/admin/heal';
    expect((await send(server.port, 'POST', `${path}?rate=250`)).status).toBe(403);
    for (const bad of ['rate=-1', 'rate=fast', 'rate=5&x=1', '']) {
      const url = `${path}${bad ? `?${bad}` : ''}`;
      const r = await send(server.port, 'POST', url, await signedHeaders(server.port, 'POST', url, {}));
      expect(r.status, bad).toBe(400);
      expect(r.body).toContain('<Code>InvalidArgument</Code>');
    }
    const set = await send(server.port, 'POST', `${path}?rate=250`, await signedHeaders(server.port, 'POST', `${path}?rate=250`, {}));
    expect(set).toMatchObject({ status: 200, body: '{"rate":250}' });
    type Heal = { rate: number; scrub?: { node: number; state: string }[] };
    let heal: Heal | undefined;
    for (let i = 0; i < 100; i++) {
      const r = await send(server.port, 'GET', '/_kintsugi/admin/status', await signedHeaders(server.port, 'GET', '/_kintsugi/admin/status', {}));
      heal = (JSON.parse(r.body) as { heal: Heal }).heal;
      if (heal.rate === 250 && heal.scrub?.length === 7) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(heal!.rate).toBe(250);
    expect(heal!.scrub!.map((s) => s.node)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const s of heal!.scrub!) expect(['scrubbing', 'waiting']).toContain(s.state);
  });

  it('reports the cluster layout and the rebalance, whose pace a signed POST sets (checked)', async () => {
    const status = async () => JSON.parse((await send(server.port, 'GET', '/_kintsugi/admin/status', await signedHeaders(server.port, 'GET', '/_kintsugi/admin/status', {}))).body) as {
      layout: { version: number; newestVersion: number; nodes: { role: string }[] }; rebalance: { state: string; rate: number };
    };
    const first = await status();
    expect(first.layout).toMatchObject({ version: 1, newestVersion: 1 });
    expect(first.layout.nodes.map((n) => n.role)).toEqual(Array(7).fill('active'));
    expect(first.rebalance).toMatchObject({ state: 'idle', rate: 0 });
    const path = '/_kintsugi/admin/rebalance';
    expect((await send(server.port, 'POST', `${path}?rate=40`)).status).toBe(403);
    for (const bad of ['rate=-1', 'rate=', 'rate=5&start=pass', '']) {
      const url = `${path}${bad ? `?${bad}` : ''}`;
      const r = await send(server.port, 'POST', url, await signedHeaders(server.port, 'POST', url, {}));
      expect(r.status, bad).toBe(400);
      expect(r.body).toContain('<Code>InvalidArgument</Code>');
    }
    expect(await send(server.port, 'POST', `${path}?rate=40`, await signedHeaders(server.port, 'POST', `${path}?rate=40`, {}))).toMatchObject({ status: 200, body: '{"rate":40}' });
    expect((await status()).rebalance.rate).toBe(40);
    const { body } = await send(server.port, 'GET', '/_kintsugi/metrics');
    expect(body).toMatch(/^kintsugi_layout_version\{worker="\d+"\} 1$/m);
  });

  it('is not ready once fewer nodes than the write quorum are up', async () => {
    for (const n of [1, 2, 3, 4]) await rm(join(server.nodePath, `node-${n}`), { recursive: true, force: true });
    const r = await send(server.port, 'GET', '/_kintsugi/health/ready');
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/NOT READY: 3 of 7 nodes writable; degraded: node 1 offline, node 2 offline, node 3 offline, node 4 offline, 4 needed/);
  });
});

describe('metrics behind a bearer token (METRICS_TOKEN)', () => {
  let server: RunningServer;
  beforeAll(async () => { server = await startServer({ WORKERS: '1', METRICS_TOKEN: 'scrape-me-2026' }); });
  afterAll(async () => { await server.stop(); });

  it('answers a scraper with the token, and nothing but 401 to anyone without it; health stays open', async () => {
    const scraped = await send(server.port, 'GET', '/_kintsugi/metrics', { authorization: 'Bearer scrape-me-2026' });
    expect(scraped.status).toBe(200);
    expect(scraped.body).toContain('kintsugi_codec_info');
    for (const authorization of [undefined, 'Bearer wrong-token-2026', 'Basic c2NyYXBlLW1lLTIwMjY=', 'Bearer scrape-me-2026x']) {
      const refused = await send(server.port, 'GET', '/_kintsugi/metrics', authorization ? { authorization } : {});
      expect(refused.status, authorization).toBe(401);
      expect(refused.body).not.toContain('kintsugi_');
    }
    expect(await send(server.port, 'GET', '/_kintsugi/health/ready')).toMatchObject({ status: 200 });
  });

  it('the start banner names the web console and prints no secret of the operator\'s own', () => {
    expect(server.output()).toContain(`web console           ${server.endpoint}/_kintsugi/console/`);
    expect(server.output()).not.toContain(SECRET_KEY);
    expect(server.output()).toContain('aws_secret_access_key "$SECRET_KEY"');
  });

  it('also answers a user\'s SigV4-signed request (as the web console sends), and refuses a wrong signature', async () => {
    const signed = await signedHeaders(server.port, 'GET', '/_kintsugi/metrics', {});
    expect(await send(server.port, 'GET', '/_kintsugi/metrics', signed)).toMatchObject({ status: 200, body: expect.stringContaining('kintsugi_codec_info') });
    const forged = { ...signed, authorization: signed.authorization!.replace(/Signature=[0-9a-f]+/, `Signature=${'0'.repeat(64)}`) };
    const refused = await send(server.port, 'GET', '/_kintsugi/metrics', forged);
    expect([refused.status, refused.body]).toEqual([403, expect.stringContaining('SignatureDoesNotMatch')]);
  });
});

describe('kintsugi status', () => {
  let server: RunningServer;
  beforeAll(async () => { server = await startServer({ WORKERS: '1' }); });
  afterAll(async () => { await server.stop(); });
  const status = (...args: string[]) => runCli(['status', ...args], { PORT: String(server.port), ACCESS_KEY, SECRET_KEY });

  it('prints every node, the read and write quorum and the heal state of the running server', () => {
    const r = status();
    expect(r.status, r.stderr).toBe(0);
    for (let n = 0; n < 7; n++) expect(r.stdout).toMatch(new RegExp(`node ${n}\\s+ok`));
    expect(r.stdout).toContain('writes: OK, 7 of 7 nodes writable, 4 needed');
    expect(r.stdout).toContain('reads:  OK, 7 of 7 nodes readable, 4 needed');
    expect(r.stdout).toMatch(/heal:\s+0 objects queued/);
    expect(r.stdout).toMatch(/scrub:\s+node 0 /);
    const json = JSON.parse(status('--json').stdout) as { nodes: unknown[]; quorum: { writable: number; writeQuorum: number } };
    expect([json.nodes.length, json.quorum.writable, json.quorum.writeQuorum]).toEqual([7, 7, 4]);
  });

  it('says so when writes lose their quorum (exit 1), and when it cannot ask (exit 2)', async () => {
    for (const n of [0, 1, 2, 3]) await rm(join(server.nodePath, `node-${n}`), { recursive: true, force: true });
    const down = status();
    expect(down.status, down.stdout + down.stderr).toBe(1);
    expect(down.stdout).toMatch(/writes: NO QUORUM, 3 of 7 nodes writable, 4 needed/);
    expect(down.stdout).toMatch(/node 0\s+offline/);
    const wrongSecret = runCli(['status'], { PORT: String(server.port), ACCESS_KEY, SECRET_KEY: 'not-the-secret-key' });
    expect([wrongSecret.status, wrongSecret.stderr]).toEqual([2, expect.stringContaining('SignatureDoesNotMatch')]);
    const nobody = runCli(['status', '--endpoint=http://127.0.0.1:9']);
    expect([nobody.status, nobody.stderr]).toEqual([2, expect.stringContaining('cannot reach')]);
  });
});
