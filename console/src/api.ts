/* The console's only way to the store: S3 and admin calls through the
   server's console gateway, which signs each one as the signed-in user. */

const BASE = '/_kintsugi/console/api';
const CHANGE = { 'x-kintsugi-console': '1' };

/** An S3 error as the server answered it. */
export class S3CallError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export const isSignedOut = (err: unknown) => err instanceof S3CallError && err.status === 403 && /sign in/.test(err.message);

/** The error an S3 answer's body (an `<Error>` document, or anything else) stands for. */
export function s3Error(status: number, text: string, statusText = ''): S3CallError {
  const doc = text.startsWith('<') ? new DOMParser().parseFromString(text, 'application/xml') : undefined;
  const code = doc?.querySelector('Error > Code')?.textContent ?? `HTTP ${status}`;
  const message = doc?.querySelector('Error > Message')?.textContent ?? (text || statusText);
  return new S3CallError(status, code, message);
}

async function failure(res: Response): Promise<S3CallError> {
  return s3Error(res.status, await res.text().catch(() => ''), res.statusText);
}

/** The path of a bucket or object below the gateway, each segment encoded. */
export function s3Path(bucket = '', key = ''): string {
  const enc = (s: string) => s.split('/').map(encodeURIComponent).join('/');
  return `${BASE}/s3/${enc(bucket)}${key ? `/${enc(key)}` : ''}`;
}

export async function call(method: string, path: string, init: { query?: Record<string, string>; body?: BodyInit; headers?: Record<string, string> } = {}): Promise<Response> {
  const qs = init.query ? `?${new URLSearchParams(init.query).toString().replace(/=(&|$)/g, '$1')}` : '';
  const res = await fetch(path + qs, {
    method,
    credentials: 'same-origin',
    headers: { ...(method === 'GET' || method === 'HEAD' ? {} : CHANGE), ...init.headers },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  if (!res.ok) throw await failure(res);
  return res;
}

async function xml(method: string, path: string, init: Parameters<typeof call>[2] = {}): Promise<Document> {
  const text = await (await call(method, path, init)).text();
  return new DOMParser().parseFromString(text, 'application/xml');
}

const texts = (el: ParentNode, sel: string) => [...el.querySelectorAll(sel)].map((e) => e.textContent ?? '');
const text = (el: ParentNode, sel: string) => el.querySelector(sel)?.textContent ?? '';

// --- session --------------------------------------------------------------

export async function signIn(accessKey: string, secretKey: string): Promise<{ accessKey: string; expiresMs: number }> {
  const res = await call('POST', `${BASE}/session`, { body: JSON.stringify({ accessKey, secretKey }), headers: { 'content-type': 'application/json' } });
  return res.json();
}

export async function currentSession(): Promise<{ accessKey: string; expiresMs: number } | undefined> {
  try {
    return await (await call('GET', `${BASE}/session`)).json();
  } catch {
    return undefined;
  }
}

export const signOut = () => call('DELETE', `${BASE}/session`);

// --- buckets ----------------------------------------------------------------

export interface Bucket { name: string; created: string }

export async function listBuckets(): Promise<Bucket[]> {
  const doc = await xml('GET', s3Path());
  return [...doc.querySelectorAll('Buckets > Bucket')].map((b) => ({ name: text(b, 'Name'), created: text(b, 'CreationDate') }));
}

export const createBucket = (name: string) => call('PUT', s3Path(name));
export const deleteBucket = (name: string) => call('DELETE', s3Path(name));

export async function getVersioning(bucket: string): Promise<'Enabled' | 'Suspended' | 'Off'> {
  const doc = await xml('GET', s3Path(bucket), { query: { versioning: '' } });
  const status = text(doc, 'Status');
  return status === 'Enabled' || status === 'Suspended' ? status : 'Off';
}

export function setVersioning(bucket: string, status: 'Enabled' | 'Suspended'): Promise<Response> {
  const body = `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>${status}</Status></VersioningConfiguration>`;
  return call('PUT', s3Path(bucket), { query: { versioning: '' }, body, headers: { 'content-type': 'application/xml' } });
}

/** The bucket's tags, or [] when it has none. */
export async function getBucketTags(bucket: string): Promise<{ key: string; value: string }[]> {
  try {
    const doc = await xml('GET', s3Path(bucket), { query: { tagging: '' } });
    return [...doc.querySelectorAll('TagSet > Tag')].map((t) => ({ key: text(t, 'Key'), value: text(t, 'Value') }));
  } catch (err) {
    if (err instanceof S3CallError && err.code === 'NoSuchTagSet') return [];
    throw err;
  }
}

export interface LifecycleRule { id: string; status: string; prefix: string; what: string[] }

/** The bucket's lifecycle rules, or [] when it has none. */
export async function getLifecycle(bucket: string): Promise<LifecycleRule[]> {
  try {
    const doc = await xml('GET', s3Path(bucket), { query: { lifecycle: '' } });
    return [...doc.querySelectorAll('Rule')].map((r) => {
      const what: string[] = [];
      const days = text(r, 'Expiration > Days');
      if (days) what.push(`expire after ${days} days`);
      const date = text(r, 'Expiration > Date');
      if (date) what.push(`expire on ${date.slice(0, 10)}`);
      const nc = text(r, 'NoncurrentVersionExpiration > NoncurrentDays');
      if (nc) what.push(`noncurrent versions after ${nc} days`);
      const mpu = text(r, 'AbortIncompleteMultipartUpload > DaysAfterInitiation');
      if (mpu) what.push(`abort uploads after ${mpu} days`);
      if (text(r, 'ExpiredObjectDeleteMarker') === 'true') what.push('remove lone delete markers');
      return { id: text(r, 'ID'), status: text(r, 'Status'), prefix: text(r, 'Filter > Prefix') || text(r, 'Prefix'), what };
    });
  } catch (err) {
    if (err instanceof S3CallError && err.code === 'NoSuchLifecycleConfiguration') return [];
    throw err;
  }
}

// --- objects ----------------------------------------------------------------

export interface ObjectEntry { key: string; size: number; etag: string; modified: string }
export interface Listing { folders: string[]; objects: ObjectEntry[]; next?: string }

/** One page of the bucket's keys below `prefix`, folded at '/'. */
export async function listObjects(bucket: string, prefix: string, token?: string, maxKeys = 200): Promise<Listing> {
  const query: Record<string, string> = { 'list-type': '2', delimiter: '/', prefix, 'max-keys': String(maxKeys) };
  if (token) query['continuation-token'] = token;
  const doc = await xml('GET', s3Path(bucket), { query });
  const next = text(doc, 'ListBucketResult > NextContinuationToken');
  return {
    folders: texts(doc, 'CommonPrefixes > Prefix'),
    objects: [...doc.querySelectorAll('ListBucketResult > Contents')].map((c) => ({
      key: text(c, 'Key'), size: Number(text(c, 'Size')), etag: text(c, 'ETag'), modified: text(c, 'LastModified'),
    })),
    ...(text(doc, 'IsTruncated') === 'true' && next ? { next } : {}),
  };
}

export interface ObjectHead { size: number; etag: string; contentType: string; modified: string; versionId?: string; metadata: [string, string][] }

export async function headObject(bucket: string, key: string): Promise<ObjectHead> {
  const res = await call('HEAD', s3Path(bucket, key));
  const h = res.headers;
  const metadata: [string, string][] = [];
  h.forEach((v, k) => { if (k.startsWith('x-amz-meta-')) metadata.push([k.slice('x-amz-meta-'.length), v]); });
  return {
    size: Number(h.get('content-length') ?? 0), etag: h.get('etag') ?? '', contentType: h.get('content-type') ?? '',
    modified: h.get('last-modified') ?? '', ...(h.get('x-amz-version-id') ? { versionId: h.get('x-amz-version-id')! } : {}), metadata,
  };
}

export interface Version { versionId: string; latest: boolean; deleteMarker: boolean; size: number; modified: string; etag: string }

export async function listVersions(bucket: string, key: string): Promise<Version[]> {
  const doc = await xml('GET', s3Path(bucket), { query: { versions: '', prefix: key, 'max-keys': '100' } });
  return [...doc.querySelectorAll('ListVersionsResult > Version, ListVersionsResult > DeleteMarker')]
    .filter((v) => text(v, 'Key') === key)
    .map((v) => ({
      versionId: text(v, 'VersionId'), latest: text(v, 'IsLatest') === 'true', deleteMarker: v.tagName === 'DeleteMarker',
      size: Number(text(v, 'Size') || 0), modified: text(v, 'LastModified'), etag: text(v, 'ETag'),
    }));
}

export const deleteObject = (bucket: string, key: string) => call('DELETE', s3Path(bucket, key));

/** Whether the bucket has Object Lock (a bucket without it answers 404). */
export async function objectLockEnabled(bucket: string): Promise<boolean> {
  return call('GET', s3Path(bucket), { query: { 'object-lock': '' } }).then(() => true, () => false);
}

/** One version's Object Lock: its retention (if any) and legal hold, from its HEAD. */
export interface VersionLock { mode?: string; until?: string; legalHold: boolean }

export async function versionLock(bucket: string, key: string, versionId: string): Promise<VersionLock> {
  const h = (await call('HEAD', s3Path(bucket, key), { query: { versionId } })).headers;
  const mode = h.get('x-amz-object-lock-mode');
  return { ...(mode ? { mode, until: h.get('x-amz-object-lock-retain-until-date') ?? '' } : {}), legalHold: h.get('x-amz-object-lock-legal-hold') === 'ON' };
}

export function setLegalHold(bucket: string, key: string, versionId: string, on: boolean): Promise<Response> {
  const body = `<LegalHold xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>${on ? 'ON' : 'OFF'}</Status></LegalHold>`;
  return call('PUT', s3Path(bucket, key), { query: { 'legal-hold': '', versionId }, body, headers: { 'content-type': 'application/xml' } });
}

/** A link that downloads the object through the signed-in session. */
export function downloadUrl(bucket: string, key: string): string {
  const name = key.split('/').pop() || 'download';
  return `${s3Path(bucket, key)}?response-content-disposition=${encodeURIComponent(`attachment; filename*=UTF-8''${encodeURIComponent(name)}`)}`;
}

/** A presigned GET anyone can use until it expires. */
export async function shareLink(bucket: string, key: string, expiresSeconds: number): Promise<{ url: string; expiresMs: number }> {
  const res = await call('POST', `${BASE}/presign`, { body: JSON.stringify({ bucket, key, expiresSeconds }), headers: { 'content-type': 'application/json' } });
  return res.json();
}

// --- multipart ----------------------------------------------------------------

export async function createUpload(bucket: string, key: string, contentType: string): Promise<string> {
  const doc = await xml('POST', s3Path(bucket, key), { query: { uploads: '' }, headers: { 'content-type': contentType || 'application/octet-stream' } });
  return text(doc, 'UploadId');
}

/** The parts an upload already holds (number → ETag and size). */
export async function listParts(bucket: string, key: string, uploadId: string): Promise<Map<number, { etag: string; size: number }>> {
  const parts = new Map<number, { etag: string; size: number }>();
  let marker = '';
  for (;;) {
    const doc = await xml('GET', s3Path(bucket, key), { query: { uploadId, ...(marker ? { 'part-number-marker': marker } : {}) } });
    for (const p of doc.querySelectorAll('Part')) parts.set(Number(text(p, 'PartNumber')), { etag: text(p, 'ETag'), size: Number(text(p, 'Size')) });
    if (text(doc, 'IsTruncated') !== 'true') return parts;
    marker = text(doc, 'NextPartNumberMarker');
  }
}

export async function completeUpload(bucket: string, key: string, uploadId: string, parts: { number: number; etag: string }[]): Promise<void> {
  const body = `<CompleteMultipartUpload>${parts.map((p) => `<Part><PartNumber>${p.number}</PartNumber><ETag>${p.etag.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
  await xml('POST', s3Path(bucket, key), { query: { uploadId }, body, headers: { 'content-type': 'application/xml' } });
}

export const abortUpload = (bucket: string, key: string, uploadId: string) => call('DELETE', s3Path(bucket, key), { query: { uploadId } });

// --- operations ---------------------------------------------------------------

export interface NodeInfo {
  index: number; location: string; state: string; sinceMs: number; error?: string; errorMs?: number; lastSuccessMs?: number;
  errors: number; latencyMs: number; space?: { freeBytes: number; totalBytes: number };
}
export interface HealPass { finishedMs: number; objectsChecked: number; shardsRebuilt: number; replicasRepaired: number; unrecoverable: string[]; deferred: number; shardsByNode: Record<string, number> }
export interface ClusterStatus {
  codec: string;
  nodes: NodeInfo[];
  quorum: { writable: number; readable: number; writeQuorum: number; readQuorum: number };
  heal: {
    queued: number; healingDegraded: boolean; scanning: boolean; rate?: number; lastPass?: HealPass;
    pass?: { startedMs: number; keys: number; keysPerSecond: number; summary: { shardsRebuilt: number; replicasRepaired: number; bytesRewritten: number } };
    scrub?: ScrubStatus[];
  };
  layout?: ClusterLayoutInfo;
  rebalance?: RebalanceInfo;
  buckets?: BucketStatus[];
}
/** The cluster layout the server places data by (core/cluster-layout.ts). */
export interface ClusterLayoutInfo {
  version: number; newestVersion: number; changedMs: number; change: string;
  nodes: { index: number; location: string; weight: number; role: 'active' | 'draining' | 'removed'; filling?: boolean }[];
}
/** Where the rebalance stands (core/engine/rebalancer.ts). */
export interface RebalanceInfo {
  layoutVersion: number; state: 'idle' | 'waiting' | 'moving' | 'done'; rate: number; objectsPerSecond?: number;
  progress?: { version: number; startedMs: number; finishedMs?: number; keys: number; versionsMoved: number; shardsMoved: number; copiesMoved: number; bytesMoved: number; deferred: number; resumed: number };
  draining: { node: number; records: number; files: number; empty: boolean; why?: string }[];
}
export interface ScrubStatus {
  node: number; state: 'scrubbing' | 'waiting' | 'unavailable'; why?: string; passStartedMs?: number; bytes?: number; items?: number;
  lastPass?: { startedMs: number; finishedMs: number; bytes: number; items: number; damaged: number }; dueMs?: number; damagedReported: number;
}

/** What a count of a bucket found (core/engine/bucket-usage.ts). */
export interface BucketUsage { objects: number; versions: number; bytes: number; storedBytes: number; uploads: number; uploadBytes: number; countedMs: number }
export interface BucketStatus { name: string; usage?: BucketUsage; quotaBytes?: number }

/** The bucket counted now, with its quota. */
export async function bucketUsage(bucket: string): Promise<BucketStatus> {
  return (await call('GET', `${BASE}/admin/usage`, { query: { bucket } })).json();
}

/** Sets (a number of bytes) or removes (undefined) a bucket's hard quota. */
export function setQuota(bucket: string, bytes: number | undefined): Promise<Response> {
  return call('PUT', `${BASE}/admin/quota`, { query: { bucket, bytes: bytes === undefined ? 'none' : String(bytes) } });
}

export async function clusterStatus(): Promise<ClusterStatus> {
  return (await call('GET', `${BASE}/admin/status`)).json();
}

export async function metricsText(): Promise<string> {
  return (await call('GET', `${BASE}/metrics`)).text();
}
