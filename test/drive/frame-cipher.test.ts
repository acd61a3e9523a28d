import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { FrameType, writeHeader } from '../../plugins/drive-remote/link/frame.js';
import { frameCipher, frameCiphers } from '../../plugins/drive-remote/link/seal-native.js';
import type { FrameCipher } from '../../plugins/drive-remote/link/seal.js';

/**
 * The node link's frame seal, once per implementation: the addon over
 * Node's OpenSSL and node:crypto. Both must put the same bytes on the wire,
 * so that a gateway with one talks to a node with the other.
 */
const HEADER = 16;
const TAG = 16;

const header = (length: number, stream = 1) => writeHeader({ type: FrameType.Data, flags: 0, stream, length, deadlineMs: 0 });
const wire = (pieces: readonly Buffer[]) => Buffer.concat(pieces);
/** The receiving side's view of a frame on the wire: header, sealed payload (in `cuts` pieces), tag — as copies it may open in place. */
function arrived(frame: Buffer, cuts = 1): { header: Buffer; sealed: Buffer[]; tag: Buffer } {
  const body = Buffer.from(frame.subarray(HEADER, frame.byteLength - TAG));
  const sealed: Buffer[] = [];
  const step = Math.max(1, Math.ceil(body.byteLength / cuts));
  for (let at = 0; at < body.byteLength; at += step) sealed.push(body.subarray(at, Math.min(body.byteLength, at + step)));
  return { header: Buffer.from(frame.subarray(0, HEADER)), sealed, tag: Buffer.from(frame.subarray(frame.byteLength - TAG)) };
}
const opened = (parts: Buffer[] | undefined) => (parts === undefined ? undefined : Buffer.concat(parts));

describe('the frame ciphers this build has', () => {
  it('include the OpenSSL addon, which setup builds, and prefer it', () => {
    expect(frameCiphers.map((c) => c.name)).toEqual(['OpenSSL (addon)', 'node:crypto']);
    expect(frameCipher).toBe(frameCiphers[0]);
  });
});

for (const cipher of frameCiphers) {
  describe(`frame cipher: ${cipher.name}`, () => frameCipherSuite(cipher));
}

function frameCipherSuite(cipher: FrameCipher): void {
  const key = randomBytes(32);

  it('puts the same bytes on the wire as every other cipher, for frames of every size', () => {
    for (const size of [0, 1, 15, 16, 4096, 65_536 + 7, 1 << 20]) {
      const payload = randomBytes(size);
      const pieces = [payload.subarray(0, size >> 1), payload.subarray(size >> 1)];
      const mine = wire(cipher.sealer(key).seal(header(size), pieces));
      expect(mine.byteLength).toBe(HEADER + size + TAG);
      expect(mine.subarray(0, HEADER).equals(header(size))).toBe(true);
      if (size >= 16) expect(mine.includes(payload.subarray(0, 16))).toBe(false);
      for (const other of frameCiphers) expect(wire(other.sealer(key).seal(header(size), [payload])).equals(mine)).toBe(true);
    }
  });

  it('opens what any cipher sealed, in order, however the socket cut the payload', () => {
    for (const other of frameCiphers) {
      const sealer = other.sealer(key);
      const opener = cipher.opener(key);
      for (let n = 0; n < 5; n++) {
        const payload = randomBytes(1000 * n + 3);
        const frame = wire(sealer.seal(header(payload.byteLength, n), [payload]));
        const { header: h, sealed, tag } = arrived(frame, n + 1);
        expect(opened(opener.open(h, sealed, tag))?.equals(payload)).toBe(true);
      }
    }
  });

  it('fails a frame whose payload, header or tag was changed', () => {
    const payload = randomBytes(300_000);
    const frame = wire(cipher.sealer(key).seal(header(payload.byteLength), [payload]));
    for (const at of [3, HEADER + 150_000, frame.byteLength - 1]) {
      const changed = Buffer.from(frame);
      changed[at] = changed[at]! ^ 0x40;
      const { header: h, sealed, tag } = arrived(changed, 3);
      expect(cipher.opener(key).open(h, sealed, tag)).toBeUndefined();
    }
  });

  it('fails a frame out of its place: replayed, skipped or under another key', () => {
    const sealer = cipher.sealer(key);
    const first = wire(sealer.seal(header(10), [randomBytes(10)]));
    const second = wire(sealer.seal(header(10), [randomBytes(10)]));
    const opener = cipher.opener(key);
    const a = arrived(first);
    expect(opener.open(a.header, a.sealed, a.tag)).toBeDefined();
    const again = arrived(first);
    expect(opener.open(again.header, again.sealed, again.tag)).toBeUndefined();
    const skipped = arrived(second);
    expect(cipher.opener(key).open(skipped.header, skipped.sealed, skipped.tag)).toBeUndefined();
    const stranger = arrived(first);
    expect(cipher.opener(randomBytes(32)).open(stranger.header, stranger.sealed, stranger.tag)).toBeUndefined();
  });

  it('leaves the payload it seals as it was', () => {
    const payload = randomBytes(200_000);
    const copy = Buffer.from(payload);
    cipher.sealer(key).seal(header(payload.byteLength), [payload]);
    expect(payload.equals(copy)).toBe(true);
  });
}
