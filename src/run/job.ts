/**
 * One job: compose its config, claim its directory, save `.hydra/`, run its repetitions (each a
 * fresh launch of its instances), write its results after each. In a single run a config error is
 * thrown before any directory exists; in a sweep the job's directory is made anyway and its
 * results.json says what went wrong, so the sweep goes on. A sweep opens its jobs and interleaves
 * their repetitions (sweep.ts); a single run runs them back to back.
 */
import { join, resolve } from 'node:path';
import { ConfigError } from '../config/errors.js';
import { isUserError } from '../util/errors.js';
import { joinInside } from '../util/paths.js';
import type { Composition } from '../config/compose.js';
import { architectureOf, flopShape, forwardFlops, type FlopShape } from '../models/arch.js';
import { efficiency, estimatedPeak, type Efficiency, type EfficiencyOmitted } from '../stats/efficiency.js';
import type { Override } from '../config/grammar.js';
import { taskConfig } from '../config/hydra.js';
import { resolveKey } from '../config/interpolate.js';
import { composeJob, resolveContext, resolveTask, type ConfigSource, type JobIdentity } from '../config/load.js';
import type { ConfigRepository } from '../config/repository.js';
import type { RunConfig } from '../config/schema.js';
import { redactSecrets } from '../config/secrets.js';
import { getPath, isTree, type Tree } from '../util/tree.js';
import { isSimulated } from '../backends/registry.js';
import { aggregate } from '../results/aggregate.js';
import { collectEnvironment } from '../results/environment.js';
import { benchVersion } from '../util/versions.js';
import { claimRunDir, namedAfterTime, ResultsError, writeHydraFiles } from '../results/rundir.js';
import {
  aggregateAcross,
  firstDispatch,
  instancesOf,
  repetitionsOf,
  summarizeRepetitions,
  usedRepetitions,
} from '../results/repetitions.js';
import type {
  InstanceResult,
  RepetitionResult,
  RepetitionSummary,
  RunResult,
  RunStatus,
  Shard,
} from '../results/types.js';
import { SCHEMA_VERSION } from '../results/types.js';
import { writeRunResults } from '../results/write.js';
import type { ResolvedModel } from '../models/resolve.js';
import { fedBatches, summarizeInputs, type InputsSummary } from '../inputs/index.js';
import { withheldDispatchWarning, type DispatchReport } from '../scenarios/dispatch/index.js';
import { withheldPercentilesWarning } from '../scenarios/latency/index.js';
import { disturbanceWarning, disturbedInstances } from '../stats/interference.js';
import { geometricMean } from '../stats/repetitions.js';
import {
  executeLaunch,
  planJson,
  prepareLaunch,
  topologyFacts,
  type LaunchOutcome,
  type PreparedLaunch,
} from './launch.js';
import { runPeaks } from '../launcher/peak.js';

export type JobEvent =
  | {
      readonly type: 'job-start';
      readonly dir: string;
      readonly overrides: readonly string[];
      readonly job: JobIdentity | null;
      /** Repetitions the job will run (those still to run, on a resume). */
      readonly repetitions: number;
    }
  | {
      readonly type: 'repetition-end';
      readonly dir: string;
      readonly overrides: readonly string[];
      readonly job: JobIdentity | null;
      readonly repetition: RepetitionResult;
      /** The job's planned repetitions. */
      readonly planned: number;
      /** The job's result so far (as written to disk). */
      readonly result: RunResult;
    }
  | { readonly type: 'job-end'; readonly outcome: JobOutcome; readonly kept?: boolean };

export interface JobRequest {
  readonly repo: ConfigRepository;
  readonly source: ConfigSource;
  readonly overrides: readonly Override[];
  /** Set for a sweep job: its number and the sweep's directory. */
  readonly sweep?: { readonly job: JobIdentity; readonly dir: string; readonly shard?: Shard };
  readonly onEvent?: (e: JobEvent) => void;
  /** Ctrl-C / SIGTERM: the job stops, writes what it has, and is marked interrupted. */
  readonly signal?: AbortSignal;
  /** `bench --resume`: run again into this job directory instead of claiming a new one. */
  readonly reuseDir?: string;
  /**
   * `bench --resume`: the job's earlier result; its repetitions that measured ok are kept and only
   * the others run.
   */
  readonly earlier?: RunResult | null;
}

export interface JobOutcome {
  readonly status: RunStatus;
  readonly dir: string;
  readonly overrides: readonly string[];
  readonly result: RunResult;
  readonly error: Error | null;
  /**
   * The results could not be written (a full disk, a folder gone): `result` is the only copy of
   * the measurement, for the caller to show; the job is marked errored.
   */
  readonly unsaved?: boolean;
}

/** One job, all its repetitions one after the other (a sweep interleaves them with `openJob`). */
export async function runJob(req: JobRequest): Promise<JobOutcome> {
  const job = await openJob(req);
  // What is pending changes as repetitions end (a failed one stops the rest): asked afresh each time.
  for (let k = job.pending()[0]; k !== undefined && !req.signal?.aborted; k = job.pending()[0])
    await job.runRepetition(k);
  return job.finish();
}

/** What a job holds between its repetitions. */
interface Prepared {
  readonly comp: Composition;
  readonly resolved: Tree | null;
  readonly runConfig: RunConfig | null;
  readonly prepared: PreparedLaunch | null;
  /** A config, plan or model error of the user's, found before anything ran (sweeps only). */
  readonly error: Error | null;
}

/**
 * Composes the job, plans it and claims its directory (`.hydra/` written); nothing is measured yet.
 * In a single run, a config, plan or model error is thrown here, before any directory exists; in a
 * sweep the directory is made anyway and results.json says what went wrong, so the sweep goes on.
 */
export async function openJob(req: JobRequest): Promise<Job> {
  const version = benchVersion();
  let comp: Composition;
  try {
    comp = composeJob(req.repo, req.source, req.overrides, { version, ...(req.sweep ? { job: req.sweep.job } : {}) });
  } catch (err) {
    if (!req.sweep || !(err instanceof ConfigError)) throw err;
    // Without a composed config there is no subdir pattern: the job number names the directory.
    const dir =
      req.reuseDir ?? claimRunDir(join(req.sweep.dir, String(req.sweep.job.num)), '.hydra', 'hydra.sweep.dir');
    return new Job(
      req,
      dir,
      req.overrides.map((o) => o.inputLine),
      version,
      null,
      err,
    );
  }
  const config = comp.config;
  const hydra = config.hydra as Tree;
  const ctx = resolveContext();
  const outputSubdir = resolveKey(config, 'hydra.output_subdir', ctx);
  const dirKey = req.sweep ? 'hydra.sweep.dir' : 'hydra.run.dir';
  const wanted = req.sweep
    ? joinInside(req.sweep.dir, 'hydra.sweep.subdir', String(resolveKey(config, 'hydra.sweep.subdir', ctx)))
    : String(resolveKey(config, 'hydra.run.dir', ctx));

  const runtime = hydra.runtime as Tree;
  runtime.output_dir = resolve(wanted);
  let runConfig: RunConfig | null = null;
  let resolved: Tree | null = null;
  let error: Error | null = null;
  let prepared: PreparedLaunch | null = null;
  try {
    ({ resolved, runConfig } = resolveTask(config));
    // Planning needs no directory: in a single run, an impossible plan stops here with nothing written.
    prepared = await prepareLaunch(runConfig);
  } catch (err) {
    if (!req.sweep || !isUserError(err)) throw err;
    error = err;
  }

  // A single run's folder named by the user (not after the time) is never renamed (results/rundir.ts).
  const named = !req.sweep && !namedAfterTime(getPath(config, 'hydra.run.dir').value);
  if (typeof outputSubdir === 'string') joinInside(wanted, 'hydra.output_subdir', outputSubdir);
  const dir =
    req.reuseDir ?? claimRunDir(wanted, typeof outputSubdir === 'string' ? outputSubdir : '.bench', dirKey, named);
  if (dir !== runtime.output_dir) {
    runtime.output_dir = dir;
    if (runConfig) ({ resolved, runConfig } = resolveTask(config));
  }
  if (typeof outputSubdir === 'string') {
    try {
      writeHydraFiles(join(dir, outputSubdir), taskConfig(config), hydra, comp.taskOverrides);
    } catch (err) {
      // Nothing is measured yet, so nothing is lost: a single run stops here in one line; in a
      // sweep the job is errored with the reason and the sweep goes on.
      const cannot = new ResultsError(
        `cannot write ${join(dir, outputSubdir)}: ${(err as Error).message}; free some space or choose another ${dirKey}`,
      );
      if (!req.sweep) throw cannot;
      error ??= cannot;
    }
  }
  return new Job(req, dir, comp.taskOverrides, version, { comp, resolved, runConfig, prepared, error }, error);
}

/**
 * A job between its repetitions: which ones are still to run, what each measured, and the results
 * files, rewritten after every repetition (status `incomplete` until the last), so a job stopped
 * between two repetitions keeps the first.
 */
export class Job {
  readonly planned: number;
  private readonly repetitions = new Map<number, RepetitionResult>();
  private readonly instances = new Map<number, readonly InstanceResult[]>();
  private readonly warnings: string[];
  private readonly startedAt = new Date().toISOString();
  private backend: Record<string, unknown> | null = null;
  private model: ResolvedModel | null = null;
  private parentRssDuringRunMb: number | null = null;
  private environment: Record<string, unknown> | null = null;
  /** A repetition failed: the rest are not run (a failure is rarely a one-off). */
  private stopped = false;
  private finished: JobOutcome | null = null;
  /** The last write of the results failed: the result holds the only copy of the measurement. */
  private unsaved = false;

  constructor(
    private readonly req: JobRequest,
    readonly dir: string,
    readonly overrides: readonly string[],
    private readonly version: string,
    private readonly prep: Prepared | null,
    private readonly setupError: Error | null,
  ) {
    this.planned = prep?.runConfig?.repetitions ?? 1;
    this.warnings = [...(prep?.prepared?.warnings ?? [])];
    // A resume keeps the repetitions that measured ok, with their instances.
    const earlier = req.earlier;
    if (earlier && !setupError) {
      for (const rep of repetitionsOf(earlier)) {
        if (rep.status !== 'ok' || rep.repetition > this.planned) continue;
        this.repetitions.set(rep.repetition, rep);
        this.instances.set(rep.repetition, instancesOf(earlier, rep.repetition));
      }
      this.backend = earlier.backend;
    }
    req.onEvent?.({
      type: 'job-start',
      dir,
      overrides,
      job: req.sweep?.job ?? null,
      repetitions: this.pending().length,
    });
    // Nothing will run: record why at once.
    if (setupError) this.write(null);
  }

  /** The repetitions still to run, in order. */
  pending(): number[] {
    if (this.setupError || this.stopped || this.finished) return [];
    return Array.from({ length: this.planned }, (_, k) => k + 1).filter(
      (k) => this.repetitions.get(k)?.status !== 'ok',
    );
  }

  get done(): boolean {
    return this.pending().length === 0;
  }

  async runRepetition(k: number): Promise<RepetitionResult> {
    const { runConfig, prepared } = this.prep!;
    if (!runConfig || !prepared) throw new Error('runRepetition: the job has no runnable config');
    const startedAt = new Date().toISOString();
    let launched: LaunchOutcome | null = null;
    let error: Error | null = null;
    try {
      launched = await executeLaunch(runConfig, prepared, this.dir, {
        repetition: k,
        ...(this.req.signal ? { signal: this.req.signal } : {}),
      });
      const failed = launched.failures[0];
      if (failed)
        error = new Error(
          `instance ${failed.index}: ${failed.message}${failed.stderr_tail ? `\n--- its stderr (tail) ---\n${failed.stderr_tail}` : ''}`,
        );
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }
    const interrupted = this.req.signal?.aborted === true;
    const instances = (launched?.instances ?? []).map((i) => ({ ...i, repetition: k }));
    const rep: RepetitionResult = {
      repetition: k,
      status: interrupted ? 'interrupted' : error ? 'errored' : 'ok',
      started_at: startedAt,
      finished_at: new Date().toISOString(),
      aggregate: aggregate(instances),
      failures: (launched?.failures ?? []).map((f) => ({ ...f, repetition: k })),
      process_ids: launched?.pids ?? [],
      disturbed: disturbedInstances(instances).length > 0,
      error: interrupted ? 'interrupted' : (error?.message ?? null),
      ...(launched?.dispatch ? { dispatch: launched.dispatch } : {}),
    };
    this.repetitions.set(k, rep);
    this.instances.set(k, instances);
    if (launched) {
      this.backend ??= launched.backend;
      this.model ??= launched.model;
      if (launched.parentRssDuringRunMb !== undefined && launched.parentRssDuringRunMb !== null) {
        this.parentRssDuringRunMb = Math.max(this.parentRssDuringRunMb ?? 0, launched.parentRssDuringRunMb);
      }
    }
    if (rep.status !== 'ok') this.stopped = true;
    const result = this.write(null);
    this.req.onEvent?.({
      type: 'repetition-end',
      dir: this.dir,
      overrides: this.overrides,
      job: this.req.sweep?.job ?? null,
      repetition: rep,
      planned: this.planned,
      result,
    });
    return rep;
  }

  /** The last write: efficiency measured, final status; tells the caller (and `onEvent`) how it ended. */
  async finish(): Promise<JobOutcome> {
    if (this.finished) return this.finished;
    const cfg = this.prep?.runConfig ?? null;
    let efficiency: Efficiency | EfficiencyOmitted | null = null;
    const prepared = this.prep?.prepared ?? null;
    if (cfg && prepared && !this.setupError) {
      this.environment ??= this.collectEnvironment();
      const { instances, dispatch } = this.efficiencyInputs();
      efficiency = await runEfficiency(cfg, this.model, instances, dispatch, prepared, this.environment);
    }
    const result = this.write(efficiency, true);
    const error = result.error === null ? null : this.errorOf(result);
    this.finished = {
      status: result.status,
      dir: this.dir,
      overrides: this.overrides,
      result,
      error,
      ...(this.unsaved ? { unsaved: true } : {}),
    };
    this.req.onEvent?.({ type: 'job-end', outcome: this.finished });
    return this.finished;
  }

  private errorOf(result: RunResult): Error {
    return (
      this.setupError ??
      (this.req.signal?.aborted ? new Error(result.error ?? 'interrupted') : new Error(result.error ?? 'failed'))
    );
  }

  private collectEnvironment(): Record<string, unknown> {
    const prepared = this.prep?.prepared;
    return collectEnvironment(
      prepared
        ? { topology: topologyFacts(prepared.topology), ...(prepared.runtime ? { runtime: prepared.runtime } : {}) }
        : {},
    );
  }

  /**
   * What the efficiency figure is computed from: each instance's throughput across the used
   * repetitions; for a dispatch run, the first used repetition's instances and the lengths it fed.
   */
  private efficiencyInputs(): { instances: InstanceResult[]; dispatch: DispatchReport | undefined } {
    const reps = [...this.repetitions.values()].sort((a, b) => a.repetition - b.repetition);
    const dispatched = usedRepetitions(reps).used.find((r) => r.dispatch);
    if (dispatched)
      return { instances: [...(this.instances.get(dispatched.repetition) ?? [])], dispatch: dispatched.dispatch };
    return { instances: this.usedInstances(), dispatch: undefined };
  }

  /** Each instance index with its throughput across the used repetitions. */
  private usedInstances(): InstanceResult[] {
    const reps = [...this.repetitions.values()].sort((a, b) => a.repetition - b.repetition);
    const { used } = usedRepetitions(reps);
    if (used.length <= 1) return [...(this.instances.get(used[0]?.repetition ?? reps[0]?.repetition ?? 1) ?? [])];
    const byIndex = new Map<number, InstanceResult[]>();
    for (const r of used)
      for (const i of this.instances.get(r.repetition) ?? [])
        if (i.status === 'ok') byIndex.set(i.index, [...(byIndex.get(i.index) ?? []), i]);
    return [...byIndex.values()].map((xs) => ({
      ...xs[0]!,
      forwards_per_s: geometricMean(xs.map((x) => x.forwards_per_s)),
    }));
  }

  /** Writes results.json and results.csv as things stand; `final` after the last repetition. */
  private write(efficiency: Efficiency | EfficiencyOmitted | null, final = false): RunResult {
    const reps = [...this.repetitions.values()].sort((a, b) => a.repetition - b.repetition);
    const instances = reps.flatMap((r) => this.instances.get(r.repetition) ?? []);
    const interrupted = this.req.signal?.aborted === true;
    const failedRep = reps.find((r) => r.status === 'errored');
    const left = this.planned - reps.filter((r) => r.status === 'ok').length;
    const status: RunStatus = this.setupError
      ? 'errored'
      : interrupted
        ? 'interrupted'
        : failedRep
          ? 'errored'
          : left > 0
            ? final
              ? 'errored'
              : 'incomplete'
            : 'ok';
    const several = this.planned > 1;
    const repWord = (r: RepetitionResult): string => `repetition ${r.repetition} of ${this.planned}: `;
    let error: string | null = null;
    if (this.setupError) error = this.setupError.message;
    else if (interrupted)
      error = `interrupted by ${String(this.req.signal?.reason ?? 'a signal')}; what finished is kept`;
    else if (failedRep) {
      error = `${several ? repWord(failedRep) : ''}${failedRep.error ?? 'failed'}`;
      if (several && left > 1)
        error += `\n(the ${left - 1} repetition${left - 1 === 1 ? '' : 's'} after it did not run: bench --resume runs them)`;
    } else if (left > 0) error = `${this.planned - left} of ${this.planned} repetitions measured so far`;
    const { used } = usedRepetitions(reps);
    const summary = reps.length > 0 ? summarizeRepetitions(reps, this.planned) : null;
    this.environment ??= this.collectEnvironment();
    const result: RunResult = {
      schema_version: SCHEMA_VERSION,
      status,
      bench_version: this.version,
      started_at: this.startedAt,
      finished_at: new Date().toISOString(),
      output_dir: this.dir,
      overrides: this.overrides,
      ...(this.req.sweep ? { job: this.req.sweep.job.num } : {}),
      ...(this.req.sweep?.shard ? { shard: this.req.sweep.shard } : {}),
      // Never a secret-looking environment variable's value (config/secrets.ts).
      config: describeModelInConfig(
        this.prep?.resolved ? (redactSecrets(this.prep.comp.config, this.prep.resolved) as Tree) : null,
        this.model,
      ),
      backend: this.backend,
      environment: this.environment,
      plan: this.prep?.prepared ? { ...planJson(this.prep.prepared) } : null,
      ...inputsOf(this.prep?.prepared ?? null, this.prep?.runConfig ?? null),
      instances,
      failures: reps.flatMap((r) => r.failures),
      repetitions: reps,
      repetition_summary: summary,
      process_ids: reps.flatMap((r) => r.process_ids),
      // maxRSS is in KiB on Linux.
      parent_memory: {
        peak_rss_mb: process.resourceUsage().maxRSS / 1024,
        rss_during_run_mb: this.parentRssDuringRunMb,
      },
      ...(firstDispatch(reps) ? { dispatch: firstDispatch(reps)! } : {}),
      aggregate: several ? aggregateAcross(used, instances) : (reps[0]?.aggregate ?? null),
      efficiency,
      warnings: [
        ...(this.backend?.name === 'mock' ? ['backend: mock — latencies are simulated, not measured inference'] : []),
        ...this.warnings,
        ...modelWarnings(this.model),
        ...(isTree(this.prep?.resolved?.backend) && this.prep?.resolved?.backend.profile === true
          ? [
              "backend.profile=true: ONNX Runtime's profiler recorded the timed calls (backend.profile_calls of them): they are slower by its overhead, so bench compare keeps profiled runs apart from unprofiled ones",
            ]
          : []),
        ...withheldWarnings(
          reps.find((r) => r.aggregate !== null),
          instancesOf({ instances }, reps.find((r) => r.aggregate !== null)?.repetition ?? 1),
        ),
        ...reps.flatMap((r) =>
          disturbedInstances(this.instances.get(r.repetition) ?? []).map(
            (i) => `${several ? repWord(r) : ''}${disturbanceWarning(i.index, i.interference)}`,
          ),
        ),
        ...repetitionWarnings(summary),
        ...(several && this.prep?.runConfig?.launcher.name === 'inline'
          ? [
              'launcher=inline: the repetitions ran in the bench process, one after the other, not in fresh processes: process-level effects (memory layout, page placement) do not vary between them; use launcher=process',
            ]
          : []),
      ],
      error,
    };
    return this.persist(result);
  }

  /**
   * Writes results.json and the CSVs. When they cannot be written, the measurement is not lost: the
   * result, marked errored with the reason, goes back to the caller (and the CLI prints it).
   */
  private persist(result: RunResult): RunResult {
    try {
      writeRunResults(this.dir, result);
      this.unsaved = false;
      return result;
    } catch (err) {
      // Only a measurement is worth printing whole; a job that measured nothing just says why.
      this.unsaved = (result.repetitions?.length ?? 0) > 0;
      const why = `the results could not be written to ${this.dir} (${(err as Error).message})`;
      return { ...result, status: 'errored', error: result.error === null ? why : `${result.error}; ${why}` };
    }
  }
}

/** What the summary across repetitions leaves out, and a summary that rests only on disturbed data. */
function repetitionWarnings(summary: RepetitionSummary | null): string[] {
  if (!summary || summary.planned <= 1) return [];
  const out: string[] = [];
  const disturbed = summary.excluded.filter((e) => e.reason.startsWith('disturbed')).map((e) => e.repetition);
  if (disturbed.length > 0) {
    out.push(
      `repetition${disturbed.length === 1 ? '' : 's'} ${disturbed.join(', ')} ${disturbed.length === 1 ? 'was' : 'were'} disturbed and ${disturbed.length === 1 ? 'is' : 'are'} left out of the figures across repetitions`,
    );
  }
  if (summary.disturbed_only)
    out.push('every repetition was disturbed: the figures across repetitions rest on disturbed measurements only');
  return out;
}

/**
 * A user's file or a hub model is described in the saved config by itself: its source and the
 * architecture read from its config.json or its graph (null where neither says), never by the
 * preset whose fields filled `model` before the file was read. So results.csv, summaries and
 * compare see what ran.
 */
function describeModelInConfig(resolved: Tree | null, model: ResolvedModel | null): Tree | null {
  if (!resolved || !model || model.source === 'synthetic' || !isTree(resolved.model)) return resolved;
  const described: Tree = { ...resolved.model, source: model.source };
  for (const [k, v] of Object.entries(model.arch)) if (k in described) described[k] = v;
  return { ...resolved, model: described };
}

/** inputs.text: the texts and tokenizer, and (latency) what each instance was fed. */
function inputsOf(prepared: PreparedLaunch | null, cfg: RunConfig | null): { inputs?: InputsSummary } {
  if (!prepared?.inputs || !cfg) return {};
  const batches =
    cfg.scenario.name === 'latency'
      ? fedBatches(prepared.inputs, prepared.plan.instances, cfg.sequence_length)
      : undefined;
  return { inputs: summarizeInputs(prepared.inputs, batches) };
}

/** What the resolved model says the user should know: an int8 rewrite that changed nothing. */
function modelWarnings(model: ResolvedModel | null): string[] {
  const q = model?.quantization;
  const own = [...(model?.warnings ?? [])];
  if (!q || q.quantized === null || Object.values(q.quantized).some((n) => n > 0)) return own;
  return [
    ...own,
    `model.dtype=int8: nothing in ${q.source_file} was quantized (no MatMul/Gemm with a constant fp32 weight among model.quantization.op_types); ` +
      'the run measured the model as it is. Is it int8 already?',
  ];
}

/**
 * Achieved GFLOP/s of the instances that finished, against the GEMM ceiling measured through the
 * ONNX Runtime in a child placed like the instances (launcher/peak.ts; cached per ORT version, CPU,
 * thread count, binding and environment): the machine's practical ceiling, whatever runtime the
 * instances ran; only for a real runtime, not the mock.
 * FLOPs come from the architecture of the model that ran (for a user or hub model, its config.json
 * or its graph); when that does not show them, no figure is given, and the result says why.
 */
async function runEfficiency(
  cfg: RunConfig,
  model: ResolvedModel | null,
  instances: readonly InstanceResult[],
  dispatch: DispatchReport | undefined,
  prepared: PreparedLaunch,
  env: Record<string, unknown>,
): Promise<Efficiency | EfficiencyOmitted | null> {
  const ok = instances.filter((i) => i.status === 'ok');
  if (ok.length === 0) return null;
  if (cfg.model.dtype === 'int8' || model?.dtype === 'int8') {
    const which = model?.int8_ops
      ? `the model file multiplies in int8 (${model.int8_ops.join(', ')})`
      : 'an int8 model multiplies in int8 (VNNI)';
    return {
      omitted: `${which}, so the fp32 GEMM peak is no ceiling for it; compare its latency with the fp32 run instead`,
    };
  }
  const arch = model ? flopShape(model.arch) : architectureOf(cfg.model);
  if (arch === null)
    return {
      omitted: `the FLOPs of ${model?.name ?? 'the model'} are unknown: ${model?.arch_note ?? 'its architecture does not show them'}`,
    };
  const flops = flopsPerForward(arch, cfg, dispatch, instances, ok);
  const probes = isSimulated(cfg) ? [] : await runPeaks(prepared, ok);
  const peaks = ok.map((i) => probes.find((p) => p.threads === i.threads)?.gflops ?? null);
  const mhz = typeof env.cpu_mhz === 'number' ? env.cpu_mhz : null;
  const threads = ok.reduce((s, i) => s + i.threads, 0);
  const e = efficiency(
    flops,
    ok.map((i) => i.forwards_per_s),
    peaks,
    estimatedPeak((env.cpu_flags as string[]) ?? [], threads, mhz),
  );
  return probes.length > 0 ? { ...e, peak_probes: probes } : e;
}

/**
 * Each instance's FLOPs per forward: batch x sequence_length in a latency run; in a dispatch run the
 * mean over the requests it served (one forward each, at the request's own length), so that
 * FLOPs per forward x forwards/s is the FLOPs it computed per second.
 */
function flopsPerForward(
  arch: FlopShape,
  cfg: RunConfig,
  dispatch: DispatchReport | undefined,
  all: readonly InstanceResult[],
  ok: readonly InstanceResult[],
): number[] {
  const served = dispatch?.dispatched.requests;
  if (!served) return ok.map((i) => forwardFlops(arch, i.batch_size, cfg.sequence_length));
  // `requests.instance` is the position of the instance in the dispatched setup, as in `instances`.
  return ok.map((i) => {
    const position = all.indexOf(i);
    const lengths = served.length.filter((_, k) => served.instance[k] === position);
    return lengths.length > 0 ? lengths.reduce((sum, len) => sum + forwardFlops(arch, 1, len), 0) / lengths.length : 0;
  });
}

/**
 * Once per run (from its first repetition that measured): the percentiles its samples do not support, and how long to
 * run for them.
 */
function withheldWarnings(rep: RepetitionResult | undefined, instances: readonly InstanceResult[]): string[] {
  if (!rep) return [];
  const w = rep.dispatch ? withheldDispatchWarning(rep.dispatch) : withheldPercentilesWarning(instances);
  return w ? [w] : [];
}
