import { TopologyError } from './errors.js';
import { formatCpuList } from './cpulist.js';

/** One logical CPU (hardware thread) as Linux numbers it. */
export interface Cpu {
  /** Logical CPU id: what taskset/numactl/sched_setaffinity take. */
  id: number;
  /** Physical core key, unique machine-wide (never the raw per-socket kernel core_id). */
  core: number;
  socket: number;
  /** NUMA node id, or null when the source has no NUMA information. */
  node: number | null;
  online: boolean;
  maxMhz?: number;
}

export interface Topology {
  /** Sorted by id. */
  cpus: Cpu[];
  /** NUMA nodes that exist but hold no CPU (memory-only nodes such as GH200 HBM), sorted. */
  cpulessNodes: number[];
  /** Where the data came from: a command line or a file path. */
  source: string;
  /** Things the parser had to assume (e.g. derived SMT siblings); shown with the topology. */
  warnings: string[];
}

export interface PhysicalCore {
  core: number;
  socket: number;
  node: number | null;
  /** CPU ids of the core's hardware threads, sorted; the first is the one pinned without SMT. */
  cpuIds: number[];
}

export interface NumaNode {
  id: number;
  cpuIds: number[];
  sockets: number[];
}

/**
 * Physical cores, ordered by their lowest CPU id. Grouped by (socket, core) rather than core alone,
 * so a hand-built topology that reuses per-socket core ids still splits correctly.
 */
export function physicalCores(topology: Topology): PhysicalCore[] {
  const byKey = new Map<string, PhysicalCore>();
  for (const cpu of topology.cpus) {
    const key = `${cpu.socket}/${cpu.core}`;
    const core = byKey.get(key);
    if (core) core.cpuIds.push(cpu.id);
    else byKey.set(key, { core: cpu.core, socket: cpu.socket, node: cpu.node, cpuIds: [cpu.id] });
  }
  const cores = [...byKey.values()];
  for (const core of cores) core.cpuIds.sort((a, b) => a - b);
  return cores.sort((a, b) => firstCpu(a) - firstCpu(b));
}

/** The lowest CPU id of a core: the CPU pinned when SMT siblings are not used. */
export function firstCpu(core: PhysicalCore): number {
  const first = core.cpuIds[0];
  if (first === undefined) throw new TopologyError(`physical core ${core.core} has no CPU`);
  return first;
}

export function socketIds(topology: Topology): number[] {
  return uniqueSorted(topology.cpus.map((cpu) => cpu.socket));
}

/** Node ids that hold CPUs. */
export function cpuNodeIds(topology: Topology): number[] {
  return uniqueSorted(topology.cpus.flatMap((cpu) => (cpu.node === null ? [] : [cpu.node])));
}

/** Every known NUMA node, with CPUs or not, sorted by id (ids may have gaps). */
export function numaNodes(topology: Topology): NumaNode[] {
  const nodeIds = uniqueSorted([...cpuNodeIds(topology), ...topology.cpulessNodes]);
  return nodeIds.map((id) => {
    const cpus = topology.cpus.filter((cpu) => cpu.node === id);
    return {
      id,
      cpuIds: cpus.map((cpu) => cpu.id),
      sockets: uniqueSorted(cpus.map((cpu) => cpu.socket)),
    };
  });
}

/** The CPUs sharing cpuId's physical core, cpuId included. */
export function siblingsOf(topology: Topology, cpuId: number): number[] {
  const cpu = topology.cpus.find((candidate) => candidate.id === cpuId);
  if (!cpu) throw new TopologyError(`CPU ${cpuId} is not in the topology from ${topology.source}`);
  return topology.cpus
    .filter((other) => other.socket === cpu.socket && other.core === cpu.core)
    .map((other) => other.id);
}

export function onlineCpuIds(topology: Topology): number[] {
  return topology.cpus.filter((cpu) => cpu.online).map((cpu) => cpu.id);
}

/**
 * Keeps only the CPUs the process may run on (its affinity mask / cpuset). CPU-less nodes stay
 * listed: they still exist as memory. Allowed ids that the topology lacks are ignored.
 */
export function restrictTo(topology: Topology, allowedCpuIds: Iterable<number>): Topology {
  const allowed = new Set(allowedCpuIds);
  const cpus = topology.cpus.filter((cpu) => allowed.has(cpu.id));
  if (cpus.length === 0) {
    throw new TopologyError(
      `none of the allowed CPUs (${formatCpuList([...allowed])}) is in the topology from ${topology.source} ` +
        `(CPUs ${formatCpuList(topology.cpus.map((cpu) => cpu.id))}); record the topology on the machine that runs the benchmark`,
    );
  }
  return { ...topology, cpus };
}

export interface TopologySummary {
  cpus: number;
  onlineCpus: number;
  physicalCores: number;
  /** Most hardware threads found on one core (2 with SMT, 1 without). */
  maxThreadsPerCore: number;
  sockets: number;
  /** Nodes holding CPUs. */
  cpuNodes: number;
  /** All known nodes, CPU-less ones included. */
  nodes: number;
}

export function summarize(topology: Topology): TopologySummary {
  const cores = physicalCores(topology);
  return {
    cpus: topology.cpus.length,
    onlineCpus: onlineCpuIds(topology).length,
    physicalCores: cores.length,
    maxThreadsPerCore: Math.max(0, ...cores.map((core) => core.cpuIds.length)),
    sockets: socketIds(topology).length,
    cpuNodes: cpuNodeIds(topology).length,
    nodes: numaNodes(topology).length,
  };
}

export function uniqueSorted(values: Iterable<number>): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}
