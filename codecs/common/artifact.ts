import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Absolute path of a build output below the package root. The same module
 * runs from source (tests) and from dist/ (built code); build outputs stay in
 * the source tree, so both find them by walking up to package.json.
 */
export function artifactPath(fromUrl: string, relative: string): string {
  let dir = dirname(fileURLToPath(fromUrl));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(fromUrl)}`);
    dir = parent;
  }
  return join(dir, relative);
}
