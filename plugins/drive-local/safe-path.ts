import { join, sep } from 'node:path';

import { KintsugiError } from '../../core/errors.js';

/**
 * Joins a relative drive path onto the node folder, refusing anything that
 * could leave it: absolute paths, empty, '.' or '..' segments, NUL bytes.
 * The engine builds paths from hashes, so this only ever fires on a bug, and
 * then it must not touch a file outside the node.
 */
export function resolveInside(root: string, path: string): string {
  if (path.length === 0 || path.startsWith('/') || path.includes('\0') || path.includes('\\')) {
    throw new KintsugiError('ERR_DRIVE_PATH', `refusing drive path ${JSON.stringify(path)}`);
  }
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new KintsugiError('ERR_DRIVE_PATH', `refusing drive path ${JSON.stringify(path)}`);
    }
  }
  const full = join(root, ...path.split('/'));
  if (!full.startsWith(root.endsWith(sep) ? root : root + sep)) {
    throw new KintsugiError('ERR_DRIVE_PATH', `refusing drive path ${JSON.stringify(path)}`);
  }
  return full;
}
