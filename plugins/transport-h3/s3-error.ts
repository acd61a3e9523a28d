import { DeleteMarkerError, KintsugiError, NoSuchKeyError } from '../../core/errors.js';
import { s3VersionId } from '../../core/version-id.js';

/**
 * The S3 error catalogue: every code Kintsugi answers, with its HTTP status
 * and AWS's default message. Handlers name a code (and, where it helps, a
 * more precise message); nothing else decides a status.
 */
const CATALOGUE = {
  AccessDenied: [403, 'Access Denied'],
  AccessForbidden: [403, 'CORSResponse: This CORS request is not allowed.'],
  AuthorizationHeaderMalformed: [400, 'The authorization header is malformed.'],
  AuthorizationQueryParametersError: [400, 'Error parsing the X-Amz-Credential parameter.'],
  BadDigest: [400, 'The Content-MD5 you specified did not match what we received.'],
  BadRequest: [400, 'Bad Request'],
  BucketAlreadyOwnedByYou: [409, 'Your previous request to create the named bucket succeeded and you already own it.'],
  BucketNotEmpty: [409, 'The bucket you tried to delete is not empty.'],
  ConditionalRequestConflict: [409, 'A conflicting operation occurred. If using PutObject you can retry the request.'],
  EntityTooLarge: [400, 'Your proposed upload exceeds the maximum allowed object size.'],
  EntityTooSmall: [400, 'Your proposed upload is smaller than the minimum allowed object size.'],
  IncompleteBody: [400, 'You did not provide the number of bytes specified by the Content-Length HTTP header.'],
  InternalError: [500, 'We encountered an internal error. Please try again.'],
  InvalidAccessKeyId: [403, 'The AWS Access Key Id you provided does not exist in our records.'],
  InvalidArgument: [400, 'Invalid Argument'],
  InvalidBucketName: [400, 'The specified bucket is not valid.'],
  InvalidBucketState: [409, 'The request is not valid with the current state of the bucket.'],
  InvalidDigest: [400, 'The Content-MD5 you specified is not valid.'],
  InvalidPolicyDocument: [400, 'The content of the form does not meet the conditions specified in the policy document.'],
  InvalidPart: [400, 'One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part\'s entity tag.'],
  InvalidPartNumber: [416, 'The requested partnumber is not satisfiable'],
  InvalidPartOrder: [400, 'The list of parts was not in ascending order. The parts list must be specified in order by part number.'],
  InvalidRange: [416, 'The requested range is not satisfiable'],
  InvalidRequest: [400, 'Invalid Request'],
  InvalidURI: [400, 'Couldn\'t parse the specified URI.'],
  KeyTooLongError: [400, 'Your key is too long'],
  MalformedPOSTRequest: [400, 'The body of your POST request is not well-formed multipart/form-data.'],
  MalformedPolicy: [400, 'Policy has invalid resource'],
  MalformedTrailerError: [400, 'The request contained trailing data that was not well-formed or did not conform to our published schema.'],
  InvalidTag: [400, 'The TagValue you have provided is invalid'],
  MalformedXML: [400, 'The XML you provided was not well-formed or did not validate against our published schema.'],
  MaxMessageLengthExceeded: [400, 'Your request was too big.'],
  MaxPostPreDataLengthExceededError: [400, 'Your POST request fields preceding the upload file were too large.'],
  MetadataTooLarge: [400, 'Your metadata headers exceed the maximum allowed metadata size.'],
  MethodNotAllowed: [405, 'The specified method is not allowed against this resource.'],
  NoSuchBucket: [404, 'The specified bucket does not exist'],
  NoSuchBucketPolicy: [404, 'The bucket policy does not exist'],
  NoSuchCORSConfiguration: [404, 'The CORS configuration does not exist'],
  NoSuchKey: [404, 'The specified key does not exist.'],
  NoSuchLifecycleConfiguration: [404, 'The lifecycle configuration does not exist'],
  NoSuchObjectLockConfiguration: [404, 'The specified object does not have a ObjectLock configuration'],
  NoSuchPublicAccessBlockConfiguration: [404, 'The public access block configuration was not found'],
  NoSuchTagSet: [404, 'The TagSet does not exist'],
  NoSuchUpload: [404, 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.'],
  NoSuchVersion: [404, 'The specified version does not exist.'],
  NoSuchWebsiteConfiguration: [404, 'The specified bucket does not have a website configuration'],
  NotImplemented: [501, 'A header or query you provided implies functionality that is not implemented.'],
  ObjectLockConfigurationNotFoundError: [404, 'Object Lock configuration does not exist for this bucket'],
  OwnershipControlsNotFoundError: [404, 'The bucket ownership controls were not found'],
  PreconditionFailed: [412, 'At least one of the pre-conditions you specified did not hold'],
  QuotaExceeded: [403, 'The bucket\'s quota would be exceeded.'],
  ReplicationConfigurationNotFoundError: [404, 'The replication configuration was not found'],
  RequestTimeTooSkewed: [403, 'The difference between the request time and the server\'s time is too large.'],
  ServerSideEncryptionConfigurationNotFoundError: [404, 'The server side encryption configuration was not found'],
  ServiceUnavailable: [503, 'Service is unable to handle request.'],
  SignatureDoesNotMatch: [403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'],
  SlowDown: [503, 'Please reduce your request rate.'],
  XAmzContentSHA256Mismatch: [400, 'The provided \'x-amz-content-sha256\' header does not match what was computed.'],
} as const satisfies Record<string, readonly [number, string]>;

export type S3ErrorCode = keyof typeof CATALOGUE;

/** An error as S3 reports it: a catalogued code, its HTTP status, and a message. */
export class S3Error extends Error {
  readonly status: number;

  /** `headers`: what S3 sends with this error (a delete marker's version id) */
  constructor(readonly code: S3ErrorCode, message?: string, readonly headers: Readonly<Record<string, string>> = {}) {
    super(message ?? CATALOGUE[code][1]);
    this.status = CATALOGUE[code][0];
    this.name = 'S3Error';
  }
}

/**
 * Kintsugi's typed errors by their stable code → the S3 code they are.
 * Handlers throw typed errors (or S3Error for protocol-level faults); only
 * this table and the catalogue decide what the client sees.
 */
const BY_KINTSUGI_CODE: Readonly<Record<string, S3ErrorCode>> = {
  ERR_NO_SUCH_KEY: 'NoSuchKey',
  ERR_MALFORMED_POLICY: 'MalformedPolicy',
  ERR_NO_SUCH_BUCKET: 'NoSuchBucket',
  ERR_BUCKET_EXISTS: 'BucketAlreadyOwnedByYou',
  ERR_BUCKET_NOT_EMPTY: 'BucketNotEmpty',
  ERR_INVALID_RANGE: 'InvalidRange',
  ERR_INVALID_BUCKET_NAME: 'InvalidBucketName',
  ERR_KEY_TOO_LONG: 'KeyTooLongError',
  ERR_INVALID_KEY: 'InvalidArgument',
  ERR_DATA_UNAVAILABLE: 'SlowDown',
  ERR_WRITE_QUORUM: 'SlowDown',
  ERR_NODE_UNAVAILABLE: 'SlowDown',
  ERR_INDEX_CORRUPT: 'SlowDown',
  ERR_LAYOUT_OUTDATED: 'ServiceUnavailable',
  ERR_NO_SUCH_UPLOAD: 'NoSuchUpload',
  ERR_MALFORMED_XML: 'MalformedXML',
  ERR_INVALID_PART: 'InvalidPart',
  ERR_CHECKSUM_MISMATCH: 'BadDigest',
  ERR_INVALID_PART_ORDER: 'InvalidPartOrder',
  ERR_ENTITY_TOO_SMALL: 'EntityTooSmall',
  ERR_PRECONDITION_FAILED: 'PreconditionFailed',
  ERR_CONDITIONAL_CONFLICT: 'ConditionalRequestConflict',
  ERR_NO_SUCH_VERSION: 'NoSuchVersion',
  ERR_DELETE_MARKER_ADDRESSED: 'MethodNotAllowed',
  ERR_INVALID_VERSION_ID: 'InvalidArgument',
  ERR_OBJECT_LOCKED: 'AccessDenied',
  ERR_BUCKET_STATE: 'InvalidBucketState',
  ERR_QUOTA_EXCEEDED: 'QuotaExceeded',
};

export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  if (err instanceof KintsugiError) {
    const code = BY_KINTSUGI_CODE[err.code];
    // A delete marker met on the way says so, with its version id (and its time, when it was the version asked for).
    const marker = err instanceof DeleteMarkerError || err instanceof NoSuchKeyError ? err.marker : undefined;
    if (code && marker) {
      return new S3Error(code, err.message, {
        'x-amz-delete-marker': 'true', 'x-amz-version-id': s3VersionId(marker.versionId),
        ...(err instanceof DeleteMarkerError ? { 'last-modified': new Date(marker.modifiedMs).toUTCString() } : {}),
      });
    }
    if (code) return new S3Error(code, err.message);
  }
  return new S3Error('InternalError');
}

// CR too: an XML reader turns a raw CR into LF, so a key holding one is written `&#13;` to come back exact.
const XML_SPECIAL = /[<>&'"\u0000-\u0008\u000b-\u001f]/;
const XML_SPECIALS = new RegExp(XML_SPECIAL.source, 'g');

/** Text safe inside an XML element; most keys need no change, and are not copied. */
export const escapeXml = (s: string): string =>
  XML_SPECIAL.test(s) ? s.replace(XML_SPECIALS, (c) => `&#${c.charCodeAt(0)};`) : s;

export function errorXml(err: S3Error, resource: string, requestId: string): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' +
    `<Code>${err.code}</Code><Message>${escapeXml(err.message)}</Message>` +
    `<Resource>${escapeXml(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`;
}
