import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

import type { IndexIdentity } from './listing-index.js';

/**
 * What a check of one index found: sound; corrupt (or foreign, or it crashed
 * or hung the checker: set it aside); missing; unavailable (the node refused
 * the check itself, read-only without a lock file, no permission: not the
 * index's fault, try later).
 */
export type IndexVerdict =
  | { readonly verdict: 'sound'; readonly entries: number }
  | { readonly verdict: 'corrupt' | 'missing' | 'unavailable'; readonly why: string };

const LMDB_ENTRY = createRequire(import.meta.url).resolve('lmdb');

/**
 * Runs in a child process (CommonJS, evaluated): walks every entry, checks
 * key order, each value's CRC-32 and the identity entry. A corrupt LMDB file
 * can crash or hang whoever maps it, which is why this is not done in the
 * process that serves: the child dies, the server learns why.
 */
const CHECKER = `
const [, lmdbEntry, path, expectJson] = process.argv;
const zlib = require('node:zlib');
const ENV = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT', 'EIO']);
const out = (code, report) => { process.stdout.write(JSON.stringify(report)); process.exit(code); };
try {
  const expected = JSON.parse(expectJson);
  const db = require(lmdbEntry).open({ path, readOnly: true, keyEncoding: 'binary', encoding: 'binary', compression: false });
  let prev; let entries = 0; let identity;
  for (const { key, value } of db.getRange({})) {
    if (prev && Buffer.compare(prev, key) >= 0) out(2, { why: 'keys out of order' });
    prev = key;
    const end = value.length - 4;
    if (end < 0 || value.readUInt32BE(end) !== zlib.crc32(value.subarray(0, end), zlib.crc32(key))) out(2, { why: 'an entry fails its checksum' });
    if (key[0] === 0) identity = JSON.parse(value.subarray(0, end).toString());
    else entries++;
  }
  if (!identity) out(2, { why: 'no identity entry' });
  for (const f of ['clusterId', 'node', 'generation']) {
    if (identity[f] !== expected[f]) out(2, { why: 'foreign index: ' + f + ' is ' + identity[f] + ', expected ' + expected[f] });
  }
  out(0, { entries });
} catch (err) {
  out(ENV.has(err.code) || /read-only file system|permission denied/i.test(String(err.message)) ? 3 : 2, { why: String(err.message).slice(0, 300) });
}
`;

/** Checks the index at `path` (an LMDB file) in a child process, within `timeoutMs`. */
export function checkIndex(path: string, expected: IndexIdentity, timeoutMs = 120_000): Promise<IndexVerdict> {
  if (!existsSync(path)) return Promise.resolve({ verdict: 'missing', why: `${path} does not exist` });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', CHECKER, LMDB_ENTRY, path, JSON.stringify(expected)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ verdict: 'unavailable', why: `checker did not start: ${e.message}` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      let report: { entries?: number; why?: string } = {};
      try { report = JSON.parse(out) as typeof report; } catch { /* crashed before answering */ }
      if (code === 0) resolve({ verdict: 'sound', entries: report.entries ?? 0 });
      else if (code === 3) resolve({ verdict: 'unavailable', why: report.why ?? 'unavailable' });
      else if (signal === 'SIGKILL') resolve({ verdict: 'corrupt', why: `the check did not finish within ${timeoutMs / 1000} s` });
      else if (signal) resolve({ verdict: 'corrupt', why: `the check crashed with ${signal}` });
      else resolve({ verdict: 'corrupt', why: report.why ?? `the check failed (exit ${code}): ${err.trim().split('\n').pop() ?? ''}` });
    });
  });
}
