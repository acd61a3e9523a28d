import { createHmac } from 'node:crypto';

import { ACCESS_KEY, SECRET_KEY } from './server.js';

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** A SigV4 POST policy and its form fields, signed as a web application's back end would sign them. */
export function signedForm(policy: object, secret = SECRET_KEY): Record<string, string> {
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const credential = `${ACCESS_KEY}/${date}/us-east-1/s3/aws4_request`;
  const withAuth = { ...policy, conditions: [...(policy as { conditions: unknown[] }).conditions, { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, { 'x-amz-credential': credential }, { 'x-amz-date': amzDate }] };
  const b64 = Buffer.from(JSON.stringify(withAuth)).toString('base64');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), 'us-east-1'), 's3'), 'aws4_request');
  return { policy: b64, 'x-amz-algorithm': 'AWS4-HMAC-SHA256', 'x-amz-credential': credential, 'x-amz-date': amzDate, 'x-amz-signature': hmac(key, b64).toString('hex') };
}
