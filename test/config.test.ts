import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { DEFAULT_CONFIG, loadConfig, parseConfig, settingsFromEnv } from '../core/config.js';
import { SETTINGS, settingsTable } from '../core/settings.js';
import { ROOT } from './helpers/cli.js';
import { ConfigError } from '../core/errors.js';
import { tempDir } from './helpers/engine.js';

function refusal(raw: Parameters<typeof parseConfig>[0]): ConfigError {
  try {
    parseConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('configuration was accepted');
}

describe('configuration', () => {
  it('defaults to the origin system: 4+3 on 7 nodes, 3 metadata copies, ./data, cauchy', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ data: 4, parity: 3, numNodes: 7, metaCopies: 3, nodePath: './data', matrixType: 'cauchy', codec: 'auto', placement: 'hash' });
    expect(c.technique).toBe('cauchy_good');
    expect(c).toEqual(DEFAULT_CONFIG);
  });

  it('runs a worker per two cores while node folders are on this host (their I/O is its thread pool\'s), one per core when every node is a URL, and WORKERS when set', () => {
    expect(parseConfig({}).workers).toBe(Math.max(1, Math.floor(availableParallelism() / 2)));
    expect(parseConfig({ NODES: 'http://a:9100,http://b:9100,http://c:9100,http://d:9100,http://e:9100,http://f:9100,http://g:9100', CLUSTER_SECRET: 'secret-of-the-cluster' }).workers).toBe(availableParallelism());
    expect(parseConfig({ WORKERS: '3' }).workers).toBe(3);
  });

  it('reads the origin names from the environment', () => {
    const c = loadConfig({ DATA: '6', PARITY: '2', NUMNODES: '9', METACOPIES: '5', NODEPATH: '/srv/k', MATRIXTYPE: 'reed_sol_van', CODEC: 'wasm', PLACEMENT: 'hash' });
    expect(c).toMatchObject({ data: 6, parity: 2, numNodes: 9, metaCopies: 5, nodePath: '/srv/k', technique: 'reed_sol_van', codec: 'wasm' });
  });

  it('reads a JSON file named by KINTSUGI_CONFIG, with the environment taking precedence', () => {
    const dir = tempDir('kintsugi-config-');
    const file = join(dir, 'kintsugi.json');
    writeFileSync(file, JSON.stringify({ DATA: 8, PARITY: 4, NUMNODES: 12, MATRIXTYPE: 'cauchy_orig' }));
    const c = loadConfig({ KINTSUGI_CONFIG: file, PARITY: '3' });
    expect(c).toMatchObject({ data: 8, parity: 3, numNodes: 12, technique: 'cauchy_orig' });
  });

  it('refuses unknown keys and unreadable files, naming them', () => {
    const dir = tempDir('kintsugi-config-');
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ DATTA: 4 }));
    expect(() => loadConfig({ KINTSUGI_CONFIG: file })).toThrow(/DATTA: unknown setting/);
    writeFileSync(file, '{ not json');
    expect(() => loadConfig({ KINTSUGI_CONFIG: file })).toThrow(ConfigError);
    expect(() => loadConfig({ KINTSUGI_CONFIG: join(dir, 'missing.json') })).toThrow(/cannot read/);
  });

  describe('refuses at start, naming the setting and the rule', () => {
    it('DATA+PARITY greater than NUMNODES', () => {
      const e = refusal({ DATA: 5, PARITY: 3 });
      expect(e.setting).toBe('DATA+PARITY');
      expect(e.message).toMatch(/must not exceed NUMNODES \(7\)/);
    });

    it('an even METACOPIES', () => {
      expect(refusal({ METACOPIES: 2 }).message).toMatch(/^METACOPIES: must be odd/);
    });

    it('METACOPIES above NUMNODES', () => {
      expect(refusal({ METACOPIES: 9 }).message).toMatch(/^METACOPIES: must not exceed NUMNODES/);
    });

    it('DATA+PARITY above 256 for w=8', () => {
      const e = refusal({ DATA: 250, PARITY: 10, NUMNODES: 300 });
      expect(e.message).toMatch(/^DATA\+PARITY: must be at most 256 for w=8/);
    });

    it('an unknown codec', () => {
      expect(refusal({ CODEC: 'gpu' }).message).toMatch(/^CODEC: unknown codec 'gpu' \(known: auto, native, wasm\)/);
    });

    it('an unknown technique', () => {
      expect(refusal({ MATRIXTYPE: 'liberation' }).message).toMatch(/^MATRIXTYPE: unknown technique 'liberation'/);
    });

    it('non-integer and out-of-range numbers', () => {
      expect(refusal({ DATA: 'four' }).message).toMatch(/^DATA: must be an integer/);
      expect(refusal({ PARITY: 0 }).message).toMatch(/^PARITY: must be at least 1/);
      expect(refusal({ W: 16 }).message).toMatch(/^W: only w=8/);
      expect(refusal({ PACKETSIZE: 100 }).message).toMatch(/^PACKETSIZE: must be a multiple of 8/);
    });
  });
});

describe('the settings table', () => {
  it('is what docs/configuration.md shows, and names every setting the configuration reads', () => {
    const docs = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
    expect(docs).toContain(settingsTable());
    const env = Object.fromEntries(Object.values(SETTINGS).map((s) => [s.name, 'x']));
    expect(Object.keys(settingsFromEnv(env)).sort()).toEqual(Object.values(SETTINGS).map((s) => s.name).sort());
  });
});
