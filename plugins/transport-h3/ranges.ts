import { dataSpans, type ObjectRecord } from '../../core/contracts/metadata.js';
import type { ByteRange } from '../../core/engine/object-engine.js';
import { S3Error } from './s3-error.js';

/** One `Range: bytes=` range (first-last, first-, -suffix) resolved against the size; other forms are ignored, as S3 does. */
export function parseRange(header: string, size: number): ByteRange | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw new S3Error('InvalidRange');
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw new S3Error('InvalidRange');
  return { start, end };
}

/**
 * `x-amz-copy-source-range: bytes=first-last` of UploadPartCopy: both ends
 * given and inside the source, or InvalidRange (S3 does not clip these).
 */
export function parseCopyRange(header: string, size: number): ByteRange {
  const m = /^bytes=(\d+)-(\d+)$/.exec(header.trim());
  if (!m) throw new S3Error('InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy');
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start || end >= size) throw new S3Error('InvalidRange', `The requested range bytes=${start}-${end} is not satisfiable for a source of ${size} bytes`);
  return { start, end };
}

/**
 * The bytes of part `partNumber` (GET/HEAD `?partNumber=`): a multipart
 * object's part as uploaded, and its part count; part 1 of any other object
 * is all of it (no range).
 */
export function partRange(record: ObjectRecord, partNumberParam: string): { range?: ByteRange; partsCount?: number } {
  const partNumber = Number(partNumberParam);
  if (!/^\d+$/.test(partNumberParam) || partNumber < 1 || partNumber > 10000) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
  }
  if (!record.parts) {
    if (partNumber !== 1) throw new S3Error('InvalidPartNumber');
    return {};
  }
  let start = 0;
  for (const [i, span] of dataSpans(record).entries()) {
    if (i + 1 === partNumber) return { range: { start, end: start + span.size - 1 }, partsCount: record.parts.length };
    start += span.size;
  }
  throw new S3Error('InvalidPartNumber');
}
