import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { WebSocket } from 'undici';

import { tempDir } from './engine.js';

/*
 * Debian's Firefox ESR driven over WebDriver BiDi, the W3C protocol it
 * speaks natively. Playwright drives Firefox through its own patched build
 * (or a BiDi dialect newer than ESR's), so the few commands the console
 * test needs are sent here directly.
 */

interface Pending { resolve: (v: unknown) => void; reject: (e: Error) => void }

export class FirefoxPage {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(private readonly process: ChildProcess, private readonly ws: WebSocket, private context = '') {
    ws.addEventListener('message', (e) => {
      const msg = JSON.parse(String(e.data)) as { id?: number; type: string; result?: unknown; error?: string; message?: string };
      const p = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
      if (!p) return;
      this.pending.delete(msg.id!);
      if (msg.type === 'error') p.reject(new Error(`${msg.error}: ${msg.message}`));
      else p.resolve(msg.result);
    });
  }

  static async launch(executable = '/usr/bin/firefox-esr'): Promise<FirefoxPage> {
    const profile = tempDir('kintsugi-firefox-');
    // No first-run pages, updates or telemetry; downloads are not needed.
    writeFileSync(join(profile, 'user.js'), [
      'user_pref("browser.shell.checkDefaultBrowser", false);',
      'user_pref("datareporting.policy.dataSubmissionEnabled", false);',
      'user_pref("app.update.enabled", false);',
      'user_pref("browser.startup.homepage_override.mstone", "ignore");',
    ].join('\n'));
    const child = spawn(executable, ['--headless', '--no-remote', '--profile', profile, '--remote-debugging-port=0', 'about:blank'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`Firefox did not start: ${log}`)), 30_000);
      const look = (d: Buffer) => {
        log += d;
        const m = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(log);
        if (m) { clearTimeout(timer); resolve(m[1]!); }
      };
      child.stdout!.on('data', look);
      child.stderr!.on('data', look);
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`Firefox exited ${code}: ${log}`)); });
    });
    const ws = new WebSocket(`${url.replace(/\/$/, '')}/session`);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve());
      ws.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)));
    });
    const page = new FirefoxPage(child, ws);
    await page.send('session.new', { capabilities: {} });
    const tree = await page.send('browsingContext.getTree', {}) as { contexts: { context: string }[] };
    page.context = tree.contexts[0]!.context;
    return page;
  }

  send(method: string, params: object): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async goto(url: string): Promise<void> {
    await this.send('browsingContext.navigate', { context: this.context, url, wait: 'complete' });
  }

  /** Runs `expression` (awaited if a promise) in the page; returns its JSON-serialisable value. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send('script.evaluate', {
      expression: `(async () => JSON.stringify(await (async () => { ${expression} })()))()`,
      target: { context: this.context }, awaitPromise: true, resultOwnership: 'none',
    }) as { type: string; result?: { value?: string }; exceptionDetails?: { text: string } };
    if (r.type === 'exception') throw new Error(`in Firefox: ${r.exceptionDetails?.text}`);
    const v = r.result?.value;
    return (v === undefined ? undefined : JSON.parse(v)) as T;
  }

  /** Waits until `expression` is truthy in the page. */
  async waitFor(expression: string, timeoutMs = 15_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (await this.evaluate<boolean>(`return Boolean(${expression});`)) return;
      if (Date.now() > until) throw new Error(`Firefox: still not ${expression}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Focuses the element matched by `selector` and types `text` into it, key by key. */
  async type(selector: string, text: string): Promise<void> {
    await this.evaluate(`document.querySelector(${JSON.stringify(selector)}).focus();`);
    const actions = [...text].flatMap((value) => [{ type: 'keyDown', value }, { type: 'keyUp', value }]);
    await this.send('input.performActions', { context: this.context, actions: [{ type: 'key', id: 'keyboard', actions }] });
  }

  /** Gives the file input matched by `selector` these files, as a user picking them would. */
  async setFiles(selector: string, files: string[]): Promise<void> {
    const r = await this.send('script.evaluate', {
      expression: `document.querySelector(${JSON.stringify(selector)})`, target: { context: this.context }, awaitPromise: false, resultOwnership: 'root',
    }) as { result: { sharedId: string } };
    await this.send('input.setFiles', { context: this.context, element: { sharedId: r.result.sharedId }, files });
  }

  async setViewport(width: number, height: number): Promise<void> {
    await this.send('browsingContext.setViewport', { context: this.context, viewport: { width, height } });
  }

  async screenshot(path: string): Promise<void> {
    const r = await this.send('browsingContext.captureScreenshot', { context: this.context, origin: 'document' }) as { data: string };
    writeFileSync(path, Buffer.from(r.data, 'base64'));
  }

  async close(): Promise<void> {
    await this.send('session.end', {}).catch(() => undefined);
    this.ws.close();
    await new Promise<void>((resolve) => {
      if (this.process.exitCode !== null) return resolve();
      this.process.once('exit', () => resolve());
      this.process.kill('SIGTERM');
    });
  }
}
