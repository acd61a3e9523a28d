import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/engine.js';

describe('memory', () => {
  it('stays bounded: a 2 GiB streamed put peaks under 256 MiB RSS', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'test/helpers/big-put.mjs'), ROOT, tempDir('kintsugi-big-'), '2048'], { encoding: 'utf8', timeout: 180_000 });
    expect(r.status, r.stderr).toBe(0);
    const { size, peakMiB } = JSON.parse(r.stdout) as { size: number; peakMiB: number };
    console.log(`2 GiB put: peak RSS ${peakMiB} MiB`);
    expect(size).toBe(2 * 2 ** 30);
    expect(peakMiB).toBeLessThan(256);
  }, 200_000);
});
