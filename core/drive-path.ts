import { KintsugiError } from './errors.js';

/**
 * Checks a drive path as every Drive must: relative, '/'-separated, no
 * empty, '.' or '..' segment, no NUL or backslash. The engine builds paths
 * from hashes, so this only ever fires on a bug, and then no drive may touch
 * anything outside its node.
 */
export function checkDrivePath(path: string): string {
  const bad = path.length === 0 || path.startsWith('/') || path.includes('\0') || path.includes('\\')
    || path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..');
  if (bad) throw new KintsugiError('ERR_DRIVE_PATH', `refusing drive path ${JSON.stringify(path)}`);
  return path;
}
