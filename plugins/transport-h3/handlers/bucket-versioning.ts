import { xmlResponse, type Call, type S3Response } from '../context.js';
import { requestBody } from '../body/request-body.js';
import { parseRequestXml, readSmallBody } from '../xml/xml-reader.js';
import { S3Error } from '../s3-error.js';
import { xmlDocument } from '../xml/xml-writer.js';

/** PutBucketVersioning: Enabled or Suspended; MFA Delete is not something Kintsugi can check. */
export async function putBucketVersioning(call: Call): Promise<S3Response> {
  await call.services.buckets.get(call.bucket);
  const conf = parseRequestXml(await readSmallBody(requestBody(call).body), 'VersioningConfiguration').only(['Status', 'MfaDelete']);
  const mfa = conf.textOf('MfaDelete');
  if (mfa === 'Enabled' || call.req.headers['x-amz-mfa'] !== undefined) throw new S3Error('NotImplemented', 'MFA Delete is not implemented');
  if (mfa !== undefined && mfa !== 'Disabled') throw new S3Error('MalformedXML');
  const status = conf.textOf('Status');
  if (status !== 'Enabled' && status !== 'Suspended') throw new S3Error('MalformedXML');
  await call.services.buckets.setVersioning(call.bucket, status);
  return { status: 200, headers: {} };
}

/** GetBucketVersioning: no Status until versioning was first set. */
export async function getBucketVersioning(call: Call): Promise<S3Response> {
  const { versioning } = await call.services.buckets.get(call.bucket);
  return xmlResponse(200, xmlDocument('VersioningConfiguration', versioning ? [['Status', versioning]] : []));
}
