import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';

import { checksumInto, CHECKSUM_BYTES } from '../../core/checksum.js';
import { blockOffset, Geometry } from '../../core/engine/geometry.js';
import { FRAME_BYTES, frameBlock, readBlock, StripeBuffers, unframe } from '../../core/engine/shard-format.js';
import { MemoryFile } from '../../core/engine/memory-file.js';
import { decodeCopy, encodeRecord } from '../../plugins/metadata-msgpack/record-codec.js';
import type { NodeSet } from '../../core/contracts/nodes.js';
import { SHELF_FILE } from '../../plugins/drive-local/folder-layout.js';
import { TOKENS } from '../../core/tokens.js';
import { coderFor, randomShards } from '../helpers/codecs.js';
import { chunked, collect, openStore, random, sha256, tempDir } from '../helpers/engine.js';

const coder = coderFor('native', { k: 4, m: 3, packetSize: 2048 });

describe('the shard-file format', () => {
  it('frames a block as its checksum then the block, whether sealed in stripe buffers or copied', () => {
    const stripe = new StripeBuffers(7, coder.shardSizeFor(1 << 20));
    const block = stripe.block(2);
    block.set(randomShards(1, block.byteLength)[0]!);
    const sealed = stripe.seal(2);
    expect(sealed.byteLength).toBe(FRAME_BYTES + block.byteLength);
    expect(Buffer.compare(sealed, frameBlock(block))).toBe(0);
    // Blocks start 64-byte aligned (gf-complete's SIMD paths), the checksum just before.
    expect(block.byteOffset % 64).toBe(0);
    expect(Buffer.from(unframe(sealed, block.byteLength)!).equals(block)).toBe(true);
  });

  it('refuses a block that is short, or whose checksum or bytes rotted', () => {
    const framed = frameBlock(Buffer.from(randomShards(1, 4096)[0]!));
    expect(unframe(framed.subarray(0, framed.byteLength - 1), 4096)).toBeNull();
    const rotten = Buffer.from(framed);
    rotten[FRAME_BYTES + 100]! ^= 1;
    expect(unframe(rotten, 4096)).toBeNull();
    const badSum = Buffer.from(framed);
    badSum[0]! ^= 1;
    expect(unframe(badSum, 4096)).toBeNull();
  });

  it('lays stripes out at the offsets Geometry gives, the last one short, and reads each block back', async () => {
    const stripeBytes = 4 * coder.shardSizeFor(1 << 20);
    const size = 2 * stripeBytes + 12345;
    const g = new Geometry(size, stripeBytes, coder);
    expect([g.stripes, g.blockBytes, g.lastBlockBytes]).toEqual([3, stripeBytes / 4, coder.shardSizeFor(12345)]);
    expect([g.dataBytesOf(0), g.dataBytesOf(2)]).toEqual([stripeBytes, 12345]);
    expect([0, 1, 2].map((s) => g.offset(s))).toEqual([0, 1, 2].map((s) => blockOffset(s, g.blockBytes)));
    // A shard file: each stripe's framed block at its offset, end to end.
    const blocks = [0, 1, 2].map((s) => Buffer.from(randomShards(1, g.blockBytesOf(s))[0]!));
    const file = Buffer.concat(blocks.map(frameBlock));
    expect(file.byteLength).toBe(g.shardFileBytes);
    for (const s of [0, 1, 2]) expect(Buffer.from((await readBlock(new MemoryFile(file), g, s))!).equals(blocks[s]!)).toBe(true);
    expect(CHECKSUM_BYTES).toBe(FRAME_BYTES);
  });
});

describe('a record\'s copies', () => {
  it('are the record packed once with each node\'s shard as the map\'s last field: the same bytes as packing them together, for every size of shard', () => {
    const record = {
      bucket: 'b', key: 'k', versionId: '01a2b3c4d5e6f70000000000', size: 10, etag: 'e', createdMs: 1, codec: coder.params, stripeBytes: 4096,
      shardNodes: [0, 1, 2, 3, 4, 5, 6], inline: true,
    };
    const packr = new Packr({ useRecords: false, moreTypes: false });
    const sealed = (body: Buffer) => {
      const out = Buffer.alloc(body.byteLength + CHECKSUM_BYTES);
      out.set(body);
      checksumInto(body, out, body.byteLength);
      return out;
    };
    // bin8, bin16 and bin32 headers, and their edges.
    for (const n of [0, 1, 255, 256, 65_535, 65_536, 100_000]) {
      const shard = random(n);
      const bytes = Buffer.from(encodeRecord(record, shard));
      expect(bytes.equals(sealed(packr.pack({ ...record, shard })))).toBe(true);
      const copy = decodeCopy(bytes)!;
      expect(copy.record).toEqual(record);
      expect(Buffer.from(copy.shard!).equals(shard)).toBe(true);
    }
    expect(Buffer.from(encodeRecord(record)).equals(sealed(packr.pack(record)))).toBe(true);
  });
});

describe('records written before stripeBytes had its name', () => {
  it('read back with their stripe size (then called blockSize), parts included', () => {
    // A record copy as the msgpack plugin wrote it before: a plain map, then its xxHash64.
    const old = {
      bucket: 'b', key: 'k', versionId: '01a2b3c4d5e6f70000000000', size: 10, etag: 'e', createdMs: 1, codec: coder.params, blockSize: 4096, shardNodes: [0, 1, 2, 3, 4, 5, 6],
      parts: [{ dir: 'd', size: 10, codec: coder.params, blockSize: 4096, shardNodes: [0, 1, 2, 3, 4, 5, 6], partNumber: 1, etag: 'p' }],
    };
    const body = new Packr({ useRecords: false, moreTypes: false }).pack(old);
    const bytes = Buffer.alloc(body.byteLength + 8);
    bytes.set(body);
    checksumInto(body, bytes, body.byteLength);
    const record = decodeCopy(bytes)!.record;
    expect(record.stripeBytes).toBe(4096);
    expect(record.parts![0]!.stripeBytes).toBe(4096);
    expect('blockSize' in record).toBe(false);
    // Written again, it carries the new name only.
    expect(decodeCopy(encodeRecord(record))!.record).toEqual(record);
  });
});

describe('record files of node folders from before shelves', () => {
  it('are moved onto the shelves when the nodes are checked (as the server does before it serves), every object then readable and listed', async () => {
    const path = tempDir('kintsugi-legacy-');
    const first = await openStore({}, path);
    const objects = new Map([['small', random(1000)], ['large', random(300_000)], ['empty', random(0)]]);
    for (const [key, data] of objects) await first.engine.put('legacy', key, chunked(data));
    // Every node as the previous version left it: each record a file under meta/, no shelf.
    for (const drive of first.container.resolve<NodeSet>(TOKENS.Nodes).drives) {
      for (let after = 'meta/'; ;) {
        const batch = await drive.shelf.scan(after, 100);
        for (const item of batch) await drive.writeFile(item.name, item.bytes);
        if (batch.length < 100) break;
        after = batch[batch.length - 1]!.name;
      }
    }
    await first.close();
    for (let n = 0; n < 7; n++) rmSync(join(first.nodeFolder(n), ...SHELF_FILE.split('/')));

    const store = await openStore({}, path);
    await expect(store.engine.head('legacy', 'small')).rejects.toMatchObject({ code: 'ERR_NO_SUCH_KEY' });
    await store.container.resolve(TOKENS.MetadataStore).checkDerived({ wait: true });
    for (const [key, data] of objects) expect(sha256(await collect((await store.engine.get('legacy', key)).body))).toBe(sha256(data));
    expect((await store.engine.list({ bucket: 'legacy', maxKeys: 10 })).entries.map((e) => e.key)).toEqual(['empty', 'large', 'small']);
    for (let n = 0; n < 7; n++) expect(existsSync(join(store.nodeFolder(n), 'meta'))).toBe(false);
    await store.close();
  });
});
