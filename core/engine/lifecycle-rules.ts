/** A tag as buckets and objects keep them: key, value. */
export type TagPair = readonly [string, string];

/** Which objects a rule applies to: all of these must hold (none: every object). */
export interface LifecycleFilter {
  readonly prefix?: string;
  readonly tags?: readonly TagPair[];
  readonly sizeGreaterThan?: number;
  readonly sizeLessThan?: number;
}

/** One lifecycle rule, as validated from AWS's XML (plugins/transport-h3/lifecycle-xml.ts). */
export interface LifecycleRule {
  readonly id: string;
  readonly enabled: boolean;
  readonly filter: LifecycleFilter;
  /** the filter came as the legacy top-level `Prefix` (rendered back that way) */
  readonly legacyPrefix?: boolean;
  /** current versions: after `days` lifecycle days, or at `dateMs`; or delete markers left with no versions behind them */
  readonly expiration?: { readonly days?: number; readonly dateMs?: number; readonly expiredObjectDeleteMarker?: boolean };
  /** noncurrent versions, `days` after they became noncurrent, keeping the `newer` newest of them */
  readonly noncurrentExpiration?: { readonly days: number; readonly newer?: number };
  /** uploads still incomplete `days` after they were initiated */
  readonly abortIncompleteDays?: number;
}

/** What a rule looks at: the key, and (when it has them) the version's size and tags. */
export interface LifecycleSubject {
  readonly key: string;
  readonly size?: number;
  readonly tags?: readonly TagPair[];
}

export function ruleMatches(rule: LifecycleRule, subject: LifecycleSubject): boolean {
  const f = rule.filter;
  if (!rule.enabled) return false;
  if (f.prefix !== undefined && !subject.key.startsWith(f.prefix)) return false;
  if (f.sizeGreaterThan !== undefined && !(subject.size !== undefined && subject.size > f.sizeGreaterThan)) return false;
  if (f.sizeLessThan !== undefined && !(subject.size !== undefined && subject.size < f.sizeLessThan)) return false;
  if (f.tags?.length && !f.tags.every(([k, v]) => subject.tags?.some(([tk, tv]) => tk === k && tv === v))) return false;
  return true;
}

/** Whether a rule's filter needs the version's tags (read from its record). */
export const needsTags = (rule: LifecycleRule) => (rule.filter.tags?.length ?? 0) > 0;

/**
 * When `days` lifecycle days after `fromMs` have passed: as S3, at the start
 * of the next lifecycle day (midnight UTC for days of 86400 s).
 */
export function afterDays(fromMs: number, days: number, dayMs: number): number {
  return Math.ceil((fromMs + days * dayMs) / dayMs) * dayMs;
}

/**
 * The earliest expiration of a current version by the rules (its
 * `x-amz-expiration`), or undefined when no rule expires it.
 */
export function expiryOf(rules: readonly LifecycleRule[] | undefined, subject: LifecycleSubject & { createdMs: number }, dayMs: number): { atMs: number; ruleId: string } | undefined {
  let best: { atMs: number; ruleId: string } | undefined;
  for (const rule of rules ?? []) {
    const exp = rule.expiration;
    if (!exp || (exp.days === undefined && exp.dateMs === undefined) || !ruleMatches(rule, subject)) continue;
    const atMs = exp.days !== undefined ? afterDays(subject.createdMs, exp.days, dayMs) : exp.dateMs!;
    if (!best || atMs < best.atMs) best = { atMs, ruleId: rule.id };
  }
  return best;
}
