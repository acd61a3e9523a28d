import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

import { artifactPath } from '../../../codecs/common/artifact.js';
import type { S3Response } from '../context.js';
import { S3Error } from '../s3-error.js';

/** Where set-up puts the bundled console (console/build.mjs). */
export const CONSOLE_BUILD = 'console/build';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/* The console runs only its own script and styles, talks only to this
   origin, and cannot be framed: a stored object's name or metadata shown in
   it can never run as code. uPlot sizes its canvas with style attributes. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** The bundled console's files, read once from the build folder. */
export class ConsoleAssets {
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly root = artifactPath(import.meta.url, CONSOLE_BUILD)) {}

  /** `name` is a path below the build folder ('' for the page). */
  async serve(name: string): Promise<S3Response> {
    const file = name === '' ? 'index.html' : normalize(name);
    const type = TYPES[extname(file)];
    if (file.startsWith('..') || file.includes('\0') || !type) throw new S3Error('NoSuchKey', `the console has no ${name}`);
    let body = this.cache.get(file);
    if (!body) {
      try {
        body = await readFile(join(this.root, file));
      } catch (err) {
        if (file === 'index.html') throw new S3Error('ServiceUnavailable', 'the web console is not built: run `npm run setup`');
        throw new S3Error('NoSuchKey', `the console has no ${name}: ${(err as NodeJS.ErrnoException).code}`);
      }
      this.cache.set(file, body);
    }
    return { status: 200, headers: { ...PAGE_HEADERS, 'content-type': type, 'content-length': String(body.byteLength) }, body };
  }
}
