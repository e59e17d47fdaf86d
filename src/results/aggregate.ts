import { summarize } from '../stats/summary.js';
import type { Aggregate, InstanceResult } from './types.js';

export function aggregate(instances: readonly InstanceResult[]): Aggregate | null {
  const ok = instances.filter((i) => i.status === 'ok');
  if (ok.length === 0) return null;
  const max = (f: (i: InstanceResult) => number): number => Math.max(...ok.map(f));
  const sum = (f: (i: InstanceResult) => number): number => ok.reduce((s, i) => s + f(i), 0);
  return {
    instances: ok.length,
    batch_size: sum((i) => i.batch_size),
    latency_mean_ms: max((i) => i.latency.mean_ms),
    latency_p50_ms: max((i) => i.latency.p50_ms),
    latency_p90_ms: max((i) => i.latency.p90_ms),
    latency_p99_ms: max((i) => i.latency.p99_ms),
    throughput_samples_per_s: sum((i) => i.throughput_samples_per_s),
    forwards_per_s: sum((i) => i.forwards_per_s),
    pooled: summarize(ok.flatMap((i) => i.latencies_ms)),
  };
}
