// Summaries of repeated measurements: every figure is reported as a median with its min–max.

/** The median, min and max of a set of samples. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: readonly number[];
}

/** Summarizes samples (NaN when there are none). */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) return { median: NaN, min: NaN, max: NaN, samples };
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], samples };
}

function digitsFor(value: number): number {
  return value >= 100 ? 0 : value >= 10 ? 1 : 2;
}

/** `12.3`, with a sensible number of digits for the magnitude; `n/a` for NaN. */
export function formatValue(value: number): string {
  return Number.isNaN(value) ? 'n/a' : value.toFixed(digitsFor(value));
}

/** `12.3 (11.0–14.1)`, with a sensible number of digits for the magnitude. */
export function formatSummary(summary: Summary, digits?: number): string {
  if (Number.isNaN(summary.median)) return 'n/a';
  const d = digits ?? digitsFor(summary.median);
  return `${summary.median.toFixed(d)} (${summary.min.toFixed(d)}–${summary.max.toFixed(d)})`;
}

/** Pads cells into an aligned plain-text table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
