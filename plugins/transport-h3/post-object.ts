import { createHmac } from 'node:crypto';
import { Readable } from 'node:stream';

import busboy from 'busboy';

import { header, xmlResponse, type Credentials, type S3Request, type S3Response, type Services } from './context.js';
import { confirmBucket } from './handlers/objects.js';
import { S3Error } from './s3-error.js';
import { signaturesEqual, signingKey, UNSIGNED } from './sigv4.js';
import { versionedWrites, writtenVersionHeader } from './versions.js';
import { xmlDocument } from './xml.js';

/** Form fields the policy need not name (AWS's rule). */
const UNCHECKED = new Set(['x-amz-signature', 'file', 'policy']);
const MAX_FIELD_BYTES = 64 << 10;

type Condition = { op: 'eq' | 'starts-with'; field: string; value: string } | { op: 'content-length-range'; min: number; max: number };

const denied = (why: string) => new S3Error('AccessDenied', `Invalid according to Policy: ${why}`);

/** The policy's expiration and conditions; MalformedPOSTRequest for a policy that is not one. */
function parsePostPolicy(base64: string): { expirationMs: number; conditions: Condition[] } {
  let doc: { expiration?: unknown; conditions?: unknown };
  try {
    doc = JSON.parse(Buffer.from(base64, 'base64').toString('utf8')) as typeof doc;
  } catch {
    throw new S3Error('MalformedPOSTRequest', 'the policy is not base64-encoded JSON');
  }
  const expirationMs = typeof doc.expiration === 'string' ? Date.parse(doc.expiration) : NaN;
  if (!Number.isFinite(expirationMs)) throw new S3Error('MalformedPOSTRequest', 'the policy needs an expiration date');
  if (!Array.isArray(doc.conditions)) throw new S3Error('MalformedPOSTRequest', 'the policy needs a list of conditions');
  const conditions = doc.conditions.map((c): Condition => {
    if (Array.isArray(c)) {
      const [op, a, b] = c as unknown[];
      if (op === 'content-length-range' && typeof a === 'number' && typeof b === 'number') return { op, min: a, max: b };
      if ((op === 'eq' || op === 'starts-with') && typeof a === 'string' && a.startsWith('$') && typeof b === 'string') return { op, field: a.slice(1).toLowerCase(), value: b };
    } else if (typeof c === 'object' && c !== null && Object.keys(c).length === 1) {
      const [[field, value]] = Object.entries(c as Record<string, unknown>);
      if (typeof value === 'string') return { op: 'eq', field: field!.toLowerCase(), value };
    }
    throw new S3Error('MalformedPOSTRequest', `a policy condition Kintsugi does not know: ${JSON.stringify(c).slice(0, 200)}`);
  });
  return { expirationMs, conditions };
}

/** Checks the form's SigV4 signature over the policy; throws what S3 answers. */
function verifyPostSignature(fields: Map<string, string>, credentials: Credentials): void {
  if (fields.get('x-amz-algorithm') !== 'AWS4-HMAC-SHA256') {
    throw new S3Error('InvalidArgument', 'POST uploads need x-amz-algorithm AWS4-HMAC-SHA256 (Signature Version 2 forms are not supported)');
  }
  const [accessKey, date, region, service, terminator] = (fields.get('x-amz-credential') ?? '').split('/');
  if (!accessKey || !date || !region || service !== 's3' || terminator !== 'aws4_request') throw new S3Error('InvalidArgument', 'x-amz-credential is malformed');
  const secret = credentials.secretFor(accessKey);
  if (!secret) throw new S3Error('InvalidAccessKeyId');
  const expected = createHmac('sha256', signingKey(secret, date, region, 's3')).update(fields.get('policy') ?? '').digest('hex');
  if (!signaturesEqual(expected, fields.get('x-amz-signature') ?? '')) throw new S3Error('SignatureDoesNotMatch');
}

/** Every condition holds for the form's fields (content-length-range is checked as the file streams). */
function checkConditions(conditions: readonly Condition[], fields: Map<string, string>): void {
  const covered = new Set<string>();
  for (const c of conditions) {
    if (c.op === 'content-length-range') continue;
    covered.add(c.field);
    const value = fields.get(c.field) ?? '';
    if (c.op === 'eq' ? value !== c.value : !value.startsWith(c.value)) throw denied(`Policy Condition failed: ["${c.op}", "$${c.field}", "${c.value}"]`);
  }
  for (const name of fields.keys()) {
    if (UNCHECKED.has(name) || name.startsWith('x-ignore-') || covered.has(name)) continue;
    throw denied(`Extra input fields: ${name}`);
  }
}

/**
 * POST Object: a browser's form upload (multipart/form-data) signed with a
 * SigV4 POST policy instead of headers. The fields before the file are
 * read, the signature over the policy is checked, then the policy: not
 * expired, every condition met (`eq`, `starts-with`, `content-length-range`),
 * every field named by one. The file streams into the store
 * (`${filename}` in the key becomes its name); a violation is AccessDenied
 * (EntityTooLarge/EntityTooSmall for its size) and stores nothing.
 */
export async function postObject(req: S3Request, bucket: string, services: Services, credentials: Credentials): Promise<S3Response> {
  if (!/^multipart\/form-data/i.test(header(req, 'content-type') ?? '')) throw new S3Error('PreconditionFailed', 'POST uploads need Content-Type multipart/form-data');
  const info = await services.buckets.get(bucket);
  const fields = new Map<string, string>([['bucket', bucket]]);
  let form: busboy.Busboy;
  try {
    form = busboy({ headers: req.headers as Record<string, string>, limits: { files: 1, fields: 200, fieldSize: MAX_FIELD_BYTES } });
  } catch {
    throw new S3Error('MalformedPOSTRequest');
  }
  const file = await new Promise<{ stream: Readable; filename: string; mimeType: string }>((resolve, reject) => {
    form.on('field', (name, value) => { if (!fields.has('\0file')) fields.set(name.toLowerCase(), value); });
    form.on('file', (name, stream, meta) => {
      if (name.toLowerCase() !== 'file') { stream.resume(); return; }
      fields.set('\0file', '');
      resolve({ stream, filename: meta.filename ?? '', mimeType: meta.mimeType });
    });
    form.on('error', () => reject(new S3Error('MalformedPOSTRequest')));
    form.on('close', () => reject(new S3Error('InvalidArgument', 'POST requires exactly one file upload per request.')));
    Readable.from(req.body as AsyncIterable<Uint8Array>).pipe(form);
  });
  fields.delete('\0file');
  verifyPostSignature(fields, credentials);
  const policy = parsePostPolicy(fields.get('policy') ?? '');
  if (Date.now() > policy.expirationMs) throw denied('Policy expired.');
  checkConditions(policy.conditions, fields);
  const key = (fields.get('key') ?? '').replace('${filename}', file.filename);
  if (!key) throw new S3Error('InvalidArgument', 'POST requires a key field');
  const range = policy.conditions.find((c): c is Extract<Condition, { op: 'content-length-range' }> => c.op === 'content-length-range');
  async function* sized(): AsyncGenerator<Uint8Array> {
    let size = 0;
    for await (const chunk of file.stream as AsyncIterable<Buffer>) {
      size += chunk.byteLength;
      if (range && size > range.max) throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
      yield chunk;
    }
    if (range && size < range.min) throw new S3Error('EntityTooSmall');
  }
  const userMetadata = Object.fromEntries([...fields].filter(([k]) => k.startsWith('x-amz-meta-')).map(([k, v]) => [k.slice('x-amz-meta-'.length), v]));
  const record = await services.engine.put(bucket, key, sized(), {
    contentType: fields.get('content-type') ?? file.mimeType ?? 'binary/octet-stream',
    userMetadata,
    versioned: versionedWrites(info),
  });
  await confirmBucket({ req, auth: { accessKey: '', payloadHash: UNSIGNED }, operation: 'PostObject', bucket, key, services }, record.versionId);
  const etag = `"${record.etag}"`;
  const headers = { etag, location: `/${bucket}/${encodeURIComponent(key)}`, ...writtenVersionHeader(record.versionId) };
  const redirect = fields.get('success_action_redirect');
  if (redirect) {
    const to = new URL(redirect);
    to.searchParams.set('bucket', bucket);
    to.searchParams.set('key', key);
    to.searchParams.set('etag', etag);
    return { status: 303, headers: { ...headers, location: to.toString() } };
  }
  const status = fields.get('success_action_status');
  if (status === '201') return { ...xmlResponse(201, xmlDocument('PostResponse', [['Location', headers.location], ['Bucket', bucket], ['Key', key], ['ETag', etag]])), headers: { ...headers, 'content-type': 'application/xml' } };
  return { status: status === '200' ? 200 : 204, headers };
}
