import type { ErasureCoder } from '../contracts/codec.js';
import type { DriveFile } from '../contracts/drive.js';
import { DataUnavailableError } from '../errors.js';
import type { Geometry } from './geometry.js';
import { readBlock, StripeBuffers } from './shard-format.js';

/** What a read found wrong, for the healer. */
export interface ReadDamage {
  /** shard indexes that were missing, unreadable or failed their checksum */
  readonly shards: Set<number>;
}

/**
 * Reads stripes of one object version. Data shards are read first and, when
 * all k blocks of a stripe pass their checksum, returned without decoding.
 * A missing, short or rotten block pulls in parity and the stripe is rebuilt;
 * more than m bad blocks is a DataUnavailableError. Files are opened once and
 * stay readable even if a newer version deletes them mid-read.
 */
export class StripeReader {
  private readonly files = new Map<number, Promise<DriveFile | undefined>>();
  readonly damage: ReadDamage = { shards: new Set() };

  constructor(
    private readonly bucket: string,
    private readonly key: string,
    private readonly geometry: Geometry,
    private readonly coder: ErasureCoder,
    /** shard i's file (a shard file on its node, or an inline shard), undefined when missing */
    private readonly openShard: (shard: number) => Promise<DriveFile | undefined>,
  ) {}

  private file(shard: number): Promise<DriveFile | undefined> {
    let f = this.files.get(shard);
    if (!f) {
      f = this.openShard(shard).catch(() => undefined);
      this.files.set(shard, f);
    }
    return f;
  }

  /**
   * Opens the data shards' files up front (they then survive a concurrent
   * overwrite deleting them) and says how many are missing.
   */
  async openData(): Promise<number> {
    const files = await Promise.all(Array.from({ length: this.coder.params.k }, (_, i) => this.file(i)));
    return files.filter((f) => !f).length;
  }

  /** Opens every shard's file (data and parity) and says how many are missing. */
  async openAll(): Promise<number> {
    const { k, m } = this.coder.params;
    const files = await Promise.all(Array.from({ length: k + m }, (_, i) => this.file(i)));
    return files.filter((f) => !f).length;
  }

  /** Shard i's block of stripe s, or null when it is missing or fails its checksum. */
  private async block(shard: number, s: number): Promise<Uint8Array | null> {
    const f = await this.file(shard);
    // A read that fails (a node on another host dropped a connection, timed
    // out) is tried once more before the shard counts as damaged: with PARITY
    // shards already lost, one blip would otherwise fail the whole read.
    for (let attempt = 0; f && attempt < 2; attempt++) {
      let block: Uint8Array | null;
      try {
        block = await readBlock(f, this.geometry, s);
      } catch {
        continue;
      }
      if (block) return block;
      break;
    }
    this.damage.shards.add(shard);
    return null;
  }

  /** The data bytes of stripe s, as the k data blocks (trimmed) when healthy, else one rebuilt buffer. */
  async stripe(s: number): Promise<Uint8Array[]> {
    const { k, m } = this.coder.params;
    const shards: (Uint8Array | null)[] = new Array(k + m).fill(null);
    // Shards whose file is known to be missing are not asked again: the
    // first k others (data first) are read together in one round.
    const absent = new Set<number>();
    for (const i of this.damage.shards) if ((await this.file(i)) === undefined) absent.add(i);
    const order = Array.from({ length: k + m }, (_, i) => i).filter((i) => !absent.has(i));
    let next = 0;
    let sound = 0;
    while (sound < k && next < order.length) {
      const batch = order.slice(next, next + (k - sound));
      next += batch.length;
      const got = await Promise.all(batch.map((i) => this.block(i, s)));
      got.forEach((b, j) => { shards[batch[j]!] = b; });
      sound += got.filter((b) => b !== null).length;
    }
    if (sound < k) {
      throw new DataUnavailableError(`stripe ${s} of ${this.bucket}/${this.key}: ${k + m - sound} of ${k + m} shards lost, at most ${m} can be rebuilt`);
    }
    if (shards.slice(0, k).every((b) => b !== null)) return trim(shards.slice(0, k) as Uint8Array[], this.geometry.dataBytesOf(s));
    // Rebuild into aligned buffers and hand out the data shards as views:
    // no copy of the stripe into one buffer.
    const erased = shards.flatMap((b, i) => (b === null ? [i] : []));
    const fresh = new StripeBuffers(erased.length, this.geometry.blockBytesOf(s));
    let used = 0;
    const full = shards.map((b) => b ?? fresh.block(used++));
    await this.coder.reconstruct(full, erased);
    return trim(full.slice(0, k), this.geometry.dataBytesOf(s));
  }

  async close(): Promise<void> {
    await Promise.all([...this.files.values()].map(async (f) => (await f)?.close().catch(() => undefined)));
  }
}

/** The first `bytes` bytes of the concatenation of `blocks`, as views. */
function trim(blocks: Uint8Array[], bytes: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0, left = bytes; left > 0 && i < blocks.length; i++) {
    const b = blocks[i]!;
    out.push(left >= b.byteLength ? b : b.subarray(0, left));
    left -= b.byteLength;
  }
  return out;
}
