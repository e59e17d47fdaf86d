/**
 * Distributions and the within-run spread, for `bench compare` and `bench tune`.
 *
 * - Student's t: the two-sided tail probability through the regularized incomplete beta function
 *   (Numerical Recipes, betai / betacf) and its quantile by bisection; used by the tests over
 *   repetitions (src/stats/repetitions.ts).
 * - The within-run spread of a ratio of medians: a stratified percentile bootstrap (Efron &
 *   Tibshirani 1993, ch. 13): each repetition's calls are resampled with replacement, separately,
 *   `resamples` times from a seeded generator (so the interval is reproducible), and the ratio of
 *   the geometric means of the resampled medians is recomputed. It shows how precisely each run
 *   measured its own conditions, not how a repeat run would differ: consecutive calls share those
 *   conditions, so it is never the basis of a verdict (see src/report/compare.ts).
 *
 * Pure functions: no I/O, nothing printed.
 */
import { Rng } from '../util/rng.js';
import { percentile } from './summary.js';

/** Complementary error function, Numerical Recipes' erfcc (Chebyshev fit; fractional error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Standard normal CDF, Phi(x) = erfc(-x / sqrt 2) / 2. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** ln Gamma(x) for x > 0, Lanczos approximation (g = 7, n = 9; about 15 significant digits). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const xm = x - 1;
  let a = c[0]!;
  const t = xm + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (xm + i);
  return 0.5 * Math.log(2 * Math.PI) + (xm + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function, modified Lentz (Numerical Recipes, betacf). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(a, b, x)) / a
    : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** Two-sided p-value of Student's t with df degrees of freedom: I_{df / (df + t^2)}(df / 2, 1 / 2). */
export function studentTTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return Number.isNaN(t) ? NaN : 0;
  if (df > 1e7) return erfc(Math.abs(t) / Math.SQRT2);
  return regularizedBeta(df / (df + t * t), df / 2, 0.5);
}

/**
 * The t value with two-sided tail probability `p` (bisection on the CDF; 60 halvings are exact to double precision).
 */
export function studentTQuantileTwoSided(p: number, df: number): number {
  let lo = 0;
  let hi = 1e3;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (studentTTwoSidedP(mid, df) > p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface RatioInterval {
  /** Point estimate of B / A. */
  readonly ratio: number;
  readonly lo: number;
  readonly hi: number;
  /** Confidence level of [lo, hi], e.g. 0.95. */
  readonly confidence: number;
}

export interface BootstrapOptions {
  readonly resamples?: number;
  readonly seed?: number;
  readonly confidence?: number;
}

export const DEFAULT_RESAMPLES = 2000;
export const DEFAULT_BOOTSTRAP_SEED = 1;

/**
 * Median of a resample of `sorted` (drawn with replacement), type-7 like `percentile`. Counting how
 * often each index is drawn and walking the counts finds the middle order statistics in O(n), with
 * no sort of the resample: the cost per resample is n draws plus two linear passes.
 */
function resampleMedian(sorted: Float64Array, counts: Uint32Array, rng: Rng): number {
  const n = sorted.length;
  counts.fill(0);
  for (let k = 0; k < n; k++) counts[rng.int(n)]!++;
  const h = (n - 1) / 2;
  const loRank = Math.floor(h);
  let seen = 0;
  let lower = NaN;
  for (let idx = 0; idx < n; idx++) {
    seen += counts[idx]!;
    if (Number.isNaN(lower) && seen > loRank) {
      lower = sorted[idx]!;
      if (h === loRank) return lower;
    }
    if (seen > loRank + 1) return (lower + sorted[idx]!) / 2;
  }
  return lower;
}

/**
 * Ratio B / A of the geometric means of each repetition's median, with a seeded, stratified
 * percentile-bootstrap interval (every repetition's calls resampled on their own). With one
 * repetition per side, the plain ratio of medians and its bootstrap interval.
 */
export function bootstrapRepetitionRatio(
  a: readonly (readonly number[])[],
  b: readonly (readonly number[])[],
  opts: BootstrapOptions = {},
): RatioInterval {
  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  const confidence = opts.confidence ?? 0.95;
  const sorted = (reps: readonly (readonly number[])[]): Float64Array[] => reps.map((x) => Float64Array.from(x).sort());
  const sa = sorted(a);
  const sb = sorted(b);
  if (sa.length === 0 || sb.length === 0 || [...sa, ...sb].some((x) => x.length === 0))
    return { ratio: NaN, lo: NaN, hi: NaN, confidence };
  // The geometric mean of one value is that value, exactly.
  const geo = (medians: readonly number[]): number =>
    medians.length === 1 ? medians[0]! : Math.exp(medians.reduce((s, m) => s + Math.log(m), 0) / medians.length);
  const medianOf = (x: Float64Array): number => percentile(Array.from(x), 0.5);
  const ratio = geo(sb.map(medianOf)) / geo(sa.map(medianOf));
  const rng = new Rng(opts.seed ?? DEFAULT_BOOTSTRAP_SEED);
  const countsA = sa.map((x) => new Uint32Array(x.length));
  const countsB = sb.map((x) => new Uint32Array(x.length));
  const ratios: number[] = new Array<number>(resamples);
  for (let r = 0; r < resamples; r++) {
    const mb = sb.map((x, k) => resampleMedian(x, countsB[k]!, rng));
    const ma = sa.map((x, k) => resampleMedian(x, countsA[k]!, rng));
    ratios[r] = geo(mb) / geo(ma);
  }
  ratios.sort((x, y) => x - y);
  const tail = (1 - confidence) / 2;
  return { ratio, lo: percentile(ratios, tail), hi: percentile(ratios, 1 - tail), confidence };
}
