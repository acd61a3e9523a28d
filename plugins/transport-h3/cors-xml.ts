import { CORS_METHODS, type CorsRule } from '../../core/engine/cors-rules.js';
import { decodeXmlText, parseRequestXml } from './request-xml.js';
import { S3Error } from './s3-error.js';
import { xmlDocument, type XmlNode } from './xml.js';

/** S3's limits on a CORS configuration. */
const MAX_RULES = 100;
const MAX_ID = 255;

type Element = Record<string, unknown>;

const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const malformed = (why?: string) => new S3Error('MalformedXML', why);

/** Every text child named `name` (none: []); MalformedXML for one that is not text. */
function texts(el: Element, name: string): string[] {
  return list(el[name]).map((v) => {
    if (typeof v !== 'string') throw malformed(`${name} must be text`);
    return decodeXmlText(v).trim();
  });
}

function oneText(el: Element, name: string): string | undefined {
  const all = texts(el, name);
  if (all.length > 1) throw malformed(`more than one ${name}`);
  return all[0];
}

/** Checks a pattern has at most one `*`, as S3 does for origins and headers. */
function oneWildcard(value: string, what: string): string {
  if (value.split('*').length > 2) throw new S3Error('InvalidRequest', `${what} "${value}" can not have more than one wildcard.`);
  return value;
}

/** A PutBucketCors body → rules, refused as S3 refuses it. */
export function parseCorsConfiguration(bytes: Buffer): CorsRule[] {
  const doc = parseRequestXml(bytes);
  const root = doc.CORSConfiguration;
  if (typeof root !== 'object' || root === null || Array.isArray(root)) throw malformed('the document must be one CORSConfiguration');
  const rules = list((root as Element).CORSRule);
  if (rules.length === 0) throw malformed('a CORSConfiguration needs at least one CORSRule');
  if (rules.length > MAX_RULES) throw new S3Error('InvalidRequest', `a CORS configuration holds at most ${MAX_RULES} rules`);
  return rules.map((raw) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw malformed('a CORSRule must be an element');
    const el = raw as Element;
    const id = oneText(el, 'ID');
    if (id !== undefined && id.length > MAX_ID) throw new S3Error('InvalidArgument', `the ID of a CORSRule is at most ${MAX_ID} characters`);
    const allowedOrigins = texts(el, 'AllowedOrigin').map((o) => oneWildcard(o, 'AllowedOrigin'));
    const allowedMethods = texts(el, 'AllowedMethod');
    if (allowedOrigins.length === 0 || allowedMethods.length === 0) throw malformed('a CORSRule needs an AllowedOrigin and an AllowedMethod');
    for (const m of allowedMethods) {
      if (!(CORS_METHODS as readonly string[]).includes(m)) throw new S3Error('InvalidRequest', `Found unsupported HTTP method in CORS config. Unsupported method is ${m}`);
    }
    const maxAge = oneText(el, 'MaxAgeSeconds');
    if (maxAge !== undefined && !/^\d+$/.test(maxAge)) throw malformed('MaxAgeSeconds must be a whole number');
    return {
      ...(id ? { id } : {}),
      allowedOrigins,
      allowedMethods,
      allowedHeaders: texts(el, 'AllowedHeader').map((h) => oneWildcard(h, 'AllowedHeader')),
      exposeHeaders: texts(el, 'ExposeHeader'),
      ...(maxAge !== undefined ? { maxAgeSeconds: Number(maxAge) } : {}),
    };
  });
}

/** Rules → the GetBucketCors document. */
export function corsConfigurationXml(rules: readonly CorsRule[]): string {
  return xmlDocument('CORSConfiguration', rules.map((r): XmlNode => ['CORSRule', [
    ...(r.id ? [['ID', r.id] as XmlNode] : []),
    ...r.allowedHeaders.map((h): XmlNode => ['AllowedHeader', h]),
    ...r.allowedMethods.map((m): XmlNode => ['AllowedMethod', m]),
    ...r.allowedOrigins.map((o): XmlNode => ['AllowedOrigin', o]),
    ...r.exposeHeaders.map((h): XmlNode => ['ExposeHeader', h]),
    ...(r.maxAgeSeconds !== undefined ? [['MaxAgeSeconds', r.maxAgeSeconds] as XmlNode] : []),
  ]]));
}
