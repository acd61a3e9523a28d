import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { ACCESS_KEY, SECRET_KEY, startServer, type RunningServer } from '../helpers/server.js';

describe('independent S3 clients from Debian (AWS CLI, rclone, s3cmd)', () => {
  let server: RunningServer;
  beforeAll(async () => { server = await startServer(); });
  afterAll(async () => { await server.stop(); });

  it('store, list, copy, fetch (sha256-identical), delete and meet S3 errors', () => {
    const r = spawnSync('bash', [join(ROOT, 'test/s3/clients.sh'), server.endpoint, ACCESS_KEY, SECRET_KEY, tempDir('kintsugi-clients-')], {
      encoding: 'utf8', timeout: 300_000, env: { ...process.env, HOME: tempDir('kintsugi-home-') },
    });
    expect(`${r.stdout}\n${r.stderr}`.slice(-3000)).toMatch(/all clients ok/);
    expect(r.status).toBe(0);
  }, 320_000);
});
