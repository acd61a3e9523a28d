import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { NATIVE_ADDON_PATH } from '../../codecs/jerasure-native/index.js';
import { TECHNIQUE_IDS } from '../../codecs/common/raw-code.js';
import { ROOT } from '../helpers/cli.js';

/** One fresh process: its first 64 encodes queued at once on a 16-thread pool. */
function firstEncodes(technique: number): Promise<{ out: string; code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('../helpers/first-encodes.mjs', import.meta.url)), `${ROOT}/${NATIVE_ADDON_PATH}`, String(technique)], {
      env: { ...process.env, UV_THREADPOOL_SIZE: '16' },
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    // 'close', not 'exit': the child's output may still be on its way when it has exited.
    child.on('close', (code, signal) => resolve({ out, code, signal }));
  });
}

/**
 * jerasure builds its Galois fields lazily on first use, without a lock;
 * a process whose first encodes raced through that on the thread pool
 * crashed (a null function pointer, SIGSEGV: CI lost a test file to it).
 * The codec now builds them when it is made.
 */
describe('the native build in a fresh process', () => {
  it.each(Object.entries(TECHNIQUE_IDS))('takes its first encodes all at once on the thread pool (%s), none crashing, all right', async (_, technique) => {
    const runs = await Promise.all(Array.from({ length: 12 }, () => firstEncodes(technique)));
    expect(runs).toEqual(runs.map(() => ({ out: 'ok', code: 0, signal: null })));
  });
});
