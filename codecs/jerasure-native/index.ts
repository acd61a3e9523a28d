import { createRequire } from 'node:module';

import { allocAlignedShards } from '../common/aligned.js';
import { artifactPath } from '../common/artifact.js';
import { CRC_KINDS, type RawCrcBuild } from '../common/raw-crc.js';
import {
  RawCodecError, TECHNIQUE_IDS,
  type RawCode, type RawCodecBuild, type RawCodeParams,
} from '../common/raw-code.js';

/** The addon's class (src/addon.cc). */
interface NativeJerasure {
  readonly alignment: number;
  encode(data: Uint8Array[], parity: Uint8Array[]): void;
  encodeAsync(data: Uint8Array[], parity: Uint8Array[]): Promise<void>;
  decode(shards: Uint8Array[], erased: readonly number[]): void;
  decodeAsync(shards: Uint8Array[], erased: readonly number[]): Promise<void>;
}
interface Addon {
  NativeJerasure: new (k: number, m: number, w: number, technique: number, packetSize: number) => NativeJerasure;
  crcUpdate(kind: number, crc: bigint, data: Uint8Array, tables?: boolean): bigint;
  crcFolds(): boolean;
}

export const NATIVE_ADDON_PATH = 'codecs/jerasure-native/build/Release/kintsugi_jerasure.node';

/** Errors thrown by the addon carry `code`; rethrow them as RawCodecError. */
function rethrow(err: unknown): never {
  const code = (err as { code?: string }).code;
  if (typeof code === 'string' && code.startsWith('ERR_CODEC')) {
    throw new RawCodecError(code, (err as Error).message);
  }
  if (err instanceof TypeError) throw new RawCodecError('ERR_CODEC_ARGS', err.message);
  throw err;
}

class NativeCode implements RawCode {
  constructor(private readonly inner: NativeJerasure) {}

  get alignment(): number {
    return this.inner.alignment;
  }

  encode(data: Uint8Array[], parity: Uint8Array[]): void {
    try { this.inner.encode(data, parity); } catch (err) { rethrow(err); }
  }

  encodeAsync(data: Uint8Array[], parity: Uint8Array[]): Promise<void> {
    try { return this.inner.encodeAsync(data, parity).catch(rethrow); } catch (err) { rethrow(err); }
  }

  decode(shards: Uint8Array[], erased: readonly number[]): void {
    try { this.inner.decode(shards, erased); } catch (err) { rethrow(err); }
  }

  decodeAsync(shards: Uint8Array[], erased: readonly number[]): Promise<void> {
    try { return this.inner.decodeAsync(shards, erased).catch(rethrow); } catch (err) { rethrow(err); }
  }

  alloc(count: number, size: number): Uint8Array[] {
    return allocAlignedShards(count, size);
  }

  release(): void {
    // Plain Buffers: the garbage collector frees them.
  }

  dispose(): void {
    // The addon frees matrices and schedules when the object is collected.
  }
}

/**
 * Loads the addon; throws when it is missing or does not load.
 * KINTSUGI_NATIVE_ADDON points at another build of it (or at nothing, to
 * see the WASM fallback at work).
 */
export function loadNativeBuild(): RawCodecBuild {
  const addon = loadAddon();
  return {
    impl: 'native',
    create(p: RawCodeParams): RawCode {
      try {
        return new NativeCode(new addon.NativeJerasure(p.k, p.m, p.w, TECHNIQUE_IDS[p.technique], p.packetSize));
      } catch (err) {
        rethrow(err);
      }
    },
  };
}

function loadAddon(): Addon {
  const path = process.env.KINTSUGI_NATIVE_ADDON || artifactPath(import.meta.url, NATIVE_ADDON_PATH);
  return createRequire(import.meta.url)(path) as Addon;
}

/** The addon's CRCs; throws when it is missing, does not load, or predates them. */
export function loadNativeCrc(): RawCrcBuild {
  const addon = loadAddon();
  if (typeof addon.crcUpdate !== 'function') throw new Error('the native addon has no CRCs (built before them: npm run setup)');
  return {
    impl: 'native',
    folds: addon.crcFolds(),
    update: (algorithm, crc, data, tables = false) => addon.crcUpdate(CRC_KINDS[algorithm], crc, data, tables),
  };
}
