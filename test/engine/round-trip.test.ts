import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { InvalidKeyError, InvalidRangeError, NoSuchKeyError } from '../../core/errors.js';
import { chunked, collect, md5, openStore, random, sha256, type TestStore } from '../helpers/engine.js';

const STRIPE = 1 << 20;

describe('the engine (4+3 on 7 local nodes)', () => {
  let store: TestStore;
  beforeAll(async () => { store = await openStore(); });
  afterAll(async () => { await store.close(); });

  const sizes = [0, 1, 100, 65_536, STRIPE - 1, STRIPE, STRIPE + 1, 3 * STRIPE + 17];
  it.each(sizes)('stores %i bytes and gives back exactly those bytes, with the MD5 as ETag', async (size) => {
    const data = random(size);
    const record = await store.engine.put('bucket', `objects/${size}`, chunked(data, size + 1));
    expect(record.size).toBe(size);
    expect(record.etag).toBe(md5(data));
    const { body } = await store.engine.get('bucket', `objects/${size}`);
    const back = await collect(body);
    expect(back.byteLength).toBe(size);
    expect(sha256(back)).toBe(sha256(data));
  });

  it('stores 100 MiB streamed in random chunks', async () => {
    const data = random(100 << 20);
    await store.engine.put('bucket', 'big', chunked(data));
    expect(sha256(await collect((await store.engine.get('bucket', 'big')).body))).toBe(sha256(data));
  });

  it('serves random byte ranges, reading only the stripes they need', async () => {
    const data = random(5 * STRIPE + 12_345);
    await store.engine.put('bucket', 'ranged', chunked(data));
    let seed = 11;
    for (let i = 0; i < 60; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const start = seed % data.byteLength;
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const end = Math.min(data.byteLength - 1, start + (seed % (2 * STRIPE)));
      const { body } = await store.engine.get('bucket', 'ranged', { start, end });
      expect(Buffer.compare(await collect(body), data.subarray(start, end + 1)), `bytes=${start}-${end}`).toBe(0);
    }
  });

  it('refuses a range that starts past the end', async () => {
    await store.engine.put('bucket', 'short', chunked(random(10)));
    await expect(store.engine.get('bucket', 'short', { start: 10, end: 20 })).rejects.toBeInstanceOf(InvalidRangeError);
  });

  it('keeps content type, headers, user metadata and checksums with the object', async () => {
    await store.engine.put('bucket', 'meta', chunked(random(10)), {
      contentType: 'text/plain', headers: { 'cache-control': 'no-cache' }, userMetadata: { colour: 'blue' }, checksums: { crc32: 'AAAAAA==' },
    });
    const record = await store.engine.head('bucket', 'meta');
    expect(record).toMatchObject({ contentType: 'text/plain', headers: { 'cache-control': 'no-cache' }, userMetadata: { colour: 'blue' }, checksums: { crc32: 'AAAAAA==' } });
  });

  it('replaces an object whole on overwrite and removes the old version\'s files', async () => {
    const first = random(3 * STRIPE);
    const second = random(STRIPE / 2);
    await store.engine.put('bucket', 'overwrite', chunked(first));
    await store.engine.put('bucket', 'overwrite', chunked(second));
    expect(sha256(await collect((await store.engine.get('bucket', 'overwrite')).body))).toBe(sha256(second));
  });

  it('forgets deleted objects', async () => {
    await store.engine.put('bucket', 'gone', chunked(random(1000)));
    await store.engine.delete('bucket', 'gone');
    await expect(store.engine.head('bucket', 'gone')).rejects.toBeInstanceOf(NoSuchKeyError);
    await store.engine.delete('bucket', 'gone');
  });

  it('accepts any key S3 allows and keeps it inside the node folders', async () => {
    const keys = ['../../../etc/passwd', '//double//slashes', '/leading', 'ünïcødé/日本語/🙂', 'a'.repeat(1024), 'dot/./dot/../x', ' spaces ', 'back\\slash'];
    for (const key of keys) {
      const data = random(333);
      await store.engine.put('bucket', key, chunked(data));
      expect(sha256(await collect((await store.engine.get('bucket', key)).body)), key).toBe(sha256(data));
    }
  });

  it('refuses keys S3 does not allow', async () => {
    await expect(store.engine.put('bucket', '', chunked(random(1)))).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.engine.put('bucket', 'é'.repeat(513), chunked(random(1)))).rejects.toBeInstanceOf(InvalidKeyError);
  });
});
