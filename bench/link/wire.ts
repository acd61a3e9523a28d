import { connect, createServer, type Server, type Socket } from 'node:net';

import { LinkConnection } from '../../plugins/drive-remote/link/connection.js';
import { creditPayload, FrameFlag, FrameType } from '../../plugins/drive-remote/link/frame.js';
import { gatewayHandshake, HandshakeReader, nodeHandshake, type Session } from '../../plugins/drive-remote/link/handshake.js';
import type { FrameCipher, FrameOpener, FrameSealer } from '../../plugins/drive-remote/link/seal.js';

const SECRET = 'bench link secret';
const CHUNK = 1 << 20;
const WINDOW = 2 << 20;

/** No sealing: the payload as it is and an empty tag — what the link costs for framing alone. */
const plain: { sealer: FrameSealer; opener: FrameOpener } = {
  sealer: { seal: (header, payload) => [header, ...payload.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)), Buffer.alloc(16)] },
  opener: { open: (_h, sealed) => [...sealed] },
};

/** Framing alone, or sealed by one of the frame ciphers. */
export type Mode = 'plain' | FrameCipher;

/** A link connection pair over loopback TCP in this process: the gateway's end and a node end that takes data and answers reads. */
export async function linkPair(mode: Mode): Promise<{ gateway: LinkConnection; onFrame: (f: (type: FrameType, stream: number, payload: Buffer) => void) => void; close: () => void }> {
  let nodeSide: LinkConnection | undefined;
  const reply = Buffer.alloc(CHUNK, 7);
  const server: Server = createServer((socket) => {
    void (async () => {
      const reader = new HandshakeReader(socket);
      const s = await nodeHandshake(reader, socket, SECRET, await reader.read(4), mode === 'plain' ? undefined : mode);
      const keys = mode === 'plain' ? plain : s;
      nodeSide = new LinkConnection(socket, keys.sealer, keys.opener, {
        frame: ({ header, payload }) => {
          if (header.type === FrameType.Data) {
            nodeSide!.send(FrameType.Credit, header.stream, [creditPayload(payload.byteLength - 8)]);
          } else if (header.type === FrameType.Call) {
            nodeSide!.send(FrameType.Reply, header.stream, [reply], FrameFlag.Raw);
          }
        },
        closed: () => undefined,
      }, s.leftover);
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const socket: Socket = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
  await new Promise((r) => socket.once('connect', r));
  const session: Session = await gatewayHandshake(socket, SECRET, 'bench', 0, mode === 'plain' ? undefined : mode);
  const keys = mode === 'plain' ? plain : session;
  let handler: (type: FrameType, stream: number, payload: Buffer) => void = () => undefined;
  const gateway = new LinkConnection(socket, keys.sealer, keys.opener, { frame: ({ header, payload }) => handler(header.type, header.stream, payload), closed: () => undefined }, session.leftover);
  return {
    gateway,
    onFrame: (f) => { handler = f; },
    close: () => { gateway.close(new Error('done')); nodeSide?.close(new Error('done')); server.close(); },
  };
}

/** Sends `bytes` as a writer's data frames within the node's credit, as LinkWriter does. */
export async function pushBytes(mode: Mode, bytes: number): Promise<void> {
  const pair = await linkPair(mode);
  let credit = WINDOW;
  let wake: (() => void) | undefined;
  pair.onFrame((type, _s, payload) => { if (type === FrameType.Credit) { credit += payload.readUInt32BE(0); wake?.(); } });
  const chunk = Buffer.alloc(CHUNK, 3);
  const at = Buffer.alloc(8);
  for (let sent = 0; sent < bytes; sent += CHUNK) {
    while (credit < CHUNK) await new Promise<void>((r) => { wake = r; });
    credit -= CHUNK;
    if (!pair.gateway.send(FrameType.Data, 1, [at, chunk])) await pair.gateway.drained();
  }
  while (credit < WINDOW) await new Promise<void>((r) => { wake = r; });
  pair.close();
}

/** Asks for `bytes` as 1 MiB read answers, 4 in flight, as a shard read does. */
export async function pullBytes(mode: Mode, bytes: number): Promise<void> {
  const pair = await linkPair(mode);
  let inFlight = 0;
  let wake: (() => void) | undefined;
  pair.onFrame((type) => { if (type === FrameType.Reply) { inFlight--; wake?.(); } });
  const call = Buffer.from([0x93, 0xa1, 0x78, 0x80, 0xc0]);
  let stream = 1;
  for (let asked = 0; asked < bytes; asked += CHUNK) {
    while (inFlight >= 4) await new Promise<void>((r) => { wake = r; });
    inFlight++;
    pair.gateway.send(FrameType.Call, stream++, [call]);
  }
  while (inFlight > 0) await new Promise<void>((r) => { wake = r; });
  pair.close();
}

/** The calibration: a bare TCP socket moving `bytes` over loopback to a reader that drops them. */
export async function bareTcp(bytes: number): Promise<void> {
  let received = 0;
  let done: () => void;
  const finished = new Promise<void>((r) => { done = r; });
  const server = createServer((s) => s.on('data', (d: Buffer) => { received += d.byteLength; if (received >= bytes) done(); }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const socket = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
  await new Promise((r) => socket.once('connect', r));
  const chunk = Buffer.alloc(CHUNK, 5);
  for (let sent = 0; sent < bytes; sent += CHUNK) if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
  await finished;
  socket.destroy();
  server.close();
}
