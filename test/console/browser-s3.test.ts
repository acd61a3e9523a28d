import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutBucketCorsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { launchChromium, screenshotPath } from '../helpers/browser.js';
import { tempDir } from '../helpers/engine.js';
import { signedForm } from '../helpers/post-policy.js';
import { failure, startServer, type RunningServer } from '../helpers/server.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/*
 * A web application on another origin (its own port of 127.0.0.1) that
 * talks to Kintsugi straight from Chromium: fetch() through the bucket's
 * CORS rules, and an HTML form posting a file with a SigV4 POST policy.
 */
describe('browsers on another origin: CORS and form uploads, in Chromium', () => {
  let server: RunningServer;
  let s3: S3Client;
  let app: Server;
  let appOrigin: string;
  let browser: Browser;
  let page: Page;
  /** the HTML the application serves at /form */
  let formHtml = '';

  beforeAll(async () => {
    server = await startServer();
    s3 = server.client();
    app = createServer((req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      if (req.url === '/form') return res.end(formHtml);
      if (req.url?.startsWith('/done')) return res.end('<h1 id="done">uploaded</h1>');
      res.end('<!doctype html><title>app</title><h1>app</h1>');
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
    appOrigin = `http://127.0.0.1:${(app.address() as { port: number }).port}`;
    for (const Bucket of ['cors-open', 'cors-closed', 'form-uploads']) await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutBucketCorsCommand({
      Bucket: 'cors-open',
      CORSConfiguration: { CORSRules: [{ AllowedOrigins: [appOrigin], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['content-type', 'x-amz-meta-*'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 60 }] },
    }));
    for (const Bucket of ['cors-open', 'cors-closed']) await s3.send(new PutObjectCommand({ Bucket, Key: 'hello.txt', Body: `hello from ${Bucket}` }));
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`${appOrigin}/`);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => app?.close(r));
    await server?.stop();
  });

  const presign = (command: GetObjectCommand | PutObjectCommand) => getSignedUrl(s3, command, { expiresIn: 600 });
  /** fetch() run by the application's page; what it could read, or the error the browser gave. */
  const browserFetch = (url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
    page.evaluate(async ([u, i]) => {
      try {
        const res = await fetch(u, i);
        return { status: res.status, body: await res.text(), etag: res.headers.get('etag') };
      } catch (err) {
        return { error: String(err) };
      }
    }, [url, init] as const);

  it('a GET allowed by the bucket\'s rules is read, with the exposed ETag', async () => {
    const got = await browserFetch(await presign(new GetObjectCommand({ Bucket: 'cors-open', Key: 'hello.txt' })));
    expect(got).toEqual({ status: 200, body: 'hello from cors-open', etag: `"${createHash('md5').update('hello from cors-open').digest('hex')}"` });
  });

  it('a PUT with headers that need a preflight goes through when the rules allow them', async () => {
    const url = await presign(new PutObjectCommand({ Bucket: 'cors-open', Key: 'from-browser.txt' }));
    const put = await browserFetch(url, { method: 'PUT', headers: { 'content-type': 'text/plain', 'x-amz-meta-origin': 'chromium' }, body: 'written by a page' });
    expect(put).toMatchObject({ status: 200 });
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'cors-open', Key: 'from-browser.txt' }));
    expect([head.ContentType, head.Metadata]).toEqual(['text/plain', { origin: 'chromium' }]);
  });

  it('the browser refuses what the rules do not allow, and a refused preflight stores nothing', async () => {
    const closed = await browserFetch(await presign(new GetObjectCommand({ Bucket: 'cors-closed', Key: 'hello.txt' })));
    expect(closed).toEqual({ error: expect.stringContaining('Failed to fetch') });
    const url = await presign(new PutObjectCommand({ Bucket: 'cors-open', Key: 'not-allowed.txt' }));
    const put = await browserFetch(url, { method: 'PUT', headers: { 'x-custom': 'no' }, body: 'x' });
    expect(put).toEqual({ error: expect.stringContaining('Failed to fetch') });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'cors-open', Key: 'not-allowed.txt' })))).toMatchObject({ status: 404 });
  });

  /** The application's upload form: a policy for keys under uploads/ of at most `maxBytes`, redirecting back to it. */
  const showForm = async (maxBytes: number) => {
    const fields = {
      key: 'uploads/${filename}',
      success_action_redirect: `${appOrigin}/done`,
      ...signedForm({
        expiration: new Date(Date.now() + 600_000).toISOString(),
        conditions: [{ bucket: 'form-uploads' }, ['starts-with', '$key', 'uploads/'], ['content-length-range', 1, maxBytes], { success_action_redirect: `${appOrigin}/done` }],
      }),
    };
    formHtml = `<!doctype html><form method="post" action="${server.endpoint}/form-uploads" enctype="multipart/form-data">
      ${Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${escape(k)}" value="${escape(v)}">`).join('\n')}
      <input type="file" name="file"><button type="submit">Upload</button></form>`;
    await page.goto(`${appOrigin}/form`);
  };

  it('an HTML form posts a file under its policy and comes back to the application', async () => {
    const file = join(tempDir('kintsugi-form-'), 'holiday photo.jpg');
    const bytes = randomBytes(200_000);
    writeFileSync(file, bytes);
    await showForm(1 << 20);
    await page.setInputFiles('input[type=file]', file);
    await page.screenshot({ path: screenshotPath('20-post-form') });
    await Promise.all([page.waitForURL(/\/done\?/), page.click('button[type=submit]')]);
    const back = new URL(page.url());
    expect([back.searchParams.get('bucket'), back.searchParams.get('key'), back.searchParams.get('etag')]).toEqual(['form-uploads', 'uploads/holiday photo.jpg', `"${createHash('md5').update(bytes).digest('hex')}"`]);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'form-uploads', Key: 'uploads/holiday photo.jpg' }));
    expect(sha(await got.Body!.transformToByteArray())).toBe(sha(bytes));
  });

  it('a file the policy does not allow is refused with S3\'s error, and nothing is stored', async () => {
    const file = join(tempDir('kintsugi-form-'), 'too-big.bin');
    writeFileSync(file, randomBytes(5000));
    await showForm(1000);
    await page.setInputFiles('input[type=file]', file);
    const [response] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(response?.status()).toBe(400);
    expect(await page.content()).toContain('EntityTooLarge');
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'form-uploads', Key: 'uploads/too-big.bin' })))).toMatchObject({ status: 404 });
  });
});
