import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How gateways and `kintsugi node` processes authenticate each other: every
 * request carries an HMAC-SHA256, under the shared cluster secret, of its
 * method, path and query, body hash, time, and the cluster id and node index
 * the gateway expects to reach. A node answers nothing without a valid one.
 */
export const NODE_HEADERS = {
  date: 'x-kintsugi-date',
  bodyHash: 'x-kintsugi-content-sha256',
  cluster: 'x-kintsugi-cluster',
  node: 'x-kintsugi-node',
  signature: 'x-kintsugi-signature',
  /** a mutating call's id: the node answers a retry with its first answer */
  op: 'x-kintsugi-op',
} as const;

/** Requests older or newer than this (clock skew) are refused. */
export const MAX_SKEW_MS = 5 * 60_000;

export const EMPTY_BODY_HASH = createHash('sha256').digest('hex');

export interface SignedParts {
  method: string;
  /** path and query as sent */
  target: string;
  bodyHash: string;
  dateMs: number;
  clusterId: string;
  node: number;
  /** the operation id of a mutating call ('' for none) */
  opId?: string;
}

export function bodyHash(body: Uint8Array | undefined): string {
  return body && body.byteLength > 0 ? createHash('sha256').update(body).digest('hex') : EMPTY_BODY_HASH;
}

export function nodeSignature(secret: string, p: SignedParts): string {
  return createHmac('sha256', secret).update([p.method, p.target, p.bodyHash, String(p.dateMs), p.clusterId, String(p.node), p.opId ?? ''].join('\n')).digest('hex');
}

/** The headers of a signed request. */
export function signedNodeHeaders(secret: string, p: Omit<SignedParts, 'dateMs'>, now = Date.now()): Record<string, string> {
  return {
    [NODE_HEADERS.date]: String(now),
    [NODE_HEADERS.bodyHash]: p.bodyHash,
    [NODE_HEADERS.cluster]: p.clusterId,
    [NODE_HEADERS.node]: String(p.node),
    [NODE_HEADERS.signature]: nodeSignature(secret, { ...p, dateMs: now }),
    ...(p.opId ? { [NODE_HEADERS.op]: p.opId } : {}),
  };
}

/** Why a request's signature is refused, or undefined when it is valid (the body hash is checked once the body is read). */
export function refusal(secret: string, method: string, target: string, header: (name: string) => string | undefined, now = Date.now()): string | undefined {
  const date = Number(header(NODE_HEADERS.date));
  const signature = header(NODE_HEADERS.signature);
  const clusterId = header(NODE_HEADERS.cluster);
  const node = Number(header(NODE_HEADERS.node));
  const hash = header(NODE_HEADERS.bodyHash);
  if (!signature || !clusterId || !Number.isInteger(node) || !hash || !Number.isFinite(date)) return 'unsigned request';
  if (Math.abs(now - date) > MAX_SKEW_MS) return 'request time too far from the node\'s clock';
  const want = Buffer.from(nodeSignature(secret, { method, target, bodyHash: hash, dateMs: date, clusterId, node, opId: header(NODE_HEADERS.op) ?? '' }), 'hex');
  const got = Buffer.from(signature, 'hex');
  return got.length === want.length && timingSafeEqual(got, want) ? undefined : 'signature does not match';
}
