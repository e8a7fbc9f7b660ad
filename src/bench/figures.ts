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
  /** value / baseline (throughput: the median of the per-run ratios, see pairedRatio). */
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

/**
 * The median of the per-run ratios ours[i] / baseline[i]: each run measures both back to back,
 * so a run slowed by the machine slows both, and the ratio of that run stays meaningful.
 */
export function pairedRatio(ours: number[], baseline: number[]): number {
  if (ours.length !== baseline.length || ours.length === 0) throw new Error('pairedRatio: runs differ');
  return stats(ours.map((x, i) => x / (baseline[i] as number))).median;
}
