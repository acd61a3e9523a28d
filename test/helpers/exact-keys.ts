/**
 * Keys that a reader which trims, re-encodes or normalizes would turn into
 * another key. Each must be stored, listed, copied, tagged, deleted and
 * uploaded in parts as exactly itself.
 */
export const EXACT_KEYS: Record<string, string> = {
  'a trailing space': 'report ',
  'a leading space': ' report',
  'runs of spaces at the ends and inside': '  two  spaces  ',
  'only a space': ' ',
  'a tab and a trailing space': 'a\tb ',
  'a newline': 'line\nbreak',
  'a carriage return': 'cr\rkey',
  'CR LF at the end': 'crlf\r\n',
  'XML specials': 'a&b<c>d"e\'f&amp;',
  'percent signs and plus': '100%+1 %2B+',
  'NFC': 'caf\u00e9',
  'NFD': 'cafe\u0301',
  '4-byte UTF-8': '\u{1F4A9}/\u{10348} x',
  'the 1024-byte maximum': `${'k'.repeat(1016)}\u{1F600} end`,
};

/** The keys those would wrongly become: they exist too, and nothing may touch them. */
export const NEIGHBOURS = ['report', 'two  spaces', 'a\tb', 'linebreak', 'cr\nkey', 'crlf', 'crlf\n', 'cafe'];
