import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

import { processAlive } from '../../core/waiting.js';

/**
 * Marker files by which processes sharing a node folder tell each other
 * who does one job on it (walks the shelf, rewrites it): the pid, the
 * host, and what the job is on.
 */
export function markerText(job = ''): string {
  return `${process.pid}\n${hostname()}\n${job}`;
}

/** The pid of another live process on this host that the marker names for `job`; undefined when none does (no marker, a dead or distant one, another job). */
export function heldElsewhere(marker: string, job = ''): number | undefined {
  try {
    const [p, host, held] = readFileSync(marker, 'utf8').split('\n');
    const pid = Number(p);
    return host === hostname() && held === job && pid > 0 && pid !== process.pid && processAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}
