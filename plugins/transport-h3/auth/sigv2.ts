import { createHmac } from 'node:crypto';

import { S3Error } from '../s3-error.js';
import { MAX_SKEW_MS, signaturesEqual, signedHeaderValue, UNSIGNED, type SignedRequest, type Verified } from './sigv4.js';

/**
 * Query parameters that are part of the signed resource in Signature
 * Version 2: the sub-resources and the response-* overrides, as the AWS
 * signers (botocore's HmacV1, s3cmd) list them.
 */
const SIGNED_SUBRESOURCES = new Set([
  'accelerate', 'acl', 'analytics', 'cors', 'delete', 'encryption', 'intelligent-tiering', 'inventory', 'legal-hold',
  'lifecycle', 'location', 'logging', 'metrics', 'notification', 'object-lock', 'ownershipControls', 'partNumber',
  'policy', 'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment', 'restore', 'retention', 'select',
  'select-type', 'tagging', 'torrent', 'uploadId', 'uploads', 'versionId', 'versioning', 'versions', 'website',
  'attributes', 'response-content-type', 'response-content-language', 'response-expires', 'response-cache-control',
  'response-content-disposition', 'response-content-encoding',
]);

/**
 * The resource as Signature Version 2 signs it: the path as sent (with the
 * bucket in front when it came in the Host header), then the signed
 * sub-resources sorted by name, their values decoded.
 */
function canonicalResources(req: SignedRequest, virtualBucket: string | undefined): string[] {
  const path = virtualBucket !== undefined ? `/${virtualBucket}${req.rawPath.startsWith('/') ? '' : '/'}${req.rawPath}` : req.rawPath;
  const queryOf = (keys: ReadonlySet<string>) => {
    const subs = [...req.query].filter(([k]) => keys.has(k)).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return subs.length ? '?' + subs.map(([k, v]) => (v === '' ? k : `${k}=${v}`)).join('&') : '';
  };
  const queries = [queryOf(SIGNED_SUBRESOURCES)];
  // botocore before 1.31 signs ListObjectsV2's `list-type=2` as if it were a sub-resource.
  if (req.query.has('list-type')) queries.push(queryOf(new Set([...SIGNED_SUBRESOURCES, 'list-type'])));
  // A bucket is signed as `/bucket/` by some signers (botocore) and as sent by others.
  const paths = /^\/[^/]+$/.test(path) ? [path, `${path}/`] : [path];
  return paths.flatMap((p) => queries.map((q) => p + q));
}

/** x-amz-* headers, lowercased and sorted, one `name:value` line each. */
function canonicalAmzHeaders(req: SignedRequest): string {
  return Object.keys(req.headers)
    .filter((name) => name.startsWith('x-amz-'))
    .sort()
    .map((name) => `${name}:${signedHeaderValue(req.headers, name)!.trim()}\n`)
    .join('');
}

/** The strings a signer may have signed: one per Date-line and resource form that signers use. */
function stringsToSign(req: SignedRequest, dateLines: string[], virtualBucket: string | undefined): string[] {
  const head = [req.method, signedHeaderValue(req.headers, 'content-md5') ?? '', signedHeaderValue(req.headers, 'content-type') ?? ''].join('\n') + '\n';
  const amz = canonicalAmzHeaders(req);
  const resources = canonicalResources(req, virtualBucket);
  return dateLines.flatMap((date) => resources.map((resource) => `${head}${date}\n${amz}${resource}`));
}

const sign = (secret: string, text: string) => createHmac('sha1', secret).update(text, 'utf8').digest('base64');

/**
 * Verifies AWS Signature Version 2 (HMAC-SHA1), in the Authorization header
 * (`AWS key:signature`) or in a presigned URL (`AWSAccessKeyId`, `Signature`,
 * `Expires`). Older clients and boto3's default presigner still use it. The
 * body is not covered by a V2 signature: Content-MD5, when sent, is what
 * protects it.
 */
export function verifySigV2(
  req: SignedRequest,
  secretFor: (accessKey: string) => string | undefined,
  virtualBucket?: string,
  now = Date.now(),
): Verified {
  const auth = signedHeaderValue(req.headers, 'authorization');
  let accessKey: string;
  let signature: string;
  let dateLines: string[];
  if (auth) {
    const m = /^AWS ([^:\s]+):(\S+)$/.exec(auth.trim());
    if (!m) throw new S3Error('AuthorizationHeaderMalformed', 'malformed AWS (Signature Version 2) Authorization header');
    [, accessKey, signature] = m as unknown as [string, string, string];
    const amzDate = signedHeaderValue(req.headers, 'x-amz-date');
    const date = signedHeaderValue(req.headers, 'date');
    const when = Date.parse(amzDate ?? date ?? '');
    if (Number.isNaN(when)) throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
    if (Math.abs(now - when) > MAX_SKEW_MS) throw new S3Error('RequestTimeTooSkewed');
    // With x-amz-date the Date line is signed empty (AWS's rule); some
    // signers put the Date header there regardless.
    dateLines = amzDate !== undefined ? ['', date ?? ''] : [date ?? ''];
  } else {
    accessKey = req.query.get('AWSAccessKeyId') ?? '';
    signature = req.query.get('Signature') ?? '';
    const expires = req.query.get('Expires') ?? '';
    if (!accessKey || !signature || !/^\d+$/.test(expires)) {
      throw new S3Error('AccessDenied', 'a Signature Version 2 presigned URL needs AWSAccessKeyId, Signature and Expires');
    }
    if (now > Number(expires) * 1000) throw new S3Error('AccessDenied', 'Request has expired');
    dateLines = [expires];
  }
  const secret = secretFor(accessKey);
  if (secret === undefined) throw new S3Error('InvalidAccessKeyId');
  if (!stringsToSign(req, dateLines, virtualBucket).some((text) => signaturesEqual(sign(secret, text), signature))) {
    throw new S3Error('SignatureDoesNotMatch');
  }
  return { accessKey, payloadHash: UNSIGNED };
}
