/**
 * One job: compose its config, claim its directory, save `.hydra/`, run its instances, write its
 * results. In a single run a config error is thrown before any directory exists; in a sweep the
 * job's directory is made anyway and its results.json says what went wrong, so the sweep goes on.
 */
import { join, resolve } from 'node:path';
import { ConfigError } from '../config/errors.js';
import { gemmPeak } from '../backends/peak.js';
import type { Composition } from '../config/compose.js';
import { architectureOf, flopShape, forwardFlops, type FlopShape } from '../models/arch.js';
import { efficiency, estimatedPeak, type Efficiency, type EfficiencyOmitted } from '../stats/efficiency.js';
import type { Override } from '../config/grammar.js';
import { taskConfig } from '../config/hydra.js';
import { resolveKey } from '../config/interpolate.js';
import { composeJob, resolveContext, resolveTask, type ConfigSource, type JobIdentity } from '../config/load.js';
import type { ConfigRepository } from '../config/repository.js';
import type { RunConfig } from '../config/schema.js';
import { isTree, type Tree } from '../config/tree.js';
import { aggregate } from '../results/aggregate.js';
import { benchVersion, collectEnvironment } from '../results/environment.js';
import { claimRunDir, writeHydraFiles } from '../results/rundir.js';
import type { InstanceFailure, InstanceResult, RunResult, RunStatus } from '../results/types.js';
import { SCHEMA_VERSION } from '../results/types.js';
import { writeRunResults } from '../results/write.js';
import { ModelError } from '../models/errors.js';
import type { ResolvedModel } from '../models/resolve.js';
import { withheldDispatchWarning } from '../scenarios/dispatch.js';
import { withheldPercentilesWarning } from '../scenarios/latency.js';
import { disturbanceWarning, disturbedInstances } from '../stats/interference.js';
import { TopologyError } from '../topology/errors.js';
import { LaunchError } from './binding.js';
import { executeLaunch, planJson, prepareLaunch, topologyFacts, type LaunchOutcome, type PlanJson, type PreparedLaunch } from './launch.js';
import { PlanError } from './plan.js';

export type JobEvent =
  | { readonly type: 'job-start'; readonly dir: string; readonly overrides: readonly string[]; readonly job: JobIdentity | null }
  | { readonly type: 'job-end'; readonly outcome: JobOutcome; readonly kept?: boolean };

export interface JobRequest {
  readonly repo: ConfigRepository;
  readonly source: ConfigSource;
  readonly overrides: readonly Override[];
  /** Set for a sweep job: its number and the sweep's directory. */
  readonly sweep?: { readonly job: JobIdentity; readonly dir: string };
  readonly onEvent?: (e: JobEvent) => void;
  /** Ctrl-C / SIGTERM: the job stops, writes what it has, and is marked interrupted. */
  readonly signal?: AbortSignal;
  /** `bench --resume`: run again into this job directory instead of claiming a new one. */
  readonly reuseDir?: string;
}

export interface JobOutcome {
  readonly status: RunStatus;
  readonly dir: string;
  readonly overrides: readonly string[];
  readonly result: RunResult;
  readonly error: Error | null;
}

export async function runJob(req: JobRequest): Promise<JobOutcome> {
  const version = benchVersion();
  let comp: Composition;
  try {
    comp = composeJob(req.repo, req.source, req.overrides, { version, ...(req.sweep ? { job: req.sweep.job } : {}) });
  } catch (err) {
    if (!req.sweep || !(err instanceof ConfigError)) throw err;
    // Without a composed config there is no subdir pattern: the job number names the directory.
    const dir = req.reuseDir ?? claimRunDir(join(req.sweep.dir, String(req.sweep.job.num)), '.hydra', 'hydra.sweep.dir');
    const lines = req.overrides.map((o) => o.inputLine);
    return finish(req, { dir, overrides: lines, version, startedAt: new Date().toISOString(), resolved: null, instances: [], backend: null, error: err });
  }
  const config = comp.config;
  const hydra = config.hydra as Tree;
  const ctx = resolveContext();
  const outputSubdir = resolveKey(config, 'hydra.output_subdir', ctx);
  const dirKey = req.sweep ? 'hydra.sweep.dir' : 'hydra.run.dir';
  const wanted = req.sweep
    ? join(req.sweep.dir, String(resolveKey(config, 'hydra.sweep.subdir', ctx)))
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

  const dir = req.reuseDir ?? claimRunDir(wanted, typeof outputSubdir === 'string' ? outputSubdir : '.bench', dirKey);
  if (dir !== runtime.output_dir) {
    runtime.output_dir = dir;
    if (runConfig) ({ resolved, runConfig } = resolveTask(config));
  }
  if (typeof outputSubdir === 'string') {
    writeHydraFiles(join(dir, outputSubdir), taskConfig(config), hydra, comp.taskOverrides);
  }
  req.onEvent?.({ type: 'job-start', dir, overrides: comp.taskOverrides, job: req.sweep?.job ?? null });

  const startedAt = new Date().toISOString();
  let launched: LaunchOutcome | null = null;
  if (runConfig && prepared) {
    try {
      launched = await executeLaunch(runConfig, prepared, dir, req.signal ? { signal: req.signal } : {});
      const failed = launched.failures[0];
      if (failed) error = new Error(`instance ${failed.index}: ${failed.message}${failed.stderr_tail ? `\n--- its stderr (tail) ---\n${failed.stderr_tail}` : ''}`);
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }
  }
  const env = collectEnvironment(prepared ? { topology: topologyFacts(prepared.topology) } : {});
  const measuredEfficiency = runConfig && launched ? await runEfficiency(runConfig, launched, env) : null;
  return finish(req, {
    dir,
    overrides: comp.taskOverrides,
    version,
    startedAt,
    resolved: describeModelInConfig(resolved, launched?.model ?? null),
    efficiency: measuredEfficiency,
    instances: launched?.instances ?? [],
    failures: launched?.failures ?? [],
    pids: launched?.pids ?? [],
    parentRssDuringRunMb: launched?.parentRssDuringRunMb ?? null,
    ...(launched?.dispatch ? { dispatch: launched.dispatch } : {}),
    backend: launched?.backend ?? null,
    plan: prepared ? planJson(prepared) : null,
    warnings: [...(prepared?.warnings ?? []), ...modelWarnings(launched?.model ?? null), ...withheldWarnings(launched)],
    error,
    environment: env,
  });
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

/** What the resolved model says the user should know: an int8 rewrite that changed nothing. */
function modelWarnings(model: ResolvedModel | null): string[] {
  const q = model?.quantization;
  if (!q || q.quantized === null || Object.values(q.quantized).some((n) => n > 0)) return [];
  return [
    `model.dtype=int8: nothing in ${q.source_file} was quantized (no MatMul/Gemm with a constant fp32 weight among model.quantization.op_types); ` +
      'the run measured the model as it is. Is it int8 already?',
  ];
}

/** Errors that come from what the user asked for, as opposed to bugs. */
export function isUserError(err: unknown): err is Error {
  return err instanceof ConfigError || err instanceof PlanError || err instanceof LaunchError || err instanceof TopologyError || err instanceof ModelError;
}

interface Finished {
  readonly dir: string;
  readonly overrides: readonly string[];
  readonly version: string;
  readonly startedAt: string;
  readonly resolved: Tree | null;
  readonly instances: readonly InstanceResult[];
  readonly backend: Record<string, unknown> | null;
  readonly failures?: readonly InstanceFailure[];
  readonly pids?: readonly number[];
  readonly parentRssDuringRunMb?: number | null;
  readonly efficiency?: Efficiency | EfficiencyOmitted | null;
  readonly dispatch?: LaunchOutcome['dispatch'];
  readonly plan?: PlanJson | null;
  readonly warnings?: readonly string[];
  readonly error: Error | null;
  /** The machine, collected once per job (collected here when the job never got that far). */
  readonly environment?: Record<string, unknown>;
}

function finish(req: JobRequest, f: Finished): JobOutcome {
  const interrupted = req.signal?.aborted === true;
  const status: RunStatus = interrupted ? 'interrupted' : f.error ? 'errored' : 'ok';
  const error = interrupted ? new Error(`interrupted by ${String(req.signal?.reason ?? 'a signal')}; what finished is kept`) : f.error;
  const result: RunResult = {
    schema_version: SCHEMA_VERSION,
    status,
    bench_version: f.version,
    started_at: f.startedAt,
    finished_at: new Date().toISOString(),
    output_dir: f.dir,
    overrides: f.overrides,
    config: f.resolved,
    backend: f.backend,
    environment: f.environment ?? collectEnvironment(),
    plan: f.plan ? { ...f.plan } : null,
    instances: f.instances,
    failures: f.failures ?? [],
    process_ids: f.pids ?? [],
    // maxRSS is in KiB on Linux.
    parent_memory: { peak_rss_mb: process.resourceUsage().maxRSS / 1024, rss_during_run_mb: f.parentRssDuringRunMb ?? null },
    ...(f.dispatch ? { dispatch: f.dispatch } : {}),
    aggregate: aggregate(f.instances),
    efficiency: f.efficiency ?? null,
    warnings: [
      ...(f.backend?.name === 'mock' ? ['backend: mock — latencies are simulated, not measured inference'] : []),
      ...(f.warnings ?? []),
      ...interferenceWarnings(f.instances),
    ],
    error: error ? error.message : null,
  };
  writeRunResults(f.dir, result);
  const outcome: JobOutcome = { status, dir: f.dir, overrides: f.overrides, result, error };
  req.onEvent?.({ type: 'job-end', outcome });
  return outcome;
}

/**
 * Achieved GFLOP/s of the instances that finished, against the GEMM ceiling measured (once per
 * machine and thread count) through the same runtime; only for a real runtime, not the mock.
 * FLOPs come from the architecture of the model that ran (for a user or hub model, its config.json
 * or its graph); when that does not show them, no figure is given, and the result says why.
 */
async function runEfficiency(cfg: RunConfig, launched: LaunchOutcome, env: Record<string, unknown>): Promise<Efficiency | EfficiencyOmitted | null> {
  const ok = launched.instances.filter((i) => i.status === 'ok');
  if (ok.length === 0) return null;
  const model = launched.model;
  if (cfg.model.dtype === 'int8') {
    return { omitted: 'an int8 model multiplies in int8 (VNNI), so the fp32 GEMM peak is no ceiling for it; compare its latency with the fp32 run instead' };
  }
  const arch = model ? flopShape(model.arch) : architectureOf(cfg.model);
  if (arch === null) return { omitted: `the FLOPs of ${model?.name ?? 'the model'} are unknown: ${model?.arch_note ?? 'its architecture does not show them'}` };
  const flops = flopsPerForward(arch, cfg, launched, ok);
  // One probe per distinct thread count, one after the other: probes running side by side would
  // disturb each other (and then not be cached).
  const peakByThreads = new Map<number, number>();
  if (cfg.backend.name === 'onnxruntime') {
    for (const t of new Set(ok.map((i) => i.threads))) peakByThreads.set(t, (await gemmPeak(t)).gflops);
  }
  const peaks = ok.map((i) => peakByThreads.get(i.threads) ?? null);
  const mhz = typeof env.cpu_mhz === 'number' ? env.cpu_mhz : null;
  const threads = ok.reduce((s, i) => s + i.threads, 0);
  return efficiency(flops, ok.map((i) => i.forwards_per_s), peaks, estimatedPeak((env.cpu_flags as string[]) ?? [], threads, mhz));
}

/**
 * Each instance's FLOPs per forward: batch x sequence_length in a latency run; in a dispatch run the
 * mean over the requests it served (one forward each, at the request's own length), so that
 * FLOPs per forward x forwards/s is the FLOPs it computed per second.
 */
function flopsPerForward(arch: FlopShape, cfg: RunConfig, launched: LaunchOutcome, ok: readonly InstanceResult[]): number[] {
  const served = launched.dispatch?.dispatched.requests;
  if (!served) return ok.map((i) => forwardFlops(arch, i.batch_size, cfg.sequence_length));
  // `requests.instance` is the position of the instance in the dispatched setup, as in `instances`.
  return ok.map((i) => {
    const position = launched.instances.indexOf(i);
    const lengths = served.length.filter((_, k) => served.instance[k] === position);
    return lengths.length > 0 ? lengths.reduce((sum, len) => sum + forwardFlops(arch, 1, len), 0) / lengths.length : 0;
  });
}

/** Once per run: the percentiles its samples do not support, and how long to run for them. */
function withheldWarnings(launched: LaunchOutcome | null): string[] {
  if (!launched) return [];
  const w = launched.dispatch ? withheldDispatchWarning(launched.dispatch) : withheldPercentilesWarning(launched.instances);
  return w ? [w] : [];
}

function interferenceWarnings(instances: readonly InstanceResult[]): string[] {
  return disturbedInstances(instances).map((i) => disturbanceWarning(i.index, i.interference));
}
