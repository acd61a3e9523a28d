import type { Socket } from 'node:net';

import { type FrameCipher, type FrameOpener, type FrameSealer, freshNonce, NONCE_BYTES, proof, PROOF_BYTES, proofMatches, sessionKeys } from './seal.js';
import { frameCipher } from './seal-native.js';

/**
 * The link's handshake, before any frame:
 *
 *   gateway → node   HELLO      "KLNK", version, gateway nonce, node index (u32), cluster id (u8 length, bytes)
 *   node → gateway   CHALLENGE  node nonce
 *   gateway → node   PROOF      HMAC(HELLO ‖ CHALLENGE) as the gateway
 *   node → gateway   PROOF      HMAC(HELLO ‖ CHALLENGE) as the node
 *
 * The gateway proves first: a stranger at the node's port learns a random
 * nonce and nothing else, and a node that is not satisfied closes without
 * a word. The cluster id and node index are bound into the proofs and the
 * keys; whether the node's folder carries them is checked on every call.
 */
export const MAGIC = Buffer.from('KLNK');
/** A hello up to its cluster id, whose length is its last byte. */
export const HELLO_FIXED = MAGIC.length + 1 + NONCE_BYTES + 4 + 1;
/** The most a handshake can take, start to end: a peer trickling its bytes is cut off, however steadily it sends. */
export const HANDSHAKE_MS = 5_000;

export interface Session {
  readonly sealer: FrameSealer;
  readonly opener: FrameOpener;
  /** bytes that arrived behind the handshake: the first frames */
  readonly leftover: Buffer[];
}

/** Reads exact byte counts (or up to a marker) off a socket during the handshake, holding no more than `limit` bytes. */
export class HandshakeReader {
  private chunks: Buffer[] = [];
  private size = 0;
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private readonly onData = (chunk: Buffer) => {
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
    if (this.size > this.limit) this.fail(new Error('handshake: too many bytes'));
    this.wake?.();
  };

  private readonly onEnd = () => this.fail(Object.assign(new Error('the connection closed during the handshake'), { code: 'ECONNRESET' }));

  constructor(private readonly socket: Socket, private readonly limit = 4096) {
    socket.on('data', this.onData);
    socket.on('close', this.onEnd);
    socket.on('error', (err) => this.fail(err));
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.wake?.();
  }

  async read(n: number): Promise<Buffer> {
    while (this.size < n) await this.more();
    const all = Buffer.concat(this.chunks);
    this.chunks = all.byteLength > n ? [all.subarray(n)] : [];
    this.size -= n;
    return all.subarray(0, n);
  }

  /** The bytes up to and including `marker` (an HTTP request's blank line), once they are here. */
  async readThrough(marker: Buffer): Promise<Buffer> {
    for (;;) {
      const at = Buffer.concat(this.chunks).indexOf(marker);
      if (at >= 0) return this.read(at + marker.byteLength);
      await this.more();
    }
  }

  /** Waits for the next bytes; throws what ended the reading (closed, too slow, too many bytes). */
  private async more(): Promise<void> {
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve) => { this.wake = resolve; });
    this.wake = undefined;
  }

  /** Stops reading for the handshake; what arrived beyond it. */
  detach(): Buffer[] {
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onEnd);
    return this.chunks;
  }
}

export function helloBytes(nonce: Buffer, clusterId: string, node: number): Buffer {
  const cluster = Buffer.from(clusterId, 'utf8');
  if (cluster.byteLength > 255) throw new Error('cluster id too long');
  const head = Buffer.alloc(HELLO_FIXED);
  MAGIC.copy(head, 0);
  head[MAGIC.length] = 1;
  nonce.copy(head, MAGIC.length + 1);
  head.writeUInt32BE(node, MAGIC.length + 1 + NONCE_BYTES);
  head[HELLO_FIXED - 1] = cluster.byteLength;
  return Buffer.concat([head, cluster]);
}

/** The gateway's side: proves itself, checks the node's proof, and keys the connection. */
export async function gatewayHandshake(socket: Socket, secret: string, clusterId: string, node: number, cipher: FrameCipher = frameCipher): Promise<Session> {
  const reader = new HandshakeReader(socket);
  const nonce = freshNonce();
  const hello = helloBytes(nonce, clusterId, node);
  socket.write(hello);
  const challenge = await reader.read(NONCE_BYTES);
  socket.write(proof(secret, 'gateway', [hello, challenge]));
  let nodeProof: Buffer;
  try {
    nodeProof = await reader.read(PROOF_BYTES);
  } catch {
    throw Object.assign(new Error('the node closed the link on our proof: CLUSTER_SECRET differs'), { code: 'ERR_NODE_AUTH' });
  }
  if (!proofMatches(secret, 'node', [hello, challenge], nodeProof)) {
    throw Object.assign(new Error('the node could not prove it holds CLUSTER_SECRET'), { code: 'ERR_NODE_AUTH' });
  }
  const keys = sessionKeys(secret, nonce, challenge, `${clusterId}/${node}`);
  return { sealer: cipher.sealer(keys.toNode), opener: cipher.opener(keys.toGateway), leftover: reader.detach() };
}

/**
 * The node's side, once the first four bytes (`magic`) were read: the
 * gateway's hello, its proof, then ours. Throws on anything else (the
 * caller closes the socket, saying nothing).
 */
export async function nodeHandshake(reader: HandshakeReader, socket: Socket, secret: string, magic: Buffer, cipher: FrameCipher = frameCipher): Promise<Session & { clusterId: string; node: number }> {
  const head = Buffer.concat([magic, await reader.read(HELLO_FIXED - magic.byteLength)]);
  if (!head.subarray(0, MAGIC.length).equals(MAGIC) || head[MAGIC.length] !== 1) throw new Error('handshake: not a link hello');
  const clusterLength = head[HELLO_FIXED - 1]!;
  const cluster = await reader.read(clusterLength);
  const hello = Buffer.concat([head, cluster]);
  const gatewayNonce = head.subarray(MAGIC.length + 1, MAGIC.length + 1 + NONCE_BYTES);
  const node = head.readUInt32BE(MAGIC.length + 1 + NONCE_BYTES);
  const clusterId = cluster.toString('utf8');
  const nonce = freshNonce();
  socket.write(nonce);
  const shown = await reader.read(PROOF_BYTES);
  if (!proofMatches(secret, 'gateway', [hello, nonce], shown)) throw new Error('handshake: the gateway\'s proof is wrong');
  socket.write(proof(secret, 'node', [hello, nonce]));
  const keys = sessionKeys(secret, gatewayNonce, nonce, `${clusterId}/${node}`);
  return { sealer: cipher.sealer(keys.toGateway), opener: cipher.opener(keys.toNode), leftover: reader.detach(), clusterId, node };
}
