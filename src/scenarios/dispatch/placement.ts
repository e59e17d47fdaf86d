/**
 * Where the dispatch scenario's instances go. The usable physical cores (after launcher.nodes /
 * sockets / cpu_list, one CPU per core unless launcher.use_smt) are ordered node by node as the
 * planner orders them, and the pools take consecutive slices in the order they are listed, each
 * pool's instances consecutive slices of its own: so pools never share a core, and a pool that fits
 * in what is left of a node stays in it. A pool with cores_per_instance: null gets the cores the
 * others leave, split evenly among its instances. Pools that need more cores than exist are refused
 * with a PlanError naming scenario.pools.
 *
 * Baseline: scenario.baseline.instances instances (null: as many as all pools together) of equal
 * size, floor(pool cores / instances) cores each, planned by the standard planner over exactly the
 * pools' CPUs; requests go to the instance with the fewest outstanding, whatever their length.
 */
import type { DispatchScenarioConfig, RunConfig } from '../../config/schema.js';
import { planInstances, PlanError, type Plan, type PlanInstance, type PlanOptions } from '../../launcher/plan.js';
import { formatCpuList } from '../../topology/cpulist.js';
import type { Topology } from '../../topology/model.js';
import { checkLengths, makeRouter } from './router.js';
import { readLengthFile } from './workload.js';
import { tokenLengths, type TextInputs } from '../../inputs/index.js';

export interface PoolPlacement {
  readonly name: string;
  readonly max_length: number | null;
  readonly cores_per_instance: number;
  /** Global instance indexes, in pool order. */
  readonly instances: readonly PlanInstance[];
}

export interface DispatchPlan {
  /** In the order the pools are listed in scenario.pools. */
  readonly pools: readonly PoolPlacement[];
  /** The homogeneous pool; null when scenario.baseline.enabled is false. */
  readonly baseline: readonly PlanInstance[] | null;
  readonly baseline_cores_per_instance: number;
  /** The dispatched setup as a plan (every pool's instances), for bench plan and results.json. */
  readonly plan: Plan;
  readonly warnings: readonly string[];
}

export function dispatchConfig(cfg: RunConfig): DispatchScenarioConfig {
  if (cfg.scenario.name !== 'dispatch') throw new Error('not a dispatch run');
  return cfg.scenario;
}

export function planDispatch(topology: Topology, cfg: RunConfig): DispatchPlan {
  const s = dispatchConfig(cfg);
  const l = cfg.launcher;
  const base: PlanOptions = {
    num_instances: 1,
    cores_per_instance: null,
    use_smt: l.use_smt,
    nodes: l.nodes,
    sockets: l.sockets,
    cpu_list: l.cpu_list,
    binding: l.binding,
    split_batch: false,
    allow_uneven_split: false,
    batch_size: 1,
    num_threads: cfg.backend.num_threads,
  };
  // One CPU per core without SMT: the count of usable physical cores.
  const all = planInstances(topology, { ...base, use_smt: false, num_instances: 1 }).instances[0]!;
  const available = all.cpus.length;
  const fixed = s.pools.reduce((sum, p) => sum + (p.cores_per_instance ?? 0) * (p.instances ?? 0), 0);
  const restPool = s.pools.find((p) => p.cores_per_instance === null);
  // `instances: null` on the pool that takes the rest: one instance per NUMA node of those cores
  // (they come node by node, after the fixed pools'), so no instance spans two nodes on a
  // multi-socket machine and one instance takes them all on a single-node one.
  const restCount =
    restPool?.instances ??
    (restPool
      ? Math.max(
          1,
          new Set(
            planInstances(topology, { ...base, num_instances: available, cores_per_instance: 1 })
              .instances.slice(fixed)
              .flatMap((c) => c.memory_nodes),
          ).size,
        )
      : 0);
  const counts = s.pools.map((p) => p.instances ?? restCount);
  const restEach = restPool ? Math.floor((available - fixed) / restCount) : 0;
  const sizes = s.pools.map((p) => p.cores_per_instance ?? restEach);
  const needed = s.pools.reduce((sum, _p, i) => sum + sizes[i]! * counts[i]!, 0);
  const layout = s.pools
    .map((p) => `${p.name} ${p.instances ?? 'per-node'} x ${p.cores_per_instance ?? 'rest'}`)
    .join(', ');
  const where = `${available} physical core${available === 1 ? ' is' : 's are'} usable (CPUs ${formatCpuList(all.cpus)})`;
  if (restPool && restEach < 1) {
    throw new PlanError(
      `scenario.pools: ${layout} leaves ${Math.max(0, available - fixed)} core(s) for the ${restCount} instance(s) of ${restPool.name} (cores_per_instance: null), but ${where}; ` +
        'give the other pools fewer cores or instances',
    );
  }
  if (needed > available) {
    throw new PlanError(
      `scenario.pools: ${layout} need ${needed} physical cores but ${where}; give the pools fewer instances or cores_per_instance`,
    );
  }

  // One plan instance per core, node by node in the planner's order; pools take consecutive slices.
  const cores = planInstances(topology, { ...base, num_instances: needed, cores_per_instance: 1 }).instances;
  const threadsFor = (cpus: readonly number[]): number => cfg.backend.num_threads ?? cpus.length;
  let next = 0;
  let index = 0;
  const warnings: string[] = [];
  const pools: PoolPlacement[] = s.pools.map((p, i) => {
    const size = sizes[i]!;
    const instances = Array.from({ length: counts[i]! }, (): PlanInstance => {
      const slice = cores.slice(next, (next += size));
      const cpus = slice.flatMap((c) => c.cpus).sort((a, b) => a - b);
      const memory_nodes = [...new Set(slice.flatMap((c) => c.memory_nodes))].sort((a, b) => a - b);
      if (memory_nodes.length > 1)
        warnings.push(
          `pool ${p.name}: instance ${index} (CPUs ${formatCpuList(cpus)}) spans NUMA nodes ${memory_nodes.join(', ')}, so part of its memory is remote`,
        );
      return { index: index++, cpus, memory_nodes, threads: threadsFor(cpus), batch_size: 1 };
    });
    return { name: p.name, max_length: p.max_length, cores_per_instance: size, instances };
  });
  const used = new Set(pools.flatMap((p) => p.instances.flatMap((i) => i.cpus)));
  const leftover = planInstances(topology, { ...base, num_instances: 1 })
    .instances[0]!.cpus.filter((c) => !used.has(c))
    .sort((a, b) => a - b);
  if (leftover.length > 0)
    warnings.push(
      `scenario.pools use ${needed} of the ${available} usable physical cores; ${leftover.length === 1 ? 'CPU' : 'CPUs'} ${formatCpuList(leftover)} ${leftover.length === 1 ? 'stays' : 'stay'} idle`,
    );
  if (l.num_instances !== 1 || l.cores_per_instance !== null || l.split_batch) {
    warnings.push(
      'launcher.num_instances, cores_per_instance and split_batch do not apply to scenario=dispatch: scenario.pools sets the instances',
    );
  }
  if (l.binding === 'none') warnings.push('launcher.binding=none: the pools are not pinned and will compete for CPUs');

  let baseline: PlanInstance[] | null = null;
  let baselineCores = 0;
  if (s.baseline.enabled) {
    const count = s.baseline.instances ?? pools.reduce((sum, p) => sum + p.instances.length, 0);
    if (count > needed) {
      throw new PlanError(
        `scenario.baseline.instances=${count} needs at least one core each, but the pools have ${needed} cores; use scenario.baseline.instances<=${needed}`,
      );
    }
    const b = planInstances(topology, {
      ...base,
      nodes: null,
      sockets: null,
      cpu_list: formatCpuList([...used]),
      num_instances: count,
      cores_per_instance: Math.floor(needed / count),
    });
    baseline = b.instances;
    baselineCores = Math.floor(needed / count);
    // The planner's own advice names launcher keys, which do not size the baseline: say it in scenario terms.
    const spanning = b.instances.filter((inst) => inst.memory_nodes.length > 1).map((inst) => inst.index);
    if (spanning.length > 0) {
      const nodes = new Set(b.instances.flatMap((inst) => inst.memory_nodes)).size;
      warnings.push(
        `baseline: instance${spanning.length === 1 ? '' : 's'} ${spanning.join(', ')} of ${count} span${spanning.length === 1 ? 's' : ''} NUMA nodes, so part of their memory is remote; ` +
          `a multiple of ${nodes} for scenario.baseline.instances keeps each in one node`,
      );
    }
  }
  const instances = pools.flatMap((p) => p.instances);
  const groups = pools.map((p) => ({
    name: p.name,
    label: p.max_length === null ? 'longer' : `<= ${p.max_length}`,
    instances: p.instances.map((i) => i.index),
  }));
  const baselinePlan =
    baseline?.map((i) => ({ cpus: [...i.cpus], memory_nodes: [...i.memory_nodes], threads: i.threads })) ?? null;
  return {
    pools,
    baseline,
    baseline_cores_per_instance: baselineCores,
    plan: {
      binding: l.binding,
      instances: [...instances],
      leftover_cpus: leftover,
      warnings,
      groups,
      baseline: baselinePlan,
    },
    warnings,
  };
}

/** The lengths a run may draw, for the checks made before anything starts. */
function possibleLengths(
  s: DispatchScenarioConfig,
  recorded: readonly number[] | null,
  cfg: RunConfig,
): { lengths: number[]; source: string } {
  switch (s.lengths.distribution) {
    case 'mix':
      return { lengths: s.lengths.mix.filter(([, w]) => w > 0).map(([len]) => len), source: 'scenario.lengths.mix' };
    case 'lognormal':
      return { lengths: [s.lengths.lognormal.max], source: 'scenario.lengths.lognormal.max' };
    case 'file':
      return { lengths: [...(recorded ?? [])], source: `scenario.lengths.file=${s.lengths.file}` };
    case 'dataset':
      return { lengths: [...(recorded ?? [])], source: `the texts of inputs.text=${cfg.inputs?.text ?? ''}` };
  }
}

/**
 * scenario.lengths.distribution=dataset: each text's length in tokens, special tokens included, cut
 * where its tokenizer truncates (model_max_length; else the model's positions), as a served request
 * of that text would be.
 */
export function datasetLengths(cfg: RunConfig, inputs: TextInputs): number[] {
  return tokenLengths(inputs, inputs.tokenizer.max_length ?? maxPositions(cfg));
}

function maxPositions(cfg: RunConfig): number {
  const m = cfg.model;
  return m.model_type === 'roberta' ? m.max_position_embeddings - m.pad_token_id - 1 : m.max_position_embeddings;
}

/**
 * Reads the lengths file (if any) and refuses lengths no pool takes; no directory exists yet. With
 * distribution=dataset the texts' lengths are checked once they are tokenized (`dataset`; run/launch.ts).
 * Returns the recorded lengths the workload draws from: the file's, or the dataset's.
 */
export function checkDispatchWorkload(
  cfg: RunConfig,
  dataset: readonly number[] | null = null,
): readonly number[] | null {
  const s = dispatchConfig(cfg);
  const recorded =
    s.lengths.distribution === 'file' && s.lengths.file !== null
      ? readLengthFile(s.lengths.file)
      : s.lengths.distribution === 'dataset'
        ? dataset
        : null;
  if (s.lengths.distribution === 'dataset' && recorded === null) return null;
  const { lengths, source } = possibleLengths(s, recorded, cfg);
  checkLengths(lengths, makeRouter(s.pools), maxPositions(cfg), source);
  return recorded;
}
