import type { MetadataStore } from '../core/contracts/metadata.js';
import type { BucketStore } from '../core/engine/buckets.js';

/** Keys in every bucket, from the listing indexes (what a heal pass is about to walk, near enough: keys deleted to a marker are not listed). */
export async function countObjects(buckets: BucketStore, metadata: MetadataStore): Promise<number> {
  let total = 0;
  for (const { name } of await buckets.list()) {
    let startAfter: string | undefined;
    for (;;) {
      const page = await metadata.list({ bucket: name, maxKeys: 1000, ...(startAfter !== undefined ? { startAfter } : {}) });
      total += page.entries.length;
      if (!page.isTruncated || page.next === undefined) break;
      startAfter = page.next;
    }
  }
  return total;
}

const clock = (s: number) => (Number.isFinite(s) ? `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}` : '-:--');

/**
 * What `kintsugi heal` shows while it works: on a terminal, one line
 * redrawn — a bar, objects checked of the total, the rate and the time
 * left; elsewhere (a log, CI) a plain line at every tenth of the way.
 */
export class HealProgress {
  private readonly started = performance.now();
  private lastTenth = 0;

  constructor(private readonly total: number, private readonly out: NodeJS.WriteStream = process.stderr) {}

  update(done: number, current: string, found?: { bytesRewritten: number }): void {
    const rebuilt = found ? `, ${(found.bytesRewritten / 1e6).toFixed(1)} MB rebuilt` : '';
    const seconds = (performance.now() - this.started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const total = Math.max(this.total, done);
    const share = total > 0 ? done / total : 1;
    const left = rate > 0 ? (total - done) / rate : Infinity;
    if (this.out.isTTY && this.total === 0) {
      this.out.write(`\r${done} objects checked${rebuilt}  ${rate.toFixed(0)}/s  ${current.slice(0, 40).padEnd(40)}`);
      return;
    }
    if (this.out.isTTY) {
      const width = 24;
      const bar = '#'.repeat(Math.round(share * width)).padEnd(width, '-');
      this.out.write(`\r[${bar}] ${done} of ${total} objects${rebuilt}  ${rate.toFixed(0)}/s  ${clock(left)} left  ${current.slice(0, 40).padEnd(40)}`);
      return;
    }
    // No total known (no bucket listed): a line every thousand objects.
    const tenth = this.total > 0 ? Math.floor(share * 10) : Math.floor(done / 1000);
    if (tenth > this.lastTenth || (this.total > 0 && done === total)) {
      this.lastTenth = tenth;
      this.out.write(this.total > 0
        ? `heal: ${done} of ${total} objects checked (${Math.round(share * 100)} %)${rebuilt}, ${rate.toFixed(0)}/s, ${clock(left)} left\n`
        : `heal: ${done} objects checked${rebuilt}, ${rate.toFixed(0)}/s\n`);
    }
  }

  end(): void {
    if (this.out.isTTY) this.out.write('\n');
  }
}
