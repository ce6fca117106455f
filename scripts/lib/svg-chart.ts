// A grouped horizontal bar chart as a standalone SVG file: one panel per metric, one bar per series,
// with the min–max range drawn as a whisker. No dependencies; opens in any browser.
import type { Summary } from './stats';

export interface ChartPanel {
  readonly title: string;
  readonly unit: string;
  readonly bars: readonly { readonly label: string; readonly value: Summary }[];
}

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'];

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Renders the panels into one SVG document. */
export function renderChart(title: string, subtitle: string, panels: readonly ChartPanel[]): string {
  const width = 860;
  const labelWidth = 230;
  const barHeight = 18;
  const gap = 6;
  const plotWidth = width - labelWidth - 120;
  const labels = [...new Set(panels.flatMap((p) => p.bars.map((b) => b.label)))];
  const color = (label: string) => COLORS[labels.indexOf(label) % COLORS.length];
  const parts: string[] = [];
  let y = 84;
  for (const panel of panels) {
    parts.push(`<text x="20" y="${y}" font-size="15" font-weight="bold">${escape(panel.title)} (${escape(panel.unit)})</text>`);
    y += 12;
    const max = Math.max(...panel.bars.map((b) => (Number.isFinite(b.value.max) ? b.value.max : 0)), 1e-9);
    for (const bar of panel.bars) {
      const scale = (v: number) => (Number.isFinite(v) ? (v / max) * plotWidth : 0);
      const w = scale(bar.value.median);
      parts.push(`<text x="${labelWidth - 8}" y="${y + barHeight - 5}" font-size="12" text-anchor="end">${escape(bar.label)}</text>`);
      parts.push(`<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${color(bar.label)}"/>`);
      const x1 = labelWidth + scale(bar.value.min);
      const x2 = labelWidth + scale(bar.value.max);
      const cy = y + barHeight / 2;
      parts.push(`<line x1="${x1.toFixed(1)}" y1="${cy}" x2="${x2.toFixed(1)}" y2="${cy}" stroke="#222" stroke-width="1.5"/>`);
      for (const x of [x1, x2]) parts.push(`<line x1="${x.toFixed(1)}" y1="${cy - 4}" x2="${x.toFixed(1)}" y2="${cy + 4}" stroke="#222" stroke-width="1.5"/>`);
      const text = Number.isFinite(bar.value.median) ? bar.value.median.toPrecision(3) : 'n/a';
      parts.push(`<text x="${Math.max(x2, labelWidth + w) + 6}" y="${y + barHeight - 5}" font-size="12">${text}</text>`);
      y += barHeight + gap;
    }
    y += 26;
  }
  const height = y + 10;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="20" y="30" font-size="18" font-weight="bold">${escape(title)}</text>
<text x="20" y="50" font-size="12" fill="#555">${escape(subtitle)}</text>
${parts.join('\n')}
</svg>
`;
}
