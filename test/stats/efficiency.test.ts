import { describe, expect, it } from 'vitest';
import { forwardFlops } from '../../src/models/arch.js';
import { efficiency, estimatedPeak } from '../../src/stats/efficiency.js';
import { busyByCpu, interference } from '../../src/stats/interference.js';
import { BERT_TINY } from '../fixtures/models.js';

describe('FLOPs and efficiency', () => {
  it('counts bert-tiny at 1 x 128 by hand: 2 layers x (dense 12,582,912 + attention 4,194,304)', () => {
    // dense: 2 FLOPs x 128 tokens x (Q,K,V,O: 4 x 64 x 64 + FFN: 2 x 64 x 256) = 12,582,912
    // attention: scores and context, 2 x 2 FLOPs x 128 x 128 x 64 = 4,194,304
    expect(forwardFlops(BERT_TINY, 1, 128)).toBe(2 * (12_582_912 + 4_194_304));
    expect(forwardFlops(BERT_TINY, 4, 128)).toBe(4 * forwardFlops(BERT_TINY, 1, 128));
  });

  it('sums achieved GFLOP/s over instances and divides by the summed ceilings', () => {
    const e = efficiency([1e9, 1e9], [10, 20], [50, 50], null);
    expect(e.achieved_gflops).toBeCloseTo(30, 9);
    expect(e.measured_peak_gflops).toBe(100);
    expect(e.fraction_of_measured_peak).toBeCloseTo(0.3, 9);
    expect(efficiency([1e9], [10], [null], null).fraction_of_measured_peak).toBeNull();
  });

  it('estimates a ceiling from the vector extensions, cores and clock', () => {
    expect(estimatedPeak(['avx2', 'fma', 'avx512f'], 2, 2000)?.gflops).toBe(256);
    expect(estimatedPeak(['avx2', 'fma'], 4, 3000)?.gflops).toBe(384);
    expect(estimatedPeak(['sse4_2'], 4, 3000)).toBeNull();
  });
});

describe('interference from /proc/stat', () => {
  const stat = (ticks0: number, ticks1: number): string =>
    `cpu  1 2 3 4\ncpu0 ${ticks0} 0 0 1000 0 0 0 0 0 0\ncpu1 ${ticks1} 0 0 1000 0 0 0 0 0 0\nintr 1 2 3\n`;

  it('reads busy milliseconds per CPU (USER_HZ ticks of 10 ms)', () => {
    expect(busyByCpu(stat(5, 7))).toEqual(
      new Map([
        [0, 50],
        [1, 70],
      ]),
    );
  });

  it('attributes busy time that is not ours to other processes', () => {
    const x = interference([0, 1], { busyMs: 0, ownCpuMs: 0 }, { busyMs: 2000, ownCpuMs: 1500 }, 1000);
    expect(x.others_share).toBeCloseTo(0.25, 9);
    expect(interference([0], { busyMs: 0, ownCpuMs: 0 }, { busyMs: 990, ownCpuMs: 1000 }, 1000).others_share).toBe(0);
  });
});
