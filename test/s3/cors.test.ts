import {
  CreateBucketCommand, DeleteBucketCorsCommand, GetBucketCorsCommand, PutBucketCorsCommand, PutObjectCommand,
  type CORSRule, type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { failure, startServer, type RunningServer } from '../helpers/server.js';

const APP = 'https://app.example.com';

describe('bucket CORS (AWS SDK v3 for the configuration, raw HTTP as a browser sends it, 2 workers)', () => {
  let server: RunningServer;
  let s3: S3Client;
  let base: string;
  beforeAll(async () => {
    server = await startServer();
    s3 = server.client();
    base = server.endpoint;
    for (const Bucket of ['shared', 'closed']) await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'photo.jpg', Body: 'jpeg bytes' }));
  });
  afterAll(async () => { await server.stop(); });

  const rules: CORSRule[] = [
    { ID: 'app', AllowedOrigins: [APP, 'https://*.example.org'], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['content-type', 'x-amz-*'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 600 },
    { AllowedOrigins: ['*'], AllowedMethods: ['GET', 'HEAD'] },
  ];
  const preflight = (path: string, origin: string, method: string, headers?: string) => fetch(`${base}${path}`, {
    method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, ...(headers ? { 'access-control-request-headers': headers } : {}) },
  });

  it('a bucket without CORS has no configuration (NoSuchCORSConfiguration), refuses preflights and adds no CORS headers', async () => {
    expect(await failure(s3.send(new GetBucketCorsCommand({ Bucket: 'closed' })))).toEqual({ name: 'NoSuchCORSConfiguration', status: 404 });
    const pre = await preflight('/closed/x', APP, 'GET');
    expect(pre.status).toBe(403);
    expect(await pre.text()).toContain('<Code>AccessForbidden</Code>');
    const res = await fetch(`${base}/closed/x`, { headers: { origin: APP } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('keeps the rules as put, in order, for every worker; a put replaces them, a delete removes them', async () => {
    await s3.send(new PutBucketCorsCommand({ Bucket: 'shared', CORSConfiguration: { CORSRules: rules } }));
    for (let i = 0; i < 4; i++) {
      const got = (await s3.send(new GetBucketCorsCommand({ Bucket: 'shared' }))).CORSRules;
      expect(got).toEqual([{ ...rules[0], AllowedHeaders: ['content-type', 'x-amz-*'] }, { AllowedOrigins: ['*'], AllowedMethods: ['GET', 'HEAD'] }]);
    }
    await s3.send(new PutBucketCorsCommand({ Bucket: 'closed', CORSConfiguration: { CORSRules: [rules[1]!] } }));
    await s3.send(new DeleteBucketCorsCommand({ Bucket: 'closed' }));
    expect(await failure(s3.send(new GetBucketCorsCommand({ Bucket: 'closed' })))).toEqual({ name: 'NoSuchCORSConfiguration', status: 404 });
  });

  it('refuses what S3 refuses and keeps the rules it had', async () => {
    const bad: CORSRule[][] = [
      [{ AllowedOrigins: [APP], AllowedMethods: ['PATCH'] }],
      [{ AllowedOrigins: ['https://*.*.example.com'], AllowedMethods: ['GET'] }],
      [],
    ];
    for (const CORSRules of bad) {
      const err = await failure(s3.send(new PutBucketCorsCommand({ Bucket: 'shared', CORSConfiguration: { CORSRules } })));
      expect(err.status).toBe(400);
      expect(['InvalidRequest', 'MalformedXML']).toContain(err.name);
    }
    expect((await s3.send(new GetBucketCorsCommand({ Bucket: 'shared' }))).CORSRules).toHaveLength(2);
  });

  it('answers a preflight from the first rule allowing the origin, method and every requested header, without credentials', async () => {
    const ok = await preflight('/shared/photo.jpg', APP, 'PUT', 'Content-Type, X-Amz-Date');
    expect(ok.status).toBe(200);
    expect(Object.fromEntries([...ok.headers].filter(([k]) => k.startsWith('access-control-')))).toEqual({
      'access-control-allow-origin': APP, 'access-control-allow-credentials': 'true', 'access-control-allow-methods': 'GET, PUT',
      'access-control-allow-headers': 'content-type, x-amz-date', 'access-control-expose-headers': 'ETag', 'access-control-max-age': '600',
    });
    // A wildcard origin of the first rule; then the second rule (any origin, GET and HEAD only).
    expect((await preflight('/shared/photo.jpg', 'https://cdn.example.org', 'GET')).headers.get('access-control-allow-origin')).toBe('https://cdn.example.org');
    const any = await preflight('/shared/photo.jpg', 'https://elsewhere.test', 'HEAD');
    expect([any.status, any.headers.get('access-control-allow-origin'), any.headers.get('access-control-allow-credentials')]).toEqual([200, '*', null]);
    // A method or header no rule allows, for that origin: 403, nothing allowed.
    for (const refused of [preflight('/shared/photo.jpg', 'https://elsewhere.test', 'PUT'), preflight('/shared/photo.jpg', APP, 'PUT', 'x-secret')]) {
      const res = await refused;
      expect(res.status).toBe(403);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    }
    // No Origin: not a preflight S3 can answer.
    expect((await fetch(`${base}/shared/photo.jpg`, { method: 'OPTIONS' })).status).toBe(400);
  });

  it('puts the matching rule\'s headers on actual answers (errors included), and none for an origin no rule allows', async () => {
    const signed = await fetch(`${base}/shared/photo.jpg`, { headers: { origin: APP } });
    // Anonymous: AccessDenied — still readable by the page, which learns why.
    expect(signed.status).toBe(403);
    expect(signed.headers.get('access-control-allow-origin')).toBe(APP);
    expect(signed.headers.get('access-control-expose-headers')).toBe('ETag');
    const other = await fetch(`${base}/shared/photo.jpg`, { method: 'DELETE', headers: { origin: 'https://evil.test' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('vary')).toContain('Origin');
  });
});
