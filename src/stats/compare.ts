/**
 * Two-sample comparisons of latencies, for `bench compare`.
 *
 * With raw samples on both sides (results.json keeps every call's latency):
 * - Significance: the Mann-Whitney U test (Wilcoxon rank-sum), two-sided, normal approximation
 *   with tie correction and continuity correction, as scipy.stats.mannwhitneyu(method='asymptotic')
 *   computes it. Ranks of the pooled sample, R_A the rank sum of A,
 *     U_A = R_A - n_A (n_A + 1) / 2,   E[U] = n_A n_B / 2,
 *     Var[U] = n_A n_B / 12 * ((N + 1) - sum_t (t^3 - t) / (N (N - 1)))   (t: sizes of tie groups),
 *     z = (|U_A - E[U]| - 1/2) / sqrt(Var[U]),   p = erfc(z / sqrt 2).
 *   It makes no normality assumption, which matters: latencies are skewed with long tails.
 * - Size: the ratio of medians B/A with a percentile bootstrap interval (Efron & Tibshirani 1993,
 *   ch. 13): both samples are resampled with replacement, independently, `resamples` times from a
 *   seeded generator, so the interval is reproducible.
 * Both assume independent calls; consecutive calls of a run are somewhat autocorrelated (frequency,
 * caches, neighbours), so read the p-value as a guide rather than an exact error rate.
 *
 * With summaries only (a summary CSV): Welch's t-test on the means (Welch 1947; degrees of freedom
 * by Welch-Satterthwaite) and the ratio of means with a delta-method interval,
 *     se(r) / r = sqrt(s_A^2 / (n_A m_A^2) + s_B^2 / (n_B m_B^2)),   r +- t_{df, 0.975} se(r).
 *
 * Pure functions: no I/O, nothing printed.
 */
import { Rng } from '../models/rng.js';
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
            t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
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
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
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
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** Two-sided p-value of Student's t with df degrees of freedom: I_{df / (df + t^2)}(df / 2, 1 / 2). */
export function studentTTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return Number.isNaN(t) ? NaN : 0;
  if (df > 1e7) return erfc(Math.abs(t) / Math.SQRT2);
  return regularizedBeta(df / (df + t * t), df / 2, 0.5);
}

/** The t value with two-sided tail probability `p` (bisection on the CDF; 60 halvings are exact to double precision). */
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

export interface MannWhitneyResult {
  /** U of sample A: the number of pairs (a, b) with a > b, ties counted one half. */
  readonly u_a: number;
  readonly z: number;
  /** Two-sided p-value (normal approximation, tie- and continuity-corrected). */
  readonly p_value: number;
  /**
   * Probability that a random call of B is faster than a random call of A (ties one half):
   * U_A / (n_A n_B), the common-language effect size; 0.5 means no tendency either way.
   */
  readonly prob_b_faster: number;
}

export function mannWhitneyU(a: readonly number[], b: readonly number[]): MannWhitneyResult {
  const nA = a.length;
  const nB = b.length;
  if (nA === 0 || nB === 0) return { u_a: NaN, z: NaN, p_value: NaN, prob_b_faster: NaN };
  const sa = Float64Array.from(a).sort();
  const sb = Float64Array.from(b).sort();
  // Merge the two sorted samples, giving each tie group its average rank.
  let i = 0;
  let j = 0;
  let rank = 0;
  let rankSumA = 0;
  let tieTerm = 0;
  while (i < nA || j < nB) {
    const v = j >= nB || (i < nA && sa[i]! <= sb[j]!) ? sa[i]! : sb[j]!;
    let countA = 0;
    let countB = 0;
    while (i < nA && sa[i] === v) {
      i++;
      countA++;
    }
    while (j < nB && sb[j] === v) {
      j++;
      countB++;
    }
    const t = countA + countB;
    const averageRank = rank + (t + 1) / 2;
    rankSumA += countA * averageRank;
    tieTerm += t * t * t - t;
    rank += t;
  }
  const n = nA + nB;
  const uA = rankSumA - (nA * (nA + 1)) / 2;
  const meanU = (nA * nB) / 2;
  const varU = ((nA * nB) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (!(varU > 0)) return { u_a: uA, z: 0, p_value: 1, prob_b_faster: uA / (nA * nB) };
  const diff = uA - meanU;
  const z = (Math.sign(diff) * Math.max(Math.abs(diff) - 0.5, 0)) / Math.sqrt(varU);
  return { u_a: uA, z, p_value: Math.min(1, erfc(Math.abs(z) / Math.SQRT2)), prob_b_faster: uA / (nA * nB) };
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

/** Ratio of medians B / A with a seeded percentile-bootstrap interval. */
export function bootstrapMedianRatio(a: readonly number[], b: readonly number[], opts: BootstrapOptions = {}): RatioInterval {
  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  const confidence = opts.confidence ?? 0.95;
  const sa = Float64Array.from(a).sort();
  const sb = Float64Array.from(b).sort();
  const ratio = percentile(Array.from(sb), 0.5) / percentile(Array.from(sa), 0.5);
  if (sa.length === 0 || sb.length === 0) return { ratio: NaN, lo: NaN, hi: NaN, confidence };
  const rng = new Rng(opts.seed ?? DEFAULT_BOOTSTRAP_SEED);
  const countsA = new Uint32Array(sa.length);
  const countsB = new Uint32Array(sb.length);
  const ratios: number[] = new Array<number>(resamples);
  for (let r = 0; r < resamples; r++) ratios[r] = resampleMedian(sb, countsB, rng) / resampleMedian(sa, countsA, rng);
  ratios.sort((x, y) => x - y);
  const tail = (1 - confidence) / 2;
  return { ratio, lo: percentile(ratios, tail), hi: percentile(ratios, 1 - tail), confidence };
}

export interface SampleSummary {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

export interface WelchResult extends RatioInterval {
  readonly t: number;
  readonly df: number;
  readonly p_value: number;
}

/** Welch's t-test on B vs A and the ratio of means B / A with a delta-method interval. */
export function welchRatio(a: SampleSummary, b: SampleSummary, confidence = 0.95): WelchResult {
  const va = (a.std * a.std) / a.n;
  const vb = (b.std * b.std) / b.n;
  const ratio = b.mean / a.mean;
  const se = Math.sqrt(va + vb);
  if (!(a.n >= 2 && b.n >= 2) || !(a.mean > 0)) return { ratio, lo: NaN, hi: NaN, confidence, t: NaN, df: NaN, p_value: NaN };
  if (se === 0) {
    const same = a.mean === b.mean;
    return { ratio, lo: ratio, hi: ratio, confidence, t: same ? 0 : Infinity, df: a.n + b.n - 2, p_value: same ? 1 : 0 };
  }
  const t = (b.mean - a.mean) / se;
  // Welch-Satterthwaite: df = (va + vb)^2 / (va^2 / (n_A - 1) + vb^2 / (n_B - 1)).
  const df = (va + vb) ** 2 / (va * va / (a.n - 1) + (vb * vb) / (b.n - 1));
  const p = studentTTwoSidedP(t, df);
  const seRatio = ratio * Math.sqrt(va / (a.mean * a.mean) + vb / (b.mean * b.mean));
  const q = studentTQuantileTwoSided(1 - confidence, df);
  return { ratio, lo: ratio - q * seRatio, hi: ratio + q * seRatio, confidence, t, df, p_value: p };
}
