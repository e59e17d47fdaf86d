/**
 * The result files' contract (versioned): results.json holds everything, raw latencies included;
 * results.csv one row per instance plus an aggregate row. `compare` and `report` read only these.
 */
import type { DispatchReport } from '../scenarios/dispatch.js';
import type { Efficiency, EfficiencyOmitted } from '../stats/efficiency.js';
import type { Interference } from '../stats/interference.js';
import type { LatencySummary, PercentileName } from '../stats/summary.js';

export const SCHEMA_VERSION = 1;

export type RunStatus = 'ok' | 'errored' | 'interrupted';

export interface InstanceResult {
  readonly index: number;
  readonly status: 'ok' | 'errored';
  /** The CPUs the instance ran on, as the kernel reported its affinity; null when unknown. */
  readonly cpus: readonly number[] | null;
  readonly threads: number;
  readonly batch_size: number;
  readonly load_prepare_ms: number;
  readonly load_session_ms: number;
  readonly first_inference_ms: number;
  readonly warmup_runs: number;
  readonly iterations: number;
  readonly window_start_epoch_ms: number;
  readonly window_ms: number;
  readonly latency: LatencySummary;
  readonly throughput_samples_per_s: number;
  readonly forwards_per_s: number;
  readonly peak_rss_mb: number;
  readonly latencies_ms: readonly number[];
  /** Other processes' CPU time on this instance's CPUs while it measured. */
  readonly interference?: Interference | null;
}

/** An instance that did not finish: what is known about it. */
export interface InstanceFailure {
  readonly index: number;
  readonly message: string;
  readonly exit_code: number | null;
  readonly signal: string | null;
  readonly stderr_tail: string;
}

/** Across instances, as the study defines it: latency is the worst instance's, throughput the sum. */
export interface Aggregate {
  readonly instances: number;
  readonly batch_size: number;
  readonly latency_mean_ms: number;
  readonly latency_p50_ms: number;
  readonly latency_p90_ms: number;
  readonly latency_p99_ms: number;
  readonly throughput_samples_per_s: number;
  readonly forwards_per_s: number;
  /** Each instance's own rate, summed (equal to the above when the windows coincide). */
  readonly throughput_sum_of_rates_samples_per_s: number;
  /** Length of the window all instances measured in together; null for one instance. */
  readonly common_window_ms: number | null;
  /** All instances' calls pooled into one distribution. */
  readonly pooled: LatencySummary;
  /**
   * The worst-instance percentiles above that some instance's calls do not support (stats/summary.ts);
   * kept as computed, withheld where people read them. Absent in files written before it existed.
   */
  readonly unsupported_percentiles?: readonly PercentileName[];
}

export interface RunResult {
  readonly schema_version: number;
  readonly status: RunStatus;
  readonly bench_version: string;
  readonly started_at: string;
  readonly finished_at: string;
  readonly output_dir: string;
  readonly overrides: readonly string[];
  /** The resolved task config (null when it could not be composed). */
  readonly config: Record<string, unknown> | null;
  readonly backend: Record<string, unknown> | null;
  readonly environment: Record<string, unknown>;
  /** The instance plan: CPUs, memory nodes, threads, batch and command of each instance. */
  readonly plan: Record<string, unknown> | null;
  readonly instances: readonly InstanceResult[];
  readonly failures: readonly InstanceFailure[];
  /** The instances' process ids (the bench process itself for launcher=inline), for post-mortems. */
  readonly process_ids: readonly number[];
  /** The bench process's own memory: peak over its life, and while the instances measured. */
  readonly parent_memory: { readonly peak_rss_mb: number; readonly rss_during_run_mb: number | null };
  readonly aggregate: Aggregate | null;
  /** Achieved GFLOP/s against the measured GEMM ceiling (and an estimate from the CPU's flags). */
  readonly efficiency: Efficiency | EfficiencyOmitted | null;
  readonly warnings: readonly string[];
  readonly error: string | null;
  /**
   * The dispatch scenario only: workload, dispatched and homogeneous setups per class, gain. The
   * instances above are then the dispatched setup's, their latencies the service times.
   */
  readonly dispatch?: DispatchReport;
}
