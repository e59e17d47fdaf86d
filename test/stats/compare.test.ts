/**
 * The comparison statistics against reference values from SciPy 1.17
 * (scipy.stats.mannwhitneyu(method='asymptotic'), ttest_ind(equal_var=False), t.ppf, norm.cdf); p-values
 * from the normal approximation agree to 1e-6, the fractional error of erfcc being below 1.2e-7.
 */
import { describe, expect, it } from 'vitest';
import {
  bootstrapMedianRatio,
  mannWhitneyU,
  normalCdf,
  studentTQuantileTwoSided,
  studentTTwoSidedP,
  welchRatio,
} from '../../src/stats/compare.js';
import { mean, sampleStd } from '../../src/stats/summary.js';

describe('distributions', () => {
  it('normal CDF and Student t match SciPy', () => {
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021048517795, 6);
    expect(normalCdf(-3.5)).toBeCloseTo(0.00023262907903552502, 7);
    expect(studentTTwoSidedP(2.0, 10)).toBeCloseTo(0.07338803477074037, 9);
    expect(studentTQuantileTwoSided(0.05, 7.3)).toBeCloseTo(2.345066736547703, 6);
    expect(studentTQuantileTwoSided(0.05, 30)).toBeCloseTo(2.0422724563012378, 6);
    expect(studentTQuantileTwoSided(0.05, 3)).toBeCloseTo(3.1824463052837078, 6);
  });
});

describe('Mann-Whitney U', () => {
  it('matches SciPy with ties (asymptotic, continuity-corrected)', () => {
    const a = [1.1, 2.2, 2.2, 3.5, 4.0, 5.1, 5.1, 6.3];
    const b = [2.0, 2.2, 3.9, 4.4, 5.1, 6.8, 7.0, 7.7, 8.1];
    const r = mannWhitneyU(a, b);
    expect(r.u_a).toBe(22);
    expect(r.p_value).toBeCloseTo(0.191738591021404, 6);
    const many = mannWhitneyU([1, 1, 2, 2, 2, 3, 3, 4, 5, 5], [2, 3, 3, 4, 4, 4, 5, 5, 6, 6, 7]);
    expect(many.u_a).toBe(24);
    expect(many.p_value).toBeCloseTo(0.02943242027649015, 6);
  });

  it('gives p = 1 for identical samples and is symmetric in A and B', () => {
    expect(mannWhitneyU([3, 3, 3], [3, 3]).p_value).toBe(1);
    const a = [5, 6, 7, 8, 9];
    const b = [1, 2, 3, 4, 4.5];
    const ab = mannWhitneyU(a, b);
    const ba = mannWhitneyU(b, a);
    expect(ab.p_value).toBeCloseTo(ba.p_value, 12);
    // Every call of B is faster than every call of A.
    expect(ab.prob_b_faster).toBe(1);
    expect(ba.prob_b_faster).toBe(0);
  });
});

describe('bootstrap interval of the median ratio', () => {
  const shifted = (n: number, scale: number, phase: number): number[] =>
    Array.from({ length: n }, (_, i) => scale * (10 + Math.sin(i * 12.9898 + phase) * 0.5 + ((i * 7919) % 13) / 26));

  it('brackets the true ratio, is reproducible for a seed, and its width shrinks with n', () => {
    const a = shifted(400, 1, 0);
    const b = shifted(400, 0.8, 1);
    const r = bootstrapMedianRatio(a, b, { seed: 7 });
    expect(r.ratio).toBeGreaterThan(0.77);
    expect(r.ratio).toBeLessThan(0.83);
    expect(r.lo).toBeLessThanOrEqual(r.ratio);
    expect(r.hi).toBeGreaterThanOrEqual(r.ratio);
    expect(r.hi).toBeLessThan(1);
    expect(bootstrapMedianRatio(a, b, { seed: 7 })).toEqual(r);
    const small = bootstrapMedianRatio(a.slice(0, 40), b.slice(0, 40), { seed: 7 });
    expect(small.hi - small.lo).toBeGreaterThan(r.hi - r.lo);
  });

  it('handles odd and even sizes and a single value', () => {
    expect(bootstrapMedianRatio([2], [3]).ratio).toBe(1.5);
    expect(bootstrapMedianRatio([2], [3]).lo).toBe(1.5);
    expect(bootstrapMedianRatio([1, 2, 3, 4], [2, 4, 6, 8]).ratio).toBe(2);
  });
});

describe('Welch', () => {
  it('matches SciPy ttest_ind(equal_var=False) and brackets the ratio of means', () => {
    const a = [1.1, 2.2, 2.2, 3.5, 4.0, 5.1, 5.1, 6.3];
    const b = [2.0, 2.2, 3.9, 4.4, 5.1, 6.8, 7.0, 7.7, 8.1];
    const w = welchRatio({ mean: mean(a), std: sampleStd(a), n: a.length }, { mean: mean(b), std: sampleStd(b), n: b.length });
    expect(w.t).toBeCloseTo(1.5745786450256576, 9);
    expect(w.df).toBeCloseTo(14.760085177389504, 9);
    expect(w.p_value).toBeCloseTo(0.13654045622645875, 8);
    expect(w.ratio).toBeCloseTo(mean(b) / mean(a), 12);
    expect(w.lo).toBeLessThan(1);
    expect(w.hi).toBeGreaterThan(w.ratio);
  });

  it('has no interval without a spread or with fewer than two calls', () => {
    expect(Number.isNaN(welchRatio({ mean: 1, std: 0.1, n: 1 }, { mean: 2, std: 0.1, n: 5 }).p_value)).toBe(true);
    expect(welchRatio({ mean: 1, std: 0, n: 5 }, { mean: 1, std: 0, n: 5 }).p_value).toBe(1);
  });
});
