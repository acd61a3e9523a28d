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
      return {
        seal(header, payload) {
          let length = 0;
          for (const p of payload) length += p.byteLength;
          const out = Buffer.allocUnsafe(header.byteLength + length + TAG_BYTES);
          header.copy(out, 0);
          direction.seal(out, header.byteLength, payload);
          return [out];
        },
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
