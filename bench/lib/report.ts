/** Number formatting and Markdown tables for the printed results. */

export interface Spread {
  min: number;
  median: number;
  max: number;
}

export function spread(values: number[]): Spread {
  if (values.length === 0) throw new Error('spread of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { min: sorted[0]!, median, max: sorted[sorted.length - 1]! };
}

/** The nearest-rank `p`th percentile of ascending `sorted` values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new Error('percentile of no values');
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const formatMs = (ms: number): string => `${Math.round(ms)} ms`;
/** Milliseconds with one decimal below 100 ms, for latencies. */
export const formatLatency = (ms: number): string => (ms < 100 ? `${ms.toFixed(1)} ms` : formatMs(ms));
export const formatMb = (mb: number): string => `${mb.toFixed(1)} MB`;
export const formatPercent = (ratio: number): string => `${(ratio * 100).toFixed(1)}%`;
export const verdict = (met: boolean): string => (met ? 'met' : 'MISSED');

/** Prints a Markdown table (readable in a terminal, pasteable into docs). */
export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  console.log(line(headers));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}
