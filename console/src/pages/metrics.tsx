import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import { metricsText } from '../api';
import { ErrorLine } from '../errors';
import { bytes } from '../format';
import { MetricsRates, type Point } from '../prometheus';

const SCRAPE_MS = 2000;
const KEEP = 150;

function Chart(props: { title: string; points: Point[]; series: { label: string; value: (p: Point) => number | undefined; color: string }[]; unit: (v: number) => string; axisSize?: number }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot>();
  const data = (): uPlot.AlignedData => [props.points.map((p) => p.atMs / 1000), ...props.series.map((s) => props.points.map((p) => s.value(p) ?? null))] as uPlot.AlignedData;
  useEffect(() => {
    const width = () => Math.max(200, el.current?.clientWidth ?? 600);
    plot.current = new uPlot({
      width: width(), height: 180, title: props.title,
      // The last five minutes, however few points there are yet.
      scales: { x: { time: true, range: (_: uPlot, _min: number, max: number) => [max - (KEEP * SCRAPE_MS) / 1000, max] } },
      series: [{}, ...props.series.map((s) => ({ label: s.label, stroke: s.color, width: 2, value: (_: uPlot, v: number | null) => (v === null ? '—' : props.unit(v)) }))],
      axes: [{}, { values: (_: uPlot, ticks: number[]) => ticks.map(props.unit), size: props.axisSize ?? 70 }],
    }, data(), el.current!);
    const resize = () => plot.current?.setSize({ width: width(), height: 180 });
    addEventListener('resize', resize);
    return () => { removeEventListener('resize', resize); plot.current?.destroy(); };
  }, []);
  useEffect(() => { plot.current?.setData(data()); }, [props.points]);
  return <div class="chart card"><div ref={el} /></div>;
}

export function Metrics() {
  const [points, setPoints] = useState<Point[]>([]);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const rates = new MetricsRates();
    const scrape = () => metricsText().then((text) => {
      const p = rates.add(text);
      // The first scrape of each worker only sets its baseline.
      if (p) setPoints((old) => [...old, p].slice(-KEEP));
      setError(undefined);
    }, setError);
    void scrape();
    const timer = setInterval(scrape, SCRAPE_MS);
    return () => clearInterval(timer);
  }, []);
  const latest = points[points.length - 1];
  return (
    <section data-points={points.length}>
      <h2>Metrics</h2>
      <ErrorLine error={error} />
      <p class="muted" data-testid="metrics-now">{latest ? `now: ${latest.requests.toFixed(1)} requests/s, in ${bytes(latest.bytesIn)}/s, out ${bytes(latest.bytesOut)}/s, p50 ${latest.p50?.toFixed(1) ?? '—'} ms, p99 ${latest.p99?.toFixed(1) ?? '—'} ms` : 'collecting…'}</p>
      <div class="charts">
        <Chart title="Requests per second" points={points} unit={(v) => v.toFixed(1)} series={[{ label: 'requests/s', value: (p) => p.requests, color: '#b8860b' }]} />
        <Chart title="Bytes per second" axisSize={95} points={points} unit={(v) => `${bytes(v)}/s`} series={[{ label: 'in', value: (p) => p.bytesIn, color: '#2a7ab0' }, { label: 'out', value: (p) => p.bytesOut, color: '#3a9a5b' }]} />
        <Chart title="Latency" points={points} unit={(v) => `${v.toFixed(1)} ms`} series={[{ label: 'p50', value: (p) => p.p50, color: '#6a5acd' }, { label: 'p99', value: (p) => p.p99, color: '#c0392b' }]} />
      </div>
      <p class="muted">Scraped from /_kintsugi/metrics every {SCRAPE_MS / 1000} s; latency quantiles are the upper bounds of the histogram buckets they fall in.</p>
    </section>
  );
}
