import { escapeXml } from './s3-error.js';

/** An XML element tree as nested arrays: [name, children | text]. */
export type XmlNode = [string, string | number | boolean | XmlNode[] | undefined];

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

function render(node: XmlNode): string {
  const [name, value] = node;
  if (value === undefined) return '';
  if (Array.isArray(value)) return `<${name}>${value.map(render).join('')}</${name}>`;
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** A whole S3 XML document with the S3 namespace on its root. */
export function xmlDocument(root: string, children: XmlNode[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${NS}">${children.map(render).join('')}</${root}>`;
}

export const isoDate = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '.000Z');
