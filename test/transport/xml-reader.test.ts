import { describe, expect, it } from 'vitest';

import { readXml } from '../../plugins/transport-h3/xml/xml-reader.js';

const read = (xml: string) => readXml(Buffer.from(xml, 'utf8'));
const keyOf = (xml: string) => read(`<Delete><Object><Key>${xml}</Key></Object></Delete>`).one('Object')!.textOf('Key');
const refusal = (xml: string) => {
  try {
    read(xml);
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'accepted';
};

describe('the XML reader every request body goes through', () => {
  it('keeps text exactly: leading, trailing and inner whitespace, a value that is only a space, tabs', () => {
    for (const key of ['report ', ' report', '  two  spaces  ', ' ', '\t', 'a\tb ', '\n', ' \n ']) {
      expect(keyOf(key)).toBe(key);
    }
  });

  it('decodes each entity exactly once: the five named ones, decimal and hex character references, CDATA as it stands', () => {
    expect(keyOf('&amp;lt;')).toBe('&lt;');
    expect(keyOf('&lt;&gt;&amp;&quot;&apos;')).toBe('<>&"\'');
    expect(keyOf('a&#x0A;b&#13;c&#9;d&#x1F600;')).toBe('a\nb\rc\td\u{1F600}');
    expect(keyOf('<![CDATA[ &amp; <not a tag> ]]>')).toBe(' &amp; <not a tag> ');
    expect(keyOf('x<![CDATA[ y ]]>z')).toBe('x y z');
  });

  it('normalizes line ends as XML 1.0 does (a raw CR is LF), which an escaped CR survives', () => {
    expect(keyOf('a\r\nb\rc')).toBe('a\nb\nc');
    expect(keyOf('a&#13;&#10;b')).toBe('a\r\nb');
  });

  it('reads 4-byte UTF-8, NFC and NFD forms as the distinct strings they are', () => {
    expect(keyOf('\u{1F4A9}\u{10348}')).toBe('\u{1F4A9}\u{10348}');
    expect(keyOf('caf\u00e9')).not.toBe(keyOf('cafe\u0301'));
    expect(keyOf('cafe\u0301')).toBe('cafe\u0301');
  });

  it('ignores whitespace between elements, comments, the declaration and attributes', () => {
    const doc = read('<?xml version="1.0" encoding="UTF-8"?>\n<!-- a comment -->\n<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">\n  <Quiet>true</Quiet>\n  <Object>\n    <Key> k </Key>\n  </Object>\n  <Object><Key a=\'>\' b = "x"/></Object>\n</Delete>\n');
    expect(doc.name).toBe('Delete');
    expect(doc.all('Object').map((o) => o.textOf('Key'))).toEqual([' k ', '']);
    expect(doc.textOf('Quiet')).toBe('true');
  });

  it('refuses what is not well-formed XML, a DTD or entity it does not know, with MalformedXML', () => {
    for (const bad of [
      '', '   ', 'text', '<a>', '<a></b>', '<a><b></a></b>', '<a></a><b></b>', '<a>x</a>y', '<a>&nbsp;</a>', '<a>a & b</a>', '<a>&#0;</a>',
      '<a>&#xD800;</a>', '<a>&#x110000;</a>', '<a><![CDATA[x</a>', '<a><!-- x</a>', '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', '<a>\u0000</a>',
      '<a><b>x</b>text<c/></a>', '<a <b/>', '<1a/>',
    ]) {
      expect([bad, refusal(bad)]).toEqual([bad, 'MalformedXML']);
    }
  });

  it('answers a single child, every child, and refuses a repeated single child or text where elements belong', () => {
    const doc = read('<Rule><ID>a</ID><Tag><Key>k</Key></Tag><Tag><Key>l</Key></Tag></Rule>');
    expect(doc.all('Tag')).toHaveLength(2);
    expect(doc.textOf('Missing')).toBeUndefined();
    expect(() => doc.one('Tag')).toThrow(/more than one Tag/);
    expect(() => doc.textOf('Tag')).toThrow();
    expect(() => doc.only(['ID'])).toThrow(/unknown element Tag/);
  });
});
