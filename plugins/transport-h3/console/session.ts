import { createHmac, randomBytes } from 'node:crypto';

import type { Credentials } from '../context.js';
import { signaturesEqual } from '../auth/sigv4.js';
import { fromPrimary, toPrimary } from '../../../core/cluster-messages.js';

/** How long a console sign-in lasts. */
export const SESSION_TTL_MS = 8 * 3600_000;
export const SESSION_COOKIE = 'kintsugi_console';

export interface ConsoleSession {
  readonly id: string;
  readonly accessKey: string;
  readonly expiresMs: number;
}

/* Sessions signed out, until they would have expired anyway. Shared by the
   server's workers: a sign-out is relayed through the primary to each. */
const revoked = new Map<string, number>();
let listening = false;

function remember(id: string, expiresMs: number): void {
  const now = Date.now();
  for (const [k, until] of revoked) if (until < now) revoked.delete(k);
  revoked.set(id, expiresMs);
}

function listenForSignOuts(): void {
  if (listening || !process.send) return;
  listening = true;
  fromPrimary((msg) => {
    if (msg.kintsugi === 'console-signout') remember(msg.id, msg.expiresMs);
  });
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/**
 * Console sign-ins as self-contained tokens: `id.accessKey.expiry.mac`, the
 * MAC keyed by the user's own secret — any worker can check one without
 * shared state, and changing a user's secret ends their sessions. A token
 * is only ever held in an HttpOnly cookie.
 */
export class ConsoleSessions {
  constructor(private readonly credentials: Credentials, private readonly ttlMs = SESSION_TTL_MS) {
    listenForSignOuts();
  }

  /** A session for `accessKey` if `secretKey` is its secret. */
  signIn(accessKey: string, secretKey: string): { token: string; session: ConsoleSession } | undefined {
    const secret = this.credentials.secretFor(accessKey);
    // Compared even for an unknown key, so that the answer's timing does not tell which keys exist.
    const matches = signaturesEqual(secretKey, secret ?? `\0${secretKey}`);
    if (secret === undefined || !matches) return undefined;
    const session: ConsoleSession = { id: randomBytes(12).toString('base64url'), accessKey, expiresMs: Date.now() + this.ttlMs };
    const body = `${session.id}.${b64url(accessKey)}.${session.expiresMs.toString(36)}`;
    return { token: `${body}.${this.mac(secret, body)}`, session };
  }

  /** The session a token stands for, while it is sound, unexpired and not signed out. */
  verify(token: string | undefined): ConsoleSession | undefined {
    const parts = token?.split('.');
    if (!parts || parts.length !== 4) return undefined;
    const [id, key, expires, mac] = parts as [string, string, string, string];
    const accessKey = Buffer.from(key, 'base64url').toString('utf8');
    const secret = this.credentials.secretFor(accessKey);
    if (secret === undefined || !signaturesEqual(mac, this.mac(secret, `${id}.${key}.${expires}`))) return undefined;
    const expiresMs = parseInt(expires, 36);
    if (!(expiresMs > Date.now()) || revoked.has(id)) return undefined;
    return { id, accessKey, expiresMs };
  }

  /** The user's secret, for signing the session's requests. */
  secretOf(session: ConsoleSession): string | undefined {
    return this.credentials.secretFor(session.accessKey);
  }

  signOut(session: ConsoleSession): void {
    remember(session.id, session.expiresMs);
    toPrimary({ kintsugi: 'relay', message: { kintsugi: 'console-signout', id: session.id, expiresMs: session.expiresMs } });
  }

  private mac(secret: string, body: string): string {
    const key = createHmac('sha256', secret).update('kintsugi console session v1').digest();
    return createHmac('sha256', key).update(body).digest('base64url');
  }
}

/** The Set-Cookie value carrying a session (or clearing it, with `token` undefined). */
export function sessionCookie(path: string, token: string | undefined, maxAgeS: number, secure: boolean): string {
  const value = token === undefined ? `${SESSION_COOKIE}=; Max-Age=0` : `${SESSION_COOKIE}=${token}; Max-Age=${maxAgeS}`;
  return `${value}; Path=${path}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** The session token in a Cookie header. */
export function cookieToken(cookie: string | undefined): string | undefined {
  for (const part of (cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}
