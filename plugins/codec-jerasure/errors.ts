import {
  CodecParamsError, KintsugiError, ShardLayoutError, TooManyErasuresError,
} from '../../core/errors.js';
import { RawCodecError } from '../../codecs/common/raw-code.js';

/** Turns a build's RawCodecError into the core's typed errors. */
export function toTypedError(err: unknown, m: number): unknown {
  if (!(err instanceof RawCodecError)) return err;
  switch (err.code) {
    case 'ERR_CODEC_PARAMS': return new CodecParamsError(err.message);
    case 'ERR_CODEC_SHARD_SIZE':
    case 'ERR_CODEC_ARGS': return new ShardLayoutError(err.message);
    case 'ERR_CODEC_TOO_MANY_ERASURES': return new TooManyErasuresError(m + 1, m);
    default: return new KintsugiError(err.code, err.message, { cause: err });
  }
}
