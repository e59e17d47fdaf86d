/**
 * From a validated run config to measured instances: read the topology, plan the instances, pick
 * the binding (all before any directory exists, so an impossible plan costs nothing), then resolve
 * the model once in the parent and run the instances, in pinned children or in-process.
 */
import { sequenceLengths, type RunConfig } from '../config/schema.js';
import { needsModelFile } from '../backends/index.js';
import { ModelError } from '../models/errors.js';
import { locateLocalModel, resolveModel, type ResolvedModel } from '../models/resolve.js';
import type { InstanceFailure, InstanceResult } from '../results/types.js';
import { detectTopology, loadTopologyFile } from '../topology/detect.js';
import { summarize, type Topology } from '../topology/model.js';
import { LaunchError, resolveBinding, type BindingKind } from './binding.js';
import { runInstance } from './instance.js';
import { planInstances, PlanError, type Plan } from './plan.js';
import { childCommand, runProcessInstances } from './process.js';
import { checkDispatchWorkload, planDispatch, runDispatch } from './serve.js';
import type { DispatchReport } from '../scenarios/dispatch.js';

export interface PreparedLaunch {
  readonly topology: Topology;
  readonly plan: Plan;
  readonly binding: BindingKind;
  readonly warnings: readonly string[];
  /** Environment the children get on top of bench's own (each also gets OMP_NUM_THREADS=threads). */
  readonly env: Readonly<Record<string, string>>;
}

export interface PlanJson {
  readonly binding: BindingKind;
  readonly env: Readonly<Record<string, string>>;
  readonly instances: readonly {
    readonly index: number;
    readonly cpus: readonly number[];
    readonly memory_nodes: readonly number[];
    readonly threads: number;
    readonly batch_size: number;
    readonly command: string;
    readonly argv: readonly string[];
  }[];
  readonly leftover_cpus: readonly number[];
  readonly warnings: readonly string[];
  readonly dispatch?: Plan['dispatch'];
}

export interface LaunchOutcome {
  readonly instances: readonly InstanceResult[];
  readonly failures: readonly InstanceFailure[];
  readonly backend: Record<string, unknown> | null;
  readonly pids: readonly number[];
  /** The parent's resident memory while the children measured (null when it ran the instance itself). */
  readonly parentRssDuringRunMb?: number | null;
  /** The dispatch scenario's report (dispatched vs homogeneous); absent for latency runs. */
  readonly dispatch?: DispatchReport;
  /** The model the instances ran (null for the mock backend, which needs no file). */
  readonly model: ResolvedModel | null;
}

let machineTopologyCache: Promise<Topology> | null = null;

/** This machine's topology, restricted to the CPUs this process may use; detected once per process. */
export function machineTopology(): Promise<Topology> {
  machineTopologyCache ??= detectTopology();
  return machineTopologyCache;
}

export async function topologyFor(cfg: Pick<RunConfig, 'topology'>): Promise<Topology> {
  return cfg.topology.file === null ? machineTopology() : loadTopologyFile(cfg.topology.file);
}

export function topologyFacts(t: Topology): Record<string, unknown> {
  const s = summarize(t);
  return {
    cpus: s.cpus,
    online_cpus: s.onlineCpus,
    physical_cores: s.physicalCores,
    threads_per_core: s.maxThreadsPerCore,
    sockets: s.sockets,
    numa_nodes: s.cpuNodes,
    source: t.source,
  };
}

export function makePlan(cfg: RunConfig, topology: Topology): Plan {
  if (cfg.scenario.name === 'dispatch') {
    // The pools are the instances; their lengths are checked here too, before any directory exists.
    checkDispatchWorkload(cfg);
    return planDispatch(topology, cfg).plan;
  }
  const l = cfg.launcher;
  return planInstances(topology, {
    num_instances: l.num_instances,
    cores_per_instance: l.cores_per_instance,
    use_smt: l.use_smt,
    nodes: l.nodes,
    sockets: l.sockets,
    cpu_list: l.cpu_list,
    binding: l.binding,
    split_batch: l.split_batch,
    allow_uneven_split: l.allow_uneven_split,
    batch_size: cfg.batch_size,
    num_threads: cfg.backend.num_threads,
  });
}

/**
 * `forRun: false` previews a plan (bench plan): a recorded topology need not be this machine's, and
 * `binding: auto` is shown as numactl there, since the other machine cannot be probed from here.
 */
export async function prepareLaunch(cfg: RunConfig, opts: { forRun: boolean } = { forRun: true }): Promise<PreparedLaunch> {
  // A missing or non-ONNX model file is the user's input: refused before a run directory exists.
  if (opts.forRun && cfg.model.path !== null) locateLocalModel(cfg.model.path);
  const topology = await topologyFor(cfg);
  const plan = makePlan(cfg, topology);
  if (!opts.forRun && cfg.topology.file !== null && cfg.launcher.name !== 'inline') {
    const binding = cfg.launcher.binding === 'auto' ? 'numactl' : cfg.launcher.binding;
    return { topology, plan, binding, warnings: plan.warnings, env: childEnv(cfg) };
  }
  if (cfg.topology.file !== null) {
    const here = new Set((await machineTopology()).cpus.map((c) => c.id));
    const missing = plan.instances.flatMap((i) => i.cpus).filter((id) => !here.has(id));
    if (missing.length > 0) {
      throw new PlanError(
        `topology.file=${cfg.topology.file} plans CPUs this machine does not have (${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', ...' : ''}): ` +
          'print that plan with `bench plan topology.file=...`; runs need this machine\'s topology (remove topology.file)',
      );
    }
  }
  if (cfg.launcher.name === 'inline') {
    if (plan.instances.length > 1) {
      throw new PlanError(`launcher=inline runs one instance in the bench process: use launcher=process for launcher.num_instances=${plan.instances.length}`);
    }
    return { topology, plan, binding: 'none', warnings: plan.warnings, env: {} };
  }
  const binding = await resolveBinding(cfg.launcher.binding, plan.instances[0]!, plan.instances.length);
  return { topology, plan, binding: binding.kind, warnings: [...plan.warnings, ...binding.warnings], env: childEnv(cfg) };
}

const HUGETLB_TUNABLE = 'glibc.malloc.hugetlb=1';

/**
 * `launcher.thp`: glibc's malloc asks for transparent huge pages (madvise), so loading a model
 * faults in 2 MiB pages instead of 4 KiB ones: session creation of bert-base went from 3.8 s to
 * 2.2 s on a VM where page faults are costly, with the same latency. Other tunables are kept.
 */
export function childEnv(cfg: Pick<RunConfig, 'launcher'>, inherited: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (!cfg.launcher.thp) return {};
  const current = inherited.GLIBC_TUNABLES ?? '';
  if (current.split(':').some((t) => t.startsWith('glibc.malloc.hugetlb='))) return { GLIBC_TUNABLES: current };
  return { GLIBC_TUNABLES: current === '' ? HUGETLB_TUNABLE : `${current}:${HUGETLB_TUNABLE}` };
}

export function planJson(prepared: Pick<PreparedLaunch, 'plan' | 'binding' | 'warnings' | 'env'>): PlanJson {
  return {
    binding: prepared.binding,
    env: prepared.env,
    instances: prepared.plan.instances.map((i) => {
      const argv = childCommand(prepared.binding, i);
      return { index: i.index, cpus: i.cpus, memory_nodes: i.memory_nodes, threads: i.threads, batch_size: i.batch_size, command: argv.map(shellQuote).join(' '), argv };
    }),
    leftover_cpus: prepared.plan.leftover_cpus,
    warnings: prepared.warnings,
    ...(prepared.plan.dispatch ? { dispatch: prepared.plan.dispatch } : {}),
  };
}

export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * Resolves (synthesizes, downloads) the model once, in the parent, before any instance starts, and
 * checks the sequence lengths against the positions the model has (a user or hub model's are known
 * only now; the config checked the presets' already).
 */
async function prepareModel(cfg: RunConfig): Promise<ResolvedModel> {
  const model = await resolveModel(cfg.model, cfg.seed);
  const a = model.arch;
  if (a.max_position_embeddings === null) return model;
  // RoBERTa numbers positions from pad_token_id + 1, so two of its slots are never used.
  const maxPositions = a.model_type === 'roberta' ? a.max_position_embeddings - (a.pad_token_id ?? 1) - 1 : a.max_position_embeddings;
  for (const { length, key } of sequenceLengths(cfg)) {
    if (length <= maxPositions) continue;
    throw new ModelError(
      `${key}: ${length} is longer than ${model.name} allows (${maxPositions} positions)${key === 'sequence_length' ? `: use sequence_length<=${maxPositions}` : ''}`,
    );
  }
  return model;
}

export async function executeLaunch(
  cfg: RunConfig,
  prepared: PreparedLaunch,
  outputDir: string,
  opts: { readonly signal?: AbortSignal; readonly onSpawn?: (pids: readonly number[]) => void; readonly repetition?: number } = {},
): Promise<LaunchOutcome> {
  // The mock backend needs no file, but a file the user names must exist and is described by itself.
  const model = needsModelFile(cfg) || cfg.model.path !== null ? await prepareModel(cfg) : null;
  if (cfg.launcher.name === 'inline') {
    const inst = prepared.plan.instances[0]!;
    const run = await runInstance(cfg, { index: 0, threads: inst.threads, batchSize: inst.batch_size, repetition: opts.repetition ?? 1, model, outputDir }, undefined, opts.signal);
    return { instances: [run.instance], failures: [], backend: run.backend, pids: [process.pid], model };
  }
  if (cfg.scenario.name === 'dispatch') {
    const d = await runDispatch({ config: cfg, topology: prepared.topology, binding: prepared.binding, env: prepared.env, model, outputDir, ...opts });
    return { instances: d.instances, failures: [], backend: d.backend, pids: d.pids, dispatch: d.report, model };
  }
  const runTimeoutS = cfg.launcher.run_timeout_s ?? cfg.benchmark_duration * 3 + 120;
  const run = await runProcessInstances({
    config: cfg,
    instances: prepared.plan.instances,
    binding: prepared.binding,
    env: prepared.env,
    model,
    outputDir,
    startTimeoutMs: cfg.launcher.start_timeout_s * 1000,
    runTimeoutMs: runTimeoutS * 1000,
    fault: cfg.launcher.fault,
    repetition: opts.repetition ?? 1,
    ...(opts.onSpawn ? { onSpawn: opts.onSpawn } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return {
    instances: run.results.map((r) => r.instance),
    failures: run.failures,
    backend: run.results[0]?.backend ?? null,
    pids: run.pids,
    parentRssDuringRunMb: run.parentRssDuringRunMb,
    model,
  };
}

export { LaunchError, PlanError };
