import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT } from './helpers/cli.js';

/** Every TypeScript source the spawned processes run, by its path under the repository. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return ['node_modules', 'build', '.sources'].includes(e.name) ? [] : sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

describe('tests run the current code', () => {
  it('no spawned process runs a build older than its sources: every compiled file is newer than its source', () => {
    const stale = ['core', 'plugins', 'codecs', 'server'].flatMap(sources).flatMap((src) => {
      const built = join(ROOT, 'dist', src.replace(/\.ts$/, '.js'));
      const builtMs = statSync(built, { throwIfNoEntry: false })?.mtimeMs;
      return builtMs === undefined || builtMs < statSync(join(ROOT, src)).mtimeMs ? [relative(ROOT, join(ROOT, src))] : [];
    });
    expect(stale).toEqual([]);
  });
});
