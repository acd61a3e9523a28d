import { corsRuleFor, type CorsRule } from '../../core/engine/cors-rules.js';
import { NoSuchBucketError } from '../../core/errors.js';
import { header, type S3Request, type S3Response, type Services } from './context.js';
import { bucketAndKey, levelOf } from './paths.js';
import { S3Error } from './s3-error.js';

/** What a browser's answer varies by, sent whenever a bucket's CORS rules were consulted. */
const VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method';

/**
 * The CORS headers S3 sends for a request from `origin` that `rule` lets
 * through: the origin itself (with credentials allowed), or `*` when the
 * rule allows any origin; the rule's methods, exposed headers and max age.
 */
function allowHeaders(rule: CorsRule, origin: string): Record<string, string> {
  const anyOrigin = rule.allowedOrigins.includes('*');
  return {
    'access-control-allow-origin': anyOrigin ? '*' : origin,
    ...(anyOrigin ? {} : { 'access-control-allow-credentials': 'true' }),
    'access-control-allow-methods': rule.allowedMethods.join(', '),
    ...(rule.exposeHeaders.length > 0 ? { 'access-control-expose-headers': rule.exposeHeaders.join(', ') } : {}),
    ...(rule.maxAgeSeconds !== undefined ? { 'access-control-max-age': String(rule.maxAgeSeconds) } : {}),
    vary: VARY,
  };
}

/** The bucket's CORS rules, or undefined when the request addresses no bucket, it does not exist or has none. */
async function rulesFor(req: S3Request, services: Services): Promise<readonly CorsRule[] | undefined> {
  if (levelOf(req.rawPath, req.virtualBucket) === 'service') return undefined;
  const { bucket } = bucketAndKey(req.rawPath, req.virtualBucket);
  try {
    return (await services.buckets.get(bucket)).cors;
  } catch (err) {
    if (err instanceof NoSuchBucketError || (err as { code?: string }).code === 'ERR_INVALID_BUCKET_NAME') return undefined;
    throw err;
  }
}

/**
 * A browser's preflight (OPTIONS with Origin and Access-Control-Request-Method),
 * answered from the bucket's rules without authentication, as S3 does: the
 * first rule allowing the origin, the method and every requested header
 * answers 200 with its headers; none is 403 AccessForbidden.
 */
export async function preflight(req: S3Request, services: Services): Promise<S3Response> {
  const origin = header(req, 'origin');
  const method = header(req, 'access-control-request-method');
  if (!origin || !method) throw new S3Error('BadRequest', 'Insufficient information. Origin request header needed.');
  const rules = await rulesFor(req, services);
  if (!rules) throw new S3Error('AccessForbidden', 'CORSResponse: CORS is not enabled for this bucket.', { vary: VARY });
  const requested = (header(req, 'access-control-request-headers') ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  const rule = corsRuleFor(rules, origin, method, requested);
  if (!rule) {
    throw new S3Error('AccessForbidden', 'CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource\'s CORS spec.', { vary: VARY });
  }
  return { status: 200, headers: { ...allowHeaders(rule, origin), ...(requested.length > 0 ? { 'access-control-allow-headers': requested.join(', ') } : {}) } };
}

/**
 * The CORS headers for an actual request (success or error) carrying an
 * Origin: those of the first rule allowing its origin and method; none when
 * no rule does, or the bucket has no CORS configuration.
 */
export async function actualCorsHeaders(req: S3Request, services: Services): Promise<Record<string, string>> {
  const origin = header(req, 'origin');
  if (!origin) return {};
  const rules = await rulesFor(req, services).catch(() => undefined);
  if (!rules) return {};
  const rule = corsRuleFor(rules, origin, req.method);
  return rule ? allowHeaders(rule, origin) : { vary: VARY };
}
