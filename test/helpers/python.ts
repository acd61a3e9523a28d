import { spawnSync } from 'node:child_process';

/**
 * Every python3 here that has boto3: the one on PATH and Debian's
 * (python3-boto3, installed by the set-up script), when they differ — an
 * older and a newer botocore sign slightly differently.
 */
export function pythonsWithBoto3(): string[] {
  const found = new Map<string, string>();
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(python, ['-c', 'import boto3, sys; print(sys.executable, boto3.__version__)'], { encoding: 'utf8' });
    if (r.status === 0 && !found.has(r.stdout.trim())) found.set(r.stdout.trim(), python);
  }
  if (found.size === 0) throw new Error('no python3 with boto3: run scripts/setup.sh (it installs python3-boto3)');
  return [...found.values()];
}
