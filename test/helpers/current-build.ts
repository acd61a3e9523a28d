import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Vitest's global set-up: the servers, nodes and CLIs that tests spawn run
 * the compiled `dist/` (and the console's bundle), so that is brought up to
 * date first — set-up rebuilds whatever is older than its sources and skips
 * the rest in about a second. Running one file with `npx vitest run` then
 * tests the code as it is, never a stale build.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const run = spawnSync('bash', ['scripts/setup.sh', '--quiet'], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`scripts/setup.sh failed (exit ${run.status}): the build the tests spawn is not current`);
}
