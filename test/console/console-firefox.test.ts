import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { screenshotPath } from '../helpers/browser.js';
import { tempDir } from '../helpers/engine.js';
import { FirefoxPage } from '../helpers/firefox-bidi.js';
import { ACCESS_KEY, SECRET_KEY, startServer, type RunningServer } from '../helpers/server.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const BUCKET = 'firefox-files';

/* Clicks a button by its text, in the page. */
const clickText = (text: string, tag = 'button') => `
  [...document.querySelectorAll(${JSON.stringify(tag)})].find((b) => b.textContent.trim() === ${JSON.stringify(text)}).click();`;

/*
 * The console's main paths in Debian's Firefox ESR (over WebDriver BiDi):
 * the same bundle that the Chromium suite walks through in full.
 */
describe('the web console in Firefox ESR', () => {
  let server: RunningServer;
  let s3: S3Client;
  let page: FirefoxPage;
  const file = join(tempDir('kintsugi-ff-'), 'archive.bin');
  const bytes = randomBytes(20 * 1024 * 1024 + 777);

  beforeAll(async () => {
    writeFileSync(file, bytes);
    server = await startServer();
    s3 = server.client();
    page = await FirefoxPage.launch();
    await page.setViewport(1280, 900);
  }, 60_000);
  afterAll(async () => {
    await page?.close();
    await server?.stop();
  });

  const url = (hash = '') => `${server.endpoint}/_kintsugi/console/${hash}`;

  it('signs in; the session cookie is out of the page\'s reach', async () => {
    await page.goto(url());
    await page.waitFor('document.querySelector("input[name=accessKey]")');
    await page.screenshot(screenshotPath('firefox-01-sign-in'));
    await page.type('input[name=accessKey]', ACCESS_KEY);
    await page.type('input[name=secretKey]', SECRET_KEY);
    await page.evaluate(clickText('Sign in'));
    await page.waitFor('document.body.textContent.includes("Sign out")');
    expect(await page.evaluate<string>('return document.cookie;')).toBe('');
  });

  it('creates a bucket and uploads a 20 MiB file in parts, with progress', async () => {
    await page.type('input[name=bucket]', BUCKET);
    await page.evaluate(clickText('Create bucket'));
    await page.waitFor(`[...document.querySelectorAll('[data-testid=buckets] a')].some((a) => a.textContent === '${BUCKET}')`);
    await page.goto(url(`#/b/${BUCKET}/`));
    await page.waitFor('document.querySelector("[data-testid=objects]")');
    await page.evaluate('window.seen = []; setInterval(() => document.querySelectorAll("progress").forEach((p) => window.seen.push(p.value)), 5);');
    await page.setFiles('[data-testid=upload-files]', [file]);
    await page.waitFor('document.querySelector("[data-state=done]")', 60_000);
    const seen = await page.evaluate<number[]>('return window.seen;');
    expect(seen.some((v) => v > 0 && v < 100)).toBe(true);
    expect(seen.at(-1)).toBe(100);
    await page.waitFor('document.querySelector("[data-testid=objects]").textContent.includes("archive.bin")');
    await page.screenshot(screenshotPath('firefox-02-uploaded'));
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'archive.bin' }));
    expect([head.ContentLength, head.ETag]).toEqual([bytes.length, expect.stringMatching(/-3"$/)]);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'archive.bin' }));
    expect(sha(await got.Body!.transformToByteArray())).toBe(sha(bytes));
  }, 90_000);

  it('its download link gives the bytes back', async () => {
    const digest = await page.evaluate<string>(`
      const a = [...document.querySelectorAll('a[download]')].find((l) => l.closest('tr').textContent.includes('archive.bin'));
      const body = await (await fetch(a.href)).arrayBuffer();
      return [...new Uint8Array(await crypto.subtle.digest('SHA-256', body))].map((b) => b.toString(16).padStart(2, '0')).join('');`);
    expect(digest).toBe(sha(bytes));
  });

  it('shows the nodes and charts the metrics', async () => {
    await page.goto(url('#/nodes'));
    await page.waitFor('document.querySelectorAll("[data-testid=nodes] tbody tr").length === 7');
    expect(await page.evaluate<string>('return document.querySelector("[data-testid=write-quorum]").textContent;')).toContain('7 of 7 writable');
    await page.screenshot(screenshotPath('firefox-03-nodes'));
    await page.goto(url('#/metrics'));
    await page.waitFor('document.querySelectorAll(".chart canvas").length === 3');
    await page.screenshot(screenshotPath('firefox-04-metrics'));
  });

  it('fits a phone\'s width, and signs out', async () => {
    await page.setViewport(390, 844);
    for (const hash of [`#/b/${BUCKET}/`, '#/nodes']) {
      await page.goto(url(hash));
      await page.waitFor('document.querySelector("main table")');
      expect(await page.evaluate<number>('return document.documentElement.scrollWidth;'), hash).toBeLessThanOrEqual(390);
    }
    await page.screenshot(screenshotPath('firefox-05-phone-nodes'));
    await page.evaluate(clickText('Sign out'));
    await page.waitFor('document.querySelector("input[name=accessKey]")');
  });
});
