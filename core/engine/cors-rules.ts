/** One rule of a bucket's CORS configuration, as S3 defines it. */
export interface CorsRule {
  readonly id?: string;
  /** origins, each with at most one `*` standing for any run of characters */
  readonly allowedOrigins: readonly string[];
  /** of CORS_METHODS */
  readonly allowedMethods: readonly string[];
  /** request headers a preflight may ask for, each with at most one `*` (case does not matter) */
  readonly allowedHeaders: readonly string[];
  /** response headers a browser may show the page */
  readonly exposeHeaders: readonly string[];
  readonly maxAgeSeconds?: number;
}

/** The methods a CORS rule may allow. */
export const CORS_METHODS = ['GET', 'PUT', 'HEAD', 'POST', 'DELETE'] as const;

/** Whether `value` matches `pattern`, whose one `*` (if any) matches any run of characters. */
export function wildcardMatch(pattern: string, value: string): boolean {
  const star = pattern.indexOf('*');
  if (star < 0) return pattern === value;
  const head = pattern.slice(0, star);
  const tail = pattern.slice(star + 1);
  return value.length >= head.length + tail.length && value.startsWith(head) && value.endsWith(tail);
}

/**
 * The first rule that lets `origin` use `method`, and (a preflight) every
 * header in `requestHeaders` — S3 takes the first matching rule, in the
 * order they were put.
 */
export function corsRuleFor(rules: readonly CorsRule[], origin: string, method: string, requestHeaders: readonly string[] = []): CorsRule | undefined {
  return rules.find((r) => r.allowedOrigins.some((o) => wildcardMatch(o, origin))
    && r.allowedMethods.includes(method)
    && requestHeaders.every((h) => r.allowedHeaders.some((p) => wildcardMatch(p.toLowerCase(), h.toLowerCase()))));
}
