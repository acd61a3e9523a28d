import { pack, unpack } from 'msgpackr';

import { checksumMatches } from '../../core/checksum.js';
import type { Drive, DriveFile } from '../../core/contracts/drive.js';
import type { Logger } from '../../core/contracts/logger.js';
import { dataSpans, type DataSpan, type ObjectRecord, type ScrubDamage, type ScrubPace, type ScrubReport } from '../../core/contracts/metadata.js';
import { shardPath } from '../../core/layout.js';
import { ScratchBuffer } from '../../core/scratch-buffer.js';
import { blockOffset } from '../../core/engine/geometry.js';
import { FRAME_BYTES } from '../../core/engine/shard-format.js';
import { decodeCopy } from './record-codec.js';

/** Where the scrub keeps its place on the node's shelf (a restart resumes the pass). */
const STATE_ITEM = 'scrub/state';
/** Shelf items read per step. */
const STEP_ITEMS = 256;
/** Bytes of a shard file read per call (several blocks at once). */
const READ_BYTES = 4 << 20;
/** How often the place is saved. */
const SAVE_MS = 5000;
/** Damage kept for the gateway at most (a node that is all rot needs a heal pass, not a list). */
const MAX_DAMAGE = 10_000;

/** Where record copies live on a shelf: `meta/<bucket>/…`. */
const RECORDS = 'meta/';

/** The bucket and folder of a record copy's name, for a damage report. */
function placeOf(name: string): { bucket: string; folder: string } {
  return { bucket: name.slice(RECORDS.length, name.indexOf('/', RECORDS.length)), folder: name.slice(0, name.lastIndexOf('/')) };
}

interface SavedState {
  passStartedMs?: number;
  /** the last shelf item scrubbed in the pass under way ('' at its start) */
  position?: string;
  bytes: number;
  items: number;
  damagedThisPass: number;
  lastPass?: { startedMs: number; finishedMs: number; bytes: number; items: number; damaged: number };
}

/**
 * One node's scrub, on the node's host: walks the node's shelf in name
 * order (every item's own checksum is checked by reading it), decodes each
 * record copy, and reads every block of the shard files the records place
 * on this node against their checksums, at a set pace; a pass finished
 * early waits until the next is due. What fails is kept for the gateway,
 * which repairs those objects only. The place is saved on the shelf, so a
 * restart goes on where the pass was.
 */
export class NodeScrub {
  private state: SavedState = { bytes: 0, items: 0, damagedThisPass: 0 };
  private pace: ScrubPace | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private damaged: ScrubDamage[] = [];
  private wake: (() => void) | undefined;
  /** an operator asked for a pass now */
  private startNow = false;

  /** Shard file bytes are read into this, one chunk after another: a fresh 4 MiB a read cost more in page faults than the read. */
  private readonly chunk = new ScratchBuffer(READ_BYTES);

  constructor(private readonly drive: Drive, private readonly log: Logger) {}

  /** Starts the scrub at `pace` (or sets its pace), and reports where it stands and what it found since the last report. */
  async report(pace: ScrubPace): Promise<Omit<ScrubReport, 'node'>> {
    const changed = this.pace?.rateBytes !== pace.rateBytes || this.pace?.periodMs !== pace.periodMs || pace.now === true;
    this.pace = { rateBytes: pace.rateBytes, periodMs: pace.periodMs };
    if (pace.now && this.state.position === undefined) this.startNow = true;
    if (!this.running && !this.closed) {
      this.state = await this.load();
      this.running = this.loop().catch((err: Error) => {
        this.log.warn('scrub stopped', { node: this.drive.index, error: err.message });
      }).finally(() => { this.running = undefined; });
    } else if (changed) {
      this.wake?.();
    }
    const damaged = this.damaged;
    this.damaged = [];
    const s = this.state;
    return {
      state: s.position !== undefined ? 'scrubbing' : 'waiting',
      ...(s.passStartedMs !== undefined ? { passStartedMs: s.passStartedMs, bytes: s.bytes, items: s.items } : {}),
      ...(s.lastPass ? { lastPass: s.lastPass, dueMs: s.lastPass.startedMs + pace.periodMs } : {}),
      damaged,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    let saved = Date.now();
    while (!this.closed) {
      const pace = this.pace!;
      const s = this.state;
      if (s.position === undefined) {
        const due = s.lastPass && !this.startNow ? s.lastPass.startedMs + pace.periodMs : 0;
        this.startNow = false;
        if (Date.now() < due) {
          await this.sleep(Math.min(due - Date.now(), 60_000));
          continue;
        }
        this.state = { passStartedMs: Date.now(), position: '', bytes: 0, items: 0, damagedThisPass: 0, ...(s.lastPass ? { lastPass: s.lastPass } : {}) };
        continue;
      }
      const started = performance.now();
      const batch = await this.drive.shelf.scan(s.position, STEP_ITEMS);
      let read = 0;
      for (const item of batch) {
        if (this.closed) return;
        read += item.bytes.byteLength;
        // Most items have no shard file here (inline objects, other nodes' files): checked without a wait.
        const record = this.item(item.name, item.bytes);
        if (record) for (const span of dataSpans(record)) read += await this.span(record, span);
        s.items++;
      }
      s.bytes += read;
      s.position = batch[batch.length - 1]?.name ?? s.position;
      // At most rateBytes a second: what this step read, spread over the time it may take (the last step
      // too, or a pass whose last step holds large shard files would finish above its rate).
      const wait = (read / pace.rateBytes) * 1000 - (performance.now() - started);
      if (wait > 0) await this.sleep(wait);
      if (batch.length < STEP_ITEMS) {
        // Not held between passes (days apart by default): 4 MiB for each node of the host.
        this.chunk.release();
        s.lastPass = { startedMs: s.passStartedMs!, finishedMs: Date.now(), bytes: s.bytes, items: s.items, damaged: s.damagedThisPass };
        delete s.position;
        this.log.info('scrub pass finished', { node: this.drive.index, ...s.lastPass });
        await this.save();
        continue;
      }
      if (Date.now() - saved > SAVE_MS) {
        saved = Date.now();
        await this.save();
      }
    }
  }

  /** Checks one shelf item: the record whose shard files are then read, if it has any. */
  private item(name: string, bytes: Uint8Array): ObjectRecord | undefined {
    if (!name.startsWith(RECORDS)) return undefined;
    if (bytes.byteLength === 0) {
      this.found({ ...placeOf(name), what: `record ${name} fails its shelf checksum` });
      return undefined;
    }
    const copy = decodeCopy(bytes);
    if (!copy) {
      this.found({ ...placeOf(name), what: `record ${name} does not decode` });
      return undefined;
    }
    const record = copy.record;
    if (record.inline || record.deleted || !name.endsWith('.rec')) return undefined;
    return record;
  }

  /** Reads this node's shard file of a span block by block; returns the bytes read. */
  private async span(record: ObjectRecord, span: DataSpan): Promise<number> {
    const shard = span.shardNodes.indexOf(this.drive.index);
    if (shard < 0 || span.size === 0) return 0;
    const path = shardPath(record.bucket, record.key, span.dir, shard);
    const where = { bucket: record.bucket, key: record.key, versionId: record.versionId };
    let file: DriveFile | undefined;
    try {
      file = await this.drive.open(path);
    } catch (err) {
      this.found({ ...where, what: `${path}: ${(err as Error).message}` });
      return 0;
    }
    if (!file) {
      this.found({ ...where, what: `${path} is missing` });
      return 0;
    }
    try {
      const bad = await badBlock(file, span, this.chunk);
      if (bad !== undefined) this.found({ ...where, what: `${path}: ${bad}` });
      return file.size;
    } catch (err) {
      this.found({ ...where, what: `${path}: ${(err as Error).message}` });
      return 0;
    } finally {
      await file.close().catch(() => undefined);
    }
  }

  private found(damage: ScrubDamage): void {
    this.state.damagedThisPass++;
    if (this.damaged.length < MAX_DAMAGE) this.damaged.push(damage);
    this.log.warn('scrub found damage', { node: this.drive.index, ...damage });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => { clearTimeout(timer); this.wake = undefined; resolve(); };
    });
  }

  private async load(): Promise<SavedState> {
    const item = await this.drive.shelf.get(STATE_ITEM).catch(() => undefined);
    try {
      if (item) return unpack(item.bytes) as SavedState;
    } catch { /* a rotten place: the pass starts over */ }
    return { bytes: 0, items: 0, damagedThisPass: 0 };
  }

  private async save(): Promise<void> {
    await this.drive.shelf.put([{ name: STATE_ITEM, bytes: pack(this.state) }]).catch(() => undefined);
  }
}

/**
 * The first thing wrong with a shard file, or undefined when every block
 * passes its checksum. Its blocks are the span's (stripeBytes / k, the
 * last one what is left of the file), so the file is checked without the
 * codec that wrote it.
 */
async function badBlock(file: DriveFile, span: DataSpan, into: ScratchBuffer): Promise<string | undefined> {
  const blockBytes = span.stripeBytes / span.codec.k;
  const stripes = Math.ceil(span.size / span.stripeBytes);
  const lastAt = blockOffset(stripes - 1, blockBytes);
  const lastBytes = file.size - lastAt - FRAME_BYTES;
  if (lastBytes <= 0 || lastBytes > blockBytes) return `${file.size} bytes, not a shard file of ${stripes} stripes of ${blockBytes}-byte blocks`;
  const perRead = Math.max(1, Math.floor(READ_BYTES / (FRAME_BYTES + blockBytes)));
  for (let s = 0; s < stripes; s += perRead) {
    const count = Math.min(perRead, stripes - s);
    const at = blockOffset(s, blockBytes);
    const end = s + count === stripes ? file.size : blockOffset(s + count, blockBytes);
    const chunk = await file.read(at, end - at, into.room(end - at));
    if (chunk.byteLength !== end - at) return `short read at ${at}`;
    for (let i = 0; i < count; i++) {
      const from = blockOffset(i, blockBytes);
      const bytes = s + i === stripes - 1 ? lastBytes : blockBytes;
      const framed = chunk.subarray(from, from + FRAME_BYTES + bytes);
      if (!checksumMatches(framed.subarray(FRAME_BYTES), framed, 0)) return `block ${s + i} fails its checksum`;
    }
  }
  return undefined;
}
