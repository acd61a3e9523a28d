import { createRequire } from 'node:module';

import { artifactPath } from '../../../codecs/common/artifact.js';
import { type FrameCipher, type FrameOpener, type FrameSealer, jsCipher } from './seal.js';

/** One direction of a connection in the addon (../seal-native/src/gcm.cc): its key set up once, its frames numbered. */
interface NativeDirection {
  /** Seals `pieces` into `out` behind the header already in its first `headerBytes`, the tag last. */
  seal(out: Buffer, headerBytes: number, pieces: readonly Uint8Array[]): void;
  /** Opens `pieces` where they lie; false when the tag does not match. */
  open(header: Uint8Array, pieces: readonly Uint8Array[], tag: Uint8Array): boolean;
}
interface Addon {
  Direction: new (key: Buffer, sealing: boolean) => NativeDirection;
}

export const SEAL_ADDON_PATH = 'plugins/drive-remote/seal-native/build/Release/kintsugi_seal.node';
const TAG_BYTES = 16;

/** Frames from this size on are sealed into memory used again once sent; smaller ones into buffers the allocator recycles anyway. */
const POOLED_FROM = 32 << 10;
/** Buffers of one size kept for reuse (a connection has a few large frames in flight). */
const KEPT_PER_SIZE = 8;

/**
 * Memory for sealed frames, used again once the socket is done with it: a
 * large frame sealed into a fresh buffer is fresh pages for the kernel to
 * fault in and zero, each time — as much again as the cipher on this kind
 * of machine. Sizes are rounded up to a power of two.
 */
class SealedBuffers {
  private readonly free = new Map<number, Buffer[]>();

  take(bytes: number): Buffer {
    if (bytes < POOLED_FROM) return Buffer.allocUnsafe(bytes);
    const size = 2 ** Math.ceil(Math.log2(bytes));
    return (this.free.get(size)?.pop() ?? Buffer.allocUnsafeSlow(size)).subarray(0, bytes);
  }

  give(sent: Buffer): void {
    if (sent.byteLength < POOLED_FROM) return;
    const whole = Buffer.from(sent.buffer, 0, sent.buffer.byteLength);
    const kept = this.free.get(whole.byteLength) ?? [];
    if (kept.length < KEPT_PER_SIZE) kept.push(whole);
    this.free.set(whole.byteLength, kept);
  }
}

function load(): Addon | undefined {
  const path = process.env.KINTSUGI_SEAL_ADDON ?? artifactPath(import.meta.url, SEAL_ADDON_PATH);
  try {
    return createRequire(import.meta.url)(path) as Addon;
  } catch {
    return undefined;
  }
}
const addon = load();

/**
 * The frame seal through the OpenSSL Node links (the same AES-256-GCM, the
 * same bytes on the wire): a frame is sealed into one new buffer, header
 * included, that goes to the socket as it is, and an arriving frame is
 * opened in the socket's own chunks. Node's Cipheriv made a buffer per
 * piece and a key schedule per frame, and the garbage those buffers left
 * cost the nodes as much again as the cipher itself.
 */
function nativeCipher(a: Addon): FrameCipher {
  return {
    name: 'OpenSSL (addon)',
    sealer(key): FrameSealer {
      const direction = new a.Direction(key, true);
      const pool = new SealedBuffers();
      return {
        seal(header, payload) {
          let length = 0;
          for (const p of payload) length += p.byteLength;
          const out = pool.take(header.byteLength + length + TAG_BYTES);
          header.copy(out, 0);
          direction.seal(out, header.byteLength, payload);
          return [out];
        },
        release: (sent) => pool.give(sent),
      };
    },
    opener(key): FrameOpener {
      const direction = new a.Direction(key, false);
      return { open: (header, sealed, tag) => (direction.open(header, sealed, tag) ? [...sealed] : undefined) };
    },
  };
}

/** Every frame cipher this process can use, the preferred first (the addon is missing where it was not built). */
export const frameCiphers: readonly FrameCipher[] = addon ? [nativeCipher(addon), jsCipher] : [jsCipher];

/** What seals the link's frames here. */
export const frameCipher: FrameCipher = frameCiphers[0]!;
