import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  CreateBucketCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command,
  PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';
import { failure, startServer, type RunningServer } from '../helpers/server.js';
import { send, signedHeaders } from '../helpers/sign.js';

const FOLDER = '.system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c/';
const SCHEMA = join(ROOT, 'test/s3/schemas/veeam-sosapi.xsd');
const work = tempDir('kintsugi-sosapi-');

/** Validates a document against the SOSAPI schema with libxml2's xmllint; its complaints, or '' when valid. */
function schemaErrors(name: string, xml: string): string {
  const file = join(work, name);
  writeFileSync(file, xml);
  const r = spawnSync('xmllint', ['--noout', '--schema', SCHEMA, file], { encoding: 'utf8' });
  return r.status === 0 ? '' : r.stderr;
}

const numbers = (xml: string) => Object.fromEntries(['Capacity', 'Available', 'Used'].map((n) => [n, Number(new RegExp(`<${n}>(\\d+)</${n}>`).exec(xml)?.[1])]));

describe('Veeam SOSAPI (AWS SDK v3)', () => {
  let server: RunningServer;
  let s3: S3Client;
  beforeAll(async () => {
    server = await startServer();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'veeam' }));
  });
  afterAll(async () => { await server.stop(); });
  const get = async (Bucket: string, file: string) => (await s3.send(new GetObjectCommand({ Bucket, Key: FOLDER + file }))).Body!.transformToString();

  it('serves system.xml: protocol 1.0, capacity reporting, a recommended block size; valid against the schema', async () => {
    const xml = await get('veeam', 'system.xml');
    expect(schemaErrors('system.xml', xml)).toBe('');
    // The document quotes the version inside the element (a quote may be written as a character reference).
    expect(xml.replace(/&#34;|&quot;/g, '"')).toContain('<ProtocolVersion>"1.0"</ProtocolVersion>');
    expect(xml).toContain('<CapacityInfo>true</CapacityInfo>');
    expect(xml).toContain('<KbBlockSize>1024</KbBlockSize>');
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'veeam', Key: `${FOLDER}system.xml` }));
    expect([head.ContentType, head.ContentLength]).toEqual(['application/xml', Buffer.byteLength(xml)]);
  });

  it('serves capacity.xml from the nodes\' space without a quota, and from the quota with one; valid against the schema', async () => {
    const free = numbers(await get('veeam', 'capacity.xml'));
    expect(schemaErrors('capacity.xml', await get('veeam', 'capacity.xml'))).toBe('');
    expect(free.Capacity).toBeGreaterThan(0);
    expect(free.Available).toBeGreaterThan(0);
    expect(free.Capacity).toBe(free.Available + free.Used);
    // The nodes' file systems (one here, shared by seven folders) times the stripe's data share, 4/7.
    const df = spawnSync('df', ['-B1', '--output=size', server.nodePath], { encoding: 'utf8' }).stdout.trim().split('\n')[1]!;
    expect(Math.abs(free.Capacity! - Math.floor(Number(df) * 4 / 7))).toBeLessThan(1e6);

    const path = '/_kintsugi/admin/quota?bucket=veeam&bytes=10000000';
    expect((await send(server.port, 'PUT', path, await signedHeaders(server.port, 'PUT', path, {}))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2200));
    await s3.send(new PutObjectCommand({ Bucket: 'veeam', Key: 'backup/1.blk', Body: randomBytes(3_000_000) }));
    const capped = await get('veeam', 'capacity.xml');
    expect(schemaErrors('capacity.xml', capped)).toBe('');
    expect(numbers(capped)).toEqual({ Capacity: 10_000_000, Used: 3_000_000, Available: 7_000_000 });
  });

  it('lists the two files under their folder, and nothing of them elsewhere', async () => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'veeam', Prefix: FOLDER }));
    expect(listed.Contents?.map((c) => c.Key)).toEqual([`${FOLDER}capacity.xml`, `${FOLDER}system.xml`]);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: 'veeam', Prefix: `${FOLDER}sys` }))).Contents?.map((c) => c.Key)).toEqual([`${FOLDER}system.xml`]);
    const all = await s3.send(new ListObjectsV2Command({ Bucket: 'veeam' }));
    expect(all.Contents?.map((c) => c.Key)).toEqual(['backup/1.blk']);
  });

  it('refuses writes and deletes under the folder, and stores nothing there', async () => {
    const before = await get('veeam', 'system.xml');
    for (const Key of [`${FOLDER}system.xml`, `${FOLDER}capacity.xml`, `${FOLDER}other`]) {
      expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'veeam', Key, Body: '<SystemInfo/>' })))).toEqual({ name: 'AccessDenied', status: 403 });
      expect(await failure(s3.send(new DeleteObjectCommand({ Bucket: 'veeam', Key })))).toEqual({ name: 'AccessDenied', status: 403 });
    }
    const batch = await s3.send(new DeleteObjectsCommand({ Bucket: 'veeam', Delete: { Objects: [{ Key: `${FOLDER}system.xml` }] } }));
    expect(batch.Errors?.map((e) => e.Code)).toEqual(['AccessDenied']);
    expect(await get('veeam', 'system.xml')).toBe(before);
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'veeam', Key: `${FOLDER}other` })))).toEqual({ name: 'NoSuchKey', status: 404 });
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'nobucket', Key: `${FOLDER}system.xml` })))).toEqual({ name: 'NoSuchBucket', status: 404 });
  });
});
