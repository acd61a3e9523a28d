import { afterEach, describe, expect, it } from 'vitest';

import { parseConfig } from '../core/config.js';
import type { DependencyContainer } from 'tsyringe';

import { createContainer as create } from '../core/container.js';
import { UnknownPluginError } from '../core/errors.js';
import { MemoryLogger } from '../core/logger.js';
import { TOKENS } from '../core/tokens.js';
import { PLUGINS } from '../server/plugins.js';
import { tempDir } from './helpers/engine.js';

/** A configuration whose node folders live in a fresh temporary folder. */
const settings = (raw: Parameters<typeof parseConfig>[0]) =>
  parseConfig({ NODEPATH: tempDir('kintsugi-container-'), ...raw });

/** Every container a test made, closed after it (their node folders' shelves are open). */
const made: DependencyContainer[] = [];
async function createContainer(...args: Parameters<typeof create>): Promise<DependencyContainer> {
  const c = await create(...args);
  made.push(c);
  return c;
}

describe('the container', () => {
  const saved = process.env.KINTSUGI_NATIVE_ADDON;
  afterEach(async () => {
    for (const c of made.splice(0)) {
      await c.resolve(TOKENS.MetadataStore).close().catch(() => undefined);
      await c.resolve(TOKENS.Nodes).close();
    }
    if (saved === undefined) delete process.env.KINTSUGI_NATIVE_ADDON;
    else process.env.KINTSUGI_NATIVE_ADDON = saved;
  });

  it.each(['native', 'wasm'] as const)('gives CODEC=%s the build it names', async (codec) => {
    const c = await createContainer(settings({ CODEC: codec }), PLUGINS, { logger: new MemoryLogger() });
    expect(c.resolve(TOKENS.Codec).impl).toBe(codec);
  });

  it('gives CODEC=auto the native build when the addon loads, and says so', async () => {
    const logger = new MemoryLogger();
    const codec = (await createContainer(settings({}), PLUGINS, { logger })).resolve(TOKENS.Codec);
    expect(codec.impl).toBe('native');
    expect(logger.lines.find((l) => l.message.startsWith('codec:'))?.fields).toMatchObject({ codec: 'native' });
  });

  it('falls back to WASM under CODEC=auto when the addon cannot be loaded, logging why', async () => {
    process.env.KINTSUGI_NATIVE_ADDON = '/nonexistent/kintsugi_jerasure.node';
    const logger = new MemoryLogger();
    const codec = (await createContainer(settings({}), PLUGINS, { logger })).resolve(TOKENS.Codec);
    expect(codec.impl).toBe('wasm');
    expect(codec.reason).toMatch(/fell back to WASM because the native jerasure build unavailable: Cannot find module/);
    expect(logger.lines.some((l) => l.fields?.codec === 'wasm')).toBe(true);
  });

  it('refuses CODEC=native when the addon cannot be loaded instead of silently using WASM', async () => {
    process.env.KINTSUGI_NATIVE_ADDON = '/nonexistent/kintsugi_jerasure.node';
    const c = await createContainer(settings({ CODEC: 'native' }), PLUGINS, { logger: new MemoryLogger() });
    expect(() => c.resolve(TOKENS.Codec)).toThrow(/native jerasure build unavailable/);
  });

  it('hands out one codec per container and one coder per parameter set', async () => {
    const c = await createContainer(settings({}), PLUGINS, { logger: new MemoryLogger() });
    const codec = c.resolve(TOKENS.Codec);
    expect(c.resolve(TOKENS.Codec)).toBe(codec);
    const p = { k: 4, m: 3, w: 8, technique: 'cauchy_good', packetSize: 4096 } as const;
    expect(codec.coder(p)).toBe(codec.coder({ ...p }));
    expect(codec.coder({ ...p, m: 2 })).not.toBe(codec.coder(p));
  });

  it('wires placement by PLACEMENT and refuses unknown names with the known ones', async () => {
    const c = await createContainer(settings({}), PLUGINS, { logger: new MemoryLogger() });
    expect(c.resolve(TOKENS.Placement).name).toBe('hash');
    await expect(createContainer(settings({ PLACEMENT: 'nope' }), PLUGINS)).rejects.toThrow(UnknownPluginError);
    await expect(createContainer(settings({ PLACEMENT: 'nope' }), PLUGINS)).rejects.toThrow(/unknown placement plugin 'nope' \(known: hash/);
  });
});
