/**
 * The distributions against reference values from SciPy (t.ppf, t.sf, norm.cdf), and the
 * within-run bootstrap of a ratio of medians.
 */
import { describe, expect, it } from 'vitest';
import {
  bootstrapRepetitionRatio,
  normalCdf,
  studentTQuantileTwoSided,
  studentTTwoSidedP,
} from '../../src/stats/compare.js';

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

describe('bootstrap interval of the median ratio', () => {
  const shifted = (n: number, scale: number, phase: number): number[] =>
    Array.from({ length: n }, (_, i) => scale * (10 + Math.sin(i * 12.9898 + phase) * 0.5 + ((i * 7919) % 13) / 26));

  it('brackets the true ratio, is reproducible for a seed, and its width shrinks with n', () => {
    const a = shifted(400, 1, 0);
    const b = shifted(400, 0.8, 1);
    const r = bootstrapRepetitionRatio([a], [b], { seed: 7 });
    expect(r.ratio).toBeGreaterThan(0.77);
    expect(r.ratio).toBeLessThan(0.83);
    expect(r.lo).toBeLessThanOrEqual(r.ratio);
    expect(r.hi).toBeGreaterThanOrEqual(r.ratio);
    expect(r.hi).toBeLessThan(1);
    expect(bootstrapRepetitionRatio([a], [b], { seed: 7 })).toEqual(r);
    const small = bootstrapRepetitionRatio([a.slice(0, 40)], [b.slice(0, 40)], { seed: 7 });
    expect(small.hi - small.lo).toBeGreaterThan(r.hi - r.lo);
  });

  it('handles odd and even sizes and a single value', () => {
    expect(bootstrapRepetitionRatio([[2]], [[3]]).ratio).toBe(1.5);
    expect(bootstrapRepetitionRatio([[2]], [[3]]).lo).toBe(1.5);
    expect(bootstrapRepetitionRatio([[1, 2, 3, 4]], [[2, 4, 6, 8]]).ratio).toBe(2);
  });

  it('over several repetitions: the ratio of geometric means of their medians, each resampled on its own', () => {
    // Medians 10 and 12.1 on A (geometric mean 11), 11 on B: ratio 1.
    const r = bootstrapRepetitionRatio(
      [
        [9.9, 10, 10.1],
        [12, 12.1, 12.2],
      ],
      [[10.9, 11, 11.1]],
      { seed: 3 },
    );
    expect(r.ratio).toBeCloseTo(1, 12);
    // The spread between A's repetitions is not resampled: the interval stays narrow (within-run only).
    expect(r.hi - r.lo).toBeLessThan(0.04);
    expect(Number.isNaN(bootstrapRepetitionRatio([], [[1]]).ratio)).toBe(true);
  });
});
