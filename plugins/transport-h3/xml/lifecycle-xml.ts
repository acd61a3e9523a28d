import type { LifecycleFilter, LifecycleRule } from '../../../core/engine/lifecycle-rules.js';
import { parseRequestXml, type XmlElement } from './xml-reader.js';
import { S3Error } from '../s3-error.js';
import { checkTags, tagsOf } from './tagging.js';
import { isoDate, xmlDocument, type XmlNode } from './xml-writer.js';

const MAX_RULES = 1000;
const MAX_ID = 255;
const MAX_RULE_TAGS = 50;

const malformed = (why?: string) => new S3Error('MalformedXML', why);
const invalid = (why: string) => new S3Error('InvalidArgument', why);

/** A positive whole number of days, or InvalidArgument as AWS words it. */
function positive(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw malformed(`${what} must be a whole number`);
  const n = Number(value);
  if (n < 1) throw invalid(`'${what}' for ${what === 'DaysAfterInitiation' ? 'AbortIncompleteMultipartUpload' : 'Expiration'} action must be a positive integer`);
  return n;
}

function size(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw malformed(`${what} must be a whole number`);
  return Number(value);
}

const FILTER_ELEMENTS = ['Prefix', 'Tag', 'And', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan'];

function parseFilter(raw: XmlElement): LifecycleFilter {
  raw.only(FILTER_ELEMENTS);
  if (raw.children.length > 1) throw malformed('Filter must have exactly one of Prefix, Tag, And, ObjectSizeGreaterThan, ObjectSizeLessThan');
  const and = raw.one('And')?.only(['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan']);
  const source = and ?? raw;
  const tags = checkTags(tagsOf(source.all('Tag')), MAX_RULE_TAGS);
  const prefix = source.textOf('Prefix');
  const greater = size(source.textOf('ObjectSizeGreaterThan'), 'ObjectSizeGreaterThan');
  const less = size(source.textOf('ObjectSizeLessThan'), 'ObjectSizeLessThan');
  const filter: LifecycleFilter = {
    ...(prefix !== undefined ? { prefix } : {}),
    ...(tags.length ? { tags } : {}),
    ...(greater !== undefined ? { sizeGreaterThan: greater } : {}),
    ...(less !== undefined ? { sizeLessThan: less } : {}),
  };
  if (filter.sizeLessThan !== undefined && filter.sizeLessThan < 1) throw invalid("'ObjectSizeLessThan' must be a positive integer");
  if (filter.sizeGreaterThan !== undefined && filter.sizeLessThan !== undefined && filter.sizeGreaterThan >= filter.sizeLessThan) {
    throw invalid("'ObjectSizeGreaterThan' must be less than 'ObjectSizeLessThan'");
  }
  return filter;
}

const RULE_ELEMENTS = ['ID', 'Status', 'Filter', 'Prefix', 'Expiration', 'NoncurrentVersionExpiration', 'AbortIncompleteMultipartUpload', 'Transition', 'NoncurrentVersionTransition'];

function parseRule(raw: XmlElement, index: number): LifecycleRule {
  raw.only(RULE_ELEMENTS);
  if (raw.one('Transition') || raw.one('NoncurrentVersionTransition')) throw new S3Error('NotImplemented', 'Kintsugi has one storage class: transitions are not implemented');

  const id = raw.textOf('ID') ?? `rule-${index + 1}`;
  if (id.length > MAX_ID) throw invalid('ID length should not exceed allowed limit of 255');
  const status = raw.textOf('Status');
  if (status !== 'Enabled' && status !== 'Disabled') throw malformed('Status must be Enabled or Disabled');
  const legacy = raw.textOf('Prefix');
  const filterEl = raw.one('Filter');
  if (legacy !== undefined && filterEl) throw malformed('a rule has either Filter or Prefix, not both');
  if (legacy === undefined && !filterEl) throw malformed('a rule needs a Filter (or Prefix)');
  const filter = filterEl ? parseFilter(filterEl) : legacy ? { prefix: legacy } : {};

  const exp = raw.one('Expiration')?.only(['Days', 'Date', 'ExpiredObjectDeleteMarker']);
  let expiration: LifecycleRule['expiration'];
  if (exp) {
    const days = positive(exp.textOf('Days'), 'Days');
    const date = exp.textOf('Date');
    const marker = exp.textOf('ExpiredObjectDeleteMarker');
    if ([days, date, marker].filter((x) => x !== undefined).length !== 1) throw malformed('Expiration takes exactly one of Days, Date, ExpiredObjectDeleteMarker');
    let dateMs: number | undefined;
    if (date !== undefined) {
      dateMs = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?$/.test(date) ? Date.parse(date) : NaN;
      if (!Number.isFinite(dateMs)) throw malformed('Date is not an ISO 8601 date');
      if (dateMs % 86_400_000 !== 0) throw invalid("'Date' must be at midnight GMT");
    }
    if (marker !== undefined && marker !== 'true' && marker !== 'false') throw malformed('ExpiredObjectDeleteMarker must be true or false');
    if (marker === 'true' && filter.tags?.length) throw invalid('ExpiredObjectDeleteMarker cannot be specified with object tagging');
    expiration = { ...(days !== undefined ? { days } : {}), ...(dateMs !== undefined ? { dateMs } : {}), ...(marker !== undefined ? { expiredObjectDeleteMarker: marker === 'true' } : {}) };
  }
  const nve = raw.one('NoncurrentVersionExpiration')?.only(['NoncurrentDays', 'NewerNoncurrentVersions']);
  let noncurrentExpiration: LifecycleRule['noncurrentExpiration'];
  if (nve) {
    const days = positive(nve.textOf('NoncurrentDays'), 'NoncurrentDays');
    if (days === undefined) throw malformed('NoncurrentVersionExpiration needs NoncurrentDays');
    const newer = size(nve.textOf('NewerNoncurrentVersions'), 'NewerNoncurrentVersions');
    if (newer !== undefined && (newer < 1 || newer > 100)) throw invalid("'NewerNoncurrentVersions' must be between 1 and 100");
    noncurrentExpiration = { days, ...(newer !== undefined ? { newer } : {}) };
  }
  const abort = raw.one('AbortIncompleteMultipartUpload')?.only(['DaysAfterInitiation']);
  let abortIncompleteDays: number | undefined;
  if (abort) {
    abortIncompleteDays = positive(abort.textOf('DaysAfterInitiation'), 'DaysAfterInitiation');
    if (abortIncompleteDays === undefined) throw malformed('AbortIncompleteMultipartUpload needs DaysAfterInitiation');
    if (filter.tags?.length) throw invalid('AbortIncompleteMultipartUpload cannot be specified with Tags');
  }
  if (!expiration && !noncurrentExpiration && abortIncompleteDays === undefined) throw invalid('At least one action needs to be specified in a rule');
  return {
    id, enabled: status === 'Enabled', filter, ...(legacy !== undefined ? { legacyPrefix: true } : {}),
    ...(expiration ? { expiration } : {}), ...(noncurrentExpiration ? { noncurrentExpiration } : {}),
    ...(abortIncompleteDays !== undefined ? { abortIncompleteDays } : {}),
  };
}

/** The rules of a `<LifecycleConfiguration>` document, validated as AWS validates them. */
export function parseLifecycle(bytes: Buffer): LifecycleRule[] {
  const conf = parseRequestXml(bytes, 'LifecycleConfiguration').only(['Rule']);
  const rules = conf.all('Rule').map(parseRule);
  if (rules.length === 0 || rules.length > MAX_RULES) throw malformed(`a configuration has 1 to ${MAX_RULES} rules`);
  const ids = new Set<string>();
  for (const r of rules) {
    if (ids.has(r.id)) throw invalid('Rule ID must be unique. Found same ID for more than one rule');
    ids.add(r.id);
  }
  return rules;
}

function filterXml(f: LifecycleFilter): XmlNode[] {
  const tags = (f.tags ?? []).map(([k, v]): XmlNode => ['Tag', [['Key', k], ['Value', v]]]);
  const parts: XmlNode[] = [
    ...(f.prefix !== undefined ? [['Prefix', f.prefix] as XmlNode] : []), ...tags,
    ...(f.sizeGreaterThan !== undefined ? [['ObjectSizeGreaterThan', f.sizeGreaterThan] as XmlNode] : []),
    ...(f.sizeLessThan !== undefined ? [['ObjectSizeLessThan', f.sizeLessThan] as XmlNode] : []),
  ];
  return parts.length > 1 ? [['And', parts]] : parts;
}

/** The configuration as GetBucketLifecycleConfiguration answers it. */
export function lifecycleXml(rules: readonly LifecycleRule[]): string {
  return xmlDocument('LifecycleConfiguration', rules.map((r): XmlNode => ['Rule', [
    ['ID', r.id],
    r.legacyPrefix ? ['Prefix', r.filter.prefix ?? ''] : ['Filter', filterXml(r.filter)],
    ['Status', r.enabled ? 'Enabled' : 'Disabled'],
    ...(r.expiration ? [['Expiration', [
      ...(r.expiration.days !== undefined ? [['Days', r.expiration.days] as XmlNode] : []),
      ...(r.expiration.dateMs !== undefined ? [['Date', isoDate(r.expiration.dateMs)] as XmlNode] : []),
      ...(r.expiration.expiredObjectDeleteMarker !== undefined ? [['ExpiredObjectDeleteMarker', r.expiration.expiredObjectDeleteMarker] as XmlNode] : []),
    ]] as XmlNode] : []),
    ...(r.noncurrentExpiration ? [['NoncurrentVersionExpiration', [
      ['NoncurrentDays', r.noncurrentExpiration.days],
      ...(r.noncurrentExpiration.newer !== undefined ? [['NewerNoncurrentVersions', r.noncurrentExpiration.newer] as XmlNode] : []),
    ]] as XmlNode] : []),
    ...(r.abortIncompleteDays !== undefined ? [['AbortIncompleteMultipartUpload', [['DaysAfterInitiation', r.abortIncompleteDays]]] as XmlNode] : []),
  ]]));
}
