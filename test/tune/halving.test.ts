/**
 * Successive halving's decisions and the winner's confidence, on hand-made results.
 */
import { describe, expect, it } from 'vitest';
import type { TuneConfig } from '../../src/config/schema.js';
import type { RunResult } from '../../src/results/types.js';
import { Rng } from '../../src/util/rng.js';
import { nextDuration, selectSurvivors, winnerConfidence } from '../../src/tune/halving.js';

const TUNE: TuneConfig = {
  objective: 'latency',
  max_latency_ms: null,
  latency_stat: 'p99',
  strategy: 'halving',
  min_duration_s: 0.5,
  max_duration_s: 8,
  eta: 4,
  prune_margin: 0.1,
  screen_warmup_runs: 2,
  screen_min_iterations: 5,
  space: {
    instances: null,
    cores_per_instance: null,
    use_all_cores: true,
    use_smt: null,
    split_batch: null,
    threads: ['cpus'],
    params: {},
  },
};

/** A result with one instance per entry of `meansMs`, each `n` calls of seeded noise around its mean. */
function result(meansMs: readonly number[], batch = 1, n = 200, seed = 1): RunResult {
  const rng = new Rng(seed);
  const instances = meansMs.map((m, index) => {
    const latencies = Array.from({ length: n }, () => m * (1 + 0.03 * rng.normal()));
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      index,
      batch_size: batch,
      latencies_ms: latencies,
      latency: { mean_ms: m, p99_ms: sorted[Math.floor(0.99 * (n - 1))]! },
    };
  });
  const worst = Math.max(...meansMs);
  return {
    status: 'ok',
    error: null,
    instances,
    aggregate: {
      latency_mean_ms: worst,
      latency_p50_ms: worst,
      latency_p90_ms: worst * 1.04,
      latency_p99_ms: worst * 1.07,
      throughput_samples_per_s: meansMs.reduce((s, m) => s + (batch * 1000) / m, 0),
    },
  } as unknown as RunResult;
}

describe('selectSurvivors', () => {
  it('keeps the best 1/eta (at least 2), drops those more than prune_margin behind, ranks failures out', () => {
    const entries = [
      { candidate: 0, result: result([10]) },
      { candidate: 1, result: result([10.5]) },
      { candidate: 2, result: result([10.8]) },
      { candidate: 3, result: result([12]) },
      { candidate: 4, result: null, error: 'instance 0 exited on signal SIGKILL' },
    ];
    const d = selectSurvivors(entries, TUNE);
    expect(d.survivors).toEqual([0, 1]);
    const reasons = Object.fromEntries(d.eliminated.map((e) => [e.candidate, e.reason]));
    expect(reasons[2]).toBe('rank 3: not in the best 2 of 5 (tune.eta=4)');
    expect(reasons[3]).toBe("20.0% behind the rung's best (tune.prune_margin=0.1)");
    expect(reasons[4]).toBe('failed: instance 0 exited on signal SIGKILL');
  });

  it('keeps ceil(n / eta) when that is more than 2', () => {
    const entries = Array.from({ length: 12 }, (_, k) => ({ candidate: k, result: result([10 + k * 0.01]) }));
    expect(selectSurvivors(entries, TUNE).survivors).toEqual([0, 1, 2]);
  });

  it('throughput: higher is better, and setups over the latency budget are out whatever their throughput', () => {
    const tune = { ...TUNE, objective: 'throughput' as const, max_latency_ms: 25 };
    const entries = [
      { candidate: 0, result: result([30, 30], 8) }, // 533/s but p99 32 ms
      { candidate: 1, result: result([20], 8) }, // 400/s
      { candidate: 2, result: result([21], 8) }, // 381/s
    ];
    const d = selectSurvivors(entries, tune);
    expect(d.survivors).toEqual([1, 2]);
    expect(d.eliminated[0]!.reason).toBe('p99 latency 32.10 ms is over tune.max_latency_ms=25');
  });

  it('the last rung ranks every setup that ran within the budget, pruning nothing', () => {
    const entries = [
      { candidate: 0, result: result([12]) },
      { candidate: 1, result: result([10]) },
      { candidate: 2, result: null, error: 'boom' },
    ];
    const d = selectSurvivors(entries, TUNE, true);
    expect(d.survivors).toEqual([1, 0]);
    expect(d.eliminated).toEqual([{ candidate: 2, reason: 'failed: boom' }]);
  });

  it('durations grow by eta up to max', () => {
    expect(nextDuration(0.5, TUNE)).toBe(2);
    expect(nextDuration(4, TUNE)).toBe(8);
  });
});

/**
 * A result of several repetitions whose objective figures are given: each repetition's aggregate
 * mean latency (and throughput, batch 1: 1000 / latency).
 */
function repeated(latenciesMs: readonly number[], disturbed: readonly number[] = []): RunResult {
  const repetitions = latenciesMs.map((m, k) => ({
    repetition: k + 1,
    status: 'ok',
    disturbed: disturbed.includes(k + 1),
    aggregate: { latency_mean_ms: m, throughput_samples_per_s: 1000 / m },
  }));
  return { status: 'ok', instances: [], repetitions, aggregate: repetitions[0]!.aggregate } as unknown as RunResult;
}

describe('winnerConfidence', () => {
  it('over interleaved repetitions: a 5% faster winner with 1% spread between repetitions is significant', () => {
    const c = winnerConfidence(repeated([10, 10.1, 9.9, 10.05]), repeated([10.5, 10.6, 10.4, 10.45]), 'latency');
    expect(c.basis).toBe('repetitions');
    expect(c.repetitions).toEqual([4, 4]);
    expect(c.significant).toBe(true);
    expect(c.runner_up_behind).toBeCloseTo(0.0474, 3);
    expect(c.lo!).toBeGreaterThan(0.03);
    expect(c.hi!).toBeLessThan(0.07);
    expect(c.p_value!).toBeLessThan(0.001);
  });

  it('the calls of one run are not the evidence: a gap within the spread between repetitions is not significant', () => {
    // Each run's calls could be as tight as you like; the repetitions disagree by +-5%.
    const c = winnerConfidence(repeated([10, 10.5, 9.5]), repeated([10.2, 9.7, 10.8]), 'latency');
    expect(c.lo!).toBeLessThan(0);
    expect(c.hi!).toBeGreaterThan(0);
    expect(c.significant).toBe(false);
  });

  it('throughput: the runner-up delivering less is behind; disturbed repetitions are left out when clean ones exist', () => {
    const c = winnerConfidence(repeated([10, 10.1, 9.9, 30], [4]), repeated([12, 12.1, 11.9]), 'throughput');
    expect(c.repetitions).toEqual([3, 3]);
    // 83.3 of 100 sequences/s: 16.7% less.
    expect(c.runner_up_behind).toBeCloseTo(1 - 10 / 12, 2);
    expect(c.significant).toBe(true);
  });

  it('one run each (a runner-up dropped in a screening rung): no test, the noise floor decides', () => {
    const near = winnerConfidence(repeated([10]), repeated([10.6]), 'latency');
    expect(near).toMatchObject({ basis: 'noise-floor', lo: null, hi: null, p_value: null, significant: false });
    expect(winnerConfidence(repeated([10]), repeated([12.5]), 'latency').significant).toBe(true);
  });
});
