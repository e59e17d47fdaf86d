/**
 * Latency statistics.
 *
 * Percentiles use linear interpolation between closest ranks (Hyndman & Fan 1996, type 7; NumPy's
 * default `linear`): for sorted x[0..n-1] and p in [0, 1], h = (n - 1) p, and the result is
 * x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]). Unlike the nearest-rank rule of
 * ORT's perf_test, OpenVINO and LoadGen, it is continuous in p and exact at the median.
 * The standard deviation is the sample one (divisor n - 1), as hyperfine reports it; CV = std / mean.
 */
export interface LatencySummary {
  readonly count: number;
  readonly mean_ms: number;
  readonly std_ms: number;
  readonly cv: number;
  readonly min_ms: number;
  readonly max_ms: number;
  readonly p50_ms: number;
  readonly p90_ms: number;
  readonly p95_ms: number;
  readonly p99_ms: number;
  readonly p999_ms: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const a = sorted[lo]!;
  const b = sorted[Math.min(lo + 1, sorted.length - 1)]!;
  return a + (h - lo) * (b - a);
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((s, x) => s + x, 0) / xs.length;
}

export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

export function summarize(latenciesMs: readonly number[]): LatencySummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const m = mean(sorted);
  const std = sampleStd(sorted);
  return {
    count: sorted.length,
    mean_ms: m,
    std_ms: std,
    cv: m > 0 ? std / m : NaN,
    min_ms: sorted[0] ?? NaN,
    max_ms: sorted.at(-1) ?? NaN,
    p50_ms: percentile(sorted, 0.5),
    p90_ms: percentile(sorted, 0.9),
    p95_ms: percentile(sorted, 0.95),
    p99_ms: percentile(sorted, 0.99),
    p999_ms: percentile(sorted, 0.999),
  };
}
