/**
 * What counts as a disturbed measurement: other processes' time on the instance's CPUs, beyond what
 * /proc/stat's ticks can resolve, and not bench's own parent.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  busyByCpu,
  certainOthersShare,
  DISTURBED_SHARE,
  interference,
  isDisturbed,
  processCpuMs,
  sampleCpus,
  withoutHarness,
} from '../../src/stats/interference.js';

describe('interference', () => {
  it("counts a runtime child's CPU time as the instance's own (a Python runtime's work is not interference)", async () => {
    // A process that is gone contributes nothing.
    expect(processCpuMs(2 ** 22 + 12345)).toBe(0);
    const child = spawn(process.execPath, ['-e', 'const t = Date.now(); while (Date.now() - t < 3000);']);
    try {
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(processCpuMs(child.pid!)).toBeGreaterThan(100);
      const withChild = sampleCpus([0], [child.pid!])!;
      const without = sampleCpus([0])!;
      expect(withChild.ownCpuMs - without.ownCpuMs).toBeGreaterThan(100);
    } finally {
      child.kill();
    }
  });

  it('reads busy time per CPU from /proc/stat (ticks of 10 ms; idle and iowait are not busy)', () => {
    const busy = busyByCpu('cpu  1 2 3 4\ncpu0 10 0 5 100 7 1 1 0 0 0\ncpu1 3 0 0 50 0 0 0 2\nintr 123\n');
    expect(busy.get(0)).toBe((10 + 5 + 1 + 1) * 10);
    expect(busy.get(1)).toBe((3 + 2) * 10);
  });

  it('others = busy - own over the capacity; the tick rounding is given the benefit of the doubt', () => {
    // 2 CPUs, 200 ms: 400 ms of capacity; 60 ms busy, 30 ms ours: 30 ms others, 7.5%.
    const x = interference([0, 1], { busyMs: 0, ownCpuMs: 0 }, { busyMs: 60, ownCpuMs: 30 }, 200);
    expect(x.others_share).toBeCloseTo(0.075, 12);
    // Up to one tick per CPU at each end (40 ms of 400) may be rounding: 3.5 points left, not disturbed.
    expect(certainOthersShare(x)).toBe(0);
    expect(isDisturbed(x)).toBe(false);
    // The same share over 5 s is well resolved: disturbed.
    const long = interference([0, 1], { busyMs: 0, ownCpuMs: 0 }, { busyMs: 1500, ownCpuMs: 750 }, 5000);
    expect(long.others_share).toBeCloseTo(0.075, 12);
    expect(certainOthersShare(long)).toBeGreaterThan(DISTURBED_SHARE);
    expect(isDisturbed(long)).toBe(true);
  });

  it("bench's own parent (a dispatch run's router) is not another process", () => {
    const x = interference([0], { busyMs: 0, ownCpuMs: 0 }, { busyMs: 700, ownCpuMs: 500 }, 1000);
    expect(isDisturbed(x)).toBe(true);
    const y = withoutHarness(x, 150);
    expect(y.harness_cpu_ms).toBe(150);
    expect(y.others_share).toBeCloseTo(0.05, 12);
    expect(isDisturbed(y)).toBe(false);
    expect(withoutHarness(x, 1000).others_share).toBe(0);
  });
});
