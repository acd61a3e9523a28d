import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { freePort } from '../helpers/server.js';

const BASE = 'localhost/kintsugi-base:bookworm-node20';
/** KINTSUGI_TEST_IMAGE names an image built already (the test then only runs it). */
const IMAGE = process.env.KINTSUGI_TEST_IMAGE ?? 'localhost/kintsugi:test';
const PREBUILT = process.env.KINTSUGI_TEST_IMAGE !== undefined;
const hasBuildah = spawnSync('buildah', ['--version']).status === 0 && spawnSync('debootstrap', ['--version']).status === 0;
if (!hasBuildah) console.log('[image] skipped: buildah and debootstrap are needed (scripts/setup.sh installs them)');

function run(command: string, args: string[], timeoutMs = 1_800_000): string {
  const r = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${(r.stdout ?? '').slice(-3000)}\n${(r.stderr ?? '').slice(-3000)}`);
  return r.stdout;
}

/** Waits until `url` answers (200 only, when `ok`: a node answers 503 until a gateway has given it its identity). */
async function ready(url: string, what: string, ok = true, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const up = await fetch(url).then((r) => r.ok || !ok, () => false);
    if (up) return;
    if (Date.now() > deadline) throw new Error(`${what} did not come up at ${url}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(!hasBuildah)('the container image (buildah, from a locally made Debian base)', () => {
  const processes: ChildProcess[] = [];
  let container: string | undefined;
  let stopping = false;
  afterAll(async () => {
    stopping = true;
    for (const p of processes) if (p.pid && p.exitCode === null) { try { process.kill(-p.pid, 'SIGTERM'); } catch { /* gone */ } }
    await new Promise((r) => setTimeout(r, 1000));
    for (const p of processes) if (p.pid && p.exitCode === null) { try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ } }
    if (container) spawnSync('buildah', ['rm', container]);
    if (!PREBUILT) spawnSync('buildah', ['rmi', '-f', IMAGE]);
  }, 60_000);

  it('is built in two stages, holds no compilers, test clients or browsers, and runs seven nodes and two gateways the AWS CLI writes and reads through', async () => {
    if (!PREBUILT) run('bash', ['deploy/make-base.sh', BASE, tempDir('kintsugi-base-')]);
    if (!PREBUILT) run('buildah', ['bud', '--isolation', 'chroot', '--build-arg', `BASE=${BASE}`, '-f', 'deploy/Dockerfile', '-t', IMAGE, '.']);
    const size = run('buildah', ['images', '--format', '{{.Size}}', IMAGE]).trim();
    console.log(`[image] ${IMAGE}: ${size}`);

    // The image's own entrypoint, with the commands compose.yaml and the manifests give it (`node`, `server`).
    // Go's template prints the list as [a b]: the entrypoint's words have no spaces.
    const entrypoint = run('buildah', ['inspect', '--type', 'image', '--format', '{{.OCIv1.Config.Entrypoint}}', IMAGE]).trim().replace(/^\[|\]$/g, '').split(' ');
    expect(entrypoint).toEqual(['node', '/opt/kintsugi/dist/server/cli.js']);
    container = run('buildah', ['from', IMAGE]).trim();
    const inside = (...cmd: string[]) => run('buildah', ['run', '--isolation', 'chroot', container!, '--', ...cmd]);
    expect(inside('sh', '-c', 'for c in gcc g++ cc emcc make aws rclone s3cmd chromium firefox-esr nginx; do command -v $c; done; true').trim()).toBe('');
    expect(inside('node', '-v').trim()).toMatch(/^v20\./);
    expect(inside('ls', '/opt/kintsugi/codecs/jerasure-native/build/Release', '/opt/kintsugi/codecs/jerasure-wasm/build', '/opt/kintsugi/console/build')).toMatch(/kintsugi_jerasure\.node[\s\S]*jerasure\.wasm[\s\S]*app\.js/);

    /** `kintsugi <args>` from the image, on this host's loopback (the host's network: tests listen on 127.0.0.1 only). */
    const start = (env: Record<string, string>, ...args: string[]) => {
      const envArgs = Object.entries({ HOST: '127.0.0.1', SYNC: 'off', ...env }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
      const child = spawn('buildah', ['run', '--isolation', 'chroot', '--network', 'host', ...envArgs, container!, '--', ...entrypoint, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
      let err = '';
      child.stderr!.on('data', (d) => { err = (err + d).slice(-4000); });
      child.on('exit', (code) => { if (code && !stopping) console.log(`[image] kintsugi ${args[0]} exited ${code}: ${err}`); });
      processes.push(child);
      return child;
    };
    const secret = 'image cluster secret';
    // A node serves a folder that exists (a mounted volume): it never makes its own mount point.
    inside('mkdir', '-p', ...Array.from({ length: 7 }, (_, i) => `/data/node-${i}`));
    const nodePorts: number[] = [];
    for (let i = 0; i < 7; i++) {
      const port = await freePort();
      nodePorts.push(port);
      start({ NODE_DIR: `/data/node-${i}`, PORT: String(port), CLUSTER_SECRET: secret }, 'node');
    }
    for (const port of nodePorts) await ready(`http://127.0.0.1:${port}/health`, 'a node', false);
    const gatewayEnv = { NODES: nodePorts.map((p) => `http://127.0.0.1:${p}`).join(','), CLUSTER_SECRET: secret, ACCESS_KEY: 'image-key', SECRET_KEY: 'image-secret-key', WORKERS: '1' };
    const gateways: string[] = [];
    for (let g = 0; g < 2; g++) {
      const port = await freePort();
      start({ ...gatewayEnv, PORT: String(port) }, 'server');
      gateways.push(`http://127.0.0.1:${port}`);
    }
    for (const url of gateways) await ready(`${url}/_kintsugi/health/ready`, 'a gateway');

    const work = tempDir('kintsugi-image-cli-');
    const aws = (endpoint: string, ...args: string[]) => run('aws', ['--endpoint-url', endpoint, ...args], 120_000);
    process.env.AWS_ACCESS_KEY_ID = 'image-key';
    process.env.AWS_SECRET_ACCESS_KEY = 'image-secret-key';
    process.env.AWS_DEFAULT_REGION = 'us-east-1';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    const body = randomBytes(12 << 20);
    writeFileSync(join(work, 'in.bin'), body);
    aws(gateways[0]!, 's3', 'mb', 's3://from-image');
    aws(gateways[0]!, 's3', 'cp', '--no-progress', join(work, 'in.bin'), 's3://from-image/dir/in.bin');
    aws(gateways[1]!, 's3', 'cp', '--no-progress', 's3://from-image/dir/in.bin', join(work, 'out.bin'));
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    expect(sha(readFileSync(join(work, 'out.bin')))).toBe(sha(body));
    expect(aws(gateways[1]!, 's3', 'ls', 's3://from-image/dir/')).toMatch(/in\.bin/);
  }, 3_600_000);
});
