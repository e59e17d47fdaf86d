/**
 * Statistics over repetitions, against SciPy 1.10 (Debian's python3-scipy):
 *   la, lb = log(a), log(b); stats.ttest_ind(lb, la, equal_var=False); t.ppf(0.975, df)
 * and the multiplicity adjustments against values worked by hand from Holm (1979) and
 * Benjamini & Hochberg (1995), as R's p.adjust gives them.
 */
import { describe, expect, it } from 'vitest';
import { adjustPValues, geometricMean, spreadInterval, welchLogRatio } from '../../src/stats/repetitions.js';

describe("Welch's t-test on log figures", () => {
  const a = [1.1, 2.2, 2.2, 3.5, 4.0, 5.1, 5.1, 6.3];
  const b = [2.0, 2.2, 3.9, 4.4, 5.1, 6.8, 7.0, 7.7, 8.1];

  it('matches SciPy: t, df, p, and the ratio of geometric means with its interval', () => {
    const w = welchLogRatio(a, b);
    expect(w.t).toBeCloseTo(1.3856170642633618, 9);
    expect(w.df).toBeCloseTo(14.235970872796367, 8);
    expect(w.p_value).toBeCloseTo(0.18718929840704704, 8);
    expect(w.ratio).toBeCloseTo(1.4530109466711143, 10);
    expect(w.lo).toBeCloseTo(0.8156128840378338, 6);
    expect(w.hi).toBeCloseTo(2.5885329332881817, 6);
  });

  it('is symmetric: B/A and A/B are reciprocal with the same p', () => {
    const ab = welchLogRatio(a, b);
    const ba = welchLogRatio(b, a);
    expect(ba.ratio).toBeCloseTo(1 / ab.ratio, 12);
    expect(ba.lo).toBeCloseTo(1 / ab.hi, 9);
    expect(ba.p_value).toBeCloseTo(ab.p_value, 12);
  });

  it('a 10% shift over 5 repetitions with 2% spread is significant; identical sides are not', () => {
    const base = [100, 102, 98, 101, 99];
    const shifted = base.map((x, k) => x * 1.1 * (k % 2 === 0 ? 1.01 : 0.99));
    const w = welchLogRatio(base, shifted);
    expect(w.p_value).toBeLessThan(0.001);
    expect(w.lo).toBeGreaterThan(1.05);
    expect(welchLogRatio(base, [...base].reverse()).p_value).toBeCloseTo(1, 12);
  });

  it('needs two figures a side; no spread at all gives p = 1 for equal sides', () => {
    expect(Number.isNaN(welchLogRatio([1], [1, 2]).p_value)).toBe(true);
    expect(welchLogRatio([2, 2, 2], [2, 2]).p_value).toBe(1);
    expect(welchLogRatio([2, 2, 2], [3, 3]).p_value).toBe(0);
  });
});

describe('one side across repetitions', () => {
  it('the geometric mean with a t-interval on the logs (SciPy)', () => {
    const s = spreadInterval([10.2, 9.8, 10.5, 10.1]);
    expect(s.centre).toBeCloseTo(10.146919853703439, 10);
    expect(s.lo!).toBeCloseTo(9.697747232116281, 8);
    expect(s.hi!).toBeCloseTo(10.616896899158784, 8);
    expect(s.n).toBe(4);
  });

  it('one figure has no interval; a non-positive one has no geometric mean', () => {
    expect(spreadInterval([5])).toMatchObject({ centre: 5, lo: null, hi: null, log_std: null, n: 1 });
    expect(Number.isNaN(geometricMean([1, 0]))).toBe(true);
    expect(Number.isNaN(geometricMean([]))).toBe(true);
  });
});

describe('multiplicity adjustments', () => {
  const p = [0.04, 0.01, 0.05, 0.03, 0.02];

  it('Holm: step-down, (m - i + 1) p_(i), made monotone, in the input order', () => {
    // Sorted 0.01..0.05 -> 5*0.01, 4*0.02, 3*0.03, max(.., 2*0.04), max(.., 0.05) = .05 .08 .09 .09 .09
    const h = adjustPValues(p, 'holm');
    [0.09, 0.05, 0.09, 0.09, 0.08].forEach((x, k) => expect(h[k]).toBeCloseTo(x, 12));
  });

  it('Benjamini-Hochberg: step-up, m p_(i) / i, made monotone from the top', () => {
    const bh = adjustPValues(p, 'bh');
    bh.forEach((x) => expect(x).toBeCloseTo(0.05, 12));
    const mixed = adjustPValues([0.001, 0.2, 0.03, 0.04], 'bh');
    // Sorted .001 .03 .04 .2 -> 4*.001/1, min(4*.03/2, next), min(4*.04/3, next), 4*.2/4
    [0.004, 0.2, 0.0533333333333, 0.0533333333333].forEach((x, k) => expect(mixed[k]).toBeCloseTo(x, 10));
  });

  it('a borderline row: significant alone, not once four more rows are tested (Holm)', () => {
    expect(adjustPValues([0.03], 'holm')[0]).toBe(0.03);
    expect(adjustPValues([0.03, 0.5, 0.6, 0.7, 0.8], 'holm')[0]).toBeCloseTo(0.15, 12);
  });

  it('none leaves p as it is; NaN stays out of the count', () => {
    expect(adjustPValues([0.01, 0.02], 'none')).toEqual([0.01, 0.02]);
    const h = adjustPValues([0.01, NaN, 0.02], 'holm');
    expect(h[0]).toBeCloseTo(0.02, 12);
    expect(Number.isNaN(h[1]!)).toBe(true);
    expect(h[2]).toBeCloseTo(0.02, 12);
  });
});
