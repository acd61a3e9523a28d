import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { CreateBucketCommand, GetObjectCommand, GetObjectLegalHoldCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { launchChromium, screenshotPath } from '../helpers/browser.js';
import { tempDir } from '../helpers/engine.js';
import { CLUSTER_SECRET, startNode, stopNode, type NodeProcess } from '../helpers/nodes.js';
import { ACCESS_KEY, failure, SECRET_KEY, startServer, type RunningServer } from '../helpers/server.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const CONSOLE = '/_kintsugi/console/';
const BUCKET = 'console-photos';

/*
 * The web console in Debian's headless Chromium, against a server of six
 * local node folders and one node on its own `kintsugi node` process (the
 * one taken down). One browser session walks through what an operator does;
 * each step leaves a screenshot in test-output/screenshots/.
 */
describe('the web console in Chromium (2 workers, 6 folders + 1 node process)', () => {
  let server: RunningServer;
  let remote: NodeProcess;
  let s3: S3Client;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let work: string;
  const big = randomBytes(20 * 1024 * 1024 + 12345);

  beforeAll(async () => {
    work = tempDir('kintsugi-console-');
    const folders = Array.from({ length: 6 }, (_, i) => join(work, `node${i}`));
    for (const f of folders) mkdirSync(f);
    mkdirSync(join(work, 'node6'));
    remote = await startNode(join(work, 'node6'));
    server = await startServer({ NODES: [...folders, remote.url].join(','), CLUSTER_SECRET, HEAL_INTERVAL: '2', NODEPATH: work });
    s3 = server.client();
    browser = await launchChromium();
    context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    // The console asks before deleting: the operator says yes.
    page.on('dialog', (d) => { void d.accept(); });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (remote) await stopNode(remote);
  });

  const url = (hash = '') => `${server.endpoint}${CONSOLE}${hash}`;
  const shot = (name: string) => page.screenshot({ path: screenshotPath(name), fullPage: true });

  it('signs in with an access key and secret: a wrong secret is refused, the session is an HttpOnly, SameSite=Strict cookie with an expiry', async () => {
    await page.goto(url());
    await shot('01-sign-in');
    await page.fill('input[name=accessKey]', ACCESS_KEY);
    await page.fill('input[name=secretKey]', 'not-the-secret');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('[role=alert]'), { timeout: 10_000 }).toContain('AccessDenied');
    expect(await context.cookies()).toEqual([]);

    await page.fill('input[name=secretKey]', SECRET_KEY);
    await page.click('button[type=submit]');
    await page.waitForSelector('text=Sign out');
    const [cookie, ...others] = await context.cookies();
    expect(others).toEqual([]);
    expect(cookie).toMatchObject({ name: 'kintsugi_console', httpOnly: true, sameSite: 'Strict', path: CONSOLE });
    expect(cookie!.expires * 1000).toBeGreaterThan(Date.now() + 3600_000);
    // Scripts on the page cannot read it.
    expect(await page.evaluate(() => document.cookie)).toBe('');
  });

  it('the console API takes nothing without the session, and no change without the console\'s header', async () => {
    const [cookie] = await context.cookies();
    const noSession = await fetch(`${server.endpoint}${CONSOLE}api/s3/`);
    expect(noSession.status).toBe(403);
    const noHeader = await fetch(`${server.endpoint}${CONSOLE}api/s3/forged-bucket`, { method: 'PUT', headers: { cookie: `${cookie!.name}=${cookie!.value}` } });
    expect(noHeader.status).toBe(403);
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'forged-bucket', Key: 'x' })))).toMatchObject({ status: 404 });
  });

  it('creates a bucket, and the list shows it', async () => {
    await page.fill('input[name=bucket]', BUCKET);
    await page.click('text=Create bucket');
    await page.waitForSelector(`[data-testid=buckets] >> text=${BUCKET}`);
    await shot('02-buckets');
  });

  it('uploads a 20 MiB file in parts with a progress bar, and resumes after a part failed, sending only what was missing', async () => {
    const file = join(work, 'big.bin');
    writeFileSync(file, big);
    await page.click(`[data-testid=buckets] >> text=${BUCKET}`);
    await page.waitForSelector('[data-testid=objects]');
    // Part 2 fails at the network until the test lets it through.
    const sent = new Map<number, number>();
    let breakPart2 = true;
    await page.route((u) => u.searchParams.has('partNumber'), async (route) => {
      const n = Number(new URL(route.request().url()).searchParams.get('partNumber'));
      if (n === 2 && breakPart2) return route.abort('connectionreset');
      sent.set(n, (sent.get(n) ?? 0) + 1);
      return route.continue();
    });
    // What the progress bar shows, sampled as it moves.
    await page.evaluate(() => {
      const w = window as unknown as { seen: number[] };
      w.seen = [];
      setInterval(() => document.querySelectorAll('progress').forEach((p) => w.seen.push((p as HTMLProgressElement).value)), 5);
    });
    await page.setInputFiles('[data-testid=upload-files]', file);
    await page.waitForSelector('[data-state=failed] >> text=Resume', { timeout: 30_000 });
    expect(await page.textContent('[data-state=failed]')).toMatch(/part 2 of 3 failed 3 times/);
    await shot('03-upload-failed-part');
    breakPart2 = false;
    await page.click('text=Resume');
    await page.waitForSelector('[data-state=done]', { timeout: 60_000 });
    expect(await page.textContent('[data-state=done]')).toContain('2 parts were already there');
    // Parts 1 and 3 went once; part 2 once it could.
    expect(Object.fromEntries(sent)).toEqual({ 1: 1, 2: 1, 3: 1 });
    const seen = await page.evaluate(() => (window as unknown as { seen: number[] }).seen);
    expect(seen.some((v) => v > 0 && v < 100)).toBe(true);
    expect(seen.at(-1)).toBe(100);
    await page.unroute((u) => u.searchParams.has('partNumber'));
    await page.waitForSelector('[data-testid=objects] >> text=big.bin');
    await shot('04-objects-uploaded');

    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big.bin' }));
    expect([head.ContentLength, head.ETag]).toEqual([big.length, expect.stringMatching(/-3"$/)]);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big.bin' }));
    expect(sha(await got.Body!.transformToByteArray())).toBe(sha(big));
  }, 120_000);

  it('resumes an upload after the page was reloaded: picking the same file again sends only the missing parts', async () => {
    const file = join(work, 'again.bin');
    const bytes = randomBytes(17 * 1024 * 1024);
    writeFileSync(file, bytes);
    const parts = (u: URL) => u.searchParams.has('partNumber');
    const sent: number[] = [];
    await page.route(parts, async (route) => {
      const n = Number(new URL(route.request().url()).searchParams.get('partNumber'));
      if (n === 3) return route.abort('connectionreset');
      sent.push(n);
      return route.continue();
    });
    await page.setInputFiles('[data-testid=upload-files]', file);
    await page.waitForSelector('[data-state=failed][data-key="again.bin"]', { timeout: 30_000 });
    await page.unroute(parts);
    expect(sent.sort()).toEqual([1, 2]);
    await page.reload();
    await page.waitForSelector('[data-testid=objects]');
    await page.route(parts, async (route) => {
      sent.push(Number(new URL(route.request().url()).searchParams.get('partNumber')));
      return route.continue();
    });
    await page.setInputFiles('[data-testid=upload-files]', file);
    await page.waitForSelector('[data-state=done][data-key="again.bin"]', { timeout: 60_000 });
    await page.unroute(parts);
    expect(await page.textContent('[data-state=done][data-key="again.bin"]')).toContain('2 parts were already there');
    expect(sent.sort()).toEqual([1, 2, 3]);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'again.bin' }));
    expect(sha(await got.Body!.transformToByteArray())).toBe(sha(bytes));
  }, 120_000);

  it('uploads a folder, keeping its files\' paths as keys', async () => {
    const dir = join(work, 'album');
    mkdirSync(join(dir, 'summer'), { recursive: true });
    writeFileSync(join(dir, 'cover.txt'), 'cover');
    writeFileSync(join(dir, 'summer', 'beach.txt'), 'sand');
    await page.setInputFiles('[data-testid=upload-folder]', dir);
    await page.waitForSelector('[data-testid=objects] >> text=album/');
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'album/summer/beach.txt' }));
    expect(await got.Body!.transformToString()).toBe('sand');
  });

  it('browses prefixes as folders and pages through a large listing', async () => {
    await Promise.all(Array.from({ length: 230 }, (_, i) =>
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `many/item-${String(i).padStart(3, '0')}.txt`, Body: `item ${i}` }))));
    await page.reload();
    await page.click('[data-testid=objects] >> text=many/');
    await page.waitForSelector('text=item-000.txt');
    const rows = () => page.locator('[data-testid=objects] tbody tr').count();
    expect(await rows()).toBe(100);
    expect(await page.textContent('.crumbs')).toContain('many');
    await page.click('text=Next');
    await page.waitForSelector('text=item-100.txt');
    await page.click('text=Next');
    await page.waitForSelector('text=item-229.txt');
    expect(await rows()).toBe(30);
    expect(await page.isDisabled('text=Next')).toBe(true);
    await page.click('text=Previous');
    await page.waitForSelector('text=item-199.txt');
    await shot('05-objects-paged');
    await page.click(`.crumbs >> text=${BUCKET}`);
    await page.waitForSelector('[data-testid=objects] >> text=big.bin');
  });

  it('downloads an object, byte for byte', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('[data-testid=objects] tr:has-text("big.bin") >> text=Download'),
    ]);
    const saved = join(work, 'downloaded.bin');
    await download.saveAs(saved);
    expect(download.suggestedFilename()).toBe('big.bin');
    expect(sha(readFileSync(saved))).toBe(sha(big));
  });

  it('switches versioning on, and an object\'s details show its size, ETag, type, metadata and versions', async () => {
    await page.click('text=Bucket settings');
    await page.click('text=Enable versioning');
    await expect.poll(() => page.textContent('[data-testid=versioning]'), { timeout: 10_000 }).toBe('Enabled');
    await shot('06-bucket-settings');
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'notes/today.txt', Body: 'first', ContentType: 'text/plain' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'notes/today.txt', Body: 'second draft', ContentType: 'text/plain', Metadata: { author: 'ada' } }));
    await page.goto(url(`#/o/${BUCKET}/notes/today.txt`));
    const details = await (await page.waitForSelector('[data-testid=object-details]')).textContent();
    expect(details).toContain('12 bytes');
    expect(details).toContain('text/plain');
    expect(details).toContain('author: ada');
    expect(details).toContain(createHash('md5').update('second draft').digest('hex'));
    await page.waitForSelector('[data-testid=versions]');
    expect(await page.locator('[data-testid=versions] tbody tr').count()).toBe(2);
    await shot('07-object-details');
  });

  it('makes a share link with the chosen expiry that works without a session', async () => {
    await page.selectOption('select[name=expiry]', '300');
    await page.click('text=Create link');
    const link = await (await page.waitForSelector('[data-testid=share-link]')).inputValue();
    expect(new URL(link).searchParams.get('X-Amz-Expires')).toBe('300');
    const res = await fetch(link);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('second draft');
    await shot('08-share-link');
  });

  it('shows a bucket\'s usage and sets and removes its quota; the bucket list shows both', async () => {
    await page.goto(url(`#/b/${BUCKET}/`));
    await page.click('text=Bucket settings');
    await expect.poll(() => page.textContent('[data-testid=usage]'), { timeout: 10_000 }).toMatch(/\d+ objects, \d+ versions/);
    await page.fill('input[name=quota]', '2');
    await page.click('text=Set quota');
    await expect.poll(() => page.textContent('[data-testid=quota]'), { timeout: 10_000 }).toBe('2.00 GiB');
    await page.goto(url('#/'));
    const row = page.locator(`[data-testid=bucket-${BUCKET}]`);
    await expect.poll(() => row.locator('[data-testid=quota]').textContent(), { timeout: 10_000 }).toBe('2.00 GiB');
    expect(await row.locator('[data-testid=size]').textContent()).toMatch(/MiB/);
    await shot('08a-bucket-usage');
    await page.goto(url(`#/b/${BUCKET}/`));
    await page.click('text=Bucket settings');
    await page.click('text=Remove quota');
    await expect.poll(() => page.textContent('[data-testid=quota]'), { timeout: 10_000 }).toBe('none');
  });

  it('shows each version\'s Object Lock, and sets and clears a legal hold', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'console-worm', ObjectLockEnabledForBucket: true }));
    const until = new Date(Date.now() + 3 * 86_400_000);
    const { VersionId } = await s3.send(new PutObjectCommand({ Bucket: 'console-worm', Key: 'kept.txt', Body: 'kept', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until }));
    await page.goto(url('#/o/console-worm/kept.txt'));
    const cell = page.locator('[data-testid=versions] [data-testid=lock]');
    await expect.poll(() => cell.textContent(), { timeout: 10_000 }).toContain('COMPLIANCE until');
    const hold = async () => (await s3.send(new GetObjectLegalHoldCommand({ Bucket: 'console-worm', Key: 'kept.txt', VersionId }))).LegalHold?.Status;
    await page.click('text=Set legal hold');
    await expect.poll(() => cell.textContent(), { timeout: 10_000 }).toContain('Clear legal hold');
    expect(await cell.textContent()).toContain('· legal hold');
    expect(await hold()).toBe('ON');
    await shot('08b-object-lock');
    await page.click('text=Clear legal hold');
    await expect.poll(() => cell.textContent(), { timeout: 10_000 }).toContain('Set legal hold');
    expect(await hold()).toBe('OFF');
    // Back where the next test starts.
    await page.goto(url(`#/o/${BUCKET}/notes/today.txt`));
    await page.waitForSelector('[data-testid=object-details]');
  });

  it('deletes an object; a bucket is deleted only once empty, and S3\'s refusal is shown', async () => {
    await page.click('button:has-text("Delete")');
    await page.waitForSelector('[data-testid=objects]');
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'notes/today.txt' })))).toMatchObject({ status: 404 });
    await page.goto(url('#/'));
    await page.click(`button[aria-label="Delete bucket ${BUCKET}"]`);
    await expect.poll(() => page.textContent('[role=alert]'), { timeout: 10_000 }).toContain('BucketNotEmpty');
    await shot('09-bucket-not-empty');
    await page.fill('input[name=bucket]', 'short-lived');
    await page.click('text=Create bucket');
    await page.waitForSelector('[data-testid=buckets] >> text=short-lived');
    await page.click('button[aria-label="Delete bucket short-lived"]');
    await expect.poll(() => page.locator('[data-testid=buckets] >> text=short-lived').count(), { timeout: 10_000 }).toBe(0);
  });

  it('shows each node\'s layout role, state, space, shard counts and scrub, the layout, the heal state and quorum; a node taken down shows as offline with its error', async () => {
    await page.click('header >> text=Nodes');
    await page.waitForSelector('[data-testid=nodes]');
    expect(await page.locator('[data-testid=nodes] tbody tr').count()).toBe(7);
    // A background pass (every 2 s) counts the shards each node holds.
    await expect.poll(async () => page.textContent('[data-testid=heal]'), { timeout: 30_000 }).toMatch(/Last pass .* objects checked/);
    await expect.poll(async () => page.textContent('tr[data-node="6"] td:nth-child(5)'), { timeout: 10_000 }).not.toMatch(/^(0|—)$/);
    // The cluster layout: every node active, the version and what made it.
    expect(await page.textContent('tr[data-node="6"] [data-testid=layout-role]')).toBe('active');
    expect(await page.textContent('[data-testid=layout]')).toMatch(/Version 1, changed .* ago: created from the configuration\./);
    // Each node scrubs its own bytes (a pass at start), and says where it stands.
    await expect.poll(async () => page.textContent('tr[data-node="6"] [data-testid=scrub]'), { timeout: 30_000 }).toMatch(/^done last .* ago, 0 damaged$/);
    expect(await page.textContent('tr[data-node="0"]')).toMatch(/ok.*of .*iB/);
    expect(await page.textContent('[data-testid=write-quorum]')).toContain('quorum (7 of 7 writable');
    await shot('10-nodes');

    await stopNode(remote);
    await expect.poll(() => page.getAttribute('tr[data-node="6"]', 'data-state'), { timeout: 20_000 }).toBe('offline');
    expect(await page.textContent('tr[data-node="6"] .last-error')).not.toContain('none');
    expect(await page.textContent('[data-testid=write-quorum]')).toContain('6 of 7 writable');
    expect(await page.textContent('[data-testid=read-quorum]')).toContain('quorum (6 of 7 readable');
    await shot('11-nodes-one-down');
  }, 60_000);

  it('charts requests/s, bytes/s and p50/p99 latency from the metrics', async () => {
    await page.click('header >> text=Metrics');
    await page.waitForSelector('.chart canvas');
    // Traffic to chart.
    await Promise.all(Array.from({ length: 40 }, (_, i) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `traffic/${i}`, Body: randomBytes(50_000) }))));
    await expect.poll(() => page.textContent('[data-testid=metrics-now]'), { timeout: 20_000 }).toMatch(/[1-9][\d.]* requests\/s.*p50 [\d.]+ ms, p99 [\d.]+ ms/);
    expect(await page.locator('.chart canvas').count()).toBe(3);
    await expect.poll(async () => Number(await page.getAttribute('section[data-points]', 'data-points')), { timeout: 20_000 }).toBeGreaterThanOrEqual(4);
    await shot('12-metrics');
  }, 40_000);

  it('fits a phone\'s width: no page scrolls sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [hash, name] of [['#/', 'buckets'], [`#/b/${BUCKET}/`, 'objects'], ['#/nodes', 'nodes'], ['#/metrics', 'metrics']] as const) {
      await page.goto(url(hash));
      await page.waitForSelector('main section h2, main section nav');
      await page.waitForTimeout(300);
      expect(await page.evaluate(() => document.documentElement.scrollWidth), name).toBeLessThanOrEqual(390);
      await shot(`13-phone-${name}`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('signs out: the cookie is gone, and the old session is refused by every worker', async () => {
    const [cookie] = await context.cookies();
    await page.goto(url());
    await page.click('text=Sign out');
    await page.waitForSelector('input[name=accessKey]');
    expect(await context.cookies()).toEqual([]);
    await shot('14-signed-out');
    // Several requests: with two workers, both are asked.
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${server.endpoint}${CONSOLE}api/s3/`, { headers: { cookie: `${cookie!.name}=${cookie!.value}` } });
      expect(res.status).toBe(403);
    }
  });
});
