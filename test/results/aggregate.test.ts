/**
 * Aggregation across instances (src/results/aggregate.ts) on hand-built instances whose windows and
 * latencies are known: throughput is counted over the common window [last start, first end], with
 * the calls each instance completed inside it; latency is the worst instance's.
 */
import { describe, expect, it } from 'vitest';
import { aggregate, commonWindow } from '../../src/results/aggregate.js';
import type { InstanceResult } from '../../src/results/types.js';
import { summarize } from '../../src/stats/summary.js';

/** An instance whose timed window starts at `startMs` (epoch) and whose calls take `latenciesMs`, back to back. */
function instance(
  index: number,
  startMs: number,
  latenciesMs: readonly number[],
  opts: { batch?: number; status?: 'ok' | 'errored' } = {},
): InstanceResult {
  const batch = opts.batch ?? 1;
  const windowMs = latenciesMs.reduce((s, l) => s + l, 0);
  const forwardsPerS = latenciesMs.length / (windowMs / 1e3);
  return {
    index,
    status: opts.status ?? 'ok',
    cpus: [index],
    threads: 1,
    batch_size: batch,
    load_prepare_ms: 0,
    load_session_ms: 0,
    first_inference_ms: 0,
    warmup_runs: 0,
    iterations: latenciesMs.length,
    window_start_epoch_ms: startMs,
    window_ms: windowMs,
    latency: summarize(latenciesMs),
    throughput_samples_per_s: forwardsPerS * batch,
    forwards_per_s: forwardsPerS,
    peak_rss_mb: 0,
    latencies_ms: latenciesMs,
  };
}

const calls = (n: number, ms: number): number[] => Array<number>(n).fill(ms);

describe('commonWindow', () => {
  it('is [last start, first end], counting the calls that end inside it (the edges included)', () => {
    // A: 1000-1100, calls ending at 1010, 1020, ..., 1100. B: 1020-1120, calls ending at 1030, ..., 1120.
    const w = commonWindow([instance(0, 1000, calls(10, 10)), instance(1, 1020, calls(10, 10))]);
    expect(w).toEqual({ start_epoch_ms: 1020, duration_ms: 80, calls: [9, 8] });
  });

  it('counts a call that began before the window and ended inside it, not one that ends after it', () => {
    // A: 1000-1100 in 4 calls (ending at 1025, 1050, 1075, 1100); B: 1030-1090 in 2 calls (1060, 1090).
    const w = commonWindow([instance(0, 1000, calls(4, 25)), instance(1, 1030, calls(2, 30))]);
    expect(w).toEqual({ start_epoch_ms: 1030, duration_ms: 60, calls: [2, 2] });
  });

  it('is null when the windows do not overlap, or only touch', () => {
    expect(commonWindow([instance(0, 1000, calls(10, 10)), instance(1, 1200, calls(10, 10))])).toBeNull();
    expect(commonWindow([instance(0, 1000, calls(10, 10)), instance(1, 1100, calls(10, 10))])).toBeNull();
    expect(commonWindow([])).toBeNull();
  });

  it('of one instance is its own window with all its calls', () => {
    expect(commonWindow([instance(0, 1000, calls(5, 20))])).toEqual({
      start_epoch_ms: 1000,
      duration_ms: 100,
      calls: [5],
    });
  });
});

describe('aggregate', () => {
  it('sums throughput over the common window, per sample (batch) and per forward', () => {
    const a = aggregate([
      instance(0, 1000, calls(10, 10), { batch: 2 }),
      instance(1, 1020, calls(10, 10), { batch: 4 }),
    ])!;
    // In [1020, 1100]: A 9 calls x 2 samples, B 8 calls x 4 samples, over 80 ms.
    expect(a.common_window_ms).toBe(80);
    expect(a.throughput_samples_per_s).toBeCloseTo((9 * 2 + 8 * 4) / 0.08, 9);
    expect(a.forwards_per_s).toBeCloseTo((9 + 8) / 0.08, 9);
    // Each instance's own rate: 100 forwards/s.
    expect(a.throughput_sum_of_rates_samples_per_s).toBeCloseTo(100 * 2 + 100 * 4, 9);
    expect(a.batch_size).toBe(6);
    expect(a.instances).toBe(2);
  });

  it('an instance measuring alone at the edges (faster, the cores to itself) does not inflate the total', () => {
    // Together for 100 ms at 10 ms a call; then B goes on alone for 40 ms at 2 ms a call.
    const together = instance(0, 1000, calls(10, 10));
    const alone = instance(1, 1000, [...calls(10, 10), ...calls(20, 2)]);
    const a = aggregate([together, alone])!;
    expect(alone.throughput_samples_per_s).toBeCloseTo(30 / 0.14, 9);
    expect(a.throughput_sum_of_rates_samples_per_s).toBeCloseTo(100 + 30 / 0.14, 9);
    // Inside [1000, 1100]: 10 calls each, 200 samples/s, not the 314 of the summed rates.
    expect(a.common_window_ms).toBe(100);
    expect(a.throughput_samples_per_s).toBeCloseTo(200, 9);
  });

  it('falls back to the sum of rates when the windows never overlap, and says there was no common window', () => {
    const a = aggregate([instance(0, 1000, calls(10, 10)), instance(1, 1200, calls(5, 10))])!;
    expect(a.common_window_ms).toBeNull();
    expect(a.throughput_samples_per_s).toBeCloseTo(200, 9);
    expect(a.throughput_samples_per_s).toBe(a.throughput_sum_of_rates_samples_per_s);
  });

  it('of one instance is that instance: its rate, no common window', () => {
    const only = instance(0, 1000, calls(8, 12.5), { batch: 3 });
    const a = aggregate([only])!;
    expect(a.instances).toBe(1);
    expect(a.common_window_ms).toBeNull();
    expect(a.throughput_samples_per_s).toBe(only.throughput_samples_per_s);
    expect(a.forwards_per_s).toBe(only.forwards_per_s);
    expect(a.latency_p99_ms).toBe(only.latency.p99_ms);
  });

  it('leaves failed instances out: of the count, the window, the rates and the latencies', () => {
    const ok0 = instance(0, 1000, calls(10, 10));
    const ok1 = instance(1, 1020, calls(10, 10));
    // A failed instance whose window would have shrunk the common one to nothing, and whose latencies are the worst.
    const failed = instance(2, 1500, calls(3, 50), { status: 'errored' });
    const a = aggregate([ok0, failed, ok1])!;
    expect(a).toEqual(aggregate([ok0, ok1]));
    expect(a.instances).toBe(2);
    expect(a.common_window_ms).toBe(80);
    expect(a.latency_mean_ms).toBe(10);
    expect(aggregate([failed])).toBeNull();
    expect(aggregate([])).toBeNull();
  });

  it("takes the worst instance's latency and pools every call", () => {
    const fast = instance(0, 1000, calls(10, 10));
    const slow = instance(1, 1000, calls(5, 20));
    const a = aggregate([fast, slow])!;
    expect(a.latency_mean_ms).toBe(20);
    expect(a.latency_p99_ms).toBe(20);
    expect(a.pooled.mean_ms).toBeCloseTo(200 / 15, 9);
  });
});
