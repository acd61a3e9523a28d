import { describe, expect, it } from 'vitest';

import { ConsoleSessions, cookieToken, sessionCookie } from '../../plugins/transport-h3/console/session.js';
import { presignQuery, signHeaders } from '../../plugins/transport-h3/auth/sigv4-sign.js';
import { verifySigV4 } from '../../plugins/transport-h3/auth/sigv4.js';

const users = new Map([['alice', 'alice-secret-1'], ['bob', 'bob-secret-22']]);
const credentials = { secretFor: (k: string) => users.get(k) };

describe('console sessions', () => {
  it('signs in only with the access key\'s own secret, and the same answer for an unknown key', () => {
    const sessions = new ConsoleSessions(credentials);
    expect(sessions.signIn('alice', 'bob-secret-22')).toBeUndefined();
    expect(sessions.signIn('nobody', 'alice-secret-1')).toBeUndefined();
    const signedIn = sessions.signIn('alice', 'alice-secret-1')!;
    expect(sessions.verify(signedIn.token)).toEqual(signedIn.session);
  });

  it('refuses a token that was altered, claims another user, or has expired', () => {
    const sessions = new ConsoleSessions(credentials, 50);
    const { token } = sessions.signIn('alice', 'alice-secret-1')!;
    const [id, , expires, mac] = token.split('.');
    expect(sessions.verify(`${id}.${Buffer.from('bob').toString('base64url')}.${expires}.${mac}`)).toBeUndefined();
    expect(sessions.verify(`${id}.${Buffer.from('alice').toString('base64url')}.${(Date.now() + 3600_000).toString(36)}.${mac}`)).toBeUndefined();
    expect(sessions.verify(`${token}x`)).toBeUndefined();
    expect(sessions.verify('garbage')).toBeUndefined();
    expect(sessions.verify(undefined)).toBeUndefined();
    return new Promise<void>((done) => setTimeout(() => { expect(sessions.verify(token)).toBeUndefined(); done(); }, 80));
  });

  it('ends a session on sign-out, and every session of a user whose secret changed', () => {
    const sessions = new ConsoleSessions(credentials);
    const a = sessions.signIn('alice', 'alice-secret-1')!;
    const b = sessions.signIn('bob', 'bob-secret-22')!;
    sessions.signOut(a.session);
    expect(sessions.verify(a.token)).toBeUndefined();
    expect(sessions.verify(b.token)).toEqual(b.session);
    users.set('bob', 'bob-new-secret-3');
    expect(sessions.verify(b.token)).toBeUndefined();
    users.set('bob', 'bob-secret-22');
  });

  it('keeps the token in an HttpOnly, SameSite=Strict cookie scoped to the console', () => {
    expect(sessionCookie('/_kintsugi/console/', 'tok', 60, false)).toBe('kintsugi_console=tok; Max-Age=60; Path=/_kintsugi/console/; HttpOnly; SameSite=Strict');
    expect(sessionCookie('/_kintsugi/console/', undefined, 0, true)).toBe('kintsugi_console=; Max-Age=0; Path=/_kintsugi/console/; HttpOnly; SameSite=Strict; Secure');
    expect(cookieToken('a=1; kintsugi_console=abc.def; b=2')).toBe('abc.def');
    expect(cookieToken('kintsugi_consolex=1')).toBeUndefined();
  });
});

describe('the server-side SigV4 signer (console calls, share links, kintsugi status)', () => {
  const user = { accessKey: 'alice', secretKey: 'alice-secret-1' };
  const target = { method: 'GET', rawPath: '/photos/2026/summer%20beach.jpg', query: new URLSearchParams({ 'list-type': '2', prefix: 'a b+c' }), host: '127.0.0.1:9000' };

  it('signs headers that the verifier accepts as the user, with the body unsigned', () => {
    const headers = signHeaders(target, user);
    expect(verifySigV4({ ...target, headers }, credentials.secretFor)).toMatchObject({ accessKey: 'alice', payloadHash: 'UNSIGNED-PAYLOAD' });
    expect(() => verifySigV4({ ...target, rawPath: '/photos/other.jpg', headers }, credentials.secretFor)).toThrow(/signature/i);
  });

  it('presigns a URL the verifier accepts until it expires', () => {
    const query = presignQuery(target, user, 300);
    const parsed = new URLSearchParams(query.toString());
    expect(parsed.get('X-Amz-Expires')).toBe('300');
    expect(verifySigV4({ ...target, query: parsed, headers: { host: target.host } }, credentials.secretFor)).toMatchObject({ accessKey: 'alice' });
    const old = presignQuery(target, user, 60, new Date(Date.now() - 120_000));
    expect(() => verifySigV4({ ...target, query: old, headers: { host: target.host } }, credentials.secretFor)).toThrow('Request has expired');
  });
});
