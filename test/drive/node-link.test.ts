import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';

import { pack } from 'msgpackr';
import { afterAll, describe, expect, it } from 'vitest';

import { gatewayHandshake, HANDSHAKE_MS, HandshakeReader, helloBytes, nodeHandshake } from '../../plugins/drive-remote/link/handshake.js';
import { LinkConnection } from '../../plugins/drive-remote/link/connection.js';
import { FrameType, writeHeader } from '../../plugins/drive-remote/link/frame.js';
import { WRITER_WINDOW } from '../../plugins/drive-remote/link/operations.js';
import { serveNode } from '../../plugins/drive-remote/node-server.js';
import { RemoteDrive } from '../../plugins/drive-remote/remote-drive.js';
import { tempDir } from '../helpers/engine.js';
import { frameType, linkTap } from '../helpers/link-tap.js';

const SECRET = 'the cluster secret';
const CLUSTER = 'cluster-link';
const closers: (() => Promise<unknown> | void)[] = [];
afterAll(async () => { for (const close of closers.splice(0).reverse()) await close(); });

/** A `kintsugi node` in this process on a fresh folder, its identity taken by a first probe. */
async function node(index = 0) {
  const folder = tempDir('kintsugi-link-');
  const server = await serveNode({ folder, secret: SECRET, host: '127.0.0.1', port: 0, sync: false });
  closers.push(() => server.close());
  const drive = gateway(server.port, index);
  await drive.probe();
  return { folder, port: server.port, drive };
}

function gateway(port: number, index = 0, secret = SECRET, cluster = CLUSTER): RemoteDrive {
  const drive = new RemoteDrive(index, `http://127.0.0.1:${port}`, secret, cluster);
  closers.push(() => drive.close());
  return drive;
}

/** Everything a node folder holds, but its identity: what a hostile peer must not change. */
function contents(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
}

/** Connects, sends `bytes` (if any), and collects what comes back until the node closes the connection. */
function exchange(port: number, bytes?: Buffer, options: { trickle?: Buffer; everyMs?: number } = {}): Promise<{ answer: Buffer; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ host: '127.0.0.1', port });
    const answer: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (d) => answer.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => { clearInterval(timer); resolve({ answer: Buffer.concat(answer), closedAfterMs: Date.now() - started }); });
    socket.on('connect', () => {
      if (bytes) socket.write(bytes);
      if (options.trickle) {
        let at = 0;
        timer = setInterval(() => { if (at < options.trickle!.length && !socket.destroyed) socket.write(options.trickle!.subarray(at, ++at)); }, options.everyMs ?? 100);
      }
    });
  });
}

/** A peer that holds the secret and speaks raw frames: what a buggy or compromised gateway could send. */
async function rawGateway(port: number) {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise((r) => socket.once('connect', r));
  const session = await gatewayHandshake(socket, SECRET, CLUSTER, 0);
  const frames: number[] = [];
  let closed!: () => void;
  const ended = new Promise<void>((resolve) => { closed = resolve; });
  const conn = new LinkConnection(socket, session.sealer, session.opener, { frame: (f) => { frames.push(f.header.type); }, closed }, session.leftover);
  return { socket, conn, frames, closed: ended };
}

describe('the node link handshake', () => {
  it('lets a gateway with the cluster secret in, and refuses one without it: ERR_NODE_AUTH, nothing read or written', async () => {
    const { folder, port, drive } = await node();
    await drive.writeFile('meta/secret', Buffer.from('data'));
    const before = contents(folder);
    const stranger = gateway(port, 0, 'wrong secret');
    await expect(stranger.readFile('meta/secret')).rejects.toMatchObject({ code: 'ERR_NODE_AUTH' });
    await expect(stranger.writeFile('meta/other', Buffer.from('x'))).rejects.toMatchObject({ code: 'ERR_NODE_AUTH' });
    expect(contents(folder)).toEqual(before);
    expect(Buffer.from((await drive.readFile('meta/secret'))!).toString()).toBe('data');
  });

  it('shows a stranger a random challenge and nothing else: no proof of its own until the gateway proved itself', async () => {
    const { port } = await node();
    const hello = helloBytes(randomBytes(32), CLUSTER, 0);
    const { answer } = await exchange(port, Buffer.concat([hello, randomBytes(32)]));
    expect(answer.length).toBe(32);
    const again = await exchange(port, Buffer.concat([hello, randomBytes(32)]));
    expect(again.answer.equals(answer)).toBe(false);
  });

  it('binds the connection to a cluster and node index: a gateway expecting another is refused on every call (ERR_NODE_IDENTITY)', async () => {
    const { port } = await node(2);
    await expect(gateway(port, 3).probe()).rejects.toMatchObject({ code: 'ERR_NODE_IDENTITY' });
    await expect(gateway(port, 2, SECRET, 'cluster-other').list('meta')).rejects.toMatchObject({ code: 'ERR_NODE_IDENTITY' });
    await expect(gateway(port, 2).list('meta')).resolves.toEqual([]);
  });

  it('cannot be replayed: a recorded connection sent again meets a new challenge and is closed, writing nothing', async () => {
    const { folder, port } = await node();
    const tap = await linkTap(port);
    closers.push(() => tap.close());
    const drive = gateway(tap.port);
    await drive.writeFile('meta/once', Buffer.from('first'));
    await drive.remove('meta/once');
    const recording = Buffer.concat(tap.recorded.flat());
    const before = contents(folder);
    const { answer } = await exchange(port, recording);
    expect(answer.length).toBe(32);
    expect(contents(folder)).toEqual(before);
    expect(existsSync(join(folder, 'meta', 'once'))).toBe(false);
  });
});

describe('sealed frames', () => {
  it('encrypt what crosses the wire: neither paths nor bytes are readable on it', async () => {
    const { port } = await node();
    const seen: Buffer[] = [];
    const tap = await linkTap(port, (_, frame) => { seen.push(Buffer.from(frame)); return frame; });
    closers.push(() => tap.close());
    const drive = gateway(tap.port);
    const marker = Buffer.from('a very recognisable marker '.repeat(20));
    await drive.writeFile('meta/plain-path-name', marker);
    expect(Buffer.from((await drive.readFile('meta/plain-path-name'))!).equals(marker)).toBe(true);
    const wire = Buffer.concat(seen);
    expect(wire.includes(Buffer.from('plain-path-name'))).toBe(false);
    expect(wire.includes(Buffer.from('recognisable'))).toBe(false);
  });

  for (const dir of ['to-node', 'to-gateway'] as const) {
    it(`that were changed on their way ${dir.replace('-', ' ')} close the connection; nothing forged is applied, and the call goes through on a new connection`, async () => {
      const { folder, port } = await node();
      let tampered = 0;
      const tap = await linkTap(port, (d, frame) => {
        if (d !== dir || frameType(frame) !== (dir === 'to-node' ? FrameType.Call : FrameType.Reply) || tampered > 0) return frame;
        tampered++;
        const forged = Buffer.from(frame);
        forged[20] ^= 0x01;
        return forged;
      });
      closers.push(() => tap.close());
      const drive = gateway(tap.port);
      await drive.writeFile('meta/exact', Buffer.from('the bytes as sent'));
      expect(tampered).toBe(1);
      expect(tap.connections()).toBe(2);
      expect(readFileSync(join(folder, 'meta', 'exact'), 'utf8')).toBe('the bytes as sent');
    });
  }

  it('that were dropped or reordered close the connection (each frame is numbered by its nonce)', async () => {
    const { port } = await node();
    const held: Buffer[] = [];
    const tap = await linkTap(port, (d, frame, n) => {
      if (d !== 'to-node' || tap.connections() > 1) return frame;
      if (n === 0) { held.push(Buffer.from(frame)); return Buffer.alloc(0); }
      return Buffer.concat([frame, ...held.splice(0)]);
    });
    closers.push(() => tap.close());
    const drive = gateway(tap.port);
    await Promise.all([drive.list('a'), drive.list('b')]);
    expect(tap.connections()).toBeGreaterThan(1);
  });
});

describe('a hostile peer at the node port gets nothing, breaks nothing, and the node keeps serving', () => {
  const cases: [string, (port: number) => Promise<{ answer: Buffer; closedAfterMs: number }>][] = [
    ['random bytes', (port) => exchange(port, randomBytes(4096))],
    ['an HTTP request other than the health check', (port) => exchange(port, Buffer.from('GET /v1/file?path=meta%2Fsecret HTTP/1.1\r\nhost: x\r\n\r\n'))],
    ['an HTTP POST', (port) => exchange(port, Buffer.from('POST /health HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc'))],
    ['a frame before any handshake', (port) => exchange(port, Buffer.concat([writeHeader({ type: FrameType.Call, flags: 0, stream: 1, length: 4, deadlineMs: 0 }), randomBytes(20)]))],
    ['a hello with the longest cluster name, then more bytes than any handshake', (port) => exchange(port, Buffer.concat([helloBytes(randomBytes(32), 'c'.repeat(255), 0), randomBytes(8 << 20)]))],
    ['a hello and a wrong proof', (port) => exchange(port, Buffer.concat([helloBytes(randomBytes(32), CLUSTER, 0), randomBytes(32)]))],
  ];
  for (const [what, attack] of cases) {
    it(`${what}: closed, with at most the 32-byte challenge said`, async () => {
      const { folder, port, drive } = await node();
      await drive.writeFile('meta/secret', Buffer.from('data'));
      const before = contents(folder);
      const { answer } = await attack(port);
      expect(answer.length === 0 || answer.length === 32).toBe(true);
      expect(answer.includes(Buffer.from('data'))).toBe(false);
      expect(contents(folder)).toEqual(before);
      expect(Buffer.from((await drive.readFile('meta/secret'))!).toString()).toBe('data');
    });
  }

  it('answers only `GET /health`, for probes, and says nothing but whether it is up', async () => {
    const { port } = await node();
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    expect([res.status, await res.text()]).toEqual([200, 'OK\n']);
  });

  it('a 1-byte-per-100-ms sender is cut off when the handshake time is up, however steadily it sends', async () => {
    const { port, drive } = await node();
    const hello = helloBytes(randomBytes(32), 'c'.repeat(200), 0);
    const trickling = exchange(port, undefined, { trickle: hello, everyMs: 100 });
    await expect(drive.list('meta')).resolves.toEqual([]);
    const { closedAfterMs, answer } = await trickling;
    expect(answer.length).toBe(0);
    expect(closedAfterMs).toBeGreaterThanOrEqual(HANDSHAKE_MS - 200);
    expect(closedAfterMs).toBeLessThan(HANDSHAKE_MS + 2000);
  });

  it('hundreds of idle connections: the gateway is served meanwhile, and they are closed when the handshake time is up', async () => {
    const { port, drive } = await node();
    const idle: Socket[] = [];
    const closed: Promise<number>[] = [];
    for (let i = 0; i < 300; i++) {
      const s = connect({ host: '127.0.0.1', port });
      s.on('error', () => undefined);
      const started = Date.now();
      closed.push(new Promise((r) => s.on('close', () => r(Date.now() - started))));
      idle.push(s);
    }
    await drive.writeFile('meta/busy', Buffer.from('served'));
    expect(Buffer.from((await drive.readFile('meta/busy'))!).toString()).toBe('served');
    const lifetimes = await Promise.all(closed);
    expect(Math.max(...lifetimes)).toBeLessThan(HANDSHAKE_MS + 3000);
  });

  const authenticated: [string, (raw: Awaited<ReturnType<typeof rawGateway>>) => void][] = [
    ['a frame of an unknown type', (raw) => raw.conn.send(99 as FrameType, 1)],
    ['a frame claiming 4 GiB', (raw) => { raw.socket.write(writeHeader({ type: FrameType.Call, flags: 0, stream: 1, length: 0xffffffff, deadlineMs: 0 })); }],
    ['a reused stream id', (raw) => {
      raw.conn.send(FrameType.Ping, 0);
      raw.conn.send(FrameType.Call, 5, [pack(['file.list', { path: 'meta' }, null])]);
      raw.conn.send(FrameType.Call, 5, [pack(['file.list', { path: 'meta' }, null])]);
    }],
    ['data for a writer it never opened', (raw) => raw.conn.send(FrameType.Data, 7, [Buffer.alloc(8), Buffer.from('bytes')])],
    ['a writer\'s bytes beyond its credit', (raw) => {
      raw.conn.send(FrameType.Call, 1, [pack(['writer.open', { path: 'data/x' }, null])]);
      // One frame past the whole window: beyond any credit the node can have granted, however fast it writes.
      setTimeout(() => raw.conn.send(FrameType.Data, 1, [Buffer.alloc(8), Buffer.alloc(WRITER_WINDOW + (1 << 20))]), 200);
    }],
  ];
  for (const [what, act] of authenticated) {
    it(`even holding the secret, ${what}: the connection is closed, nothing written, others served`, async () => {
      const { folder, port, drive } = await node();
      const before = contents(folder);
      const raw = await rawGateway(port);
      act(raw);
      await raw.closed;
      await new Promise((r) => setTimeout(r, 100));
      expect(contents(folder).filter((f) => !f.includes('.tmp'))).toEqual(before);
      await expect(drive.list('meta')).resolves.toEqual([]);
    });
  }
});

describe('a connection cut or stalled under a call', () => {
  it('broken under many callers at once: they open one new connection between them', async () => {
    const { port } = await node();
    const tap = await linkTap(port);
    closers.push(() => tap.close());
    const drive = gateway(tap.port);
    await drive.list('meta');
    tap.cutAll();
    await new Promise((r) => setTimeout(r, 50));
    await expect(Promise.all(Array.from({ length: 20 }, (_, i) => drive.list(`meta/${i}`)))).resolves.toHaveLength(20);
    expect(tap.connections()).toBe(2);
  });

  it('in the middle of a shard stream: the commit fails and no torn shard is ever committed', async () => {
    const { folder, port } = await node();
    let cutting = false;
    const tap = await linkTap(port, (d, frame) => (cutting && d === 'to-node' && frameType(frame) === FrameType.Data ? 'cut' : frame));
    closers.push(() => tap.close());
    const drive = gateway(tap.port);
    const writer = await drive.createWriter('data/torn');
    await writer.write(randomBytes(1 << 20), 0);
    cutting = true;
    const rest = writer.write(randomBytes(1 << 20), 1 << 20).then(() => writer.commit(), (err: Error) => { throw err; });
    await expect(rest).rejects.toMatchObject({});
    expect(existsSync(join(folder, 'data', 'torn'))).toBe(false);
  });

  it('between a commit and its answer: the retry on a new connection gets the first answer, applied once', async () => {
    const { folder, port } = await node();
    let dropReplies = false;
    const tap = await linkTap(port, (d, frame) => (dropReplies && d === 'to-gateway' && frameType(frame) === FrameType.Reply ? ((dropReplies = false), 'cut') : frame));
    closers.push(() => tap.close());
    const drive = gateway(tap.port);
    const body = randomBytes(3 << 20);
    const writer = await drive.createWriter('data/staged');
    await writer.write(body, 0);
    dropReplies = true;
    await writer.commit('data/committed');
    expect(tap.connections()).toBeGreaterThanOrEqual(2);
    expect(readFileSync(join(folder, 'data', 'committed')).equals(body)).toBe(true);
    // A rename whose answer is lost: applied again, its source would be missing.
    await drive.writeFile('meta/from', Buffer.from('moved once'));
    dropReplies = true;
    await drive.rename('meta/from', 'meta/to');
    expect(readFileSync(join(folder, 'meta', 'to'), 'utf8')).toBe('moved once');
  });

  it('positional writes in flight together on one writer all go on as the credit comes back, in any order', async () => {
    const { folder, drive } = await node();
    const writer = await drive.createWriter('data/together');
    const blocks = Array.from({ length: 24 }, () => randomBytes(256 << 10));
    // Six megabytes at once against a window of two: most writes wait for credit, and every one of them must be woken
    // (a waiter left to its 10 s timer once stalled whole stripes: the test's own timeout is below that).
    await Promise.all(blocks.map((b, i) => writer.write(b, (blocks.length - 1 - i) * b.byteLength)));
    await writer.commit();
    expect(readFileSync(join(folder, 'data', 'together')).equals(Buffer.concat([...blocks].reverse()))).toBe(true);
  }, 8_000);

  it('a node that stops reading stops the writer at its credit: the gateway buffers no more', async () => {
    // A node that completes the handshake, takes the writer.open, answers it, and then reads nothing more.
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      sockets.push(socket);
      void (async () => {
        const reader = new HandshakeReader(socket);
        const session = await nodeHandshake(reader, socket, SECRET, await reader.read(4));
        const conn = new LinkConnection(socket, session.sealer, session.opener, {
          frame: (f) => {
            if (f.header.type === FrameType.Call) { conn.send(FrameType.Reply, f.header.stream, [Buffer.from([0xc0])]); socket.pause(); }
          },
          closed: () => undefined,
        }, session.leftover);
      })();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }));
    const drive = gateway((server.address() as { port: number }).port);
    const writer = await drive.createWriter('data/stalled');
    let accepted = 0;
    const chunk = Buffer.alloc(256 << 10);
    const writing = (async () => { for (;;) { await writer.write(chunk, accepted); accepted += chunk.length; } })().catch((err: Error & { code?: string }) => err.code);
    await new Promise((r) => setTimeout(r, 1500));
    expect(accepted).toBeLessThanOrEqual(WRITER_WINDOW);
    expect(await writing).toBe('ERR_NODE_GONE');
    expect(accepted).toBeLessThanOrEqual(WRITER_WINDOW);
  }, 30_000);
});
