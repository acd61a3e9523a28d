import type { CrcEngine } from '../../core/contracts/crc.js';
import type { BucketUsage } from '../../core/engine/bucket-usage.js';
import type { BucketStore } from '../../core/engine/buckets.js';
import type { MultipartUploads } from '../../core/engine/multipart.js';
import type { ObjectEngine } from '../../core/engine/object-engine.js';
import type { Verified } from './auth/sigv4.js';
import type { XmlNode } from './xml/xml-writer.js';

export interface S3Request {
  method: string;
  rawPath: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Uint8Array>;
  /** the bucket named by the Host header (virtual-host style); rawPath is then the key */
  virtualBucket?: string;
}

export interface S3Response {
  status: number;
  headers: Record<string, string>;
  body?: string | Uint8Array | AsyncIterable<Uint8Array>;
}

export interface Credentials {
  secretFor(accessKey: string): string | undefined;
}

/** The services the handlers work with. */
export interface Services {
  readonly engine: ObjectEngine;
  readonly buckets: BucketStore;
  readonly uploads: MultipartUploads;
  /** milliseconds of a lifecycle day (LIFECYCLE_DAY_SECONDS), for x-amz-expiration */
  readonly lifecycleDayMs: number;
  /** the CRCs of x-amz-checksum-* */
  readonly crc: CrcEngine;
  /** bucket usage, and room under quotas */
  readonly usage: BucketUsage;
}

/** One authenticated request, routed: what a handler gets. */
export interface Call {
  readonly req: S3Request;
  readonly auth: Verified;
  /** the operation's name, from its route */
  readonly operation: string;
  /** '' for service-level operations */
  readonly bucket: string;
  /** '' for service- and bucket-level operations */
  readonly key: string;
  readonly services: Services;
}

export type Handler = (call: Call) => Promise<S3Response>;

/** The owner every bucket and object reports: Kintsugi's users share one namespace. */
export const OWNER = { id: 'kintsugi', name: 'kintsugi' } as const;

/** `<ID>` and `<DisplayName>` of the owner, as Owner and Initiator elements hold them. */
export const OWNER_ELEMENTS: XmlNode[] = [['ID', OWNER.id], ['DisplayName', OWNER.name]];

export const xmlResponse = (status: number, body: string): S3Response => ({ status, headers: { 'content-type': 'application/xml' }, body });

/** One header's value (the first, when repeated). */
export function header(req: Pick<S3Request, 'headers'>, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
