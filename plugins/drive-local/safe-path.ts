import { join, sep } from 'node:path';

import { checkDrivePath } from '../../core/drive-path.js';
import { KintsugiError } from '../../core/errors.js';

/** Joins a checked drive path onto the node folder, and checks the result is inside it. */
export function resolveInside(root: string, path: string): string {
  const full = join(root, ...checkDrivePath(path).split('/'));
  if (!full.startsWith(root.endsWith(sep) ? root : root + sep)) {
    throw new KintsugiError('ERR_DRIVE_PATH', `refusing drive path ${JSON.stringify(path)}`);
  }
  return full;
}
