import { createHash, type Hash } from 'node:crypto';

import { S3Error } from '../s3-error.js';
import { chunkSignature, signaturesEqual, trailerSignature, type Verified } from '../auth/sigv4.js';

/** A chunk header line longer than this is not a chunk header. */
const MAX_LINE = 4096;
const MAX_TRAILER_BYTES = 16 << 10;

export interface ChunkedOptions {
  /** verify chunk signatures chained from the request signature */
  seed?: NonNullable<Verified['seed']>;
  /** filled with the trailing headers (e.g. x-amz-checksum-crc32) once the body ends */
  trailers: Map<string, string>;
  /** the trailers carry x-amz-trailer-signature, chained from the last chunk's (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER) */
  signedTrailer?: boolean;
}

/**
 * Decodes an `aws-chunked` body (what the AWS SDKs and CLI send by default:
 * `STREAMING-UNSIGNED-PAYLOAD-TRAILER`, or `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`
 * with a signature per chunk), yielding the payload and collecting trailers.
 * A bad chunk signature or a malformed frame fails the stream, which fails
 * the put before anything is committed.
 */
export async function* decodeAwsChunked(source: AsyncIterable<Uint8Array>, opts: ChunkedOptions): AsyncGenerator<Uint8Array> {
  let buf: Buffer = Buffer.alloc(0);
  let previous = opts.seed?.signature ?? '';
  const it = source[Symbol.asyncIterator]();
  let ended = false;

  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const n = await it.next();
    if (n.done) { ended = true; return false; }
    buf = buf.length ? Buffer.concat([buf, n.value]) : Buffer.from(n.value.buffer, n.value.byteOffset, n.value.byteLength);
    return true;
  };
  const line = async (limit: number): Promise<string> => {
    for (;;) {
      const at = buf.indexOf('\r\n');
      if (at >= 0) {
        const text = buf.subarray(0, at).toString('latin1');
        buf = buf.subarray(at + 2);
        return text;
      }
      if (buf.length > limit) throw new S3Error('IncompleteBody', 'malformed aws-chunked frame');
      if (!(await more())) throw new S3Error('IncompleteBody', 'the body ended inside an aws-chunked frame');
    }
  };

  for (;;) {
    const head = await line(MAX_LINE);
    const [sizeHex, ...ext] = head.split(';');
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeHex ?? '')) throw new S3Error('IncompleteBody', 'malformed aws-chunked chunk size');
    const size = parseInt(sizeHex!, 16);
    const sig = ext.find((e) => e.startsWith('chunk-signature='))?.slice('chunk-signature='.length);
    if (opts.seed && !sig) throw new S3Error('SignatureDoesNotMatch', 'chunk signature missing');
    const hash: Hash | undefined = opts.seed ? createHash('sha256') : undefined;

    let left = size;
    while (left > 0) {
      if (buf.length === 0 && !(await more())) throw new S3Error('IncompleteBody', 'the body ended inside a chunk');
      const take = Math.min(left, buf.length);
      const part = buf.subarray(0, take);
      buf = buf.subarray(take);
      hash?.update(part);
      left -= take;
      yield part;
    }
    if (opts.seed) {
      const expected = chunkSignature(opts.seed, previous, hash!.digest('hex'));
      if (!signaturesEqual(expected, sig!)) throw new S3Error('SignatureDoesNotMatch', 'chunk signature does not match');
      previous = expected;
    }
    if (size === 0) break;
    if ((await line(2)) !== '') throw new S3Error('IncompleteBody', 'chunk data longer than its declared size');
  }

  // Trailers: header lines up to an empty line (or the end of the body).
  let trailerBytes = 0;
  let signedLines = '';
  let signature: string | undefined;
  for (;;) {
    if (ended && buf.length === 0) break;
    const l = await line(MAX_TRAILER_BYTES).catch((err) => { if (ended && buf.length === 0) return ''; throw err; });
    if (l === '') break;
    trailerBytes += l.length;
    if (trailerBytes > MAX_TRAILER_BYTES) throw new S3Error('MalformedTrailerError', 'trailers too long');
    const colon = l.indexOf(':');
    if (colon <= 0) throw new S3Error('MalformedTrailerError', 'malformed trailer');
    const name = l.slice(0, colon).trim().toLowerCase();
    const value = l.slice(colon + 1).trim();
    if (name === 'x-amz-trailer-signature') {
      signature = value;
      continue;
    }
    signedLines += `${name}:${value}\n`;
    opts.trailers.set(name, value);
  }
  if (opts.seed && opts.signedTrailer) {
    // The trailers are signed like a last chunk: chained from the final chunk's signature.
    if (!signature) throw new S3Error('SignatureDoesNotMatch', 'x-amz-trailer-signature missing');
    if (!signaturesEqual(trailerSignature(opts.seed, previous, signedLines), signature)) throw new S3Error('SignatureDoesNotMatch', 'trailer signature does not match');
  }
}
