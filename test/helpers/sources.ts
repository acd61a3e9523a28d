import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The TypeScript sources below `dir` (the console's .tsx too), build outputs and fetched C sources left out. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return ['node_modules', 'build', '.sources'].includes(e.name) ? [] : sourceFiles(path);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}
