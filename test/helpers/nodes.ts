import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import { ROOT } from './cli.js';

export const CLUSTER_SECRET = 'a cluster secret for the tests';

/** A `kintsugi node` process serving one folder. */
export interface NodeProcess {
  folder: string;
  host: string;
  port: number;
  url: string;
  child: ChildProcess;
  /** what it logged so far */
  logs(): string;
}

/**
 * Starts `kintsugi node` for `folder` on host:port (port 0: any free one).
 * `wrap`: a command to run it under (`ip netns exec NAME`).
 */
export async function startNode(folder: string, options: { host?: string; port?: number; secret?: string; wrap?: string[] } = {}): Promise<NodeProcess> {
  const host = options.host ?? '127.0.0.1';
  const command = [...(options.wrap ?? []), process.execPath, join(ROOT, 'dist/server/cli.js'), 'node'];
  const child = spawn(command[0]!, command.slice(1), {
    env: { ...process.env, NODE_DIR: folder, PORT: String(options.port ?? 0), HOST: host, CLUSTER_SECRET: options.secret ?? CLUSTER_SECRET, SYNC: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err += d; });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start: ${out}${err}`)), 15_000);
    child.stdout!.on('data', () => {
      const m = out.match(/on http:\/\/[^:]+:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`node exited ${code}: ${err}`)); });
  });
  return { folder, host, port, url: `http://${host}:${port}`, child, logs: () => err };
}

/** Stops a node process (SIGTERM), kills it (SIGKILL), and resolves once it is gone. */
export function stopNode(n: NodeProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise<void>((resolve) => {
    if (n.child.exitCode !== null || n.child.signalCode !== null) return resolve();
    n.child.once('exit', () => resolve());
    // A stopped (SIGSTOP) process must run again to take a SIGTERM.
    n.child.kill('SIGCONT');
    n.child.kill(signal);
  });
}

/** Starts the same node again: its folder, host and port. */
export function restartNode(n: NodeProcess, wrap?: string[]): Promise<NodeProcess> {
  return startNode(n.folder, { host: n.host, port: n.port, ...(wrap ? { wrap } : {}) });
}
