import { header, type Handler, type S3Request } from './context.js';
import * as acl from './handlers/acl.js';
import * as buckets from './handlers/buckets.js';
import * as bucketCors from './handlers/bucket-cors.js';
import * as bucketLifecycle from './handlers/bucket-lifecycle.js';
import * as bucketPolicy from './handlers/bucket-policy.js';
import * as bucketTagging from './handlers/bucket-tagging.js';
import * as bucketVersioning from './handlers/bucket-versioning.js';
import { deleteObjects } from './handlers/delete-objects.js';
import { listObjectVersions } from './handlers/list-versions.js';
import { listBucket } from './handlers/listing.js';
import * as multipart from './handlers/multipart.js';
import * as objectLock from './handlers/object-lock.js';
import * as objectTagging from './handlers/object-tagging.js';
import * as objects from './handlers/objects.js';
import { levelOf } from './paths.js';

export type Level = 'service' | 'bucket' | 'object';

/**
 * The permission a request needs: an S3 action on its bucket or on its
 * object, and whether anyone (an anonymous request) may be granted it by a
 * bucket's policy or canned ACL — only reads may.
 */
export interface Needed {
  readonly action: string;
  readonly object: boolean;
  readonly anyone: boolean;
}

/**
 * One S3 operation: its name, method and level, the sub-resources (query
 * keys) that select it — exactly these, no more, no fewer — and its handler.
 * An operation without a handler answers 501 NotImplemented with its name.
 */
export interface Route {
  readonly name: string;
  readonly method: string;
  readonly level: Level;
  /** sorted */
  readonly subresources: readonly string[];
  /** tells apart operations that share method, level and sub-resources */
  readonly when?: (req: S3Request) => boolean;
  readonly handler?: Handler;
  /** the permission it needs (the reads anyone may be allowed so far; the rest with users and policies) */
  readonly needs?: (req: S3Request) => Needed;
}

/**
 * Every query key S3 uses to select an operation. A request carrying any of
 * them is only ever routed to the operation those keys select: never to the
 * plain operation on the same path (a `PUT ?tagging` must not overwrite the
 * object with the tagging XML).
 */
export const SUBRESOURCES: ReadonlySet<string> = new Set([
  // objects
  'acl', 'tagging', 'retention', 'legal-hold', 'torrent', 'restore', 'attributes', 'select', 'uploads', 'uploadId', 'renameObject',
  // buckets
  'cors', 'policy', 'policyStatus', 'lifecycle', 'website', 'replication', 'encryption', 'object-lock', 'logging',
  'notification', 'requestPayment', 'accelerate', 'ownershipControls', 'publicAccessBlock', 'intelligent-tiering',
  'inventory', 'metrics', 'analytics', 'versioning', 'delete', 'location', 'versions', 'session', 'metadataTable',
  'metadataConfiguration', 'abac',
]);

const route = (name: string, method: string, level: Level, subresources: readonly string[], handler?: Handler, when?: Route['when'], needs?: Route['needs']): Route =>
  ({ name, method, level, subresources: [...subresources].sort(), ...(handler ? { handler } : {}), ...(when ? { when } : {}), ...(needs ? { needs } : {}) });

/** A read anyone may be allowed: GetObject(Version) of the object, or a listing of the bucket. */
const readObject = (req: S3Request): Needed => ({ action: req.query.has('versionId') ? 's3:GetObjectVersion' : 's3:GetObject', object: true, anyone: true });
const readBucket = (action: string) => (): Needed => ({ action, object: false, anyone: true });

const copying = (req: S3Request) => header(req, 'x-amz-copy-source') !== undefined;
const withId = (req: S3Request) => req.query.has('id');

/**
 * A bucket configuration sub-resource: its Get, Put and Delete operations
 * (by AWS's names), any of them implemented by the handlers given.
 */
function bucketConfig(sub: string, names: { get?: string; put?: string; delete?: string }, handlers: { get?: Handler; put?: Handler; delete?: Handler } = {}): Route[] {
  return [
    ...(names.get ? [route(names.get, 'GET', 'bucket', [sub], handlers.get)] : []),
    ...(names.put ? [route(names.put, 'PUT', 'bucket', [sub], handlers.put)] : []),
    ...(names.delete ? [route(names.delete, 'DELETE', 'bucket', [sub], handlers.delete)] : []),
  ];
}

/** Get/Put/Delete XConfiguration by `id`, and List without one. */
function bucketIdConfig(sub: string, base: string): Route[] {
  return [
    route(`GetBucket${base}Configuration`, 'GET', 'bucket', [sub], undefined, withId),
    route(`ListBucket${base}Configurations`, 'GET', 'bucket', [sub]),
    route(`PutBucket${base}Configuration`, 'PUT', 'bucket', [sub]),
    route(`DeleteBucket${base}Configuration`, 'DELETE', 'bucket', [sub]),
  ];
}

/** A browser's CORS preflight (OPTIONS), answered before authentication (see cors.ts). */
export const PREFLIGHT = 'PreflightCors';

/** A browser's form upload (POST Object), signed in its form fields, not its headers (see post-object.ts). */
export const POST_OBJECT = 'PostObject';

/** The S3 API, one entry per operation, first match wins. */
export const ROUTES: readonly Route[] = [
  route('ListBuckets', 'GET', 'service', [], buckets.listBuckets),
  route(PREFLIGHT, 'OPTIONS', 'bucket', []),
  route(PREFLIGHT, 'OPTIONS', 'object', []),

  // Buckets
  route('CreateBucket', 'PUT', 'bucket', [], buckets.createBucket),
  route('HeadBucket', 'HEAD', 'bucket', [], buckets.headBucket),
  route('DeleteBucket', 'DELETE', 'bucket', [], buckets.deleteBucket),
  route('ListObjectsV2', 'GET', 'bucket', [], listBucket, (req) => req.query.get('list-type') === '2', readBucket('s3:ListBucket')),
  route('ListObjects', 'GET', 'bucket', [], listBucket, undefined, readBucket('s3:ListBucket')),
  route('ListObjectVersions', 'GET', 'bucket', ['versions'], listObjectVersions, undefined, readBucket('s3:ListBucketVersions')),
  route('ListMultipartUploads', 'GET', 'bucket', ['uploads'], multipart.listMultipartUploads),
  route('DeleteObjects', 'POST', 'bucket', ['delete'], deleteObjects),
  route(POST_OBJECT, 'POST', 'bucket', []),
  route('GetBucketLocation', 'GET', 'bucket', ['location'], buckets.getBucketLocation),
  route('GetBucketVersioning', 'GET', 'bucket', ['versioning'], bucketVersioning.getBucketVersioning),
  route('PutBucketVersioning', 'PUT', 'bucket', ['versioning'], bucketVersioning.putBucketVersioning),
  route('GetBucketAcl', 'GET', 'bucket', ['acl'], acl.getBucketAcl),
  route('PutBucketAcl', 'PUT', 'bucket', ['acl'], acl.putBucketAcl),
  ...bucketConfig('tagging', { get: 'GetBucketTagging', put: 'PutBucketTagging', delete: 'DeleteBucketTagging' }, { get: bucketTagging.getBucketTagging, put: bucketTagging.putBucketTagging, delete: bucketTagging.deleteBucketTagging }),
  ...bucketConfig('cors', { get: 'GetBucketCors', put: 'PutBucketCors', delete: 'DeleteBucketCors' }, { get: bucketCors.getBucketCors, put: bucketCors.putBucketCors, delete: bucketCors.deleteBucketCors }),
  ...bucketConfig('policy', { get: 'GetBucketPolicy', put: 'PutBucketPolicy', delete: 'DeleteBucketPolicy' }, { get: bucketPolicy.getBucketPolicy, put: bucketPolicy.putBucketPolicy, delete: bucketPolicy.deleteBucketPolicy }),
  ...bucketConfig('policyStatus', { get: 'GetBucketPolicyStatus' }, { get: bucketPolicy.getBucketPolicyStatus }),
  ...bucketConfig('lifecycle', { get: 'GetBucketLifecycleConfiguration', put: 'PutBucketLifecycleConfiguration', delete: 'DeleteBucketLifecycle' }, { get: bucketLifecycle.getBucketLifecycle, put: bucketLifecycle.putBucketLifecycle, delete: bucketLifecycle.deleteBucketLifecycle }),
  ...bucketConfig('website', { get: 'GetBucketWebsite', put: 'PutBucketWebsite', delete: 'DeleteBucketWebsite' }, { get: buckets.notConfigured('NoSuchWebsiteConfiguration') }),
  ...bucketConfig('replication', { get: 'GetBucketReplication', put: 'PutBucketReplication', delete: 'DeleteBucketReplication' }, { get: buckets.notConfigured('ReplicationConfigurationNotFoundError') }),
  ...bucketConfig('encryption', { get: 'GetBucketEncryption', put: 'PutBucketEncryption', delete: 'DeleteBucketEncryption' }, { get: buckets.notConfigured('ServerSideEncryptionConfigurationNotFoundError') }),
  ...bucketConfig('object-lock', { get: 'GetObjectLockConfiguration', put: 'PutObjectLockConfiguration' }, { get: objectLock.getObjectLockConfiguration, put: objectLock.putObjectLockConfiguration }),
  ...bucketConfig('ownershipControls', { get: 'GetBucketOwnershipControls', put: 'PutBucketOwnershipControls', delete: 'DeleteBucketOwnershipControls' }, { get: buckets.notConfigured('OwnershipControlsNotFoundError') }),
  ...bucketConfig('publicAccessBlock', { get: 'GetPublicAccessBlock', put: 'PutPublicAccessBlock', delete: 'DeletePublicAccessBlock' }, { get: buckets.notConfigured('NoSuchPublicAccessBlockConfiguration') }),
  ...bucketConfig('logging', { get: 'GetBucketLogging', put: 'PutBucketLogging' }, { get: buckets.defaultDocument('BucketLoggingStatus') }),
  ...bucketConfig('notification', { get: 'GetBucketNotificationConfiguration', put: 'PutBucketNotificationConfiguration' }, { get: buckets.defaultDocument('NotificationConfiguration') }),
  ...bucketConfig('requestPayment', { get: 'GetBucketRequestPayment', put: 'PutBucketRequestPayment' }, { get: buckets.defaultDocument('RequestPaymentConfiguration', [['Payer', 'BucketOwner']]) }),
  ...bucketConfig('accelerate', { get: 'GetBucketAccelerateConfiguration', put: 'PutBucketAccelerateConfiguration' }, { get: buckets.defaultDocument('AccelerateConfiguration') }),
  ...bucketIdConfig('intelligent-tiering', 'IntelligentTiering'),
  ...bucketIdConfig('inventory', 'Inventory'),
  ...bucketIdConfig('metrics', 'Metrics'),
  ...bucketIdConfig('analytics', 'Analytics'),
  ...bucketConfig('metadataTable', { get: 'GetBucketMetadataTableConfiguration', delete: 'DeleteBucketMetadataTableConfiguration' }),
  route('CreateBucketMetadataTableConfiguration', 'POST', 'bucket', ['metadataTable']),
  ...bucketConfig('metadataConfiguration', { get: 'GetBucketMetadataConfiguration', delete: 'DeleteBucketMetadataConfiguration' }),
  route('CreateBucketMetadataConfiguration', 'POST', 'bucket', ['metadataConfiguration']),
  ...bucketConfig('abac', { get: 'GetBucketAbac', put: 'PutBucketAbac' }),
  route('CreateSession', 'GET', 'bucket', ['session']),

  // Objects
  route('CopyObject', 'PUT', 'object', [], objects.copyObject, copying),
  route('PutObject', 'PUT', 'object', [], objects.putObject),
  route('GetObject', 'GET', 'object', [], objects.getObject, undefined, readObject),
  route('HeadObject', 'HEAD', 'object', [], objects.headObject, undefined, readObject),
  route('DeleteObject', 'DELETE', 'object', [], objects.deleteObject),
  route('GetObjectAttributes', 'GET', 'object', ['attributes'], objects.getObjectAttributes),
  route('GetObjectAcl', 'GET', 'object', ['acl'], acl.getObjectAcl),
  route('PutObjectAcl', 'PUT', 'object', ['acl'], acl.putObjectAcl),
  route('GetObjectTagging', 'GET', 'object', ['tagging'], objectTagging.getObjectTagging),
  route('PutObjectTagging', 'PUT', 'object', ['tagging'], objectTagging.putObjectTagging),
  route('DeleteObjectTagging', 'DELETE', 'object', ['tagging'], objectTagging.deleteObjectTagging),
  route('GetObjectRetention', 'GET', 'object', ['retention'], objectLock.getObjectRetention),
  route('PutObjectRetention', 'PUT', 'object', ['retention'], objectLock.putObjectRetention),
  route('GetObjectLegalHold', 'GET', 'object', ['legal-hold'], objectLock.getObjectLegalHold),
  route('PutObjectLegalHold', 'PUT', 'object', ['legal-hold'], objectLock.putObjectLegalHold),
  route('GetObjectTorrent', 'GET', 'object', ['torrent']),
  route('RestoreObject', 'POST', 'object', ['restore']),
  route('SelectObjectContent', 'POST', 'object', ['select']),
  route('RenameObject', 'PUT', 'object', ['renameObject']),
  route('CreateMultipartUpload', 'POST', 'object', ['uploads'], multipart.createMultipartUpload),
  route('UploadPartCopy', 'PUT', 'object', ['uploadId'], multipart.uploadPartCopy, copying),
  route('UploadPart', 'PUT', 'object', ['uploadId'], multipart.uploadPart),
  route('CompleteMultipartUpload', 'POST', 'object', ['uploadId'], multipart.completeMultipartUpload),
  route('AbortMultipartUpload', 'DELETE', 'object', ['uploadId'], multipart.abortMultipartUpload),
  route('ListParts', 'GET', 'object', ['uploadId'], multipart.listParts),
];

/** What a request is: the route it selects, or why none does. */
export interface Match {
  /** absent when no operation matches */
  readonly route?: Route;
  /** the route's name, or `Unknown` (a bounded set of names: metrics label by it) */
  readonly name: string;
  readonly subresources: readonly string[];
  readonly level: Level;
}

/**
 * The operation a request selects: the route whose method and level match
 * and whose sub-resources are exactly the request's. Decided once, before
 * anything runs, from the method, the raw path and the query keys; the
 * handler, the metrics and the log all take the name from here.
 */
export function matchRoute(req: S3Request): Match {
  const level = levelOf(req.rawPath, req.virtualBucket);
  const subresources = [...new Set([...req.query.keys()].filter((k) => SUBRESOURCES.has(k)))].sort();
  const selected = ROUTES.find((r) => r.method === req.method && r.level === level && sameKeys(r.subresources, subresources) && (!r.when || r.when(req)));
  if (selected) return { route: selected, name: selected.name, subresources, level };
  return { name: 'Unknown', subresources, level };
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}
