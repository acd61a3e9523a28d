import { RETENTION_MODES, type ObjectRecord, type Retention, type RetentionMode } from '../contracts/metadata.js';
import { ObjectLockedError } from '../errors.js';

export { RETENTION_MODES, type Retention, type RetentionMode };

/**
 * S3 Object Lock (WORM): a version kept from deletion until a date
 * (retention) or until a hold is lifted (legal hold). Every judgment here
 * uses the gateway's clock, as last-writer-wins does: gateways' clocks must
 * be in sync (a gateway whose clock runs ahead lets a retention end early).
 */

/** A bucket's default retention for new versions that set none: Days or Years from their creation. */
export interface DefaultRetention {
  readonly mode: RetentionMode;
  readonly days?: number;
  readonly years?: number;
}

/** A bucket's Object Lock configuration: enabled for good once set, with an optional default. */
export interface ObjectLockConfig {
  readonly defaultRetention?: DefaultRetention;
}

/** What a write asks to lock its new version with. */
export interface ObjectLock {
  readonly retention?: Retention;
  readonly legalHold?: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The retention a version created at `createdMs` gets from a bucket's default. */
export function defaultRetentionFrom(rule: DefaultRetention, createdMs: number): Retention {
  if (rule.years !== undefined) {
    const until = new Date(createdMs);
    until.setUTCFullYear(until.getUTCFullYear() + rule.years);
    return { mode: rule.mode, untilMs: until.getTime() };
  }
  return { mode: rule.mode, untilMs: createdMs + (rule.days ?? 0) * DAY_MS };
}

/** Whether the version's retention still runs at `nowMs`. */
export function retained(record: Pick<ObjectRecord, 'retention'>, nowMs: number): boolean {
  return record.retention !== undefined && record.retention.untilMs > nowMs;
}

/** Whether anything keeps the version at `nowMs`: a legal hold, or a retention still running (of either mode). */
export function locked(record: Pick<ObjectRecord, 'retention' | 'legalHold'>, nowMs: number): boolean {
  return record.legalHold === true || retained(record, nowMs);
}

/**
 * Throws ObjectLockedError when the version may not be deleted for good:
 * under a legal hold, in COMPLIANCE retention, or in GOVERNANCE retention
 * without the bypass.
 */
export function assertDeletable(record: ObjectRecord, nowMs: number, bypassGovernance: boolean): void {
  if (record.legalHold) throw new ObjectLockedError(record.key, 'it is under a legal hold');
  if (!retained(record, nowMs)) return;
  if (record.retention!.mode === 'COMPLIANCE') throw new ObjectLockedError(record.key, `it is in COMPLIANCE retention until ${new Date(record.retention!.untilMs).toISOString()}`);
  if (!bypassGovernance) throw new ObjectLockedError(record.key, `it is in GOVERNANCE retention until ${new Date(record.retention!.untilMs).toISOString()}`);
}

/**
 * Throws ObjectLockedError unless a running retention may become `next`
 * (undefined: removed). Lengthening, or GOVERNANCE turning COMPLIANCE, is
 * always allowed; COMPLIANCE is never shortened, relaxed or removed;
 * GOVERNANCE only with the bypass. An ended retention may be set anew.
 */
export function assertRetentionChange(record: ObjectRecord, next: Retention | undefined, nowMs: number, bypassGovernance: boolean): void {
  if (!retained(record, nowMs)) return;
  const current = record.retention!;
  const kept = next !== undefined && next.untilMs >= current.untilMs && (next.mode === 'COMPLIANCE' || current.mode === 'GOVERNANCE');
  if (kept) return;
  if (current.mode === 'COMPLIANCE') throw new ObjectLockedError(record.key, 'its COMPLIANCE retention can only be extended');
  if (!bypassGovernance) throw new ObjectLockedError(record.key, 'its GOVERNANCE retention can only be shortened or removed with x-amz-bypass-governance-retention');
}

/** The record fields a lock sets (none when it sets nothing). */
export function lockFields(lock: ObjectLock | undefined): Pick<ObjectRecord, 'retention' | 'legalHold'> {
  return {
    ...(lock?.retention ? { retention: lock.retention } : {}),
    ...(lock?.legalHold ? { legalHold: true } : {}),
  };
}
