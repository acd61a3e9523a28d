/* Rates and latency quantiles from the server's Prometheus text. Each
   server worker answers with its own counters (label `worker`), and a
   scrape reaches one of them: rates are taken per worker between two of its
   own scrapes, then added up. */

export interface Sample { name: string; labels: Record<string, string>; value: number }

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

interface WorkerSnapshot { atMs: number; requests: number; bytesIn: number; bytesOut: number; buckets: Map<number, number> }
export interface WorkerRates { atMs: number; requests: number; bytesIn: number; bytesOut: number; buckets: Map<number, number> }
export interface Point { atMs: number; requests: number; bytesIn: number; bytesOut: number; p50?: number; p99?: number }

const sum = (samples: Sample[], name: string) => samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);

function snapshot(samples: Sample[], atMs: number): WorkerSnapshot {
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== 'kintsugi_request_duration_seconds_bucket') continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  return { atMs, requests: sum(samples, 'kintsugi_requests_total'), bytesIn: sum(samples, 'kintsugi_bytes_in_total'), bytesOut: sum(samples, 'kintsugi_bytes_out_total'), buckets };
}

/** The latency below which `q` of the requests counted in cumulative `buckets` fell (the bucket's upper bound). */
export function quantile(buckets: Map<number, number>, q: number): number | undefined {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? 0;
  if (total <= 0) return undefined;
  const finite = bounds.filter((b) => b !== Infinity);
  for (const b of finite) if ((buckets.get(b) ?? 0) >= q * total) return b;
  return finite[finite.length - 1];
}

export class MetricsRates {
  private readonly last = new Map<string, WorkerSnapshot>();
  private readonly rates = new Map<string, WorkerRates>();

  /** Takes one scrape; returns the cluster's rates now (undefined until some worker was scraped twice). */
  add(text: string, atMs = Date.now()): Point | undefined {
    const samples = parseMetrics(text);
    const worker = samples.find((s) => s.labels.worker !== undefined)?.labels.worker ?? 'server';
    const now = snapshot(samples, atMs);
    const before = this.last.get(worker);
    this.last.set(worker, now);
    if (before && now.requests >= before.requests) {
      const dt = (now.atMs - before.atMs) / 1000;
      const buckets = new Map<number, number>();
      for (const [le, n] of now.buckets) buckets.set(le, n - (before.buckets.get(le) ?? 0));
      this.rates.set(worker, { atMs, requests: (now.requests - before.requests) / dt, bytesIn: (now.bytesIn - before.bytesIn) / dt, bytesOut: (now.bytesOut - before.bytesOut) / dt, buckets });
    }
    // Workers not heard from for a while (stopped, replaced) no longer count.
    for (const [w, r] of this.rates) if (atMs - r.atMs > 20_000) this.rates.delete(w);
    if (this.rates.size === 0) return undefined;
    const point: Point = { atMs, requests: 0, bytesIn: 0, bytesOut: 0 };
    const merged = new Map<number, number>();
    for (const r of this.rates.values()) {
      point.requests += r.requests;
      point.bytesIn += r.bytesIn;
      point.bytesOut += r.bytesOut;
      for (const [le, n] of r.buckets) merged.set(le, (merged.get(le) ?? 0) + n);
    }
    const p50 = quantile(merged, 0.5);
    const p99 = quantile(merged, 0.99);
    if (p50 !== undefined) point.p50 = p50 * 1000;
    if (p99 !== undefined) point.p99 = p99 * 1000;
    return point;
  }
}
