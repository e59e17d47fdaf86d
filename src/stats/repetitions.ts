/**
 * Statistics over repetitions: the unit of evidence across runs.
 *
 * A repetition is a fresh measurement of one config (new child processes, new session, own
 * warm-up). The calls of one repetition share its conditions (memory layout, page placement,
 * frequency, neighbours), so they are not independent samples of what a repeat run would give;
 * the repetitions are (Kalibera & Jones, "Rigorous benchmarking in reasonable time", ISMM 2013).
 * Each repetition contributes one figure (e.g. its median latency), and everything below works on
 * those figures.
 *
 * Timing noise is multiplicative (a slower machine state slows every call by a factor), so the
 * figures are compared on a log scale: the centre of a side is the geometric mean, and a change is
 * a ratio.
 * - One side: centre exp(m) with the t-interval exp(m +- t_{n-1, 0.975} s / sqrt(n)), where m and
 *   s are the mean and sample standard deviation of the log figures.
 * - Two sides: Welch's t-test on the log figures (Welch 1947; degrees of freedom by
 *   Welch-Satterthwaite); the ratio of geometric means B/A = exp(m_B - m_A) with the interval
 *   exp((m_B - m_A) +- t_{df, 0.975} se), se = sqrt(s_A^2 / n_A + s_B^2 / n_B).
 * - Many rows at once: Holm's step-down adjustment (Holm 1979; controls the family-wise error, the
 *   chance that any row of a gate is called on noise) or Benjamini-Hochberg's step-up one
 *   (Benjamini & Hochberg 1995; controls the false discovery rate).
 *
 * Pure functions: no I/O.
 */
import { studentTQuantileTwoSided, studentTTwoSidedP } from './compare.js';
import { mean, sampleStd } from './summary.js';

export interface SpreadInterval {
  /** Geometric mean of the figures; null when there are none (no repetition gave figures). */
  readonly centre: number | null;
  /** t-interval on the log figures, back-transformed; null with fewer than 2 figures. */
  readonly lo: number | null;
  readonly hi: number | null;
  /** Sample standard deviation of the log figures (about the coefficient of variation); null below 2. */
  readonly log_std: number | null;
  readonly n: number;
  readonly confidence: number;
}

/** Below this many usable repetitions on a side, no test is made (the noise floor decides). */
export const MIN_REPETITIONS = 3;

/**
 * The change that run-to-run drift alone can produce between two single runs on the machines bench
 * was measured on (docs/performance.md, `npm run bench:calibrate`): without repetitions, a
 * difference is called only beyond it.
 */
export const DEFAULT_NOISE_FLOOR = 0.1;

const logs = (xs: readonly number[]): number[] => xs.map((x) => Math.log(x));

/** Geometric mean of positive figures (NaN when there are none or one is not positive). */
export function geometricMean(xs: readonly number[]): number {
  if (xs.length === 0 || xs.some((x) => !(x > 0))) return NaN;
  // One value is its own geometric mean, exactly (exp(log x) may differ in the last bit).
  return xs.length === 1 ? xs[0]! : Math.exp(mean(logs(xs)));
}

/** The centre of a side's repetition figures and its t-interval (log scale). */
export function spreadInterval(figures: readonly number[], confidence = 0.95): SpreadInterval {
  const n = figures.length;
  const centre = geometricMean(figures);
  if (n < 2 || !Number.isFinite(centre))
    return { centre: Number.isFinite(centre) ? centre : null, lo: null, hi: null, log_std: null, n, confidence };
  const l = logs(figures);
  const m = mean(l);
  const s = sampleStd(l);
  const half = studentTQuantileTwoSided(1 - confidence, n - 1) * (s / Math.sqrt(n));
  return { centre, lo: Math.exp(m - half), hi: Math.exp(m + half), log_std: s, n, confidence };
}

export interface LogRatioTest {
  /** Ratio of geometric means B / A. */
  readonly ratio: number;
  readonly lo: number;
  readonly hi: number;
  readonly confidence: number;
  readonly t: number;
  readonly df: number;
  /** Two-sided p-value of Welch's t-test on the log figures. */
  readonly p_value: number;
  readonly n_a: number;
  readonly n_b: number;
}

/** Welch's t-test on log repetition figures of A and B, and the ratio B/A with its interval. Needs >= 2 per side. */
export function welchLogRatio(a: readonly number[], b: readonly number[], confidence = 0.95): LogRatioTest {
  const la = logs(a);
  const lb = logs(b);
  const nA = la.length;
  const nB = lb.length;
  const diff = mean(lb) - mean(la);
  const ratio = Math.exp(diff);
  if (nA < 2 || nB < 2 || !Number.isFinite(diff))
    return { ratio, lo: NaN, hi: NaN, confidence, t: NaN, df: NaN, p_value: NaN, n_a: nA, n_b: nB };
  const va = sampleStd(la) ** 2 / nA;
  const vb = sampleStd(lb) ** 2 / nB;
  const se = Math.sqrt(va + vb);
  if (se === 0) {
    // Every repetition gave the same figure on both sides (a simulated backend): no spread to test.
    return {
      ratio,
      lo: ratio,
      hi: ratio,
      confidence,
      t: diff === 0 ? 0 : Math.sign(diff) * Infinity,
      df: nA + nB - 2,
      p_value: diff === 0 ? 1 : 0,
      n_a: nA,
      n_b: nB,
    };
  }
  const t = diff / se;
  // Welch-Satterthwaite; a side whose figures are all equal contributes no variance and no term.
  const df = (va + vb) ** 2 / ((va > 0 ? (va * va) / (nA - 1) : 0) + (vb > 0 ? (vb * vb) / (nB - 1) : 0));
  const q = studentTQuantileTwoSided(1 - confidence, df);
  return {
    ratio,
    lo: Math.exp(diff - q * se),
    hi: Math.exp(diff + q * se),
    confidence,
    t,
    df,
    p_value: studentTTwoSidedP(t, df),
    n_a: nA,
    n_b: nB,
  };
}

export type Adjustment = 'holm' | 'bh' | 'none';

export const ADJUSTMENT_NAMES: Readonly<Record<Adjustment, string>> = {
  holm: 'Holm (family-wise error)',
  bh: 'Benjamini-Hochberg (false discovery rate)',
  none: 'none',
};

/**
 * Adjusted p-values, in the input's order (NaN stays NaN and is not counted among the tests).
 * Holm: with p_(1) <= ... <= p_(m), p~_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)).
 * Benjamini-Hochberg: p~_(i) = min_{j >= i} min(1, m p_(j) / j).
 */
export function adjustPValues(pValues: readonly number[], method: Adjustment): number[] {
  const out = [...pValues];
  if (method === 'none') return out;
  const order = pValues
    .map((p, k) => ({ p, k }))
    .filter(({ p }) => Number.isFinite(p))
    .sort((x, y) => x.p - y.p);
  const m = order.length;
  if (method === 'holm') {
    let running = 0;
    order.forEach(({ p, k }, i) => {
      running = Math.max(running, Math.min(1, (m - i) * p));
      out[k] = running;
    });
  } else {
    let running = 1;
    for (let i = m - 1; i >= 0; i--) {
      const { p, k } = order[i]!;
      running = Math.min(running, Math.min(1, (m * p) / (i + 1)));
      out[k] = running;
    }
  }
  return out;
}
