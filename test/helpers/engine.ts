import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { DependencyContainer } from 'tsyringe';
import { afterAll } from 'vitest';

import type { DriveShelf } from '../../core/contracts/drive.js';
import type { NodeSet } from '../../core/contracts/nodes.js';
import { parseConfig, type KintsugiConfig, type RawSettings } from '../../core/config.js';
import { createContainer, type ContainerOptions } from '../../core/container.js';
import { ObjectEngine } from '../../core/engine/object-engine.js';
import { MemoryLogger } from '../../core/logger.js';
import type { Plugin } from '../../core/plugins.js';
import { TOKENS } from '../../core/tokens.js';
import { LocalDrive } from '../../plugins/drive-local/local-drive.js';
import { openMemoryNodes } from '../../plugins/drive-memory/index.js';
import { PLUGINS } from '../../server/plugins.js';

const made: string[] = [];
// Node folders of big test objects add up to gigabytes: every file that
// makes temporary folders through here removes them when it is done.
afterAll(async () => {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A fresh temporary folder, removed after the test file. */
export function tempDir(label = 'kintsugi-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), label));
  made.push(dir);
  return dir;
}

export interface TestStore {
  engine: ObjectEngine;
  container: DependencyContainer;
  config: KintsugiConfig;
  logger: MemoryLogger;
  nodeFolder(i: number): string;
  close(): Promise<void>;
}

/**
 * An engine over fresh node folders in a temporary directory (SYNC off
 * unless asked); `drives`: another drive plugin in place of the folders'.
 */
export async function openStore(raw: RawSettings = {}, nodePath = tempDir('kintsugi-engine-'), drives?: Plugin, options: Omit<ContainerOptions, 'logger'> = {}): Promise<TestStore> {
  const config = parseConfig({ NODEPATH: nodePath, SYNC: 'off', ...raw });
  const logger = new MemoryLogger();
  const plugins = drives ? [...PLUGINS.filter((p) => p.contract !== 'drive'), drives] : PLUGINS;
  const container = await createContainer(config, plugins, { ...options, logger });
  const engine = container.resolve(ObjectEngine);
  return {
    engine, config, logger, container,
    nodeFolder: (i) => join(nodePath, `node-${i}`),
    close: async () => {
      await container.resolve(TOKENS.MetadataStore).close();
      await container.resolve(TOKENS.Nodes).close();
    },
  };
}

/** An engine over `count` nodes held in memory (the drive plugin written from the contracts alone), and those drives for faults. */
export async function openMemoryStore(count: number, raw: RawSettings = {}): Promise<{ store: TestStore; drives: ReturnType<typeof openMemoryNodes> }> {
  const drives = openMemoryNodes(count);
  const memory: Plugin = { contract: 'drive', names: ['local'], register: (c) => { c.register(TOKENS.Drives, { useValue: drives }); } };
  return { store: await openStore({ NUMNODES: String(count), ...raw }, undefined, memory), drives };
}

/** Node n's shelf, where its record copies and inline shards are kept, as the store reaches it. */
export function shelfOf(store: TestStore, n: number): DriveShelf {
  return store.container.resolve<NodeSet>(TOKENS.Nodes).drives[n]!.shelf;
}

/** The shelf of a node folder served by another process (read through its own LocalDrive; LMDB is multi-process). */
export function folderShelf(folder: string): DriveShelf {
  return new LocalDrive(0, folder, false, '').shelf;
}

export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/** `size` random bytes delivered in chunks of random sizes (1 byte to 300 KiB). */
export async function* chunked(data: Uint8Array, seed = 7): AsyncGenerator<Uint8Array> {
  let s = seed;
  for (let at = 0; at < data.byteLength;) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const take = 1 + (s % (300 << 10));
    yield data.subarray(at, at + take);
    at += take;
  }
}

export async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of body) parts.push(part);
  return Buffer.concat(parts);
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
export const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
export const random = (n: number) => randomBytes(n);
