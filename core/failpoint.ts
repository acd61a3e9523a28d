/**
 * Failpoints for crash tests: with KINTSUGI_FAILPOINT=<name>:<n> the process
 * kills itself (SIGKILL, as a power cut would stop it) the n-th time it
 * reaches the point of that name — between two steps that a kill from
 * outside, timed, cannot aim at. Unset, a failpoint costs one comparison.
 */
const [armed, at] = (process.env.KINTSUGI_FAILPOINT ?? '').split(':');
let reached = 0;

export function failpoint(name: string): void {
  if (name !== armed) return;
  if (++reached === Number(at)) process.kill(process.pid, 'SIGKILL');
}
