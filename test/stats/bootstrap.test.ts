/**
 * The bootstrap's pieces: percentiles of a resample held as counts equal those of the resample
 * itself, sorted; the interval is the statistic's 2.5th and 97.5th percentile.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import { percentileBootstrapInterval, percentilesOfCounts } from '../../src/stats/bootstrap.js';
import { percentile } from '../../src/stats/summary.js';

describe('percentilesOfCounts', () => {
  it('equals type-7 percentiles of the explicit resample, for all values and for a subset', () => {
    const rng = new Rng(3);
    const values = Float64Array.from({ length: 57 }, () => rng.normal()).sort();
    const ps = [0.5, 0.9, 0.99];
    for (let trial = 0; trial < 50; trial++) {
      const counts = new Uint32Array(values.length);
      const drawn: number[] = [];
      for (let k = 0; k < values.length; k++) {
        const j = rng.int(values.length);
        counts[j]!++;
        drawn.push(values[j]!);
      }
      drawn.sort((a, b) => a - b);
      const got = percentilesOfCounts(values, counts, null, values.length, ps);
      ps.forEach((p, i) => expect(got[i]).toBeCloseTo(percentile(drawn, p), 12));
    }
    // A subset read through ascending positions (one length class), counts indexed like the subset.
    const order = Int32Array.from([1, 4, 9, 16, 25, 36, 49]);
    const counts = Uint32Array.from([0, 3, 0, 1, 2, 0, 1]);
    const explicit = [4, 4, 4, 16, 25, 25, 49].map((k) => values[k]!);
    const got = percentilesOfCounts(values, counts, order, 7, ps);
    ps.forEach((p, i) => expect(got[i]).toBeCloseTo(percentile(explicit, p), 12));
  });
});

describe('percentileBootstrapInterval', () => {
  it('takes the 2.5th and 97.5th percentile of the resampled statistic, leaving NaNs out', () => {
    const xs = Array.from({ length: 1001 }, (_, i) => i / 1000);
    const x = percentileBootstrapInterval([...xs, NaN, NaN], 0.95)!;
    expect(x.lo).toBeCloseTo(0.025, 12);
    expect(x.hi).toBeCloseTo(0.975, 12);
    expect(percentileBootstrapInterval([NaN], 0.95)).toBeNull();
  });
});
