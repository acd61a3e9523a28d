import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { artifactPath } from '../../codecs/common/artifact.js';

/** Resolves once `proc` prints `text` on stdout; rejects if it exits first. */
export function waitFor(proc: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => { out += d; if (out.includes(text)) resolve(); });
    proc.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
}

/** A TCP port of 127.0.0.1 that nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); }); });
}

/** A `kintsugi node` process serving `folder` (made if missing) on a free loopback port, once it is listening. */
export async function startNodeProcess(folder: string, env: Record<string, string>): Promise<{ proc: ChildProcess; url: string }> {
  const port = await freePort();
  mkdirSync(folder, { recursive: true });
  const proc = spawn(process.execPath, [join(artifactPath(import.meta.url, ''), 'dist/server/cli.js'), 'node'], {
    env: { ...process.env, ...env, NODE_DIR: folder, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await waitFor(proc, 'Kintsugi node');
  return { proc, url: `http://127.0.0.1:${port}` };
}

/** CPU seconds (user + system) used so far by a process and all its descendants. */
export function cpuSeconds(pid: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Fields after the command (which may hold spaces) start at ") ".
      const f = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]!.split(' ');
      stats.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch { /* exited meanwhile */ }
  }
  const inTree = (p: number): boolean => p === pid || (p > 1 && stats.has(p) && inTree(stats.get(p)!.ppid));
  let ticks = 0;
  for (const [p, st] of stats) if (inTree(p)) ticks += st.ticks;
  return ticks / CLOCK_TICKS;
}
/** Linux's USER_HZ: /proc reports CPU time in these. */
const CLOCK_TICKS = 100;
