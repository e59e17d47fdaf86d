/**
 * Latency statistics.
 *
 * Percentiles use linear interpolation between closest ranks (Hyndman & Fan 1996, type 7; NumPy's
 * default `linear`): for sorted x[0..n-1] and p in [0, 1], h = (n - 1) p, and the result is
 * x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]). Unlike the nearest-rank rule of
 * ORT's perf_test, OpenVINO and LoadGen, it is continuous in p and exact at the median.
 * The standard deviation is the sample one (divisor n - 1), as hyperfine reports it; CV = std / mean.
 *
 * Whether n samples support a percentile at all: a distribution-free confidence interval for the
 * p-quantile xi_p from order statistics (Conover, Practical Nonparametric Statistics, 3rd ed.,
 * §3.2; Hahn & Meeker, Statistical Intervals, §5.2). For a continuous distribution the number of
 * samples below xi_p is Binomial(n, p), so for the order statistics x_(1) <= ... <= x_(n)
 *     P(x_(l) <= xi_p) = P(B >= l) = 1 - F(l - 1),   P(xi_p <= x_(u)) = P(B <= u - 1) = F(u - 1),
 * with F the Binomial(n, p) CDF, and [x_(l), x_(u)] covers xi_p with probability
 * F(u - 1) - F(l - 1) (at least that with ties). The equal-tailed 1 - alpha interval takes the
 * largest l with F(l - 1) <= alpha / 2 and the smallest u with F(u - 1) >= 1 - alpha / 2. Such a u
 * exists only when F(n - 1) = 1 - p^n >= 1 - alpha / 2, i.e. p^n <= alpha / 2, and such an l only
 * when (1 - p)^n <= alpha / 2: with fewer than n = ln(alpha / 2) / ln(max(p, 1 - p)) samples (for
 * 95%: 6 for p50, 36 for p90, 72 for p95, 368 for p99, 3688 for p99.9) not even the sample's
 * extreme bounds the quantile, and the percentile is not supported by the samples: it is withheld
 * where people read figures (terminal, CSVs, report) and listed in `unsupported_percentiles`.
 */

/** The percentiles every summary reports, by the name of their field (`p99` -> `p99_ms`). */
export const PERCENTILES = [
  { name: 'p50', p: 0.5, label: 'p50' },
  { name: 'p90', p: 0.9, label: 'p90' },
  { name: 'p95', p: 0.95, label: 'p95' },
  { name: 'p99', p: 0.99, label: 'p99' },
  { name: 'p999', p: 0.999, label: 'p99.9' },
] as const;

export type PercentileName = (typeof PERCENTILES)[number]['name'];

/** The confidence of the order-statistic interval that decides whether a percentile is supported. */
export const PERCENTILE_CONFIDENCE = 0.95;

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
  /**
   * The percentiles above that `count` samples do not support (no 95% order-statistic interval
   * exists); their figures are kept here as computed but withheld where people read them. Absent in
   * files written before it existed: then `unsupportedPercentiles` derives it from `count`.
   */
  readonly unsupported_percentiles?: readonly PercentileName[];
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const a = sorted[lo]!;
  const b = sorted[Math.min(lo + 1, sorted.length - 1)]!;
  return a + (h - lo) * (b - a);
}

/** Population standard deviation (np.std, ddof 0; 0 below 2 values), as optimum-benchmark and the study report it. */
export function populationStd(xs: readonly number[]): number {
  if (xs.length <= 1) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length);
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((s, x) => s + x, 0) / xs.length;
}

export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/**
 * The fewest samples from which the equal-tailed `confidence` interval of the p-quantile exists:
 * the smallest n with max(p, 1 - p)^n <= (1 - confidence) / 2 (see the header). Infinity for p = 0 or 1.
 */
export function minSamplesForPercentile(p: number, confidence = PERCENTILE_CONFIDENCE): number {
  const q = Math.max(p, 1 - p);
  const tail = (1 - confidence) / 2;
  if (!(q < 1) || !(tail > 0)) return Infinity;
  let n = Math.max(1, Math.ceil(Math.log(tail) / Math.log(q)));
  // The logarithms may round across the boundary: settle it with the power itself.
  while (n > 1 && q ** (n - 1) <= tail) n--;
  while (q ** n > tail) n++;
  return n;
}

export interface PercentileInterval {
  /** x_(lo_rank) and x_(hi_rank): the bounds, in the samples' unit. */
  readonly lo: number;
  readonly hi: number;
  /** 1-based ranks of the bounding order statistics. */
  readonly lo_rank: number;
  readonly hi_rank: number;
  /** The exact coverage F(u - 1) - F(l - 1) for a continuous distribution (at least `confidence`). */
  readonly coverage: number;
}

/**
 * The distribution-free `confidence` interval of the p-quantile from `sorted` (ascending) samples,
 * [x_(l), x_(u)] with l, u from the Binomial(n, p) tails (see the header); null when n is below
 * minSamplesForPercentile(p, confidence), i.e. the samples do not support the percentile.
 * The CDF is summed from pmf terms in log space, pmf(k + 1) = pmf(k) (n - k) / (k + 1) p / (1 - p),
 * so large n neither overflows the binomial coefficient nor underflows the first terms to a wrong sum.
 */
export function percentileInterval(
  sorted: readonly number[],
  p: number,
  confidence = PERCENTILE_CONFIDENCE,
): PercentileInterval | null {
  const n = sorted.length;
  if (n === 0 || !(p > 0 && p < 1) || n < minSamplesForPercentile(p, confidence)) return null;
  const tail = (1 - confidence) / 2;
  const logOdds = Math.log(p) - Math.log(1 - p);
  let logPmf = n * Math.log(1 - p);
  let cdf = 0;
  // F(l - 1) <= tail for the largest l; F(u - 1) >= 1 - tail for the smallest u.
  let l = 1;
  let u = n;
  let lowerBelow = (1 - p) ** n;
  let upperCdf = 1;
  let foundUpper = false;
  for (let k = 0; k < n; k++) {
    cdf += Math.exp(logPmf);
    if (cdf <= tail) {
      l = k + 1;
      lowerBelow = cdf;
    }
    if (cdf >= 1 - tail) {
      u = k + 1;
      upperCdf = cdf;
      foundUpper = true;
      break;
    }
    logPmf += Math.log((n - k) / (k + 1)) + logOdds;
  }
  // The support check above guarantees both bounds; the sums can only miss them by rounding.
  if (!foundUpper) upperCdf = 1 - p ** n;
  l = Math.min(l, u);
  return {
    lo: sorted[l - 1]!,
    hi: sorted[u - 1]!,
    lo_rank: l,
    hi_rank: u,
    coverage: Math.min(1, upperCdf) - lowerBelow,
  };
}

/** The reported percentiles that `count` samples do not support. */
export function unsupportedFor(count: number, confidence = PERCENTILE_CONFIDENCE): PercentileName[] {
  return PERCENTILES.filter((q) => count < minSamplesForPercentile(q.p, confidence)).map((q) => q.name);
}

/** A summary's unsupported percentiles: as recorded, or (older files) from its count. */
export function unsupportedPercentiles(
  s: Pick<LatencySummary, 'count' | 'unsupported_percentiles'>,
): readonly PercentileName[] {
  return s.unsupported_percentiles ?? unsupportedFor(s.count);
}

export function isSupported(
  s: Pick<LatencySummary, 'count' | 'unsupported_percentiles'>,
  name: PercentileName,
): boolean {
  return !unsupportedPercentiles(s).includes(name);
}

/**
 * Across instances whose figure is the worst instance's (the study's aggregate): a percentile is
 * supported only when every instance's count supports it.
 */
export function unsupportedAcross(
  summaries: readonly Pick<LatencySummary, 'count' | 'unsupported_percentiles'>[],
): PercentileName[] {
  const out = new Set(summaries.flatMap((s) => unsupportedPercentiles(s)));
  return PERCENTILES.filter((q) => out.has(q.name)).map((q) => q.name);
}

/** The samples a percentile needs, by name (`p99` -> 368 at 95%). */
export function minSamplesFor(name: PercentileName): number {
  return minSamplesForPercentile(PERCENTILES.find((q) => q.name === name)!.p);
}

/** `p99.9` for `p999`. */
export function percentileLabel(name: PercentileName): string {
  return PERCENTILES.find((q) => q.name === name)!.label;
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
    unsupported_percentiles: unsupportedFor(sorted.length),
  };
}
