import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { S3Client, type S3ServiceException } from '@aws-sdk/client-s3';

import { ROOT } from './cli.js';
import { tempDir } from './engine.js';

export const ACCESS_KEY = 'test-access-key';
export const SECRET_KEY = 'test-secret-key-123';

export interface RunningServer {
  endpoint: string;
  port: number;
  nodePath: string;
  client(overrides?: { secret?: string; accessKey?: string }): S3Client;
  stop(): Promise<void>;
  /** kill -9 of the primary and every worker at once (a power cut, as far as the processes know) */
  kill9(): Promise<void>;
  /** process ids of the worker processes */
  workerPids(): number[];
  /** what the server logged (JSON lines on stderr) so far */
  logs(): string;
  /** what it printed on stdout (the start banner) */
  output(): string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts the built `kintsugi server` as a child process on a free port of
 * 127.0.0.1 (or of env.HOST); `wrap`: a command to run it under (`ip netns exec NAME`).
 */
export async function startServer(env: Record<string, string> = {}, options: { asUser?: number; wrap?: string[] } = {}): Promise<RunningServer> {
  const port = await freePort();
  const nodePath = env.NODEPATH ?? tempDir('kintsugi-s3-');
  const command = [process.execPath, join(ROOT, 'dist/server/cli.js'), 'server'];
  // An unprivileged user meets permission errors that root never does.
  if (options.asUser !== undefined) command.unshift('setpriv', `--reuid=${options.asUser}`, `--regid=${options.asUser}`, '--clear-groups');
  if (options.wrap) command.unshift(...options.wrap);
  const child: ChildProcess = spawn(command[0]!, command.slice(1), {
    env: { ...process.env, NODEPATH: nodePath, PORT: String(port), HOST: '127.0.0.1', WORKERS: '2', SYNC: 'off', ACCESS_KEY, SECRET_KEY, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that kill9() takes the workers too.
    detached: true,
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err += d; });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}\n${err.slice(-2000)}`)), 30_000);
    const check = () => { if (out.includes('Kintsugi S3 endpoint')) { clearTimeout(timer); resolve(); } };
    child.stdout!.on('data', check);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${err.slice(-2000)}`)); });
  });
  const endpoint = `http://${env.HOST ?? '127.0.0.1'}:${port}`;
  return {
    endpoint, port, nodePath,
    client: (o = {}) => new S3Client({
      endpoint, region: 'us-east-1', forcePathStyle: true,
      credentials: { accessKeyId: o.accessKey ?? ACCESS_KEY, secretAccessKey: o.secret ?? SECRET_KEY },
    }),
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
    kill9: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      process.kill(-child.pid!, 'SIGKILL');
    }),
    logs: () => err,
    output: () => out,
    workerPids: () => {
      // The workers, not other children of the primary (its index checks).
      const out = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(child.pid)], { encoding: 'utf8' }).stdout;
      return out.split('\n').filter((l) => l.includes('cli.js')).map((l) => Number(l.trim().split(/\s+/)[0])).filter((n) => n > 0);
    },
  };
}

/** The S3 error a request failed with (name and HTTP status); throws if it succeeded. */
export async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (err) {
    const e = err as S3ServiceException;
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('request succeeded');
}
