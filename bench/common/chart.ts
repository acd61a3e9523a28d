import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** One measured workload: each system's figure, and the ceiling it is held against (if any). */
export interface ChartRow {
  readonly name: string;
  readonly unit: string;
  readonly values: Readonly<Record<string, number | undefined>>;
  readonly ceiling?: number;
  readonly ceilingName?: string;
}

const COLORS = ['#c2410c', '#2563eb', '#059669', '#7c3aed'];
const BAR = 14;
const GAP = 10;
const LABEL = 300;
const PLOT = 420;
const PAD = 16;

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/**
 * A bar chart of a benchmark's table as SVG: one panel per unit (objects/s,
 * MB/s, …), a group of bars per workload (one per system, scaled within the
 * panel, the figure at the bar's end) and the workload's ceiling as a dashed
 * mark. Plain SVG text, no dependencies: it is committed and shown in the
 * README as it is.
 */
export function barChart(title: string, systems: readonly string[], rows: readonly ChartRow[]): string {
  const units = [...new Set(rows.map((r) => r.unit))];
  const out: string[] = [];
  let y = PAD + 24;
  out.push(`<text x="${PAD}" y="${PAD + 8}" font-size="15" font-weight="bold">${escape(title)}</text>`);
  systems.forEach((s, i) => {
    out.push(`<rect x="${LABEL + PAD + i * 130}" y="${PAD}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`,
      `<text x="${LABEL + PAD + i * 130 + 16}" y="${PAD + 10}" font-size="12">${escape(s)}</text>`);
  });
  for (const unit of units) {
    const panel = rows.filter((r) => r.unit === unit);
    const max = Math.max(...panel.flatMap((r) => [...Object.values(r.values), r.ceiling].filter((v): v is number => v !== undefined && Number.isFinite(v))), 1);
    y += 14;
    out.push(`<text x="${PAD}" y="${y}" font-size="13" font-weight="bold">${escape(unit)}</text>`);
    y += 8;
    for (const row of panel) {
      const bars = systems.filter((s) => row.values[s] !== undefined && Number.isFinite(row.values[s]));
      const height = Math.max(bars.length, 1) * BAR;
      out.push(`<text x="${PAD}" y="${y + height / 2 + 4}" font-size="12">${escape(row.name)}</text>`);
      bars.forEach((s) => {
        const v = row.values[s]!;
        const w = Math.max(1, (v / max) * PLOT);
        const by = y + bars.indexOf(s) * BAR;
        out.push(`<rect x="${LABEL + PAD}" y="${by}" width="${w.toFixed(1)}" height="${BAR - 2}" fill="${COLORS[systems.indexOf(s) % COLORS.length]}"/>`,
          `<text x="${LABEL + PAD + w + 4}" y="${by + BAR - 4}" font-size="11">${num(v)}</text>`);
      });
      if (row.ceiling !== undefined && Number.isFinite(row.ceiling)) {
        const x = LABEL + PAD + (row.ceiling / max) * PLOT;
        out.push(`<line x1="${x.toFixed(1)}" y1="${y - 2}" x2="${x.toFixed(1)}" y2="${y + height}" stroke="#111" stroke-dasharray="3,2"/>`,
          `<title>${escape(`${row.ceilingName ?? 'ceiling'}: ${num(row.ceiling)}`)}</title>`);
      }
      y += height + GAP;
    }
  }
  const width = LABEL + PLOT + PAD * 2 + 80;
  const height = y + PAD + 14;
  out.push(`<text x="${PAD}" y="${height - PAD}" font-size="11" fill="#555">dashed: the workload's ceiling (disk, transport or local nodes)</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${out.join('\n')}\n</svg>\n`;
}

export function writeChart(file: string, svg: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, svg);
  process.stdout.write(`wrote ${file}\n`);
}
