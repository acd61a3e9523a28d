import { createHash } from 'node:crypto';

import type { BucketInfo } from '../../../core/engine/buckets.js';
import type { ListEntry } from '../../../core/contracts/metadata.js';
import type { Call, Handler, S3Response } from '../context.js';
import { S3Error } from '../s3-error.js';
import { xmlDocument } from '../xml/xml-writer.js';

/**
 * Veeam's Smart Object Storage API (SOSAPI 1.0): two virtual objects under a
 * fixed folder of every bucket, which Veeam Backup & Replication reads to
 * learn what the store can do and how much room a bucket has. Their
 * elements follow Veeam's "Veeam Smart Object Storage API (SOSAPI) 1.0"
 * document (Veeam-SOSAPI_1.0_Document_v1.02d), as its user guide
 * (helpcenter.veeam.com/docs/vbr/userguide/sosapi.html) introduces it:
 * `system.xml` is a SystemInfo (ProtocolVersion, ModelName,
 * ProtocolCapabilities, the optional SystemRecommendations) and
 * `capacity.xml` a CapacityInfo (Capacity, Available, Used, in bytes).
 * Nothing is stored there: writes and deletes under the folder are refused.
 */
export const SOSAPI_FOLDER = '.system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c/';
const SYSTEM = `${SOSAPI_FOLDER}system.xml`;
const CAPACITY = `${SOSAPI_FOLDER}capacity.xml`;

/** Whether a key is under the SOSAPI folder (read-only, virtual). */
export const inSosapi = (key: string): boolean => key.startsWith(SOSAPI_FOLDER);

/** Whether a listing's prefix is inside the SOSAPI folder (its listing is the virtual objects; a shorter prefix lists what is stored). */
export const listsSosapi = (prefix: string): boolean => inSosapi(prefix);

/** Veeam's documents name no XML namespace. */
const NO_NAMESPACE = '';

/** The recommended Veeam block size in KB: one BLOCKSIZE-sized stripe holds 1 MiB of a backup block before compression. */
const KB_BLOCK_SIZE = 1024;

function systemXml(): string {
  // The document quotes the version and model inside the elements.
  return xmlDocument('SystemInfo', [
    ['ProtocolVersion', '"1.0"'],
    ['ModelName', '"Kintsugi"'],
    ['ProtocolCapabilities', [['CapacityInfo', true], ['UploadSessions', false], ['IAMSTS', false]]],
    ['SystemRecommendations', [['KbBlockSize', KB_BLOCK_SIZE]]],
  ], NO_NAMESPACE);
}

/** A bucket with a quota: the quota, what it counts, and what is left of it; without one, the cluster's room for objects. */
async function capacityXml(call: Call, bucket: BucketInfo): Promise<string> {
  const usage = call.services.usage;
  let capacity: number;
  let used: number;
  let available: number;
  if (bucket.quotaBytes !== undefined) {
    capacity = bucket.quotaBytes;
    // What the quota counts, as a quota check judges it.
    used = await usage.estimate(bucket.name);
    available = Math.max(0, capacity - used);
  } else {
    const space = usage.clusterSpace();
    capacity = space.capacityBytes;
    available = space.availableBytes;
    used = Math.max(0, capacity - available);
  }
  return xmlDocument('CapacityInfo', [['Capacity', capacity], ['Available', available], ['Used', used]], NO_NAMESPACE);
}

/** One virtual object as it stands now, or undefined for a key in the folder that is none of them. */
async function document(call: Call, bucket: BucketInfo, key: string): Promise<{ body: Buffer; etag: string; modifiedMs: number } | undefined> {
  const text = key === SYSTEM ? systemXml() : key === CAPACITY ? await capacityXml(call, bucket) : undefined;
  if (text === undefined) return undefined;
  const body = Buffer.from(text, 'utf8');
  return { body, etag: createHash('md5').update(body).digest('hex'), modifiedMs: Date.now() };
}

/** GET and HEAD of a virtual object. */
const read: Handler = async (call) => {
  const bucket = await call.services.buckets.get(call.bucket);
  const doc = await document(call, bucket, call.key);
  if (!doc) throw new S3Error('NoSuchKey');
  const headers = {
    'content-type': 'application/xml', 'content-length': String(doc.body.length), etag: `"${doc.etag}"`,
    'last-modified': new Date(doc.modifiedMs).toUTCString(), 'cache-control': 'no-store',
  };
  const response: S3Response = { status: 200, headers };
  // Served whole (a Range is not honoured: the documents are a few hundred bytes).
  return call.req.method === 'HEAD' ? response : { ...response, body: doc.body };
};

/** What a write or delete under the folder gets. */
export const sosapiReadOnly = (): S3Error => new S3Error('AccessDenied', `the Veeam SOSAPI objects under ${SOSAPI_FOLDER} are read-only`);

const refuse: Handler = async () => {
  throw sosapiReadOnly();
};

/** What serves an object operation on a key under the SOSAPI folder: GET and HEAD read, everything else is refused. */
export function sosapiHandler(operation: string): Handler {
  return operation === 'GetObject' || operation === 'HeadObject' ? read : refuse;
}

/** The virtual objects whose keys start with `prefix` and come after `startAfter`, as listing entries. */
export async function sosapiEntries(call: Call, prefix: string, startAfter: string | undefined): Promise<ListEntry[]> {
  const bucket = await call.services.buckets.get(call.bucket);
  const entries: ListEntry[] = [];
  for (const key of [CAPACITY, SYSTEM]) {
    if (!key.startsWith(prefix) || (startAfter !== undefined && key <= startAfter)) continue;
    const doc = (await document(call, bucket, key))!;
    entries.push({ key, versionId: 'null', size: doc.body.length, etag: doc.etag, modifiedMs: doc.modifiedMs });
  }
  return entries;
}
