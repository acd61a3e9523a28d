import type { DefaultRetention, ObjectLockConfig, Retention } from '../../../core/engine/object-lock.js';
import { header, xmlResponse, type Call, type S3Response } from '../context.js';
import { requestBody } from '../body/request-body.js';
import { assertLockBucket, bypassGovernance, parseLegalHold, parseRetainUntil, parseRetentionMode, retainUntilText } from '../object-lock-headers.js';
import { S3Error } from '../s3-error.js';
import { addressedVersion, versionHeader } from '../versions.js';
import { parseRequestXml, readSmallBody, type XmlElement } from '../xml/xml-reader.js';
import { xmlDocument, type XmlNode } from '../xml/xml-writer.js';
import { addressedRecord } from './objects.js';

/** A whole number of days or years in a default retention: at least 1 (AWS allows up to 100 years). */
function period(text: string | undefined, name: string, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = /^[0-9]{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= max)) throw new S3Error('InvalidArgument', `Default retention period ${name} must be a positive integer no greater than ${max}`);
  return n;
}

function parseDefaultRetention(rule: XmlElement | undefined): DefaultRetention | undefined {
  if (!rule) return undefined;
  const retention = rule.only(['DefaultRetention']).one('DefaultRetention');
  if (!retention) throw new S3Error('MalformedXML', 'Rule without DefaultRetention');
  retention.only(['Mode', 'Days', 'Years']);
  const mode = retention.textOf('Mode');
  if (mode === undefined) throw new S3Error('MalformedXML', 'DefaultRetention without Mode');
  const days = period(retention.textOf('Days'), 'Days', 36_500);
  const years = period(retention.textOf('Years'), 'Years', 100);
  if ((days === undefined) === (years === undefined)) throw new S3Error('MalformedXML', 'DefaultRetention takes Days or Years, one of them');
  return { mode: parseRetentionMode(mode, 'xml'), ...(days !== undefined ? { days } : { years: years! }) };
}

/** PutObjectLockConfiguration: enables Object Lock on a versioned bucket (for good), with or without a default retention. */
export async function putObjectLockConfiguration(call: Call): Promise<S3Response> {
  await call.services.buckets.get(call.bucket);
  // The token belongs to replication, which Kintsugi does not have.
  if (header(call.req, 'x-amz-bucket-object-lock-token') !== undefined) throw new S3Error('NotImplemented', 'x-amz-bucket-object-lock-token is not implemented');
  const conf = parseRequestXml(await readSmallBody(requestBody(call).body), 'ObjectLockConfiguration').only(['ObjectLockEnabled', 'Rule']);
  if (conf.textOf('ObjectLockEnabled') !== 'Enabled') throw new S3Error('MalformedXML', 'ObjectLockEnabled must be Enabled');
  const defaultRetention = parseDefaultRetention(conf.one('Rule'));
  const config: ObjectLockConfig = defaultRetention ? { defaultRetention } : {};
  await call.services.buckets.setObjectLock(call.bucket, config);
  return { status: 200, headers: {} };
}

export async function getObjectLockConfiguration(call: Call): Promise<S3Response> {
  const { objectLock } = await call.services.buckets.get(call.bucket);
  if (!objectLock) throw new S3Error('ObjectLockConfigurationNotFoundError');
  const rule = objectLock.defaultRetention;
  return xmlResponse(200, xmlDocument('ObjectLockConfiguration', [
    ['ObjectLockEnabled', 'Enabled'],
    ...(rule ? [['Rule', [['DefaultRetention', [['Mode', rule.mode], rule.days !== undefined ? ['Days', rule.days] : ['Years', rule.years!]]]]] as XmlNode] : []),
  ]));
}

/**
 * PutObjectRetention: sets, lengthens, shortens or (an empty Retention)
 * removes a version's retention, as far as the one it has allows.
 */
export async function putObjectRetention(call: Call): Promise<S3Response> {
  const version = addressedVersion(call);
  const bucket = await call.services.buckets.get(call.bucket);
  assertLockBucket(bucket);
  const doc = parseRequestXml(await readSmallBody(requestBody(call).body), 'Retention').only(['Mode', 'RetainUntilDate']);
  const mode = doc.textOf('Mode');
  const until = doc.textOf('RetainUntilDate');
  if ((mode === undefined) !== (until === undefined)) throw new S3Error('MalformedXML', 'Retention takes Mode and RetainUntilDate together (neither removes it)');
  const retention: Retention | undefined = mode !== undefined ? { mode: parseRetentionMode(mode, 'xml'), untilMs: parseRetainUntil(until!, Date.now()) } : undefined;
  const record = await call.services.engine.setRetention(call.bucket, call.key, version, retention, bypassGovernance(call.req));
  return { status: 200, headers: versionHeader(bucket, record.versionId) };
}

export async function getObjectRetention(call: Call): Promise<S3Response> {
  const { bucket, record } = await addressedRecord(call);
  assertLockBucket(bucket);
  if (!record.retention) throw new S3Error('NoSuchObjectLockConfiguration');
  const response = xmlResponse(200, xmlDocument('Retention', [['Mode', record.retention.mode], ['RetainUntilDate', retainUntilText(record.retention.untilMs)]]));
  Object.assign(response.headers, versionHeader(bucket, record.versionId));
  return response;
}

export async function putObjectLegalHold(call: Call): Promise<S3Response> {
  const version = addressedVersion(call);
  const bucket = await call.services.buckets.get(call.bucket);
  assertLockBucket(bucket);
  const status = parseRequestXml(await readSmallBody(requestBody(call).body), 'LegalHold').only(['Status']).textOf('Status');
  if (status === undefined) throw new S3Error('MalformedXML', 'LegalHold without Status');
  const record = await call.services.engine.setLegalHold(call.bucket, call.key, version, parseLegalHold(status, 'xml'));
  return { status: 200, headers: versionHeader(bucket, record.versionId) };
}

/** GetObjectLegalHold: ON or OFF (a version whose hold was never set is OFF). */
export async function getObjectLegalHold(call: Call): Promise<S3Response> {
  const { bucket, record } = await addressedRecord(call);
  assertLockBucket(bucket);
  const response = xmlResponse(200, xmlDocument('LegalHold', [['Status', record.legalHold ? 'ON' : 'OFF']]));
  Object.assign(response.headers, versionHeader(bucket, record.versionId));
  return response;
}
