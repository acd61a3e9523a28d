import { header, type S3Request, type S3Response } from '../context.js';
import { OPS_PREFIX } from '../operations.js';
import { S3Error } from '../s3-error.js';
import { presignQuery, signHeaders } from '../auth/sigv4-sign.js';
import { ConsoleAssets } from './assets.js';
import { ConsoleSessions, cookieToken, sessionCookie, type ConsoleSession } from './session.js';

/** Where the console is served; its API is below `api/`. */
export const CONSOLE_PREFIX = '/_kintsugi/console/';
/** The header every console call that changes something carries: a page on another site cannot send it without a preflight nobody answers. */
export const CONSOLE_HEADER = 'x-kintsugi-console';

/** What the gateway makes of a request: an answer of its own, or an S3 or admin request signed for the session's user. */
export type Routed = { response: S3Response } | { forward: S3Request };

const MAX_PRESIGN_S = 604_800;
const FAILED_SIGN_IN_DELAY_MS = 500;
/* Headers of the browser's request that must not reach the S3 request: the
   session itself, credentials the signature replaces, and the page's origin
   (the console is not a cross-origin client of the bucket). */
const DROPPED = ['cookie', 'authorization', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token', CONSOLE_HEADER, 'origin', 'referer'];
const AUTH_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Security-Token', 'AWSAccessKeyId', 'Signature', 'Expires'];

const json = (status: number, value: unknown, headers: Record<string, string> = {}): S3Response =>
  ({ status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }, body: JSON.stringify(value) });

async function readJson(req: S3Request): Promise<Record<string, unknown>> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of req.body) {
    size += c.byteLength;
    if (size > 16_384) throw new S3Error('MaxMessageLengthExceeded');
    chunks.push(c);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch { /* answered below */ }
  throw new S3Error('InvalidRequest', 'the body must be a JSON object');
}

const str = (v: unknown, name: string): string => {
  if (typeof v !== 'string' || v === '') throw new S3Error('InvalidArgument', `${name} is needed`);
  return v;
};

/** A key's path on the wire: each segment percent-encoded, slashes kept. */
const encodePath = (s: string) => s.split('/').map(encodeURIComponent).join('/');

/**
 * The web console's server side, under /_kintsugi/console/: the bundled
 * page, sign-in and sign-out (a session cookie, HttpOnly, SameSite=Strict,
 * scoped to the console's path), and a gateway that turns each console call
 * into an S3 or admin request signed with SigV4 as the signed-in user — it
 * then goes through the same authentication, routing and handlers as any
 * client's. The console has no access of its own.
 */
export class ConsoleGateway {
  constructor(private readonly sessions: ConsoleSessions, private readonly assets = new ConsoleAssets()) {}

  async route(req: S3Request): Promise<Routed> {
    if (req.rawPath === CONSOLE_PREFIX.slice(0, -1)) return { response: { status: 308, headers: { location: CONSOLE_PREFIX } } };
    const path = req.rawPath.slice(CONSOLE_PREFIX.length);
    if (!path.startsWith('api/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new S3Error('MethodNotAllowed');
      let name: string;
      try { name = decodeURIComponent(path); } catch { throw new S3Error('InvalidURI'); }
      return { response: await this.assets.serve(name) };
    }
    const api = path.slice('api/'.length);
    // Only a page of this origin can add the header (others would need a preflight, and it gets no CORS answer).
    if (req.method !== 'GET' && req.method !== 'HEAD' && header(req, CONSOLE_HEADER) !== '1') {
      throw new S3Error('AccessDenied', `console calls that change something carry ${CONSOLE_HEADER}: 1`);
    }
    if (api === 'session') return { response: await this.session(req) };
    const session = this.sessions.verify(cookieToken(header(req, 'cookie')));
    if (!session) throw new S3Error('AccessDenied', 'sign in to the console first');
    if (api.startsWith('s3/')) return { forward: this.signed(req, session, `/${api.slice('s3/'.length)}`, this.s3Query(req.query)) };
    if (api === 'admin/status' && req.method === 'GET') return { forward: this.signed(req, session, `${OPS_PREFIX}admin/status`, new URLSearchParams()) };
    // A bucket counted now, and its quota set: the admin endpoints check the query.
    if ((api === 'admin/usage' && req.method === 'GET') || (api === 'admin/quota' && req.method === 'PUT')) {
      return { forward: this.signed(req, session, `${OPS_PREFIX}${api}`, new URLSearchParams([...req.query].filter(([k]) => k === 'bucket' || k === 'bytes'))) };
    }
    if (api === 'metrics' && req.method === 'GET') return { forward: this.signed(req, session, `${OPS_PREFIX}metrics`, new URLSearchParams()) };
    if (api === 'presign' && req.method === 'POST') return { response: await this.presign(req, session) };
    throw new S3Error('NoSuchKey', `the console has no call ${req.method} ${api}`);
  }

  private async session(req: S3Request): Promise<S3Response> {
    const secure = header(req, 'x-forwarded-proto') === 'https';
    switch (req.method) {
      case 'POST': {
        const body = await readJson(req);
        const signedIn = this.sessions.signIn(str(body.accessKey, 'accessKey'), str(body.secretKey, 'secretKey'));
        // One answer for an unknown key and a wrong secret: which keys exist is
        // not told. It comes late, so that guessing secrets goes slowly.
        if (!signedIn) {
          await new Promise((r) => setTimeout(r, FAILED_SIGN_IN_DELAY_MS));
          throw new S3Error('AccessDenied', 'the access key or the secret is wrong');
        }
        const { token, session } = signedIn;
        const maxAge = Math.floor((session.expiresMs - Date.now()) / 1000);
        return json(200, { accessKey: session.accessKey, expiresMs: session.expiresMs }, { 'set-cookie': sessionCookie(CONSOLE_PREFIX, token, maxAge, secure) });
      }
      case 'GET': {
        const session = this.sessions.verify(cookieToken(header(req, 'cookie')));
        if (!session) throw new S3Error('AccessDenied', 'not signed in');
        return json(200, { accessKey: session.accessKey, expiresMs: session.expiresMs });
      }
      case 'DELETE': {
        const session = this.sessions.verify(cookieToken(header(req, 'cookie')));
        if (session) this.sessions.signOut(session);
        return json(200, { signedOut: true }, { 'set-cookie': sessionCookie(CONSOLE_PREFIX, undefined, 0, secure) });
      }
      default:
        throw new S3Error('MethodNotAllowed');
    }
  }

  /** The browser's request as `rawPath` on this server, signed for the session's user, its body streamed through. */
  private signed(req: S3Request, session: ConsoleSession, rawPath: string, query: URLSearchParams): S3Request {
    const secretKey = this.sessions.secretOf(session);
    if (secretKey === undefined) throw new S3Error('AccessDenied', 'the signed-in user no longer exists');
    const headers: S3Request['headers'] = { ...req.headers };
    for (const h of DROPPED) delete headers[h];
    const signature = signHeaders({ method: req.method, rawPath, query, host: header(req, 'host') ?? '' }, { accessKey: session.accessKey, secretKey });
    return { method: req.method, rawPath, query, headers: { ...headers, ...signature }, body: req.body };
  }

  /** The S3 query the console sent, without any credentials of its own. */
  private s3Query(query: URLSearchParams): URLSearchParams {
    const q = new URLSearchParams(query);
    for (const p of AUTH_PARAMS) q.delete(p);
    return q;
  }

  /** A presigned GET of an object (a share link), signed as the session's user. */
  private async presign(req: S3Request, session: ConsoleSession): Promise<S3Response> {
    const body = await readJson(req);
    const bucket = str(body.bucket, 'bucket');
    const key = str(body.key, 'key');
    // A JSON number: a string (" 60") is refused, not read as another value.
    const expires = typeof body.expiresSeconds === 'number' ? body.expiresSeconds : NaN;
    if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGN_S) throw new S3Error('InvalidArgument', `expiresSeconds must be 1 to ${MAX_PRESIGN_S}`);
    const secretKey = this.sessions.secretOf(session);
    if (secretKey === undefined) throw new S3Error('AccessDenied', 'the signed-in user no longer exists');
    const host = header(req, 'host') ?? '';
    const rawPath = `/${encodePath(bucket)}/${encodePath(key)}`;
    const query = new URLSearchParams();
    if (typeof body.versionId === 'string' && body.versionId !== '') query.set('versionId', body.versionId);
    const signed = presignQuery({ method: 'GET', rawPath, query, host }, { accessKey: session.accessKey, secretKey }, expires);
    const scheme = header(req, 'x-forwarded-proto') === 'https' ? 'https' : 'http';
    return json(200, { url: `${scheme}://${host}${rawPath}?${signed.toString()}`, expiresMs: Date.now() + expires * 1000 });
  }
}
