import { createHash, createHmac } from 'node:crypto';

/**
 * A minimal SigV4 query presigner for the benchmark client. The SDK's
 * presigner runs its whole middleware stack per URL (~9 ms of client CPU
 * here), which on a 2-core machine starved the servers being measured.
 */
export function presignUrl(endpoint: string, method: string, bucket: string, key: string, accessKey: string, secret: string, extraQuery: [string, string][] = [], expires = 3600): string {
  const now = new Date();
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const scope = `${date}/us-east-1/s3/aws4_request`;
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const path = `/${bucket}/${key.split('/').map(enc).join('/')}`;
  const host = new URL(endpoint).host;
  const query: [string, string][] = [
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'], ['X-Amz-Credential', `${accessKey}/${scope}`], ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(expires)], ['X-Amz-SignedHeaders', 'host'], ...extraQuery,
  ];
  const canonicalQuery = query.map(([k, v]) => `${enc(k)}=${enc(v)}`).sort().join('&');
  const canonical = [method, path, canonicalQuery, `host:${host}\n`, 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  const kSigning = ['us-east-1', 's3', 'aws4_request'].reduce((k, p) => createHmac('sha256', k).update(p).digest(), kDate);
  const signature = createHmac('sha256', kSigning).update(toSign).digest('hex');
  return `${endpoint}${path}?${canonicalQuery}&X-Amz-Signature=${signature}`;
}
