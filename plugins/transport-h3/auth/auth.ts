import { S3Error } from '../s3-error.js';
import { verifySigV2 } from './sigv2.js';
import { verifySigV4, type SignedRequest, type Verified } from './sigv4.js';

/** Whether a request carries no credentials at all (no Authorization header, no signature in its query). */
export function isAnonymous(req: SignedRequest): boolean {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth !== '') return false;
  return !['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'AWSAccessKeyId', 'Signature'].some((k) => req.query.has(k));
}

/**
 * Who sent a request, by the scheme it is signed with: Signature Version 4
 * or 2, in the Authorization header or in a presigned URL's query. An
 * unknown scheme is named as such; a request with no signature at all is
 * anonymous, refused here (see anonymous.ts for what a public bucket lets
 * through).
 */
export function authenticate(
  req: SignedRequest,
  secretFor: (accessKey: string) => string | undefined,
  virtualBucket?: string,
): Verified {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth !== '') {
    if (auth.startsWith('AWS4-HMAC-SHA256 ')) return verifySigV4(req, secretFor);
    if (auth.startsWith('AWS ')) return verifySigV2(req, secretFor, virtualBucket);
    throw new S3Error('InvalidArgument', `Unsupported Authorization Type: ${auth.split(/\s/)[0]!.slice(0, 40)}`);
  }
  if (req.query.has('X-Amz-Algorithm')) return verifySigV4(req, secretFor);
  if (req.query.has('AWSAccessKeyId') || req.query.has('Signature')) return verifySigV2(req, secretFor, virtualBucket);
  if (req.query.has('X-Amz-Credential') || req.query.has('X-Amz-Signature')) {
    throw new S3Error('AuthorizationQueryParametersError', 'Query-string authentication version 4 requires the X-Amz-Algorithm parameter');
  }
  throw new S3Error('AccessDenied', 'Access Denied: anonymous requests are not allowed');
}
