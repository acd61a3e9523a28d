import { createCipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * How gateways and `kintsugi node` processes authenticate each other: every
 * request carries an HMAC-SHA256, under the shared cluster secret, of its
 * method, path and query, body MAC, time, operation id, and the cluster id
 * and node index the gateway expects to reach. A node answers nothing
 * without a valid one.
 *
 * The body is authenticated by AES-256-GMAC under a key derived from the
 * secret, with a fresh 96-bit nonce per request: shard blocks are
 * most of the bytes a gateway sends, and GMAC (AES-NI, carry-less multiply)
 * runs at several GB/s where SHA-256 managed 1.4 here, on both ends of every
 * transfer.
 */
export const NODE_HEADERS = {
  date: 'x-kintsugi-date',
  bodyMac: 'x-kintsugi-content-mac',
  cluster: 'x-kintsugi-cluster',
  node: 'x-kintsugi-node',
  signature: 'x-kintsugi-signature',
  /** a mutating call's id: the node answers a retry with its first answer */
  op: 'x-kintsugi-op',
} as const;

/** Requests older or newer than this (clock skew) are refused. */
export const MAX_SKEW_MS = 5 * 60_000;


export interface SignedParts {
  method: string;
  /** path and query as sent */
  target: string;
  /** the body's MAC (bodyMac) */
  bodyMac: string;
  dateMs: number;
  clusterId: string;
  node: number;
  /** the operation id of a mutating call ('' for none) */
  opId?: string;
}

const macKeys = new Map<string, Buffer>();

/** The body MAC key of a cluster secret (HKDF-SHA256). */
function macKey(secret: string): Buffer {
  let key = macKeys.get(secret);
  if (!key) macKeys.set(secret, (key = Buffer.from(hkdfSync('sha256', secret, 'kintsugi', 'node request body mac', 32))));
  return key;
}

function gmac(secret: string, nonce: Buffer, body: Uint8Array | undefined): Buffer {
  const cipher = createCipheriv('aes-256-gcm', macKey(secret), nonce);
  if (body && body.byteLength > 0) cipher.setAAD(body);
  cipher.final();
  return cipher.getAuthTag();
}

/**
 * GCM nonces: a random 8-byte prefix per process and a 4-byte counter, a
 * new prefix when the counter wraps — unique per key without a random
 * number (a system call) per request.
 */
const nonces = { prefix: randomBytes(8), counter: 0 };

function nextNonce(): Buffer {
  if (nonces.counter === 0xffffffff) Object.assign(nonces, { prefix: randomBytes(8), counter: 0 });
  const nonce = Buffer.allocUnsafe(12);
  nonces.prefix.copy(nonce, 0);
  nonce.writeUInt32BE(nonces.counter++, 8);
  return nonce;
}

/** A request body's MAC: `nonce.tag` in hex. */
export function bodyMac(secret: string, body: Uint8Array | undefined): string {
  const nonce = nextNonce();
  return `${nonce.toString('hex')}.${gmac(secret, nonce, body).toString('hex')}`;
}

/** Whether `mac` (from bodyMac) authenticates `body`. */
export function bodyMacMatches(secret: string, body: Uint8Array, mac: string | undefined): boolean {
  const m = /^([0-9a-f]{24})\.([0-9a-f]{32})$/.exec(mac ?? '');
  if (!m) return false;
  return timingSafeEqual(gmac(secret, Buffer.from(m[1]!, 'hex'), body), Buffer.from(m[2]!, 'hex'));
}

export function nodeSignature(secret: string, p: SignedParts): string {
  return createHmac('sha256', secret).update([p.method, p.target, p.bodyMac, String(p.dateMs), p.clusterId, String(p.node), p.opId ?? ''].join('\n')).digest('hex');
}

/** The headers of a signed request. */
export function signedNodeHeaders(secret: string, p: Omit<SignedParts, 'dateMs'>, now = Date.now()): Record<string, string> {
  return {
    [NODE_HEADERS.date]: String(now),
    [NODE_HEADERS.bodyMac]: p.bodyMac,
    [NODE_HEADERS.cluster]: p.clusterId,
    [NODE_HEADERS.node]: String(p.node),
    [NODE_HEADERS.signature]: nodeSignature(secret, { ...p, dateMs: now }),
    ...(p.opId ? { [NODE_HEADERS.op]: p.opId } : {}),
  };
}

/** Why a request's signature is refused, or undefined when it is valid (the body MAC is checked once the body is read). */
export function refusal(secret: string, method: string, target: string, header: (name: string) => string | undefined, now = Date.now()): string | undefined {
  const date = Number(header(NODE_HEADERS.date));
  const signature = header(NODE_HEADERS.signature);
  const clusterId = header(NODE_HEADERS.cluster);
  const node = Number(header(NODE_HEADERS.node));
  const mac = header(NODE_HEADERS.bodyMac);
  if (!signature || !clusterId || !Number.isInteger(node) || !mac || !Number.isFinite(date)) return 'unsigned request';
  if (Math.abs(now - date) > MAX_SKEW_MS) return 'request time too far from the node\'s clock';
  const want = Buffer.from(nodeSignature(secret, { method, target, bodyMac: mac, dateMs: date, clusterId, node, opId: header(NODE_HEADERS.op) ?? '' }), 'hex');
  const got = Buffer.from(signature, 'hex');
  return got.length === want.length && timingSafeEqual(got, want) ? undefined : 'signature does not match';
}
