import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';

import { SHELF_FORMAT_FILE } from '../../plugins/drive-local/folder-layout.js';
import { SHELF_FORMAT } from '../../plugins/drive-local/shelf-format.js';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { CLUSTER_SECRET, startNode, stopNode, type NodeProcess } from '../helpers/nodes.js';
import { startServer, type RunningServer } from '../helpers/server.js';

/**
 * The node folders release 42b6641 wrote (test/fixtures/folders-42b6641:
 * its listing index in a second LMDB environment beside the shelf), started
 * with this code: each shelf file is rewritten once with the classic free
 * list, the index moves into the shelf, everything reads back, writes go on.
 */
const FIXTURE = join(ROOT, 'test/fixtures/folders-42b6641/nodes.tgz');

function unpackFixture(): string {
  const dir = tempDir('kintsugi-upgrade-');
  const tar = spawnSync('tar', ['xzf', FIXTURE, '-C', dir]);
  expect(tar.status, String(tar.stderr)).toBe(0);
  return join(dir, 'data');
}

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/** The 300,000 bytes of big/large.bin, as the fixture's README says they were made (in doubles, as written there). */
function bigBody(): Buffer {
  const b = Buffer.alloc(300_000);
  let x = 1;
  for (let i = 0; i < b.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

async function expectEverything(s3: S3Client): Promise<void> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'plain', MaxKeys: 7, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((c) => c.Key!));
    token = page.NextContinuationToken;
  } while (token);
  const docs = Array.from({ length: 40 }, (_, i) => `docs/file-${String(i + 1).padStart(3, '0')}.txt`);
  expect(keys).toEqual(['big/large.bin', ...docs, 'top/ünï cødé.txt']);
  const body = async (Bucket: string, Key: string, VersionId?: string) => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket, Key, VersionId }))).Body!.transformToByteArray());
  for (const [i, key] of docs.entries()) expect((await body('plain', key)).toString()).toBe(`small object ${String(i + 1).padStart(3, '0')}\n`);
  expect(md5(await body('plain', 'big/large.bin'))).toBe('bf3fe297ff84b482d35accea890e3b62');
  expect(md5(bigBody())).toBe('bf3fe297ff84b482d35accea890e3b62');
  expect((await body('plain', 'top/ünï cødé.txt')).toString()).toBe('ünïcødé key\n');

  const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: 'kept' }));
  expect((versions.Versions ?? []).map((v) => [v.Key, v.IsLatest])).toEqual([['gone.txt', false], ['report.txt', true], ['report.txt', false], ['report.txt', false]]);
  expect((versions.DeleteMarkers ?? []).map((m) => [m.Key, m.IsLatest])).toEqual([['gone.txt', true]]);
  const reports = (versions.Versions ?? []).filter((v) => v.Key === 'report.txt');
  expect(await Promise.all(reports.map(async (v) => (await body('kept', 'report.txt', v.VersionId)).toString()))).toEqual(['version 3\n', 'version 2\n', 'version 1\n']);
  expect(((await s3.send(new ListObjectsV2Command({ Bucket: 'kept' }))).Contents ?? []).map((c) => c.Key)).toEqual(['report.txt']);
}

/** Writes that free pages (an overwrite, a removal) go on after the upgrade; the fixture's objects are untouched. */
async function expectWrites(s3: S3Client): Promise<void> {
  for (let i = 0; i < 3; i++) await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'after/upgrade.bin', Body: Buffer.alloc(3000 + i * 20_000, i) }));
  const got = await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'after/upgrade.bin' }));
  expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.alloc(43_000, 2))).toBe(true);
  await s3.send(new DeleteObjectCommand({ Bucket: 'plain', Key: 'after/upgrade.bin' }));
}

/** The shelf files 42b6641 wrote (lmdb-js 3's free list) were rewritten once before anything wrote to them. */
const rewritten = (nodePath: string) => Array.from({ length: 7 }, (_, n) => readFileSync(join(nodePath, `node-${n}`, SHELF_FORMAT_FILE), 'utf8') === SHELF_FORMAT);

/** What is left in a node's `.kintsugi` of the listing index as 42b6641 kept it. */
const separateIndex = (folder: string) => readdirSync(join(folder, '.kintsugi')).filter((f) => f.startsWith('listing'));

const rebuilds = (logs: string) => logs.split('\n').filter((l) => l.includes('"listing index rebuilt"')).length;

describe('node folders written by release 42b6641', () => {
  let server: RunningServer | undefined;
  const nodes: NodeProcess[] = [];
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    for (const n of nodes.splice(0)) await stopNode(n);
  });

  it('as local folders: each shelf file is rewritten once and its listing index moves into it, before the workers serve; everything reads and lists as it did, and writes go on', async () => {
    const nodePath = unpackFixture();
    expect(separateIndex(join(nodePath, 'node-0'))).toContain('listing.json');
    server = await startServer({ NODEPATH: nodePath, HEAL_INTERVAL: '0' });
    expect(rebuilds(server.logs())).toBe(7);
    expect(server.logs()).toContain('"why":"no listing index in the shelf yet"');
    for (let n = 0; n < 7; n++) expect(separateIndex(join(nodePath, `node-${n}`))).toEqual([]);
    expect(rewritten(nodePath)).toEqual(Array(7).fill(true));
    await expectEverything(server.client());
    await expectWrites(server.client());
    await server.stop();
    // Once moved, a start rebuilds nothing.
    server = await startServer({ NODEPATH: nodePath, HEAL_INTERVAL: '0' });
    await expectEverything(server.client());
    expect(rebuilds(server.logs())).toBe(0);
  }, 120_000);

  it('served by `kintsugi node` processes: each node rewrites its own shelf and moves its own index, and the gateway lists, reads and writes', async () => {
    const nodePath = unpackFixture();
    for (let n = 0; n < 7; n++) nodes.push(await startNode(join(nodePath, `node-${n}`)));
    server = await startServer({ NODES: nodes.map((n) => `http://127.0.0.1:${n.port}`).join(','), CLUSTER_SECRET, HEAL_INTERVAL: '0' });
    await expectEverything(server.client());
    await expectWrites(server.client());
    for (let n = 0; n < 7; n++) expect(separateIndex(join(nodePath, `node-${n}`))).toEqual([]);
    expect(rewritten(nodePath)).toEqual(Array(7).fill(true));
  }, 120_000);
});
