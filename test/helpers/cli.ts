import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'server', 'cli.js');

/** Runs the built `kintsugi` command (dist/, as installed) with extra environment. */
export function runCli(args: string[], env: Record<string, string> = {}) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run the README's set-up (npm test does it)`);
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
