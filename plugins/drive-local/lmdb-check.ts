import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * What a check of one LMDB file found: sound; corrupt (or foreign, or it
 * crashed or hung the checker: set it aside); missing; unavailable (the node
 * refused the check itself, read-only without a lock file, no permission:
 * not the file's fault, try later).
 */
export type IndexVerdict =
  | { readonly verdict: 'sound'; readonly entries: number }
  | { readonly verdict: 'corrupt' | 'missing' | 'unavailable'; readonly why: string };

/** An LMDB file whose values all end with a CRC-32 of key and value (a node's shelf). */
export interface IndexToCheck {
  readonly path: string;
}

const LMDB_ENTRY = createRequire(import.meta.url).resolve('lmdb');

/**
 * Runs in a child process (CommonJS, evaluated): for each file in turn,
 * walks every entry, checks key order and each value's CRC-32, and prints
 * one JSON line. A corrupt LMDB file can crash or hang
 * whoever maps it, which is why this is not done in a process that serves:
 * the child dies, the parent learns which file it was on.
 */
const CHECKER = `
const [, lmdbEntry, listJson] = process.argv;
const zlib = require('node:zlib');
const { open } = require(lmdbEntry);
const ENV = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT', 'EIO']);
function check(path) {
  try {
    const db = open({ path, readOnly: true, keyEncoding: 'binary', encoding: 'binary', compression: false });
    let prev; let entries = 0;
    for (const { key, value } of db.getRange({})) {
      if (prev && Buffer.compare(prev, key) >= 0) return { verdict: 'corrupt', why: 'keys out of order' };
      prev = key;
      const end = value.length - 4;
      if (end < 0 || value.readUInt32BE(end) !== zlib.crc32(value.subarray(0, end), zlib.crc32(key))) return { verdict: 'corrupt', why: 'an entry fails its checksum' };
      entries++;
    }
    db.close();
    return { verdict: 'sound', entries };
  } catch (err) {
    const env = ENV.has(err.code) || /read-only file system|permission denied/i.test(String(err.message));
    return { verdict: env ? 'unavailable' : 'corrupt', why: String(err.message).slice(0, 300) };
  }
}
for (const { path } of JSON.parse(listJson)) {
  process.stdout.write('started\\n');
  process.stdout.write(JSON.stringify(check(path)) + '\\n');
}
`;

/**
 * Checks LMDB files in one child process (a node process costs ~100 ms to
 * start; seven at once on two cores cost a second while workers wait). If
 * the child dies or hangs on one, that one is corrupt and the rest are
 * checked again in a new child.
 */
export async function checkIndexes(list: readonly IndexToCheck[], timeoutMs = 120_000): Promise<IndexVerdict[]> {
  const verdicts: (IndexVerdict | undefined)[] = list.map((c) => (existsSync(c.path) ? undefined : { verdict: 'missing', why: `${c.path} does not exist` }));
  let todo = list.map((_, i) => i).filter((i) => !verdicts[i]);
  while (todo.length > 0) {
    const run = await runChild(todo.map((i) => list[i]!), timeoutMs);
    run.verdicts.forEach((v, j) => { verdicts[todo[j]!] = v; });
    if (run.failedAt === undefined) break;
    verdicts[todo[run.failedAt]!] = { verdict: 'corrupt', why: run.why };
    todo = todo.slice(run.failedAt + 1);
  }
  return verdicts.map((v) => v ?? { verdict: 'unavailable', why: 'not checked' });
}


/** One child over `list`: the verdicts it printed, and where it died (if it did), with why. */
function runChild(list: readonly IndexToCheck[], timeoutMs: number): Promise<{ verdicts: IndexVerdict[]; failedAt?: number; why: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', CHECKER, LMDB_ENTRY, JSON.stringify(list)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    // Each index has the whole timeout: a hang on one is what is caught.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs * list.length);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ verdicts: list.map(() => ({ verdict: 'unavailable', why: `checker did not start: ${e.message}` })), why: '' });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const lines = out.split('\n').filter(Boolean);
      const verdicts = lines.filter((l) => l !== 'started').map((l) => JSON.parse(l) as IndexVerdict);
      if (verdicts.length === list.length) return resolve({ verdicts, why: '' });
      // Killed from outside (the OOM killer, an operator): says nothing about the index.
      if (!timedOut && (signal === 'SIGKILL' || signal === 'SIGTERM' || signal === 'SIGINT')) {
        return resolve({ verdicts: [...verdicts, ...list.slice(verdicts.length).map(() => ({ verdict: 'unavailable' as const, why: `the check was killed (${signal})` }))], why: '' });
      }
      const why = timedOut ? `the check did not finish within ${timeoutMs / 1000} s`
        : signal ? `the check crashed with ${signal}` : `the check failed (exit ${code}): ${err.trim().split('\n').pop() ?? ''}`;
      resolve({ verdicts, failedAt: verdicts.length, why });
    });
  });
}
