import { XMLParser } from 'fast-xml-parser';

import { S3Error } from './s3-error.js';

/** XML request bodies (DeleteObjects, CompleteMultipartUpload) are small; S3 caps them near 1 MiB too. */
export const MAX_XML_BODY = 2 << 20;

const parser = new XMLParser({
  // Entities are decoded by hand below: no DOCTYPE, no entity expansion.
  processEntities: false,
  parseTagValue: false,
  ignoreAttributes: true,
  isArray: (name) => name === 'Object' || name === 'Part',
});

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function decodeXmlText(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)) : ENTITIES[e]!);
}

/** Reads a whole small body, refusing more than `limit` bytes. */
export async function readSmallBody(body: AsyncIterable<Uint8Array>, limit = MAX_XML_BODY): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of body) {
    size += part.byteLength;
    if (size > limit) throw new S3Error('MaxMessageLengthExceeded');
    parts.push(part);
  }
  return Buffer.concat(parts);
}

/** Parses an XML request document, answering MalformedXML for anything that is not one. */
export function parseRequestXml(bytes: Buffer): Record<string, unknown> {
  const text = bytes.toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new S3Error('MalformedXML');
  try {
    const doc = parser.parse(text, true) as Record<string, unknown>;
    if (typeof doc !== 'object' || doc === null) throw new Error('empty');
    return doc;
  } catch {
    throw new S3Error('MalformedXML');
  }
}
