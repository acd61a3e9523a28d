import { describe, expect, it } from 'vitest';

import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/engine.js';

describe('the kintsugi command (built code)', () => {
  it('lists its commands with --help', () => {
    const r = runCli(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/demo \[FILE\]/);
    expect(r.stdout).toMatch(/DATA=4 PARITY=3 NUMNODES=7 METACOPIES=3/);
  });

  it.each(['native', 'wasm', 'auto'])('demo with CODEC=%s: destroys PARITY nodes and reconstructs bit-exact', (codec) => {
    const nodePath = tempDir('kintsugi-demo-');
    const r = runCli(['demo'], { CODEC: codec, NODEPATH: nodePath });
    expect(r.stderr).toMatch(new RegExp(`"codec":"${codec === 'auto' ? 'native' : codec}"`));
    expect(r.stdout).toMatch(/destroyed nodes \d, \d, \d \(3 = PARITY/);
    expect(r.stdout).toMatch(/reconstructed 8388608 bytes: bit-exact/);
    expect(r.status).toBe(0);
  });

  it('demo with another code and technique set by the environment', () => {
    const nodePath = tempDir('kintsugi-demo-');
    const r = runCli(['demo'], { DATA: '6', PARITY: '3', NUMNODES: '10', MATRIXTYPE: 'reed_sol_van', NODEPATH: nodePath });
    expect(r.stdout).toMatch(/6\+3 reed_sol_van/);
    expect(r.stdout).toMatch(/bit-exact/);
    expect(r.status).toBe(0);
  });

  it('config prints the settings in force without their secrets', () => {
    const r = runCli(['config'], { SECRET_KEY: 'a-real-secret-key', CLUSTER_SECRET: 'a-cluster-secret', USERS: 'reader:readers-secret' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ secretKey: '***', clusterSecret: '***', users: { reader: '***' }, data: 4, parity: 3 });
    expect(r.stdout).not.toMatch(/a-real-secret-key|a-cluster-secret|readers-secret/);
  });

  it('refuses an invalid configuration at start, naming the setting and the rule', () => {
    const r = runCli(['demo'], { METACOPIES: '4' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/METACOPIES: must be odd/);
  });
});
