import { statSync } from 'node:fs';
import { join, relative } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT } from './helpers/cli.js';
import { sourceFiles } from './helpers/sources.js';

describe('tests run the current code', () => {
  it('no spawned process runs a build older than its sources: every compiled file is newer than its source', () => {
    // Every TypeScript source the spawned processes run.
    const stale = ['core', 'plugins', 'codecs', 'server'].flatMap((d) => sourceFiles(join(ROOT, d))).flatMap((src) => {
      const built = join(ROOT, 'dist', relative(ROOT, src).replace(/\.ts$/, '.js'));
      const builtMs = statSync(built, { throwIfNoEntry: false })?.mtimeMs;
      return builtMs === undefined || builtMs < statSync(src).mtimeMs ? [relative(ROOT, src)] : [];
    });
    expect(stale).toEqual([]);
  });
});
