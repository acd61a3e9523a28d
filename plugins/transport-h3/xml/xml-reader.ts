import { S3Error } from '../s3-error.js';

/** XML request bodies (DeleteObjects, CompleteMultipartUpload) are small; S3 caps them near 1 MiB too. */
export const MAX_XML_BODY = 2 << 20;

/** Deeper than any S3 document (lifecycle's Rule/Filter/And/Tag/Key is 5). */
const MAX_DEPTH = 32;

const malformed = (why: string) => new S3Error('MalformedXML', why);

/**
 * One element of a request document. Its text is exactly what the client
 * wrote, entities and CDATA decoded once and nothing trimmed: S3 keys,
 * prefixes and tag values keep their leading and trailing whitespace.
 * Whitespace between child elements (pretty-printing) is no text.
 */
export class XmlElement {
  constructor(readonly name: string, readonly children: readonly XmlElement[], readonly text: string) {}

  /** Every child named `name`, in document order. */
  all(name: string): XmlElement[] {
    return this.children.filter((c) => c.name === name);
  }

  /** The child named `name`, or undefined; MalformedXML when there are several. */
  one(name: string): XmlElement | undefined {
    const found = this.all(name);
    if (found.length > 1) throw malformed(`more than one ${name} in ${this.name}`);
    return found[0];
  }

  /** The text of the one child named `name` (an empty element is ''), or undefined when there is none. */
  textOf(name: string): string | undefined {
    return this.one(name)?.leafText();
  }

  /** This element's text; MalformedXML when it holds elements instead. */
  leafText(): string {
    if (this.children.length) throw malformed(`${this.name} must be text`);
    return this.text;
  }

  /** Refuses a child this element may not have: the first name outside `known` (MalformedXML). */
  only(known: readonly string[]): this {
    const other = this.children.find((c) => !known.includes(c.name));
    if (other) throw malformed(`unknown element ${other.name} in ${this.name}`);
    return this;
  }
}

const NAME = /[A-Za-z_:\u00C0-\uFFFF][-A-Za-z0-9_.:\u00B7-\uFFFF]*/y;
const ATTRIBUTE = /\s+[A-Za-z_:][-A-Za-z0-9_.:]*\s*=\s*(?:"[^"<]*"|'[^'<]*')/y;
const TAG_END = /\s*(\/?)>/y;
const CLOSE_END = /\s*>/y;
const ENTITY = /&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|(lt|gt|amp|quot|apos));/y;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const ONLY_SPACE = /^[ \t\n]*$/;

/** Decodes the character data between two pieces of markup, every entity exactly once. */
function decodeText(raw: string): string {
  if (raw.includes('\0')) throw malformed('a NUL character is not XML');
  if (!raw.includes('&')) return raw;
  let out = '';
  let from = 0;
  for (let amp = raw.indexOf('&'); amp >= 0; amp = raw.indexOf('&', from)) {
    out += raw.slice(from, amp);
    ENTITY.lastIndex = amp;
    const m = ENTITY.exec(raw);
    if (!m) throw malformed('an & that starts no character or entity reference');
    if (m[3]) out += NAMED[m[3]]!;
    else {
      const code = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2]!, 10);
      // Any Unicode scalar value but NUL: S3 keys may hold control characters, and a client must be able to name them.
      if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw malformed(`&#${code}; is no character`);
      out += String.fromCodePoint(code);
    }
    from = ENTITY.lastIndex;
  }
  return out + raw.slice(from);
}

interface Open { name: string; children: XmlElement[]; text: string }

/**
 * Reads an XML request document into its root element, refusing anything
 * that is not well-formed XML (MalformedXML). There is no DTD, so no entity
 * but XML's five and character references; line ends are normalized as
 * XML 1.0 says (a raw CR becomes LF, which is why clients send `&#13;`).
 */
export function readXml(bytes: Buffer): XmlElement {
  let doc = bytes.toString('utf8');
  if (doc.includes('\ufffd') && !Buffer.from(doc, 'utf8').equals(bytes)) throw malformed('the document is not UTF-8');
  if (doc.charCodeAt(0) === 0xfeff) doc = doc.slice(1);
  doc = doc.replace(/\r\n?/g, '\n');
  const stack: Open[] = [];
  let root: XmlElement | undefined;
  let at = 0;
  const text = (raw: string) => {
    const top = stack[stack.length - 1];
    if (!top) {
      if (!ONLY_SPACE.test(raw)) throw malformed('text outside the root element');
      return;
    }
    top.text += raw;
  };
  while (at < doc.length) {
    const lt = doc.indexOf('<', at);
    if (lt < 0) { text(decodeText(doc.slice(at))); break; }
    if (lt > at) text(decodeText(doc.slice(at, lt)));
    if (doc.startsWith('<!--', lt)) {
      const end = doc.indexOf('-->', lt + 4);
      if (end < 0) throw malformed('an unclosed comment');
      at = end + 3;
    } else if (doc.startsWith('<![CDATA[', lt)) {
      if (!stack.length) throw malformed('CDATA outside the root element');
      const end = doc.indexOf(']]>', lt + 9);
      if (end < 0) throw malformed('an unclosed CDATA section');
      text(doc.slice(lt + 9, end));
      at = end + 3;
    } else if (doc.startsWith('<?', lt)) {
      const end = doc.indexOf('?>', lt + 2);
      if (end < 0) throw malformed('an unclosed processing instruction');
      at = end + 2;
    } else if (doc.startsWith('<!', lt)) {
      // DOCTYPE and its entity declarations: S3 takes none (no entity expansion, no external fetches).
      throw malformed('a document type declaration is not allowed');
    } else if (doc.startsWith('</', lt)) {
      NAME.lastIndex = lt + 2;
      const name = NAME.exec(doc)?.[0];
      CLOSE_END.lastIndex = NAME.lastIndex;
      const open = stack.pop();
      if (!name || !open || open.name !== name || !CLOSE_END.test(doc)) throw malformed(`an end tag that closes nothing open (${name ?? '?'})`);
      at = CLOSE_END.lastIndex;
      close(open);
    } else {
      NAME.lastIndex = lt + 1;
      const name = NAME.exec(doc)?.[0];
      if (!name) throw malformed('a < that starts no element');
      let pos = NAME.lastIndex;
      for (ATTRIBUTE.lastIndex = pos; ATTRIBUTE.test(doc); ) pos = ATTRIBUTE.lastIndex;
      TAG_END.lastIndex = pos;
      const end = TAG_END.exec(doc);
      if (!end) throw malformed(`a malformed start tag (${name})`);
      at = TAG_END.lastIndex;
      if (root) throw malformed('more than one root element');
      if (stack.length >= MAX_DEPTH) throw malformed('elements nested too deeply');
      const open: Open = { name, children: [], text: '' };
      if (end[1]) close(open);
      else stack.push(open);
    }
  }
  if (stack.length) throw malformed(`${stack[stack.length - 1]!.name} is not closed`);
  if (!root) throw malformed('no root element');
  return root;

  function close(open: Open): void {
    if (open.children.length && !ONLY_SPACE.test(open.text)) throw malformed(`${open.name} mixes text and elements`);
    const element = new XmlElement(open.name, open.children, open.children.length ? '' : open.text);
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(element);
    else root = element;
  }
}

/** A request document whose root must be `rootName` (MalformedXML otherwise). */
export function parseRequestXml(bytes: Buffer, rootName: string): XmlElement {
  const root = readXml(bytes);
  if (root.name !== rootName) throw malformed(`the document must be a ${rootName}, not a ${root.name}`);
  return root;
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
