import { randomHex } from '../../core/random-hex.js';

import { admitAnonymous } from './auth/anonymous.js';
import { authenticate, isAnonymous } from './auth/auth.js';
import type { Credentials, Handler, S3Request, S3Response, Services } from './context.js';
import { bucketAndKey } from './paths.js';
import { actualCorsHeaders, preflight } from './cors.js';
import { postObject } from './handlers/post-object.js';
import { inSosapi, sosapiHandler } from './handlers/sosapi.js';
import { matchRoute, POST_OBJECT, PREFLIGHT, type Match, type Route } from './routes.js';
import { S3Error } from './s3-error.js';

export type { Credentials, S3Request, S3Response } from './context.js';

/**
 * The S3 REST API over the object engine, independent of the HTTP framework:
 * a request in, a response out. Path-style (`/bucket/key`); the transport
 * maps virtual-host requests onto it. Every request is authenticated, then
 * routed through the one route table: an operation Kintsugi does not
 * implement is refused by name, never served as another.
 */
export class S3Api {
  constructor(private readonly services: Services, private readonly credentials: Credentials) {}

  /** The operation a request selects (for metrics and logs too). */
  match(req: S3Request): Match {
    return matchRoute(req);
  }

  async handle(req: S3Request, match: Match = this.match(req)): Promise<S3Response> {
    // A browser's preflight carries no credentials: the bucket's CORS rules answer it.
    if (match.route?.name === PREFLIGHT) return preflight(req, this.services);
    // A browser's form upload is signed in its fields, not its headers.
    if (match.route?.name === POST_OBJECT && isAnonymous(req)) return postObject(req, bucketAndKey(req.rawPath, req.virtualBucket).bucket, this.services, this.credentials);
    const route = match.route;
    if (isAnonymous(req)) {
      const { bucket, key } = match.level === 'service' ? { bucket: '', key: '' } : bucketAndKey(req.rawPath, req.virtualBucket);
      const auth = await admitAnonymous(route?.needs?.(req), bucket, key, this.services);
      return handlerFor(route!, key)({ req, auth, operation: route!.name, bucket, key, services: this.services });
    }
    const auth = authenticate(req, (k) => this.credentials.secretFor(k), req.virtualBucket);
    if (!route) {
      if (match.subresources.length === 0) throw new S3Error('MethodNotAllowed');
      const target = match.level === 'object' ? 'an object' : match.level === 'bucket' ? 'a bucket' : 'the service';
      throw new S3Error('NotImplemented', `${req.method} ?${match.subresources.join('&')} on ${target} is not an operation Kintsugi implements`);
    }
    if (!route.handler) throw new S3Error('NotImplemented', `${route.name} is not implemented`);
    const { bucket, key } = route.level === 'service' ? { bucket: '', key: '' } : bucketAndKey(req.rawPath, req.virtualBucket);
    return handlerFor(route, key)({ req, auth, operation: route.name, bucket, key, services: this.services });
  }


  /** The CORS headers for a response to `req` (none unless it has an Origin and the bucket's rules allow it). */
  corsHeaders(req: S3Request): Promise<Record<string, string>> {
    return actualCorsHeaders(req, this.services);
  }
}

export const newRequestId = () => randomHex(8).toUpperCase();

/** A route's handler; for an object under the Veeam SOSAPI folder, the virtual objects' (read-only). */
function handlerFor(route: Route, key: string): Handler {
  return route.level === 'object' && inSosapi(key) ? sosapiHandler(route.name) : route.handler!;
}
