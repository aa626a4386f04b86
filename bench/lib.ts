/** Shared helpers for benchmarks: tables, percentiles, the final JSON line. */

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export function printTable(title: string, rows: Array<Record<string, string | number>>): void {
  console.log(`\n${title}`);
  console.table(rows);
}

/** The last line of every benchmark: one JSON object with every figure. */
export function printResult(result: Record<string, string | number>): void {
  console.log(JSON.stringify(result));
}

export const round = (n: number, digits = 0) => Number(n.toFixed(digits));
