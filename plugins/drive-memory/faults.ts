import { nodeFault } from '../../core/errors.js';

/** The calls a fault can aim at: the Drive's methods, its shelf's (`shelf.put`…), and a writer's. */
export type DriveCall =
  | 'createWriter' | 'writer.write' | 'writer.commit' | 'writeFile' | 'createFile' | 'readFile' | 'open' | 'file.read'
  | 'stat' | 'list' | 'rename' | 'remove' | 'probe'
  | 'shelf.put' | 'shelf.get' | 'shelf.list' | 'shelf.remove' | 'shelf.scan' | 'shelf.rows';

/**
 * A fault to inject (MinIO's naughty disk is the model): which calls it
 * meets, and what it does to them.
 * - `fail`: the call throws a node fault (`code`, default EIO);
 * - `hang`: the call never settles (a disk that stopped answering);
 * - `corrupt`: the call goes through, but a read returns, or a write stores,
 *   its bytes with one flipped;
 * - `slow`: the call goes through after `ms` (a disk that answers late).
 */
export interface FaultRule {
  /** the call(s) it meets; every call when absent */
  readonly calls?: readonly DriveCall[];
  /** only calls whose path (or item name) matches */
  readonly path?: RegExp;
  /** only the nth matching call (1-based); every matching call when absent */
  readonly nth?: number;
  readonly action: 'fail' | 'hang' | 'corrupt' | 'slow';
  readonly code?: string;
  /** how late a `slow` call answers */
  readonly ms?: number;
}

/** What a call met: nothing, or the fault to act out. */
export type Verdict = undefined | { action: 'fail'; error: Error } | { action: 'hang' } | { action: 'corrupt' } | { action: 'slow'; ms: number };

/** The rules in force on one drive, with each rule's count of the calls it matched. */
export class Faults {
  private readonly rules: { rule: FaultRule; seen: number }[] = [];

  add(rule: FaultRule): void {
    this.rules.push({ rule, seen: 0 });
  }

  clear(): void {
    this.rules.length = 0;
  }

  /** The first rule that fires for this call, counting it against every rule it matches. */
  check(call: DriveCall, path: string | undefined): Verdict {
    let fired: FaultRule | undefined;
    for (const entry of this.rules) {
      const { rule } = entry;
      if (rule.calls && !rule.calls.includes(call)) continue;
      if (rule.path && (path === undefined || !rule.path.test(path))) continue;
      entry.seen++;
      if (!fired && (rule.nth === undefined || rule.nth === entry.seen)) fired = rule;
    }
    if (!fired) return undefined;
    if (fired.action === 'fail') return { action: 'fail', error: nodeFault(fired.code ?? 'EIO', `injected fault: ${call}${path !== undefined ? ` ${path}` : ''}`) };
    if (fired.action === 'slow') return { action: 'slow', ms: fired.ms ?? 50 };
    return { action: fired.action };
  }
}

/** A copy of `bytes` with one byte flipped (the middle one): what a rotten sector returns. */
export function flipped(bytes: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(bytes);
  if (copy.length) copy[copy.length >> 1]! ^= 0xff;
  return copy;
}
