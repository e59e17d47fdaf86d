/**
 * Across instances, as the study defines it: the latency of a multi-instance setup is its worst
 * instance's (max over instances of mean, p50, p90, p99), its throughput the sum over instances.
 * A worst-instance percentile is supported only when every instance's calls support it.
 *
 * The sum is taken over the common window (from the last instance's start to the first one's end),
 * counting the calls each instance completed inside it, so that an instance measuring alone at the
 * edges (faster, with the cores to itself) does not inflate the total. Call end times are rebuilt
 * from the window start and the cumulative latencies (the gaps between calls are microseconds).
 */
import { summarize, unsupportedAcross } from '../stats/summary.js';
import type { Aggregate, InstanceResult } from './types.js';

export interface CommonWindow {
  readonly start_epoch_ms: number;
  readonly duration_ms: number;
  /** Calls completed inside the window, per instance. */
  readonly calls: readonly number[];
}

export function commonWindow(instances: readonly InstanceResult[]): CommonWindow | null {
  if (instances.length === 0) return null;
  const start = Math.max(...instances.map((i) => i.window_start_epoch_ms));
  const end = Math.min(...instances.map((i) => i.window_start_epoch_ms + i.window_ms));
  if (!(end > start)) return null;
  const calls = instances.map((i) => {
    let t = i.window_start_epoch_ms;
    let n = 0;
    for (const latency of i.latencies_ms) {
      t += latency;
      if (t > end) break;
      if (t >= start) n++;
    }
    return n;
  });
  return { start_epoch_ms: start, duration_ms: end - start, calls };
}

export function aggregate(instances: readonly InstanceResult[]): Aggregate | null {
  const ok = instances.filter((i) => i.status === 'ok');
  if (ok.length === 0) return null;
  const max = (f: (i: InstanceResult) => number): number => Math.max(...ok.map(f));
  const sum = (f: (i: InstanceResult) => number): number => ok.reduce((s, i) => s + f(i), 0);
  const window = ok.length > 1 ? commonWindow(ok) : null;
  const sumOfRates = sum((i) => i.throughput_samples_per_s);
  const inWindow = window
    ? ok.reduce((s, inst, k) => s + window.calls[k]! * inst.batch_size, 0) / (window.duration_ms / 1e3)
    : null;
  const forwardsInWindow = window ? window.calls.reduce((s, n) => s + n, 0) / (window.duration_ms / 1e3) : null;
  return {
    instances: ok.length,
    batch_size: sum((i) => i.batch_size),
    latency_mean_ms: max((i) => i.latency.mean_ms),
    latency_p50_ms: max((i) => i.latency.p50_ms),
    latency_p90_ms: max((i) => i.latency.p90_ms),
    latency_p99_ms: max((i) => i.latency.p99_ms),
    throughput_samples_per_s: inWindow ?? sumOfRates,
    forwards_per_s: forwardsInWindow ?? sum((i) => i.forwards_per_s),
    throughput_sum_of_rates_samples_per_s: sumOfRates,
    common_window_ms: window?.duration_ms ?? null,
    pooled: summarize(ok.flatMap((i) => i.latencies_ms)),
    unsupported_percentiles: unsupportedAcross(ok.map((i) => i.latency)),
  };
}
