import { Readable } from 'node:stream';

import busboy from 'busboy';

import { checksumHeaderAlgorithm, verifyBody, type ChecksumAlgorithm } from '../body/checksums.js';
import { header, xmlResponse, type Credentials, type S3Request, type S3Response, type Services } from '../context.js';
import { writeLock } from '../object-lock-headers.js';
import { admitWrite, committing, declaredSize } from '../quota.js';
import { confirmBucket } from './objects.js';
import { inSosapi, sosapiReadOnly } from './sosapi.js';
import { objectAttributes } from '../object-headers.js';
import { checkPostPolicy, parsePostPolicy, verifyPostSignature, type Condition } from '../auth/post-policy.js';
import { S3Error } from '../s3-error.js';
import { UNSIGNED } from '../auth/sigv4.js';
import { MAX_OBJECT_TAGS, parseTagging } from '../xml/tagging.js';
import { versionedWrites, writtenVersionHeader } from '../versions.js';
import { xmlDocument } from '../xml/xml-writer.js';

const MAX_FIELD_BYTES = 64 << 10;
const MAX_FIELDS = 200;

/** x-amz-* form fields a POST upload carries out; any other is refused (501), never ignored. */
const AMZ_FIELDS = new Set(['x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-signature', 'x-amz-storage-class']);

interface Form {
  /** every field before the file, names lowercased, values exactly as sent */
  readonly fields: Map<string, string>;
  readonly file: { stream: Readable; filename: string; mimeType: string };
}

/**
 * Reads a multipart/form-data form up to its `file` part. A field sent as
 * a part with a filename (as Python's requests sends every entry of
 * `files=`) is a field all the same; fields after the file are ignored,
 * as AWS ignores them.
 */
async function readForm(req: S3Request): Promise<Form> {
  let form: busboy.Busboy;
  try {
    form = busboy({ headers: req.headers as Record<string, string>, limits: { files: MAX_FIELDS + 1, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES } });
  } catch {
    throw new S3Error('MalformedPOSTRequest');
  }
  const fields = new Map<string, string>();
  const pending: Promise<void>[] = [];
  let sawFile = false;
  const file = await new Promise<Form['file']>((resolve, reject) => {
    form.on('field', (name, value, info) => {
      if (sawFile) return;
      if (info.valueTruncated) reject(new S3Error('MaxPostPreDataLengthExceededError'));
      fields.set(name.toLowerCase(), value);
    });
    form.on('file', (name, stream, meta) => {
      if (sawFile) { stream.resume(); return; }
      if (name.toLowerCase() === 'file') {
        sawFile = true;
        resolve({ stream, filename: meta.filename ?? '', mimeType: meta.mimeType });
        return;
      }
      const parts: Buffer[] = [];
      let size = 0;
      pending.push(new Promise<void>((done) => {
        stream.on('data', (d: Buffer) => {
          size += d.byteLength;
          if (size > MAX_FIELD_BYTES) reject(new S3Error('MaxPostPreDataLengthExceededError'));
          else parts.push(d);
        });
        stream.on('end', () => { fields.set(name.toLowerCase(), Buffer.concat(parts).toString('utf8')); done(); });
      }));
    });
    form.on('error', () => reject(new S3Error('MalformedPOSTRequest')));
    form.on('filesLimit', () => reject(new S3Error('MalformedPOSTRequest', 'too many form fields')));
    form.on('fieldsLimit', () => reject(new S3Error('MalformedPOSTRequest', 'too many form fields')));
    form.on('close', () => reject(new S3Error('InvalidArgument', 'POST requires exactly one file upload per request.')));
    Readable.from(req.body as AsyncIterable<Uint8Array>).pipe(form);
  });
  await Promise.all(pending);
  return { fields, file };
}

/** The checksums a form declares for its file; an algorithm S3 does not have is refused. */
function declaredChecksums(fields: ReadonlyMap<string, string>): Map<ChecksumAlgorithm, string> {
  const checksums = new Map<ChecksumAlgorithm, string>();
  for (const [name, value] of fields) {
    const algorithm = checksumHeaderAlgorithm(name);
    if (algorithm) checksums.set(algorithm, value);
  }
  return checksums;
}

/** Refuses a form field Kintsugi would otherwise have to ignore (encryption, object lock, ACL grants...). */
function refuseUnimplemented(fields: ReadonlyMap<string, string>): void {
  for (const [name, value] of fields) {
    if (name === 'acl' && value !== 'private') throw new S3Error('NotImplemented', `POST uploads are implemented only for the canned ACL "private", not "${value}"`);
    if (name === 'x-amz-storage-class' && value !== 'STANDARD') throw new S3Error('NotImplemented', `Kintsugi has one storage class, STANDARD, not "${value}"`);
    if (name.startsWith('x-amz-') && !AMZ_FIELDS.has(name) && !name.startsWith('x-amz-meta-') && !name.startsWith('x-amz-checksum-')) {
      throw new S3Error('NotImplemented', `the POST form field ${name} is not implemented`);
    }
  }
}

/** Where a successful upload sends the browser, checked before anything is stored. */
function redirectTarget(fields: ReadonlyMap<string, string>): URL | undefined {
  const redirect = fields.get('success_action_redirect') ?? fields.get('redirect');
  if (!redirect) return undefined;
  try {
    return new URL(redirect);
  } catch {
    throw new S3Error('InvalidArgument', `success_action_redirect is not a URL: ${redirect}`);
  }
}

/**
 * POST Object: a browser's form upload (multipart/form-data) signed with a
 * POST policy instead of headers. The fields before the file are read, the
 * signature over the policy is checked (V4 or V2), then the policy: not
 * expired, every condition met (`eq`, `starts-with`, `content-length-range`),
 * every field named by one. The file streams into the store (`${filename}`
 * in the key becomes its name), checked against any checksum field; a
 * violation stores nothing.
 */
export async function postObject(req: S3Request, bucket: string, services: Services, credentials: Credentials): Promise<S3Response> {
  if (!/^multipart\/form-data/i.test(header(req, 'content-type') ?? '')) throw new S3Error('PreconditionFailed', 'POST uploads need Content-Type multipart/form-data');
  const info = await services.buckets.get(bucket);
  const { fields, file } = await readForm(req);
  // The bucket a policy names is the one addressed, whatever a form field says.
  fields.set('bucket', bucket);
  verifyPostSignature(fields, credentials);
  const policy = parsePostPolicy(fields.get('policy')!);
  const key = fields.get('key')?.replace('${filename}', file.filename);
  if (!key) throw new S3Error('InvalidArgument', 'Bucket POST must contain a field named \'key\'.');
  if (inSosapi(key)) throw sosapiReadOnly();
  // The policy's key conditions hold for the key as stored, the file's name filled in.
  fields.set('key', key);
  checkPostPolicy(policy, fields);
  refuseUnimplemented(fields);
  const tagging = fields.get('tagging');
  const tags = tagging !== undefined ? parseTagging(Buffer.from(tagging, 'utf8'), MAX_OBJECT_TAGS) : undefined;
  const redirect = redirectTarget(fields);
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
  const computed = new Map<ChecksumAlgorithm, string>();
  const contentMd5 = fields.get('content-md5');
  const body = verifyBody(sized(), { checksums: declaredChecksums(fields), ...(contentMd5 !== undefined ? { contentMd5 } : {}) }, computed, services.crc);
  // The fields stand for the headers a PutObject would carry.
  const attributes = objectAttributes(Object.fromEntries(fields));
  // Lock fields are refused above: a new version gets the bucket's default retention, if any.
  const lock = writeLock(req, info, Date.now(), { withBody: false, withDefault: true });
  const call = { req, auth: { accessKey: '', payloadHash: UNSIGNED }, operation: 'PostObject', bucket, key, services };
  // The form's length bounds the file's: a form that might not fit is refused before the file is read.
  const done = await admitWrite(call, info, declaredSize(req));
  const record = await committing(done, services.engine.put(bucket, key, body, {
    ...attributes,
    contentType: attributes.contentType ?? file.mimeType ?? 'binary/octet-stream',
    checksums: computed,
    versioned: versionedWrites(info),
    ...(tags ? { tags } : {}),
    ...(lock ? { lock } : {}),
  }), (r) => r.size);
  await confirmBucket(call, record.versionId);
  const etag = `"${record.etag}"`;
  const headers = { etag, location: `/${bucket}/${encodeURIComponent(key)}`, ...writtenVersionHeader(record.versionId) };
  if (redirect) {
    redirect.searchParams.set('bucket', bucket);
    redirect.searchParams.set('key', key);
    redirect.searchParams.set('etag', etag);
    return { status: 303, headers: { ...headers, location: redirect.toString() } };
  }
  const status = fields.get('success_action_status');
  if (status === '201') return { ...xmlResponse(201, xmlDocument('PostResponse', [['Location', headers.location], ['Bucket', bucket], ['Key', key], ['ETag', etag]])), headers: { ...headers, 'content-type': 'application/xml' } };
  return { status: status === '200' ? 200 : 204, headers };
}
