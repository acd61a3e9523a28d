import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import type { DriveWriter } from '../../core/contracts/drive.js';
import { DataUnavailableError } from '../../core/errors.js';
import { Geometry } from '../../core/engine/geometry.js';
import { StripeReader } from '../../core/engine/stripe-reader.js';
import { StripeWriter } from '../../core/engine/stripe-writer.js';
import { openMemoryNodes, type MemoryDrive } from '../../plugins/drive-memory/index.js';
import { coderFor } from '../helpers/codecs.js';

const coder = coderFor('native', { k: 4, m: 3, packetSize: 2048 });
const STRIPE = 4 * 65_536;
const QUORUM = coder.params.k + 1;
const shardPath = (i: number) => `data/obj/part.${i}`;

/** Streams `data` into shard files on the drives as the engine does; the shards whose writes failed are left out. */
async function writeObject(drives: readonly MemoryDrive[], data: Uint8Array): Promise<{ written: number[] }> {
  const writers: (DriveWriter | null)[] = await Promise.all(drives.map((d, i) => d.createWriter(shardPath(i)).catch(() => null)));
  const stripes = new StripeWriter(coder, writers, STRIPE / coder.params.k, QUORUM, () => coder, drives.map((_, i) => i));
  for (let at = 0; at < data.byteLength; at += 100_000) await stripes.write(data.subarray(at, at + 100_000));
  await stripes.end();
  const written = writers.flatMap((w, i) => (w ? [i] : []));
  await Promise.all(written.map((i) => writers[i]!.commit()));
  return { written };
}

/** Reads the object back stripe by stripe, and what the reader found damaged. */
async function readObject(drives: readonly MemoryDrive[], size: number): Promise<{ data: Buffer; damaged: number[] }> {
  const geometry = new Geometry(size, STRIPE, coder);
  const reader = new StripeReader('b', 'k', geometry, coder, (i) => drives[i]!.open(shardPath(i)));
  const parts: Uint8Array[] = [];
  try {
    for (let s = 0; s < geometry.stripes; s++) parts.push(...await reader.stripe(s));
  } finally {
    await reader.close();
  }
  return { data: Buffer.concat(parts), damaged: [...reader.damage.shards].sort() };
}

/**
 * The data path on nodes held in memory, faults aimed at chosen calls
 * (MemoryDrive): what the engine's shard files must survive, without a disk.
 */
describe('stripes on memory drives with injected faults (4+3)', () => {
  const data = new Uint8Array(randomBytes(3 * STRIPE + 12_345));

  it('a write goes on when fewer than PARITY nodes fail partway, and reads back bit-exact', async () => {
    const { drives } = openMemoryNodes(7);
    drives[1]!.inject({ calls: ['writer.write'], nth: 3, action: 'fail', code: 'EIO' });
    drives[5]!.inject({ calls: ['writer.write'], nth: 1, action: 'fail', code: 'ENOSPC' });
    expect((await writeObject(drives, data)).written).toEqual([0, 2, 3, 4, 6]);
    const back = await readObject(drives, data.byteLength);
    expect(back.data.equals(data)).toBe(true);
    expect(back.damaged).toEqual([1]);
  });

  it('a write that loses more nodes than its quorum allows fails, and nothing is committed', async () => {
    const { drives } = openMemoryNodes(7);
    for (const n of [0, 3, 6]) drives[n]!.inject({ calls: ['writer.write'], nth: 2, action: 'fail' });
    await expect(writeObject(drives, data)).rejects.toMatchObject({ code: 'ERR_WRITE_QUORUM' });
    for (const d of drives) expect(await d.stat(shardPath(d.index))).toBeUndefined();
  });

  it('reads rebuild blocks that rot on up to PARITY nodes, at the calls chosen, and name those shards', async () => {
    const { drives } = openMemoryNodes(7);
    await writeObject(drives, data);
    drives[0]!.inject({ calls: ['file.read'], action: 'corrupt' });
    drives[2]!.inject({ calls: ['file.read'], nth: 2, action: 'corrupt' });
    drives[3]!.inject({ calls: ['open'], action: 'fail' });
    const back = await readObject(drives, data.byteLength);
    expect(back.data.equals(data)).toBe(true);
    expect(back.damaged).toEqual([0, 2, 3]);
  });

  it('a read that meets more than PARITY bad shards is DataUnavailable, never wrong bytes', async () => {
    const { drives } = openMemoryNodes(7);
    await writeObject(drives, data);
    for (const n of [1, 4, 5, 6]) drives[n]!.inject({ calls: ['file.read'], action: 'corrupt' });
    drives[0]!.inject({ calls: ['open'], action: 'fail' });
    await expect(readObject(drives, data.byteLength)).rejects.toBeInstanceOf(DataUnavailableError);
  });
});
