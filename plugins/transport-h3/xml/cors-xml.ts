import { CORS_METHODS, type CorsRule } from '../../../core/engine/cors-rules.js';
import { parseRequestXml, type XmlElement } from './xml-reader.js';
import { S3Error } from '../s3-error.js';
import { xmlDocument, type XmlNode } from './xml-writer.js';

/** S3's limits on a CORS configuration. */
const MAX_RULES = 100;
const MAX_ID = 255;

const RULE_ELEMENTS = ['ID', 'AllowedOrigin', 'AllowedMethod', 'AllowedHeader', 'ExposeHeader', 'MaxAgeSeconds'];

const malformed = (why?: string) => new S3Error('MalformedXML', why);

/** Every text child named `name`, exactly as sent. */
const texts = (el: XmlElement, name: string): string[] => el.all(name).map((c) => c.leafText());

/** Checks a pattern has at most one `*`, as S3 does for origins and headers. */
function oneWildcard(value: string, what: string): string {
  if (value.split('*').length > 2) throw new S3Error('InvalidRequest', `${what} "${value}" can not have more than one wildcard.`);
  return value;
}

/** A PutBucketCors body → rules, refused as S3 refuses it. */
export function parseCorsConfiguration(bytes: Buffer): CorsRule[] {
  const rules = parseRequestXml(bytes, 'CORSConfiguration').only(['CORSRule']).all('CORSRule');
  if (rules.length === 0) throw malformed('a CORSConfiguration needs at least one CORSRule');
  if (rules.length > MAX_RULES) throw new S3Error('InvalidRequest', `a CORS configuration holds at most ${MAX_RULES} rules`);
  return rules.map((el) => {
    el.only(RULE_ELEMENTS);
    const id = el.textOf('ID');
    if (id !== undefined && id.length > MAX_ID) throw new S3Error('InvalidArgument', `the ID of a CORSRule is at most ${MAX_ID} characters`);
    const allowedOrigins = texts(el, 'AllowedOrigin').map((o) => oneWildcard(o, 'AllowedOrigin'));
    const allowedMethods = texts(el, 'AllowedMethod');
    if (allowedOrigins.length === 0 || allowedMethods.length === 0) throw malformed('a CORSRule needs an AllowedOrigin and an AllowedMethod');
    for (const m of allowedMethods) {
      if (!(CORS_METHODS as readonly string[]).includes(m)) throw new S3Error('InvalidRequest', `Found unsupported HTTP method in CORS config. Unsupported method is ${m}`);
    }
    const maxAge = el.textOf('MaxAgeSeconds');
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
