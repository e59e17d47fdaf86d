/**
 * Latency statistics: type-7 percentiles, mean / std / CV, summaries, and the distribution-free
 * order-statistic interval that decides whether a run's samples support a percentile.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import {
  mean,
  minSamplesFor,
  minSamplesForPercentile,
  percentile,
  percentileInterval,
  sampleStd,
  summarize,
  unsupportedFor,
  unsupportedPercentiles,
} from '../../src/stats/summary.js';

describe('percentiles, mean, std', () => {
  it('interpolates linearly between closest ranks (type 7, NumPy linear)', () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    // numpy.percentile(range(1, 11), [50, 90, 99, 25]) = 5.5, 9.1, 9.91, 3.25
    expect(percentile(xs, 0.5)).toBeCloseTo(5.5, 12);
    expect(percentile(xs, 0.9)).toBeCloseTo(9.1, 12);
    expect(percentile(xs, 0.99)).toBeCloseTo(9.91, 12);
    expect(percentile(xs, 0.25)).toBeCloseTo(3.25, 12);
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile(xs, 1)).toBe(10);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBeNaN();
  });

  it('mean, sample std (n - 1) and CV', () => {
    const xs = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(xs)).toBe(5);
    // Sum of squared deviations 32, over n - 1 = 7.
    expect(sampleStd(xs)).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(sampleStd([3])).toBe(0);
    expect(mean([])).toBeNaN();
    const s = summarize(xs);
    expect(s.cv).toBeCloseTo(Math.sqrt(32 / 7) / 5, 12);
  });

  it('summarizes known data, unsorted input included', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 .. 1
    const s = summarize(xs);
    expect(s.count).toBe(100);
    expect(s.min_ms).toBe(1);
    expect(s.max_ms).toBe(100);
    expect(s.mean_ms).toBe(50.5);
    expect(s.p50_ms).toBeCloseTo(50.5, 12);
    expect(s.p90_ms).toBeCloseTo(90.1, 12);
    expect(s.p95_ms).toBeCloseTo(95.05, 12);
    expect(s.p99_ms).toBeCloseTo(99.01, 12);
    expect(s.p999_ms).toBeCloseTo(99.901, 12);
    // 100 calls support p50, p90 and p95 (72 needed), not p99 (368) or p99.9 (3688).
    expect(s.unsupported_percentiles).toEqual(['p99', 'p999']);
  });
});

describe('whether the samples support a percentile', () => {
  it('needs n >= ln(alpha/2) / ln(max(p, 1 - p)) samples for a 95% interval', () => {
    expect(minSamplesForPercentile(0.5)).toBe(6);
    expect(minSamplesForPercentile(0.9)).toBe(36);
    expect(minSamplesForPercentile(0.95)).toBe(72);
    expect(minSamplesForPercentile(0.99)).toBe(368);
    expect(minSamplesForPercentile(0.999)).toBe(3688);
    // Symmetric in p and 1 - p; other confidence levels.
    expect(minSamplesForPercentile(0.01)).toBe(368);
    expect(minSamplesForPercentile(0.99, 0.9)).toBe(299);
    expect(minSamplesForPercentile(1)).toBe(Infinity);
    // The boundary itself: 0.99^367 is just above 0.025, 0.99^368 just below.
    expect(0.99 ** 367).toBeGreaterThan(0.025);
    expect(0.99 ** 368).toBeLessThanOrEqual(0.025);
    expect(minSamplesFor('p999')).toBe(3688);
  });

  it('lists the unsupported percentiles by count, and derives them for summaries written before the field', () => {
    expect(unsupportedFor(5)).toEqual(['p50', 'p90', 'p95', 'p99', 'p999']);
    expect(unsupportedFor(10)).toEqual(['p90', 'p95', 'p99', 'p999']);
    expect(unsupportedFor(36)).toEqual(['p95', 'p99', 'p999']);
    expect(unsupportedFor(367)).toEqual(['p99', 'p999']);
    expect(unsupportedFor(368)).toEqual(['p999']);
    expect(unsupportedFor(3688)).toEqual([]);
    expect(summarize(Array.from({ length: 10 }, (_, i) => i)).unsupported_percentiles).toEqual([
      'p90',
      'p95',
      'p99',
      'p999',
    ]);
    expect(unsupportedPercentiles({ count: 40 })).toEqual(['p95', 'p99', 'p999']);
    expect(unsupportedPercentiles({ count: 40, unsupported_percentiles: [] })).toEqual([]);
  });

  it('takes the order statistics from the Binomial(n, p) tails (as scipy.stats.binom gives them)', () => {
    const ranks = (n: number, p: number) => {
      const x = percentileInterval(
        Array.from({ length: n }, (_, i) => i + 1),
        p,
      )!;
      return [x.lo_rank, x.hi_rank, Number(x.coverage.toFixed(6))];
    };
    // The textbook case: the median of 10 lies in [x_(2), x_(9)] with probability 0.978516.
    expect(ranks(10, 0.5)).toEqual([2, 9, 0.978516]);
    expect(ranks(100, 0.5)).toEqual([40, 61, 0.9648]);
    expect(ranks(100, 0.9)).toEqual([84, 96, 0.95569]);
    expect(ranks(36, 0.9)).toEqual([29, 36, 0.953962]);
    expect(ranks(368, 0.99)).toEqual([360, 368, 0.962416]);
    expect(ranks(1000, 0.99)).toEqual([983, 997, 0.976095]);
    expect(ranks(10_000, 0.999)).toEqual([9983, 9997, 0.975457]);
    // The bounds are the samples at those ranks.
    const sorted = [3, 5, 8, 13, 21, 34, 55, 89, 144, 233];
    expect(percentileInterval(sorted, 0.5)).toMatchObject({ lo: 5, hi: 144 });
  });

  it('gives no interval where no order statistic can bound the quantile', () => {
    const xs = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
    expect(percentileInterval(xs(35), 0.9)).toBeNull();
    expect(percentileInterval(xs(367), 0.99)).toBeNull();
    expect(percentileInterval(xs(368), 0.99)).not.toBeNull();
    expect(percentileInterval(xs(5), 0.5)).toBeNull();
    expect(percentileInterval([], 0.5)).toBeNull();
  });

  it('covers the true quantile about 95% of the time (seeded simulation, lognormal latencies)', () => {
    // Lognormal(mu 0, sigma 0.5): the p-quantile is exp(0.5 z_p).
    const cases = [
      { p: 0.5, z: 0, n: 50 },
      { p: 0.9, z: 1.2815515655446004, n: 60 },
      { p: 0.99, z: 2.3263478740408408, n: 500 },
    ];
    const trials = 2000;
    for (const { p, z, n } of cases) {
      const truth = Math.exp(0.5 * z);
      const rng = new Rng(7);
      let covered = 0;
      let expected = 0;
      for (let t = 0; t < trials; t++) {
        const sample = Array.from({ length: n }, () => Math.exp(0.5 * rng.normal())).sort((a, b) => a - b);
        const x = percentileInterval(sample, p)!;
        if (x.lo <= truth && truth <= x.hi) covered++;
        expected += x.coverage;
      }
      // The exact coverage of the discrete interval is at least 95%; the simulated share of trials
      // agrees with it within a few binomial standard errors (sqrt(0.05 x 0.95 / 2000) = 0.5%).
      expect(expected / trials).toBeGreaterThanOrEqual(0.95);
      expect(Math.abs(covered / trials - expected / trials)).toBeLessThan(0.02);
    }
  });
});
