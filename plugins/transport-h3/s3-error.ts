import { KintsugiError } from '../../core/errors.js';

/** An error as S3 reports it: code, HTTP status and message. */
export class S3Error extends Error {
  constructor(readonly code: string, readonly status: number, message: string) {
    super(message);
    this.name = 'S3Error';
  }
}

/**
 * The one table from Kintsugi's typed errors to S3 error codes and HTTP
 * statuses. Handlers throw typed errors (or S3Error for protocol-level
 * faults); only this table decides what the client sees.
 */
const BY_CODE: Readonly<Record<string, [code: string, status: number]>> = {
  ERR_NO_SUCH_KEY: ['NoSuchKey', 404],
  ERR_NO_SUCH_BUCKET: ['NoSuchBucket', 404],
  ERR_BUCKET_EXISTS: ['BucketAlreadyOwnedByYou', 409],
  ERR_BUCKET_NOT_EMPTY: ['BucketNotEmpty', 409],
  ERR_INVALID_RANGE: ['InvalidRange', 416],
  ERR_INVALID_BUCKET_NAME: ['InvalidBucketName', 400],
  ERR_KEY_TOO_LONG: ['KeyTooLongError', 400],
  ERR_INVALID_KEY: ['InvalidArgument', 400],
  ERR_DATA_UNAVAILABLE: ['SlowDown', 503],
  ERR_WRITE_QUORUM: ['SlowDown', 503],
  ERR_NODE_OFFLINE: ['SlowDown', 503],
  ERR_NO_SUCH_UPLOAD: ['NoSuchUpload', 404],
  ERR_MALFORMED_XML: ['MalformedXML', 400],
  ERR_INVALID_PART: ['InvalidPart', 400],
  ERR_INVALID_PART_ORDER: ['InvalidPartOrder', 400],
  ERR_ENTITY_TOO_SMALL: ['EntityTooSmall', 400],
};

export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  if (err instanceof KintsugiError) {
    const hit = BY_CODE[err.code];
    if (hit) return new S3Error(hit[0], hit[1], err.message);
  }
  return new S3Error('InternalError', 500, 'We encountered an internal error. Please try again.');
}

const XML_SPECIAL = /[<>&'"\u0000-\u0008\u000b\u000c\u000e-\u001f]/;
const XML_SPECIALS = new RegExp(XML_SPECIAL.source, 'g');

/** Text safe inside an XML element; most keys need no change, and are not copied. */
export const escapeXml = (s: string): string =>
  XML_SPECIAL.test(s) ? s.replace(XML_SPECIALS, (c) => `&#${c.charCodeAt(0)};`) : s;

export function errorXml(err: S3Error, resource: string, requestId: string): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' +
    `<Code>${err.code}</Code><Message>${escapeXml(err.message)}</Message>` +
    `<Resource>${escapeXml(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`;
}
