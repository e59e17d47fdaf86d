/**
 * The result files' contract (versioned): results.json holds everything, raw latencies included;
 * results.csv one row per instance plus an aggregate row. `compare` and `report` read only these.
 */
import type { DispatchReport } from '../scenarios/dispatch/report.js';
import type { InputsSummary } from '../inputs/index.js';
import type { Efficiency, EfficiencyOmitted } from '../stats/efficiency.js';
import type { SpreadInterval } from '../stats/repetitions.js';
import type { LatencySummary, PercentileName } from '../stats/summary.js';

export const SCHEMA_VERSION = 1;

/**
 * ok: every planned repetition measured; errored: something failed (the error says what; what
 * finished is kept); interrupted: stopped by a signal; incomplete: written between repetitions,
 * while later ones were still to run (a file left so means bench was killed there).
 */
export type RunStatus = 'ok' | 'errored' | 'interrupted' | 'incomplete';

export type { InstanceFailure } from '../launcher/endpoint.js';
export type { InstanceResult } from '../scenarios/types.js';
import type { InstanceFailure } from '../launcher/endpoint.js';
import type { InstanceResult } from '../scenarios/types.js';

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

/**
 * One repetition of a run: a fresh measurement of the same config (new child processes, new
 * session, own warm-up). Its instances are the run's `instances` with this `repetition`.
 */
export interface RepetitionResult {
  /** 1-based. */
  readonly repetition: number;
  readonly status: 'ok' | 'errored' | 'interrupted';
  readonly started_at: string;
  readonly finished_at: string;
  /** Across this repetition's instances (null when none finished). */
  readonly aggregate: Aggregate | null;
  readonly failures: readonly InstanceFailure[];
  readonly process_ids: readonly number[];
  /** Other processes took more than the disturbance threshold of an instance's CPUs while it measured. */
  readonly disturbed: boolean;
  readonly error: string | null;
  /** The dispatch scenario: this repetition's report. */
  readonly dispatch?: DispatchReport;
}

/**
 * The figures of a run across its repetitions: the geometric mean of the repetitions' figures and
 * a t-interval on their logs (src/stats/repetitions.ts). `used` are the repetitions that make the
 * figures: the ok ones that were not disturbed, or every ok one when all were disturbed.
 */
export interface RepetitionSummary {
  readonly planned: number;
  /** Repetitions that measured ok. */
  readonly completed: number;
  readonly used: readonly number[];
  readonly excluded: readonly { readonly repetition: number; readonly reason: string }[];
  /** Every used repetition was disturbed (no clean one exists): figures to distrust. */
  readonly disturbed_only: boolean;
  readonly method: string;
  readonly latency_mean_ms: SpreadInterval;
  readonly latency_p50_ms: SpreadInterval;
  readonly latency_p99_ms: SpreadInterval;
  readonly throughput_samples_per_s: SpreadInterval;
  /** Dispatch runs: the dispatched setup's request latency (median over all classes) and completed requests/s. */
  readonly request_latency_p50_ms?: SpreadInterval;
  readonly requests_per_s?: SpreadInterval;
}

/** One of N parts of a sweep run apart (on several machines): the jobs whose number mod N is `index`. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

export interface RunResult {
  readonly schema_version: number;
  readonly status: RunStatus;
  readonly bench_version: string;
  readonly started_at: string;
  readonly finished_at: string;
  readonly output_dir: string;
  readonly overrides: readonly string[];
  /** A sweep job's number (hydra.job.num): which job of its sweep this is, whichever folder holds it. */
  readonly job?: number;
  /** The shard of a sweep this job ran in (bench -m --shard I/N, a Slurm array task). */
  readonly shard?: Shard;
  /** The resolved task config (null when it could not be composed). */
  readonly config: Record<string, unknown> | null;
  readonly backend: Record<string, unknown> | null;
  readonly environment: Record<string, unknown>;
  /** The instance plan: CPUs, memory nodes, threads, batch and command of each instance. */
  readonly plan: Record<string, unknown> | null;
  /** inputs.text: the texts, the tokenizer and what each instance was fed; absent with random ids. */
  readonly inputs?: InputsSummary;
  /** Every repetition's instances, each tagged with its `repetition`. */
  readonly instances: readonly InstanceResult[];
  readonly failures: readonly InstanceFailure[];
  /**
   * Each repetition (config key `repetitions`, default 1); absent in files from before
   * repetitions, which hold one.
   */
  readonly repetitions?: readonly RepetitionResult[];
  /** Across the repetitions; absent in files from before repetitions. */
  readonly repetition_summary?: RepetitionSummary | null;
  /** The instances' process ids (the bench process itself for launcher=inline), for post-mortems. */
  readonly process_ids: readonly number[];
  /** The bench process's own memory: peak over its life, and while the instances measured. */
  readonly parent_memory: { readonly peak_rss_mb: number; readonly rss_during_run_mb: number | null };
  /**
   * One repetition: across its instances. Several: the repetitions' figures combined (geometric
   * means of the used repetitions' figures; `pooled` over all their calls); see repetition_summary.
   */
  readonly aggregate: Aggregate | null;
  /** Achieved GFLOP/s against the measured GEMM ceiling (and an estimate from the CPU's flags). */
  readonly efficiency: Efficiency | EfficiencyOmitted | null;
  readonly warnings: readonly string[];
  readonly error: string | null;
  /**
   * The dispatch scenario only: workload, dispatched and homogeneous setups per class, gain. The
   * instances above are then the dispatched setup's, their latencies the service times. With
   * several repetitions, the first ok one's report (each repetition's is in `repetitions`).
   */
  readonly dispatch?: DispatchReport;
}
