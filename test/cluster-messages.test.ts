import { fork, type ChildProcess } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { sendQuietly } from '../core/cluster-messages.js';

/** A child process with an IPC channel that has already exited (a worker just replaced). */
async function gone(): Promise<ChildProcess> {
  const child = fork('-e', ['process.exit(0)'], { execArgv: [], stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  await new Promise((r) => child.once('exit', r));
  return child;
}

const aTurn = () => new Promise((r) => setTimeout(r, 20));

describe('messages between the primary and its workers', () => {
  it('a plain send to a worker that has left is an error event (which, unheard, ends the process)', async () => {
    const child = await gone();
    const errors: Error[] = [];
    child.on('error', (err) => errors.push(err));
    child.send({ kintsugi: 'shutdown' });
    await aTurn();
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['ERR_IPC_CHANNEL_CLOSED']);
  });

  it('a quiet send to a worker that has left goes unheard: no error event, nothing thrown', async () => {
    const child = await gone();
    const errors: Error[] = [];
    child.on('error', (err) => errors.push(err));
    expect(() => sendQuietly(child, { kintsugi: 'rebalance-status', status: { layoutVersion: 2, state: 'moving', rate: 0, draining: [] } })).not.toThrow();
    await aTurn();
    expect(errors).toEqual([]);
  });

  it('a quiet send to a worker that is there is delivered', async () => {
    const child = fork('-e', ['process.once("message", (m) => process.send(m, () => process.exit(0)))'], { execArgv: [], stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    const echoed = new Promise((r) => child.once('message', r));
    sendQuietly(child, { kintsugi: 'shutdown' });
    expect(await echoed).toEqual({ kintsugi: 'shutdown' });
    await new Promise((r) => child.once('exit', r));
  });
});
