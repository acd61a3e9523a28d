import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { chromium, type Browser } from 'playwright-core';

import { ROOT } from './cli.js';

/** Where the browser tests leave their screenshots. */
export const SCREENSHOTS = join(ROOT, 'test-output', 'screenshots');

/** Debian's Chromium (installed by set-up), driven by Playwright's library: no browser is downloaded. */
export function chromiumPath(): string {
  return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
}

export async function launchChromium(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // --no-sandbox: the tests run as root, where Chromium's sandbox cannot start.
  return chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

export const screenshotPath = (name: string) => join(SCREENSHOTS, `${name}.png`);
