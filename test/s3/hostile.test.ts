import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tempDir } from '../helpers/engine.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { send, signedHeaders } from '../helpers/sign.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Writes raw bytes on a fresh connection; resolves with what came back before the server closed or `waitMs` passed. */
function raw(port: number, chunks: (Buffer | string)[], opts: { destroyAfterWrite?: boolean; waitMs?: number } = {}): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let got = '';
    sock.on('data', (d) => { got += d; });
    sock.on('error', () => resolve(got));
    sock.on('close', () => resolve(got));
    sock.on('connect', () => {
      for (const c of chunks) sock.write(c);
      if (opts.destroyAfterWrite) { sock.destroy(); resolve(''); return; }
      setTimeout(() => { sock.destroy(); resolve(got); }, opts.waitMs ?? 1000);
    });
  });
}

describe('hostile and broken input', () => {
  let server: RunningServer;
  let s3: S3Client;
  let root: string;
  let tmpfsMounted = false;
  const reference = randomBytes(3_000_000);
  const unchanged = async () => sha(await (await s3.send(new GetObjectCommand({ Bucket: 'safe', Key: 'reference' }))).Body!.transformToByteArray()) === sha(reference);
  const path = (p: string) => new URL(p).pathname + new URL(p).search;

  beforeAll(async () => {
    root = tempDir('kintsugi-hostile-');
    const nodes = join(root, 'nodes');
    mkdirSync(nodes);
    const tmpfs = join(nodes, 'node-3');
    // A full disk on one node: a 2 MiB tmpfs, where mounting is allowed (root).
    if (process.getuid?.() === 0) {
      mkdirSync(tmpfs);
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', tmpfs], { stdio: 'ignore' });
        tmpfsMounted = true;
      } catch {
        tmpfsMounted = false;
      }
    }
    server = await startServer({ NODEPATH: nodes });
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'safe' }));
    await s3.send(new PutObjectCommand({ Bucket: 'safe', Key: 'reference', Body: reference }));
  });
  afterAll(async () => {
    await server.stop();
    if (tmpfsMounted) execFileSync('umount', [join(root, 'nodes', 'node-3')]);
  });

  it('keeps keys with .., / runs, dots and control characters inside the node folders', async () => {
    const keys = ['../../../../etc/evil', '..', '.', '//a//b//', 'a/../../b', 'ctl\u0001\u001f\u007f', '%2e%2e/x', ' '];
    for (const Key of keys) {
      const body = randomBytes(1000);
      await s3.send(new PutObjectCommand({ Bucket: 'safe', Key, Body: body }));
      expect(sha(await (await s3.send(new GetObjectCommand({ Bucket: 'safe', Key }))).Body!.transformToByteArray()), JSON.stringify(Key)).toBe(sha(body));
    }
    expect(readdirSync(root)).toEqual(['nodes']);
    for (let n = 0; n < 7; n++) {
      for (const entry of readdirSync(join(root, 'nodes', `node-${n}`))) expect(['.kintsugi', '.tmp', 'buckets', 'data', 'meta', 'uploads', 'lost+found']).toContain(entry);
    }
    expect(await unchanged()).toBe(true);
  });

  it('answers NUL in keys, over-long keys and malformed escapes with 400s', async () => {
    const put = async (rawKey: string) => {
      const p = `/safe/${rawKey}`;
      return send(server.port, 'PUT', p, await signedHeaders(server.port, 'PUT', p, { 'content-length': '1' }, 'UNSIGNED-PAYLOAD'), 'x');
    };
    expect((await put('a%00b')).body).toMatch(/<Code>InvalidArgument<\/Code>/);
    expect((await put('k'.repeat(1025))).body).toMatch(/<Code>KeyTooLongError<\/Code>/);
    const bad = await send(server.port, 'GET', '/safe/%E0%A4%A', await signedHeaders(server.port, 'GET', '/safe/%E0%A4%A', {}));
    expect(bad.status).toBe(400);
    expect(await unchanged()).toBe(true);
  });

  it('refuses over-long headers and invalid bucket names without falling over', async () => {
    const big = await send(server.port, 'GET', '/safe/reference', { 'x-junk': 'y'.repeat(20_000) });
    expect(big.status).toBe(431);
    for (const name of ['UPPER', 'ab', 'x'.repeat(64), '192.168.1.1', 'bad..dots', '-dash', 'under_score']) {
      const r = await send(server.port, 'PUT', `/${name}`, await signedHeaders(server.port, 'PUT', `/${name}`, {}));
      expect(r.body, name).toMatch(/<Code>InvalidBucketName<\/Code>/);
    }
    expect(await unchanged()).toBe(true);
  });

  it('answers MalformedXML and MaxMessageLengthExceeded to broken and huge XML bodies', async () => {
    const post = async (body: string) => send(server.port, 'POST', '/safe?delete=',
      await signedHeaders(server.port, 'POST', '/safe?delete=', { 'content-length': String(Buffer.byteLength(body)) }, 'UNSIGNED-PAYLOAD'), body);
    for (const body of ['<Delete><Object><Key>x</Key>', 'not xml at all', '<Delete></Delete>', '<!DOCTYPE d [<!ENTITY e "x">]><Delete><Object><Key>&e;</Key></Object></Delete>']) {
      const r = await post(body);
      expect(r.body, body).toMatch(/<Code>MalformedXML<\/Code>/);
    }
    const huge = await post(`<Delete>${'<Object><Key>k</Key></Object>'.repeat(100_000)}</Delete>`);
    expect(huge.body).toMatch(/<Code>MaxMessageLengthExceeded<\/Code>/);
    expect(await unchanged()).toBe(true);
  });

  it('keeps the previous version when a client sends less than Content-Length and disconnects', async () => {
    const url = path(await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'safe', Key: 'reference' }), { expiresIn: 60 }));
    await raw(server.port, [`PUT ${url} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Length: 5000000\r\n\r\n`, randomBytes(2_000_000)], { destroyAfterWrite: true });
    await new Promise((r) => setTimeout(r, 500));
    expect(await unchanged()).toBe(true);
    for (let n = 0; n < 7; n++) expect(readdirSync(join(root, 'nodes', `node-${n}`, '.tmp'))).toEqual([]);
  });

  it('never stores more than Content-Length bytes when a client sends more (the rest is a bad next request: 400), and stays up', async () => {
    const url = path(await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'safe', Key: 'exact' }), { expiresIn: 60 }));
    const reply = await raw(server.port, [`PUT ${url} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Length: 10\r\n\r\n`, '0123456789EXTRA-BYTES-THAT-ARE-NOT-A-REQUEST\r\n\r\n'], { waitMs: 1500 });
    expect(reply).toMatch(/HTTP\/1.1 400/);
    // Node answers the garbage with 400 and closes the connection, which
    // aborts the put if it had not finished: then nothing is stored.
    const stored = await s3.send(new GetObjectCommand({ Bucket: 'safe', Key: 'exact' })).then(
      async (r) => Buffer.from(await r.Body!.transformToByteArray()).toString(), (e: Error) => e.name);
    expect(['0123456789', 'NoSuchKey']).toContain(stored);
    expect(await unchanged()).toBe(true);
  });

  it('survives clients that disconnect in the middle of a download', async () => {
    const url = path(await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'safe', Key: 'reference' }), { expiresIn: 60 }));
    for (let i = 0; i < 5; i++) {
      const got = await raw(server.port, [`GET ${url} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`], { waitMs: 30 });
      expect(got.length).toBeLessThan(3_000_000);
    }
    expect(await unchanged()).toBe(true);
  });

  it('keeps accepting and serving objects when one node\'s disk is full (ENOSPC on a 2 MiB tmpfs)', async (ctx) => {
    if (!tmpfsMounted) ctx.skip();
    const bodies = [randomBytes(6_000_000), randomBytes(6_000_000)];
    for (const [i, Body] of bodies.entries()) await s3.send(new PutObjectCommand({ Bucket: 'safe', Key: `full-${i}`, Body }));
    for (const [i, body] of bodies.entries()) {
      expect(sha(await (await s3.send(new GetObjectCommand({ Bucket: 'safe', Key: `full-${i}` }))).Body!.transformToByteArray())).toBe(sha(body));
    }
    expect(await unchanged()).toBe(true);
  });
});
