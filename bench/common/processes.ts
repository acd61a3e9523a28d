import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

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
