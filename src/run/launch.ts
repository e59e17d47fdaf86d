/**
 * From a validated run config to measured instances: read the topology, let the scenario plan its
 * instances, pick the binding (all before any directory exists, so an impossible plan costs
 * nothing), then resolve the model once in the parent and hand the scenario its context: where its
 * instances go and how to start them, in pinned children or (launcher=inline) in the bench process.
 */
import { totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isSimulated, needsModelFile, preflightBackend, resolveBackendModel } from '../backends/registry.js';
import { sequenceLengths, type RunConfig } from '../config/schema.js';
import { LaunchError, resolveBinding, type BindingKind } from '../launcher/binding.js';
import { InlineEndpoint } from '../launcher/inline.js';
import { PlanError, type Plan, type PlanInstance } from '../launcher/plan.js';
import { childCommand, spawnChild } from '../launcher/process.js';
import type { InitMessage } from '../launcher/protocol.js';
import { ModelError } from '../models/errors.js';
import { architectureOf, type KnownArchitecture } from '../models/arch.js';
import type { ResolvedModel } from '../models/resolve.js';
import { scenarioOf } from '../scenarios/registry.js';
import { checkDispatchWorkload, datasetLengths } from '../scenarios/dispatch/index.js';
import { minimumLength, prepareTextInputs, type TextInputs } from '../inputs/index.js';
import { ConfigError } from '../config/errors.js';
import type { ScenarioOutcome } from '../scenarios/types.js';
import { detectTopology, loadTopologyFile } from '../topology/detect.js';
import { numaNodes, summarize, type Topology } from '../topology/model.js';
import { allocatorEnv } from '../launcher/malloc.js';

export interface PreparedLaunch {
  /** The script every child runs (run/child.ts, built); the GEMM probe's child too. */
  readonly entry: string;
  /** launcher=inline: the instances run in the bench process, no child, nothing pinned. */
  readonly inline: boolean;
  readonly topology: Topology;
  readonly plan: Plan;
  readonly binding: BindingKind;
  readonly warnings: readonly string[];
  /** Environment the children get on top of bench's own (each also gets OMP_NUM_THREADS=threads). */
  readonly env: Readonly<Record<string, string>>;
  /** What the backend's checks found of its runtime (torch's version and BLAS), for the environment block. */
  readonly runtime: Readonly<Record<string, unknown>> | null;
  /** inputs.text, read and tokenized before any directory exists (null: random ids, or a plan preview). */
  readonly inputs: TextInputs | null;
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
  readonly groups?: Plan['groups'];
  readonly baseline?: Plan['baseline'];
}

export interface LaunchOutcome extends ScenarioOutcome {
  /** The model the instances ran (null for the mock backend, which needs no file). */
  readonly model: ResolvedModel | null;
}

/** The script every child runs: run/child.ts, built; the launcher starts whatever it is given. */
export const CHILD_ENTRY = fileURLToPath(new URL('./child.js', import.meta.url));

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
  return scenarioOf(cfg).plan(topology, cfg);
}

/**
 * `forRun: false` previews a plan (bench plan): a recorded topology need not be this machine's, and
 * `binding: auto` is shown as numactl there, since the other machine cannot be probed from here.
 */
export async function prepareLaunch(
  cfg: RunConfig,
  opts: { forRun: boolean } = { forRun: true },
): Promise<PreparedLaunch> {
  if ((cfg.backend as { profile?: boolean }).profile === true && cfg.scenario.name === 'dispatch')
    throw new PlanError(
      'backend.profile=true profiles the timed calls of the latency scenario; scenario=dispatch times requests of many lengths, which it does not: use scenario=latency (one sequence_length per run), or remove backend.profile',
    );
  // The backend's runtime and a model file the user names are checked before a run directory exists.
  const pre = opts.forRun ? await preflightBackend(cfg) : { runtime: null, childEnv: {}, warnings: [] };
  if ('arch' in pre && pre.arch) checkPositions(cfg, pre.arch, cfg.model.name);
  const inputs = opts.forRun ? await textInputsFor(cfg) : null;
  const topology = await topologyFor(cfg);
  const plan = makePlan(cfg, topology);
  // A plan for this machine is checked as a run would be; another machine's memory is not known here.
  if (opts.forRun || cfg.topology.file === null) checkMemory(cfg, plan);
  if (!opts.forRun && cfg.topology.file !== null && cfg.launcher.name !== 'inline') {
    const binding = cfg.launcher.binding === 'auto' ? 'numactl' : cfg.launcher.binding;
    return {
      entry: CHILD_ENTRY,
      inline: false,
      topology,
      plan,
      binding,
      warnings: plan.warnings,
      env: childEnv(cfg, process.env, false),
      runtime: null,
      inputs: null,
    };
  }
  if (cfg.topology.file !== null) {
    const here = new Set((await machineTopology()).cpus.map((c) => c.id));
    const missing = plan.instances.flatMap((i) => i.cpus).filter((id) => !here.has(id));
    if (missing.length > 0) {
      throw new PlanError(
        `topology.file=${cfg.topology.file} plans CPUs this machine does not have (${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', ...' : ''}): ` +
          "print that plan with `bench plan topology.file=...`; runs need this machine's topology (remove topology.file)",
      );
    }
  }
  if (cfg.launcher.name === 'inline') {
    const refused = scenarioOf(cfg).inlineRefusal(plan);
    if (refused !== null) throw new PlanError(refused);
    if (cfg.launcher.fault !== null)
      throw new PlanError('launcher.fault needs launcher=process: an inline worker shares the bench process');
    if ((cfg.launcher.malloc ?? 'glibc') !== 'glibc')
      throw new PlanError(
        `launcher.malloc=${cfg.launcher.malloc} needs launcher=process: an allocator is preloaded into a child, and inline there is none`,
      );
    const unpinned =
      plan.instances.length > 1
        ? 'launcher=inline: the instances run in the bench process, unpinned, and share its event loop: the figures are not comparable with pinned runs'
        : 'launcher=inline: the instance runs in the bench process, unpinned: the figures are not comparable with pinned runs';
    return {
      entry: CHILD_ENTRY,
      inline: true,
      topology,
      plan,
      binding: 'none',
      warnings: [...plan.warnings, ...pre.warnings, unpinned],
      env: {},
      runtime: pre.runtime,
      inputs,
    };
  }
  const binding = await resolveBinding(cfg.launcher.binding, plan.instances[0]!, numaNodes(topology).length);
  return {
    entry: CHILD_ENTRY,
    inline: false,
    topology,
    plan,
    binding: binding.kind,
    warnings: [...plan.warnings, ...binding.warnings, ...pre.warnings],
    env: { ...childEnv(cfg), ...pre.childEnv },
    runtime: pre.runtime,
    inputs,
  };
}

/**
 * inputs.text, tokenized, and checked against what the run asks of it: room for the special tokens
 * and a token of text in sequence_length; a dispatch run's lengths (the texts', cut at the
 * tokenizer's longest) against its pools and the model.
 */
async function textInputsFor(cfg: RunConfig): Promise<TextInputs | null> {
  const inputs = await prepareTextInputs(cfg);
  if (!inputs) return null;
  if (cfg.scenario.name === 'dispatch') checkDispatchWorkload(cfg, datasetLengths(cfg, inputs));
  else if (cfg.sequence_length < minimumLength(inputs.tokenizer))
    throw new ConfigError(
      `sequence_length=${cfg.sequence_length}: too short for the tokenizer's special tokens and one token of text: use sequence_length>=${minimumLength(inputs.tokenizer)}`,
    );
  return inputs;
}

const HUGETLB_TUNABLE = 'glibc.malloc.hugetlb=1';

/**
 * `launcher.thp`: glibc's malloc asks for transparent huge pages (madvise), so loading a model
 * faults in 2 MiB pages instead of 4 KiB ones: faster session creation where page faults are costly,
 * with the same latency (docs/performance.md, "Transparent huge pages"). Other tunables are kept.
 */
export function childEnv(
  cfg: Pick<RunConfig, 'launcher'>,
  inherited: NodeJS.ProcessEnv = process.env,
  here = true,
): Record<string, string> {
  // launcher.malloc (launcher/malloc.ts): the allocator's library preloaded into each child.
  const malloc = allocatorEnv(cfg.launcher.malloc ?? 'glibc', inherited, here);
  if (!cfg.launcher.thp) return malloc;
  const current = inherited.GLIBC_TUNABLES ?? '';
  if (current.split(':').some((t) => t.startsWith('glibc.malloc.hugetlb=')))
    return { ...malloc, GLIBC_TUNABLES: current };
  return { ...malloc, GLIBC_TUNABLES: current === '' ? HUGETLB_TUNABLE : `${current}:${HUGETLB_TUNABLE}` };
}

export function planJson(
  prepared: Pick<PreparedLaunch, 'entry' | 'inline' | 'plan' | 'binding' | 'warnings' | 'env'>,
): PlanJson {
  return {
    binding: prepared.binding,
    env: prepared.env,
    instances: prepared.plan.instances.map((i) => {
      // Inline, no child is started: the instance is a worker in the bench process.
      const argv = prepared.inline ? [] : childCommand(prepared.entry, prepared.binding, i);
      return {
        index: i.index,
        cpus: i.cpus,
        memory_nodes: i.memory_nodes,
        threads: i.threads,
        batch_size: i.batch_size,
        command: prepared.inline
          ? 'in the bench process (launcher=inline), not pinned'
          : argv.map(shellQuote).join(' '),
        argv,
      };
    }),
    leftover_cpus: prepared.plan.leftover_cpus,
    warnings: prepared.warnings,
    ...(prepared.plan.groups ? { groups: prepared.plan.groups } : {}),
    ...(prepared.plan.baseline ? { baseline: prepared.plan.baseline } : {}),
  };
}

export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * The instances' inputs and their largest activations must fit in this machine's memory: a batch
 * of a hundred million would otherwise end in an instance's "Invalid array length" or a swap storm.
 * A lower bound (the int64 inputs, one hidden-state tensor and one layer's attention scores, fp32,
 * per instance, for a preset whose sizes are known), so a run refused here could never have run.
 */
function checkMemory(cfg: RunConfig, plan: Plan): void {
  // A simulated backend (the mock) allocates the inputs only.
  const arch =
    cfg.model.path === null && cfg.model.source === 'synthetic' && !isSimulated(cfg) ? architectureOf(cfg.model) : null;
  const seq = Math.max(...sequenceLengths(cfg).map((s) => s.length));
  const needBytes = plan.instances.reduce((sum, i) => {
    const tokens = i.batch_size * seq;
    const inputs = tokens * 3 * 8;
    const activations = arch
      ? tokens * arch.hidden_size * 4 + i.batch_size * arch.num_attention_heads * seq * seq * 4
      : 0;
    return sum + inputs + activations;
  }, 0);
  const haveBytes = totalmem();
  if (needBytes <= haveBytes) return;
  const gib = (b: number): string => (b / 2 ** 30).toFixed(b >= 2 ** 40 ? 0 : 1);
  throw new PlanError(
    `batch_size=${cfg.batch_size} x sequence_length ${seq}: the instances' inputs and activations need at least ${gib(needBytes)} GiB, and this machine has ${gib(haveBytes)} GiB; use a smaller batch_size or sequence_length`,
  );
}

/**
 * Resolves (synthesizes, downloads) the model once, in the parent, before any instance starts, and
 * checks the sequence lengths against the positions the model has (a user or hub model's are known
 * only now; the config checked the presets' already).
 */
async function prepareModel(cfg: RunConfig): Promise<ResolvedModel> {
  const model = await resolveBackendModel(cfg);
  checkPositions(cfg, model.arch, model.name);
  return model;
}

/** The run's sequence lengths fit the positions the model has (where its architecture says them). */
function checkPositions(cfg: RunConfig, a: KnownArchitecture, name: string): void {
  if (a.max_position_embeddings === null) return;
  // RoBERTa numbers positions from pad_token_id + 1, so two of its slots are never used.
  const maxPositions =
    a.model_type === 'roberta' ? a.max_position_embeddings - (a.pad_token_id ?? 1) - 1 : a.max_position_embeddings;
  for (const { length, key } of sequenceLengths(cfg)) {
    if (length <= maxPositions) continue;
    throw new ModelError(
      `${key}: ${length} is longer than ${name} allows (${maxPositions} positions)${key === 'sequence_length' ? `: use sequence_length<=${maxPositions}` : ''}`,
    );
  }
}

export async function executeLaunch(
  cfg: RunConfig,
  prepared: PreparedLaunch,
  outputDir: string,
  opts: { readonly signal?: AbortSignal; readonly repetition?: number } = {},
): Promise<LaunchOutcome> {
  // The mock backend needs no file, but a file the user names must exist and is described by itself.
  const model = needsModelFile(cfg) || cfg.model.path !== null ? await prepareModel(cfg) : null;
  const scenario = scenarioOf(cfg);
  const inline = cfg.launcher.name === 'inline';
  const repetition = opts.repetition ?? 1;
  const initFor = (
    instance: PlanInstance,
    alongside: number,
    options: Readonly<Record<string, unknown>>,
  ): InitMessage => ({
    type: 'init',
    scenario: scenario.name,
    config: cfg,
    instance,
    repetition,
    alongside,
    model,
    outputDir,
    fault: cfg.launcher.fault,
    options,
  });
  const outcome = await scenario.run({
    config: cfg,
    topology: prepared.topology,
    plan: prepared.plan,
    binding: prepared.binding,
    env: prepared.env,
    model,
    inputs: prepared.inputs,
    outputDir,
    repetition,
    inline,
    ...(opts.signal ? { signal: opts.signal } : {}),
    start: (instance, alongside, options = {}) => {
      const init = initFor(instance, alongside, options);
      if (inline) return new InlineEndpoint(instance.index, (port) => scenario.worker(init, port), scenario.accepts);
      const child = spawnChild(prepared.entry, prepared.binding, instance, prepared.env, scenario.accepts);
      child.send(init);
      return child;
    },
  });
  return { ...outcome, model };
}

export { LaunchError, PlanError };
