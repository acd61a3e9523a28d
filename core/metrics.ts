/**
 * A small Prometheus registry: counters, gauges and histograms with labels,
 * rendered in the text exposition format. Enough for one process's view;
 * each server worker serves its own (label `worker`).
 */
type Labels = Record<string, string>;

const key = (labels: Labels) => Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',');

interface Family {
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  values: Map<string, number>;
  buckets?: number[];
  /** histogram: per label set, counts per bucket, sum and count */
  histos?: Map<string, { counts: number[]; sum: number; count: number }>;
}

/** Request latency buckets in seconds: 1 ms to 1 minute. */
export const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class Metrics {
  private readonly families = new Map<string, Family>();
  private readonly collectors: (() => Promise<void> | void)[] = [];

  constructor(private readonly constLabels: Labels = {}) {}

  private family(name: string, type: Family['type'], help: string, buckets?: number[]): Family {
    let f = this.families.get(name);
    if (!f) {
      f = { type, help, values: new Map(), ...(buckets ? { buckets, histos: new Map() } : {}) };
      this.families.set(name, f);
    }
    return f;
  }

  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const f = this.family(name, 'counter', help);
    const k = key(labels);
    f.values.set(k, (f.values.get(k) ?? 0) + by);
  }

  set(name: string, help: string, labels: Labels, value: number): void {
    this.family(name, 'gauge', help).values.set(key(labels), value);
  }

  observe(name: string, help: string, labels: Labels, value: number, buckets = LATENCY_BUCKETS): void {
    const f = this.family(name, 'histogram', help, buckets);
    const k = key(labels);
    let h = f.histos!.get(k);
    if (!h) { h = { counts: new Array(buckets.length).fill(0), sum: 0, count: 0 }; f.histos!.set(k, h); }
    buckets.forEach((b, i) => { if (value <= b) h!.counts[i]!++; });
    h.sum += value;
    h.count++;
  }

  /** Runs before each rendering (gauges read at scrape time, e.g. node health). */
  collect(fn: () => Promise<void> | void): void {
    this.collectors.push(fn);
  }

  async render(): Promise<string> {
    for (const c of this.collectors) await c();
    const constant = key(this.constLabels);
    const join = (k: string, extra = '') => [constant, k, extra].filter(Boolean).join(',');
    const lines: string[] = [];
    for (const [name, f] of this.families) {
      lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      if (f.type === 'histogram') {
        for (const [k, h] of f.histos!) {
          f.buckets!.forEach((b, i) => lines.push(`${name}_bucket{${join(k, `le="${b}"`)}} ${h.counts[i]}`));
          lines.push(`${name}_bucket{${join(k, 'le="+Inf"')}} ${h.count}`, `${name}_sum{${join(k)}} ${h.sum}`, `${name}_count{${join(k)}} ${h.count}`);
        }
      } else {
        for (const [k, v] of f.values) lines.push(`${name}{${join(k)}} ${v}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}
