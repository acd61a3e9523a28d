import { createServer, connect, type Server, type Socket } from 'node:net';

import { HEADER_BYTES, TAG_BYTES } from '../../plugins/drive-remote/link/frame.js';
import { HELLO_FIXED } from '../../plugins/drive-remote/link/handshake.js';
import { NONCE_BYTES, PROOF_BYTES } from '../../plugins/drive-remote/link/seal.js';

/** Which way a frame goes through the tap. */
export type Direction = 'to-node' | 'to-gateway';

/** What the tap does with one frame: pass it (maybe changed), or cut the connection instead of passing it. */
export type TapVerdict = Buffer | 'cut';

export interface LinkTap {
  readonly port: number;
  /** every connection's handshake bytes from the gateway, in order (for replaying) */
  readonly recorded: Buffer[][];
  /** connections made through the tap so far */
  connections(): number;
  /** cuts every connection now */
  cutAll(): void;
  close(): Promise<void>;
}

/**
 * A TCP relay between gateways and a node that understands the node link's
 * framing (not its contents: they are sealed): it finds where the
 * handshake ends and each frame's bounds from the clear headers, and lets a
 * test change, drop or cut at a chosen frame — a wire under the test's
 * control, for tampering, torn streams and lost answers.
 */
export async function linkTap(nodePort: number, onFrame: (dir: Direction, frame: Buffer, n: number) => TapVerdict = (_, f) => f): Promise<LinkTap> {
  const sockets = new Set<Socket>();
  const recorded: Buffer[][] = [];
  let count = 0;
  const server: Server = createServer((gateway) => {
    count++;
    const node = connect({ host: '127.0.0.1', port: nodePort });
    sockets.add(gateway).add(node);
    const record: Buffer[] = [];
    recorded.push(record);
    const cut = () => { gateway.destroy(); node.destroy(); };
    gateway.on('error', cut).on('close', cut);
    node.on('error', cut).on('close', cut);
    relay(gateway, node, 'to-node', (c) => record.push(Buffer.from(c)));
    relay(node, gateway, 'to-gateway');

    function relay(from: Socket, to: Socket, dir: Direction, seen?: (chunk: Buffer) => void): void {
      let pending = Buffer.alloc(0);
      // The handshake: the gateway's hello (its cluster id's length is the fixed part's last byte) and proof; the node's nonce and proof.
      let handshake: number | undefined = dir === 'to-gateway' ? NONCE_BYTES + PROOF_BYTES : undefined;
      let frames = 0;
      from.on('data', (chunk: Buffer) => {
        seen?.(chunk);
        pending = Buffer.concat([pending, chunk]);
        if (handshake === undefined && pending.length >= HELLO_FIXED) handshake = HELLO_FIXED + pending[HELLO_FIXED - 1]! + PROOF_BYTES;
        if (handshake === undefined) return;
        if (handshake > 0) {
          const n = Math.min(handshake, pending.length);
          to.write(pending.subarray(0, n));
          pending = pending.subarray(n);
          handshake -= n;
        }
        while (handshake === 0 && pending.length >= HEADER_BYTES) {
          const size = HEADER_BYTES + pending.readUInt32BE(8) + TAG_BYTES;
          if (pending.length < size) break;
          const verdict = onFrame(dir, pending.subarray(0, size), frames++);
          pending = pending.subarray(size);
          if (verdict === 'cut') { cut(); return; }
          to.write(verdict);
        }
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    recorded,
    connections: () => count,
    cutAll: () => { for (const s of sockets) s.destroy(); },
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

/** A frame's type (byte 1 of its clear header). */
export const frameType = (frame: Buffer): number => frame[1]!;
