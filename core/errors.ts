/**
 * Every error Kintsugi raises on purpose is a KintsugiError with a stable
 * `code`. The S3 transport maps codes to S3 error codes and HTTP statuses in
 * one table; nothing else invents status codes.
 */
export class KintsugiError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * A node fault as the file system would report it: a plain Error with an
 * errno-like `code` (EIO, ENOSPC, ERR_NODE_GONE …) that the node health
 * model reads (see stateFor), whether a local drive met it or a remote node
 * reported it.
 */
export function nodeFault(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/** The configuration breaks a rule; `setting` names the offending key. */
export class ConfigError extends KintsugiError {
  constructor(readonly setting: string, message: string) {
    super('ERR_CONFIG', `${setting}: ${message}`);
  }
}

/** No plugin is registered under the configured name. */
export class UnknownPluginError extends KintsugiError {
  constructor(contract: string, name: string, known: readonly string[]) {
    super('ERR_UNKNOWN_PLUGIN', `unknown ${contract} plugin '${name}' (known: ${known.join(', ') || 'none'})`);
  }
}

/** Codec parameters that no build can serve (k, m, w, technique, packet size). */
export class CodecParamsError extends KintsugiError {
  constructor(message: string) {
    super('ERR_CODEC_PARAMS', message);
  }
}

/** The requested codec build is not available (addon missing, WASM not built). */
export class CodecUnavailableError extends KintsugiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CODEC_UNAVAILABLE', message, options);
  }
}

/** Shard buffers of the wrong number or size were passed to the codec. */
export class ShardLayoutError extends KintsugiError {
  constructor(message: string) {
    super('ERR_SHARD_LAYOUT', message);
  }
}

/** More shards are missing than the code has parity for: the data is unrecoverable. */
export class TooManyErasuresError extends KintsugiError {
  constructor(readonly missing: number, readonly tolerated: number) {
    super('ERR_TOO_MANY_ERASURES', `${missing} shards missing, at most ${tolerated} can be rebuilt`);
  }
}

/** The object (or the version asked for) does not exist. */
export class NoSuchKeyError extends KintsugiError {
  /** `marker`: the key's current version is this delete marker */
  constructor(bucket: string, key: string, readonly marker?: { versionId: string; modifiedMs: number }) {
    super('ERR_NO_SUCH_KEY', `no object ${JSON.stringify(key)} in bucket ${bucket}`);
  }
}

/** A byte range that does not overlap the object. */
export class InvalidRangeError extends KintsugiError {
  constructor(readonly size: number, range: string) {
    super('ERR_INVALID_RANGE', `range ${range} is not satisfiable for an object of ${size} bytes`);
  }
}

/** More shards of a stripe are lost than the code can rebuild. */
export class DataUnavailableError extends KintsugiError {
  constructor(message: string) {
    super('ERR_DATA_UNAVAILABLE', message);
  }
}

/** A node that failed its part of a write, and why. */
export interface NodeFailure {
  readonly node: number;
  readonly why: string;
}

/** Too few nodes took a write for it to be durable; names the nodes that failed and why. */
export class WriteQuorumError extends KintsugiError {
  constructor(message: string, readonly failures: readonly NodeFailure[] = []) {
    super('ERR_WRITE_QUORUM', failures.length > 0 ? `${message} (${failures.map((f) => `node ${f.node}: ${f.why}`).join('; ')})` : message);
  }
}

/** A bucket name that S3 does not allow. */
export class InvalidBucketNameError extends KintsugiError {
  constructor(name: string) {
    super('ERR_INVALID_BUCKET_NAME', `invalid bucket name ${JSON.stringify(name)}`);
  }
}

/** A key that S3 does not allow: empty, not unicode, or with NUL; over 1024 bytes is `ERR_KEY_TOO_LONG`. */
export class InvalidKeyError extends KintsugiError {
  constructor(message: string, code: 'ERR_INVALID_KEY' | 'ERR_KEY_TOO_LONG' = 'ERR_INVALID_KEY') {
    super(code, message);
  }
}

export class NoSuchBucketError extends KintsugiError {
  constructor(bucket: string) {
    super('ERR_NO_SUCH_BUCKET', `bucket ${bucket} does not exist`);
  }
}

export class BucketExistsError extends KintsugiError {
  constructor(bucket: string) {
    super('ERR_BUCKET_EXISTS', `bucket ${bucket} already exists and is yours`);
  }
}

export class BucketNotEmptyError extends KintsugiError {
  constructor(bucket: string) {
    super('ERR_BUCKET_NOT_EMPTY', `bucket ${bucket} is not empty`);
  }
}

/** The multipart upload does not exist (never created, completed or aborted). */
export class NoSuchUploadError extends KintsugiError {
  constructor(uploadId: string) {
    super('ERR_NO_SUCH_UPLOAD', `no multipart upload ${uploadId}`);
  }
}

/** CompleteMultipartUpload named a part that is not there, or with another ETag. */
export class InvalidPartError extends KintsugiError {
  constructor(message: string) {
    super('ERR_INVALID_PART', message);
  }
}

/** A checksum the client sent for a whole upload is not the one its parts make. */
export class ChecksumMismatchError extends KintsugiError {
  constructor(message: string) {
    super('ERR_CHECKSUM_MISMATCH', message);
  }
}

export class InvalidPartOrderError extends KintsugiError {
  constructor() {
    super('ERR_INVALID_PART_ORDER', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.');
  }
}

/** A part other than the last is smaller than 5 MiB. */
export class EntityTooSmallError extends KintsugiError {
  constructor(partNumber: number) {
    super('ERR_ENTITY_TOO_SMALL', `part ${partNumber} is smaller than the minimum allowed object size (5 MiB)`);
  }
}

/** A conditional write's condition (If-Match, If-None-Match) did not hold when it was to commit. */
export class PreconditionFailedError extends KintsugiError {
  constructor(message = 'At least one of the pre-conditions you specified did not hold') {
    super('ERR_PRECONDITION_FAILED', message);
  }
}

/** Another conditional write of the same key held it for too long: retry. */
export class ConditionalConflictError extends KintsugiError {
  constructor(bucket: string, key: string) {
    super('ERR_CONDITIONAL_CONFLICT', `another conditional write of ${JSON.stringify(key)} in ${bucket} is in progress`);
  }
}

/**
 * A node that cannot take the operation in its current state (offline,
 * refused, read-only, full): the operation was not attempted.
 */
export class NodeUnavailableError extends KintsugiError {
  constructor(node: number, state: string, why: string | undefined) {
    super('ERR_NODE_UNAVAILABLE', `node ${node} is ${state}${why ? `: ${why}` : ''}`);
  }
}

/** A node folder whose identity is unreadable or is another node's: it is not touched. */
export class NodeIdentityError extends KintsugiError {
  constructor(message: string) {
    super('ERR_NODE_IDENTITY', message);
  }
}

/** The version a request names does not exist (or was deleted for good). */
export class NoSuchVersionError extends KintsugiError {
  constructor(bucket: string, key: string, versionId: string) {
    super('ERR_NO_SUCH_VERSION', `no version ${versionId} of ${JSON.stringify(key)} in bucket ${bucket}`);
  }
}

/** The version a read named is a delete marker: it has nothing to read. */
export class DeleteMarkerError extends KintsugiError {
  constructor(readonly marker: { versionId: string; modifiedMs: number }) {
    super('ERR_DELETE_MARKER_ADDRESSED', 'The specified method is not allowed against this resource.');
  }
}

/** A version id that no version could have. */
export class InvalidVersionIdError extends KintsugiError {
  constructor() {
    super('ERR_INVALID_VERSION_ID', 'Invalid version id specified');
  }
}

/** A cluster layout change that would break a rule (too few nodes left, a node removed before it is drained). */
export class LayoutError extends KintsugiError {
  constructor(message: string) {
    super('ERR_LAYOUT', message);
  }
}

/** This gateway's cluster layout is older than the one on the nodes: it writes nothing until it uses the newest. */
export class LayoutOutdatedError extends KintsugiError {
  constructor(using: number, newest: number) {
    super('ERR_LAYOUT_OUTDATED', `this gateway uses cluster layout version ${using}, the nodes have version ${newest}: writes wait until it has moved to the newest`);
  }
}

/** Object Lock keeps the version: it cannot be deleted, or its retention loosened (S3's AccessDenied). */
export class ObjectLockedError extends KintsugiError {
  constructor(readonly key: string, why: string) {
    super('ERR_OBJECT_LOCKED', `Access Denied because object protected by object lock: ${JSON.stringify(key)} ${why}`);
  }
}

/** A bucket setting that the bucket's state forbids (suspending versioning under Object Lock, Object Lock without versioning). */
export class BucketStateError extends KintsugiError {
  constructor(message: string) {
    super('ERR_BUCKET_STATE', message);
  }
}

/** A write would take its bucket over its hard quota (403, naming the quota). */
export class QuotaExceededError extends KintsugiError {
  constructor(bucket: string, quota: number, used: number, adding: number) {
    super('ERR_QUOTA_EXCEEDED', `Bucket ${bucket} is over its quota: a quota of ${quota} bytes, ${used} bytes used, ${adding} bytes more asked for`);
  }
}
