import { UserError } from '../util/errors.js';
import { TopologyError } from '../topology/errors.js';
import { formatCpuList, parseCpuList } from '../topology/cpulist.js';
import { firstCpu, numaNodes, onlineCpuIds, physicalCores, socketIds, uniqueSorted } from '../topology/model.js';
import type { Cpu, Topology } from '../topology/model.js';

/**
 * The instance planner: which CPUs and memory nodes each benchmark instance gets. Pure; the
 * launcher resolves `binding: auto` and builds the command lines later.
 *
 * Rules:
 * - CPU ids are pinned, never core ids (run_cpu's bug on sibling-adjacent numbering).
 * - Without use_smt an instance gets one CPU per physical core, the core's lowest CPU id; with it,
 *   all of the core's CPUs, always in the same instance.
 * - Cores are taken node by node (ascending node id, then socket, then CPU id). Each instance goes
 *   to the first node with enough free cores; only when no node has room does it span nodes.
 * - cores per instance = cores_per_instance, else floor(available cores / num_instances); the
 *   cores left over are reported in leftover_cpus with a warning, never silently dropped.
 */

export type Binding = 'auto' | 'numactl' | 'taskset' | 'none';

export interface PlanOptions {
  num_instances: number;
  cores_per_instance: number | null;
  use_smt: boolean;
  nodes: number[] | null;
  sockets: number[] | null;
  cpu_list: string | null;
  binding: Binding;
  split_batch: boolean;
  allow_uneven_split: boolean;
  batch_size: number;
  num_threads: number | null;
}

export interface PlanInstance {
  index: number;
  cpus: number[];
  /** Nodes of the instance's CPUs; [] when the topology has no NUMA information. */
  memory_nodes: number[];
  threads: number;
  batch_size: number;
}

export interface Plan {
  binding: Binding;
  instances: PlanInstance[];
  leftover_cpus: number[];
  warnings: string[];
  /**
   * Named groups of the instances, for a scenario that routes work between them (dispatch's pools,
   * labelled by the lengths each takes); shown by bench plan. Absent: one group.
   */
  groups?: { name: string; label: string; instances: number[] }[];
  /**
   * Instances run after these, on the same cores, as the setup to compare with (dispatch's
   * length-blind baseline); shown by bench plan. Absent or null: none.
   */
  baseline?: { cpus: number[]; memory_nodes: number[]; threads: number }[] | null;
}

/** A plan that cannot be made; the message names the config key and what would work. */
export class PlanError extends UserError {
  override readonly name = 'PlanError';
}

/** Config keys named in messages; the options mirror the `launcher` config group. */
const key = (option: keyof PlanOptions): string =>
  option === 'batch_size' ? 'batch_size' : option === 'num_threads' ? 'backend.num_threads' : `launcher.${option}`;

/** The CPUs of one physical core that go to an instance together, and where they sit. */
interface Unit {
  cpuIds: number[];
  node: number | null;
  socket: number;
}

export function planInstances(topology: Topology, options: PlanOptions): Plan {
  validateOptions(options);
  const units = allocationUnits(selectCpus(topology, options), options.use_smt);
  const coresPerInstance = resolveCoresPerInstance(units, options);
  const batchSizes = splitBatch(options, maxInstances(units.length, options.cores_per_instance));
  const { placed, free, spanning } = placeInstances(units, options.num_instances, coresPerInstance);
  const instances = placed.map((instanceUnits, index): PlanInstance => {
    const cpus = instanceUnits.flatMap((unit) => unit.cpuIds).sort((a, b) => a - b);
    return {
      index,
      cpus,
      memory_nodes: uniqueSorted(instanceUnits.flatMap((unit) => (unit.node === null ? [] : [unit.node]))),
      threads: options.num_threads ?? cpus.length,
      batch_size: batchSizes[index] ?? options.batch_size,
    };
  });
  const leftoverCpus = free.flatMap((unit) => unit.cpuIds).sort((a, b) => a - b);
  return {
    binding: options.binding,
    instances,
    leftover_cpus: leftoverCpus,
    warnings: [
      // What the topology could not tell (e.g. SMT siblings of a partial lscpu record) limits the plan too.
      ...topology.warnings.map((w) => `topology (${topology.source}): ${w}`),
      ...ignoredSiblingsWarning(topology, options),
      // An explicit cores_per_instance leaves the rest idle on purpose (core-count scaling): the
      // leftover CPUs are still listed in leftover_cpus, but only a derived split is warned about.
      ...(options.cores_per_instance === null
        ? leftoverWarning(units.length, coresPerInstance, options.num_instances, leftoverCpus)
        : []),
      ...spanningWarning(units, spanning, coresPerInstance, options.num_instances),
      ...threadsWarning(instances, options.num_threads),
      ...unevenBatchWarning(batchSizes, options),
      ...(options.binding === 'none' && options.num_instances > 1
        ? [
            `${key('binding')}=none: the ${options.num_instances} instances are not pinned and will compete for CPUs; numbers are not comparable to pinned runs`,
          ]
        : []),
    ],
  };
}

function validateOptions(options: PlanOptions): void {
  requirePositiveInteger(options.num_instances, 'num_instances');
  requirePositiveInteger(options.batch_size, 'batch_size');
  if (options.cores_per_instance !== null) requirePositiveInteger(options.cores_per_instance, 'cores_per_instance');
  if (options.num_threads !== null) requirePositiveInteger(options.num_threads, 'num_threads');
  for (const option of ['nodes', 'sockets'] as const) {
    const ids = options[option];
    if (ids === null) continue;
    if (ids.length === 0) throw new PlanError(`${key(option)} is empty; leave it unset (null) to use all ${option}`);
    if (!ids.every((id) => Number.isInteger(id) && id >= 0)) {
      throw new PlanError(`${key(option)} must list non-negative integer ids, got [${ids.join(', ')}]`);
    }
  }
}

function requirePositiveInteger(value: number, option: keyof PlanOptions): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new PlanError(`${key(option)} must be a positive integer, got ${value}`);
  }
}

/** Online CPUs that pass the nodes, sockets and cpu_list filters. */
function selectCpus(topology: Topology, options: PlanOptions): Cpu[] {
  let cpus = topology.cpus.filter((cpu) => cpu.online);
  if (options.nodes !== null) {
    const wanted = checkNodes(topology, cpus, options.nodes);
    cpus = cpus.filter((cpu) => cpu.node !== null && wanted.has(cpu.node));
  }
  if (options.sockets !== null) {
    const wanted = checkSockets(topology, cpus, options.sockets);
    cpus = cpus.filter((cpu) => wanted.has(cpu.socket));
  }
  if (options.cpu_list !== null) {
    const wanted = checkCpuList(cpus, options.cpu_list);
    cpus = cpus.filter((cpu) => wanted.has(cpu.id));
  }
  if (cpus.length === 0) {
    throw new PlanError(
      `no CPU is left after ${key('nodes')}, ${key('sockets')} and ${key('cpu_list')} ` +
        `(online CPUs: ${formatCpuList(onlineCpuIds(topology))}); loosen one of the filters`,
    );
  }
  return cpus;
}

function checkNodes(topology: Topology, onlineCpus: readonly Cpu[], nodes: readonly number[]): Set<number> {
  const existing = numaNodes(topology).map((node) => node.id);
  if (existing.length === 0) {
    throw new PlanError(
      `${key('nodes')} is set but the topology from ${topology.source} has no NUMA information; ` +
        `leave ${key('nodes')} unset or choose CPUs with ${key('cpu_list')}`,
    );
  }
  const missing = nodes.filter((node) => !existing.includes(node));
  if (missing.length > 0) {
    throw new PlanError(
      `${key('nodes')}: node ${missing.join(', ')} does not exist; existing NUMA nodes: ${existing.join(', ')}`,
    );
  }
  const withCpus = uniqueSorted(onlineCpus.flatMap((cpu) => (cpu.node === null ? [] : [cpu.node])));
  const empty = nodes.filter((node) => !withCpus.includes(node));
  if (empty.length > 0) {
    throw new PlanError(
      `${key('nodes')}: node ${empty.join(', ')} has no usable CPU (a memory-only node, offline CPUs or ` +
        `outside the process affinity); nodes with usable CPUs: ${withCpus.join(', ')}`,
    );
  }
  return new Set(nodes);
}

function checkSockets(topology: Topology, cpus: readonly Cpu[], sockets: readonly number[]): Set<number> {
  const existing = socketIds(topology);
  const missing = sockets.filter((socket) => !existing.includes(socket));
  if (missing.length > 0) {
    throw new PlanError(
      `${key('sockets')}: socket ${missing.join(', ')} does not exist; existing sockets: ${existing.join(', ')}`,
    );
  }
  const usable = uniqueSorted(cpus.map((cpu) => cpu.socket));
  const empty = sockets.filter((socket) => !usable.includes(socket));
  if (empty.length > 0) {
    throw new PlanError(
      `${key('sockets')}: socket ${empty.join(', ')} has no usable CPU after the other filters; ` +
        `sockets with usable CPUs: ${usable.join(', ')}`,
    );
  }
  return new Set(sockets);
}

function checkCpuList(cpus: readonly Cpu[], cpuList: string): Set<number> {
  let wanted: number[];
  try {
    wanted = parseCpuList(cpuList);
  } catch (error) {
    if (error instanceof TopologyError) throw new PlanError(`${key('cpu_list')}: ${error.message}`);
    throw error;
  }
  const usable = new Set(cpus.map((cpu) => cpu.id));
  const unusable = wanted.filter((id) => !usable.has(id));
  if (wanted.length === 0 || unusable.length > 0) {
    throw new PlanError(
      `${key('cpu_list')}='${cpuList}': CPUs ${formatCpuList(unusable) || '(none)'} are not usable ` +
        `(missing, offline, filtered out or outside the process affinity); usable CPUs: ${formatCpuList([...usable])}`,
    );
  }
  return new Set(wanted);
}

/** One unit per physical core, ordered node by node, then by socket, then by CPU id. */
function allocationUnits(cpus: readonly Cpu[], useSmt: boolean): Unit[] {
  const cores = physicalCores({ cpus: [...cpus], cpulessNodes: [], source: '', warnings: [] });
  const nodeRank = (node: number | null): number => (node === null ? Number.POSITIVE_INFINITY : node);
  return cores
    .map((core) => ({
      cpuIds: useSmt ? core.cpuIds : [firstCpu(core)],
      node: core.node,
      socket: core.socket,
    }))
    .sort(
      (a, b) => nodeRank(a.node) - nodeRank(b.node) || a.socket - b.socket || (a.cpuIds[0] ?? 0) - (b.cpuIds[0] ?? 0),
    );
}

function resolveCoresPerInstance(units: readonly Unit[], options: PlanOptions): number {
  const available = units.length;
  const count = options.num_instances;
  const where = `${available} physical core${available === 1 ? ' is' : 's are'} available (CPUs ${formatCpuList(units.flatMap((unit) => unit.cpuIds))})`;
  if (count > available) {
    throw new PlanError(
      `${key('num_instances')}=${count} needs at least one physical core per instance but ${where}; ` +
        `the maximum is ${key('num_instances')}=${available}`,
    );
  }
  const requested = options.cores_per_instance;
  if (requested === null) return Math.floor(available / count);
  if (requested * count > available) {
    const fewer = Math.floor(available / requested);
    throw new PlanError(
      `${key('num_instances')}=${count} x ${key('cores_per_instance')}=${requested} needs ${requested * count} ` +
        `physical cores but ${where}; use ${key('cores_per_instance')}<=${Math.floor(available / count)}` +
        (fewer > 0 ? ` or ${key('num_instances')}<=${fewer}` : ''),
    );
  }
  return requested;
}

/** How many instances fit on `cores` cores with the configured (or a one-core) instance size. */
function maxInstances(cores: number, coresPerInstance: number | null): number {
  return Math.floor(cores / (coresPerInstance ?? 1));
}

/** Per-instance batch sizes: B each, or B split over the instances. */
function splitBatch(options: PlanOptions, instanceLimit: number): number[] {
  const { batch_size: batch, num_instances: count } = options;
  if (!options.split_batch) return Array.from({ length: count }, () => batch);
  const base = Math.floor(batch / count);
  const remainder = batch % count;
  if (remainder !== 0 && (base === 0 || !options.allow_uneven_split)) {
    const divisors = Array.from({ length: Math.min(batch, instanceLimit) }, (_, index) => index + 1).filter(
      (candidate) => batch % candidate === 0,
    );
    throw new PlanError(
      `${key('split_batch')}: ${key('batch_size')}=${batch} does not split evenly over ${count} instances; ` +
        `${key('num_instances')} values that split it evenly and fit on this machine: ${divisors.join(', ')}` +
        (base === 0 ? '' : `; or set ${key('allow_uneven_split')}=true`),
    );
  }
  return Array.from({ length: count }, (_, index) => base + (index < remainder ? 1 : 0));
}

interface Placement {
  placed: Unit[][];
  free: Unit[];
  /** Indexes of instances that span NUMA nodes. */
  spanning: number[];
}

/** First fit, node by node: an instance spans nodes only when no single node has room for it. */
function placeInstances(units: readonly Unit[], count: number, size: number): Placement {
  const groups: Unit[][] = [];
  for (const unit of units) {
    const last = groups.at(-1);
    if (last && last[0]?.node === unit.node) last.push(unit);
    else groups.push([unit]);
  }
  const placed: Unit[][] = [];
  const spanning: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const roomy = groups.find((group) => group.length >= size);
    if (roomy) {
      placed.push(roomy.splice(0, size));
      continue;
    }
    const taken: Unit[] = [];
    for (const group of groups) taken.push(...group.splice(0, size - taken.length));
    placed.push(taken);
    if (new Set(taken.map((unit) => unit.node)).size > 1) spanning.push(index);
  }
  return { placed, free: groups.flat(), spanning };
}

/** CPUs named in cpu_list that use_smt=false leaves idle, because they are SMT siblings of used cores. */
function ignoredSiblingsWarning(topology: Topology, options: PlanOptions): string[] {
  if (options.cpu_list === null || options.use_smt) return [];
  let listed: Set<number>;
  try {
    listed = new Set(parseCpuList(options.cpu_list));
  } catch {
    return [];
  }
  const cores = physicalCores({ ...topology, cpus: topology.cpus.filter((cpu) => cpu.online && listed.has(cpu.id)) });
  const idle = cores.flatMap((core) => core.cpuIds.filter((id) => id !== firstCpu(core)));
  if (idle.length === 0) return [];
  return [
    `${key('cpu_list')} names CPUs ${formatCpuList(idle)}, SMT siblings of cores the plan already uses once; ` +
      `with ${key('use_smt')}=false they stay idle (set ${key('use_smt')}=true to give instances both siblings)`,
  ];
}

function leftoverWarning(
  available: number,
  coresPerInstance: number,
  count: number,
  leftoverCpus: readonly number[],
): string[] {
  if (leftoverCpus.length === 0) return [];
  const evenCounts = Array.from({ length: available }, (_, index) => index + 1).filter(
    (candidate) => available % candidate === 0,
  );
  return [
    `${count} instance${count === 1 ? '' : 's'} x ${coresPerInstance} core${coresPerInstance === 1 ? '' : 's'} use ${count * coresPerInstance} of the ${available} available ` +
      `physical cores; ${leftoverCpus.length === 1 ? 'CPU' : 'CPUs'} ${formatCpuList(leftoverCpus)} ${leftoverCpus.length === 1 ? 'stays' : 'stay'} idle (leftover_cpus). ` +
      `${key('num_instances')} values that use every core: ${evenCounts.join(', ')}`,
  ];
}

/** Names the spanning instances and the largest instance size that would keep each in one node. */
function spanningWarning(units: readonly Unit[], spanning: readonly number[], size: number, count: number): string[] {
  if (spanning.length === 0 || count === 1) return [];
  const coresPerNode = new Map<number | null, number>();
  for (const unit of units) coresPerNode.set(unit.node, (coresPerNode.get(unit.node) ?? 0) + 1);
  let fitting = size;
  const fits = (cores: number): number =>
    [...coresPerNode.values()].reduce((sum, nodeCores) => sum + Math.floor(nodeCores / cores), 0);
  while (fitting > 1 && fits(fitting) < count) fitting -= 1;
  const which = spanning.length === 1 ? `instance ${spanning.join('')} spans` : `instances ${spanning.join(', ')} span`;
  return [
    `${which} NUMA nodes, so part of their memory is remote; ` +
      `${key('cores_per_instance')}=${fitting} would keep each of the ${count} instances in one node`,
  ];
}

function threadsWarning(instances: readonly PlanInstance[], numThreads: number | null): string[] {
  const smallest = Math.min(...instances.map((instance) => instance.cpus.length));
  if (numThreads === null || numThreads <= smallest) return [];
  return [
    `${key('num_threads')}=${numThreads} exceeds the ${smallest} CPUs of the smallest instance; threads will share CPUs`,
  ];
}

function unevenBatchWarning(batchSizes: readonly number[], options: PlanOptions): string[] {
  if (!options.split_batch || new Set(batchSizes).size <= 1) return [];
  return [`${key('batch_size')}=${options.batch_size} split unevenly over the instances: ${batchSizes.join(', ')}`];
}
