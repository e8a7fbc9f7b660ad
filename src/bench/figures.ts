/** One benchmark figure as written to bench/results (src/bench/run.ts). */
export interface Figure {
  name: string;
  unit: string;
  /** Higher is better (throughput) or lower is better (time, memory). */
  better: 'higher' | 'lower';
  median: number;
  min: number;
  max: number;
  baseline?: { name: string; median: number; min: number; max: number };
  /** value / baseline for throughput, baseline-relative for the rest; see `ratioNote`. */
  ratio?: number;
  target?: string;
  met?: boolean;
  note?: string;
  /** Set when the figure could not be measured (e.g. the mail stack did not start). */
  notMeasured?: string;
}

export function stats(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { median, min: s[0] as number, max: s[s.length - 1] as number };
}
