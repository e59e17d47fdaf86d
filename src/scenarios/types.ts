/**
 * The seam every scenario stands behind (latency, dispatch; a new one is a folder and a line in
 * registry.ts). A scenario has a parent side, which plans its instances from the topology and the
 * config and drives them through a repetition (start, feed, collect), and a worker side, which does
 * the work with a backend inside one instance: in a pinned child, or in the bench process with
 * launcher=inline. Between the two, messages only (launcher/protocol.ts).
 */
import type { RunConfig } from '../config/schema.js';
import type { BindingKind } from '../launcher/binding.js';
import type { Endpoint, InstanceFailure } from '../launcher/endpoint.js';
import type { Plan, PlanInstance } from '../launcher/plan.js';
import type { InitMessage, MessageCheck } from '../launcher/protocol.js';
import type { WorkerPort } from '../launcher/worker.js';
import type { ResolvedModel } from '../models/resolve.js';
import type { TextInputs } from '../inputs/index.js';
import type { ProfileSummary } from '../backends/types.js';
import type { Interference } from '../stats/interference.js';
import type { LatencySummary } from '../stats/summary.js';
import type { Topology } from '../topology/model.js';
import type { DispatchReport } from './dispatch/report.js';

/** What one instance measured in one repetition (results.json `instances`). */
export interface InstanceResult {
  readonly index: number;
  /** The repetition (1-based) it belongs to; absent in files from before repetitions (then 1). */
  readonly repetition?: number;
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
  /** backend.profile=true: ONNX Runtime's operator profile of the timed calls. */
  readonly profile?: ProfileSummary;
  /** The allocator the instance's process had mapped ('glibc', or the jemalloc/tcmalloc library it preloaded). */
  readonly allocator?: string;
  /** Other processes' CPU time on this instance's CPUs while it measured. */
  readonly interference?: Interference | null;
}

/** What a scenario's parent side needs to run one repetition of a planned launch. */
export interface ScenarioContext {
  readonly config: RunConfig;
  readonly topology: Topology;
  readonly plan: Plan;
  readonly binding: BindingKind;
  /** Environment every child gets on top of bench's own (launcher.thp). */
  readonly env: Readonly<Record<string, string>>;
  /** The model the instances run (null for a backend that needs no file). */
  readonly model: ResolvedModel | null;
  /** inputs.text: the texts, tokenized (null: seeded random ids). */
  readonly inputs: TextInputs | null;
  readonly outputDir: string;
  /** Which repetition of the run (1-based). */
  readonly repetition: number;
  /** launcher=inline: the workers run in the bench process. */
  readonly inline: boolean;
  readonly signal?: AbortSignal;
  /**
   * Starts `instance`'s worker (a pinned child, or inline), sending it its init with `options`;
   * `alongside` instances (itself included) run at the same time.
   */
  start(instance: PlanInstance, alongside: number, options?: Readonly<Record<string, unknown>>): Endpoint;
}

/** What a repetition gave: the instances' results, what failed, and (dispatch) the scenario's report. */
export interface ScenarioOutcome {
  readonly instances: readonly InstanceResult[];
  readonly failures: readonly InstanceFailure[];
  /** The backend's own description (versions, threads, model provenance); null when none reported. */
  readonly backend: Record<string, unknown> | null;
  readonly pids: readonly number[];
  /** The parent's resident memory while its children measured (null inline). */
  readonly parentRssDuringRunMb?: number | null;
  /** The dispatch scenario's report (dispatched vs homogeneous). */
  readonly dispatch?: DispatchReport;
}

export interface Scenario {
  readonly name: string;
  /** The instances to start, from the topology and the config; pure, checked before any directory exists. */
  plan(topology: Topology, cfg: RunConfig): Plan;
  /** Whether launcher=inline can run this plan; a reason when not. */
  inlineRefusal(plan: Plan): string | null;
  /** Parent side: one repetition. */
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
  /** Worker side: the work inside one instance. */
  worker(init: InitMessage, port: WorkerPort): Promise<void>;
  /** The scenario's own messages from a worker, checked before they are believed. */
  readonly accepts: MessageCheck;
}
