import { TopologyError } from './errors.js';
import { formatCpuList } from './cpulist.js';
import type { Cpu, Topology } from './model.js';

/** One CPU as a per-CPU source (lscpu -p/-e/-J -e, sysfs) reports it; null = not reported. */
export interface RawCpu {
  id: number;
  /** Core id as printed: logical (unique) or physical (`--physical`, repeats across sockets). */
  coreId: number | null;
  socket: number | null;
  node: number | null;
  online: boolean;
  /** L1d cache id, only when the source lets us locate it reliably. */
  l1dId: number | null;
  maxMhz?: number;
}

export interface BuildInfo {
  source: string;
  cpulessNodes?: number[];
  warnings?: string[];
}

/**
 * Turns per-CPU rows into a Topology. Rules, in order:
 * 1. A CPU without a socket (offline rows of `lscpu --all`) takes the socket of the other CPUs of
 *    its node when they agree, else socket 0 (with a warning).
 * 2. CPUs are grouped into physical cores by (socket, core id), never core id alone, because
 *    kernel core ids repeat across sockets. A CPU without a core id is its own core.
 * 3. A group whose CPUs all have known, different L1d cache ids is split by L1d id: SMT threads
 *    share their core's L1d by construction, so different L1d means different cores. This fixes
 *    lscpu's per-core-type logical ids on Arm hybrids (CPUs 0,3,5,7 all "socket 0 / core 0").
 * 4. Core keys are dense, numbered in order of each core's lowest CPU id.
 */
export function buildTopology(rows: readonly RawCpu[], info: BuildInfo): Topology {
  const warnings = [...(info.warnings ?? [])];
  const sorted = [...rows].sort((a, b) => a.id - b.id);
  rejectDuplicates(sorted, info.source);
  if (sorted.length === 0) {
    throw new TopologyError(`${info.source}: no CPU rows found; expected lscpu or sysfs CPU data`);
  }
  const sockets = fillSockets(sorted, warnings);
  const groups = splitByL1d(groupByCore(sorted, sockets), warnings);
  const cpus: Cpu[] = groups
    .sort((a, b) => lowestId(a) - lowestId(b))
    .flatMap((group, coreKey) => group.map((row) => toCpu(row, coreKey, sockets.get(row.id) ?? 0)))
    .sort((a, b) => a.id - b.id);
  const nodesWithCpus = new Set(cpus.map((cpu) => cpu.node));
  const cpulessNodes = [...new Set(info.cpulessNodes ?? [])]
    .filter((node) => !nodesWithCpus.has(node))
    .sort((a, b) => a - b);
  return { cpus, cpulessNodes, source: info.source, warnings };
}

function rejectDuplicates(sorted: readonly RawCpu[], source: string): void {
  sorted.forEach((row, index) => {
    if (index > 0 && sorted[index - 1]?.id === row.id) {
      throw new TopologyError(`${source}: CPU ${row.id} is listed twice; give the output of a single lscpu run`);
    }
  });
}

function fillSockets(rows: readonly RawCpu[], warnings: string[]): Map<number, number> {
  const socketsByNode = new Map<number | null, Set<number>>();
  for (const row of rows) {
    if (row.socket === null) continue;
    const set = socketsByNode.get(row.node) ?? new Set<number>();
    set.add(row.socket);
    socketsByNode.set(row.node, set);
  }
  const sockets = new Map<number, number>();
  const guessed: number[] = [];
  for (const row of rows) {
    if (row.socket !== null) {
      sockets.set(row.id, row.socket);
      continue;
    }
    const nodeSockets = row.node === null ? undefined : socketsByNode.get(row.node);
    const only = nodeSockets?.size === 1 ? [...nodeSockets][0] : undefined;
    if (only === undefined) guessed.push(row.id);
    sockets.set(row.id, only ?? 0);
  }
  if (guessed.length > 0) {
    warnings.push(`socket unknown for CPUs ${formatCpuList(guessed)}; counted as socket 0`);
  }
  return sockets;
}

function groupByCore(rows: readonly RawCpu[], sockets: ReadonlyMap<number, number>): RawCpu[][] {
  const groups = new Map<string, RawCpu[]>();
  for (const row of rows) {
    const key = row.coreId === null ? `cpu ${row.id}` : `${sockets.get(row.id)}/${row.coreId}`;
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return [...groups.values()];
}

function splitByL1d(groups: RawCpu[][], warnings: string[]): RawCpu[][] {
  const result: RawCpu[][] = [];
  const split: number[] = [];
  for (const group of groups) {
    const l1dIds = new Set(group.map((row) => row.l1dId));
    if (group.length < 2 || l1dIds.has(null) || l1dIds.size < 2) {
      result.push(group);
      continue;
    }
    for (const l1dId of l1dIds) result.push(group.filter((row) => row.l1dId === l1dId));
    split.push(...group.map((row) => row.id));
  }
  if (split.length > 0) {
    warnings.push(
      `CPUs ${formatCpuList(split)} share a (socket, core) id but not an L1d cache; ` +
        'each L1d counts as its own physical core (SMT threads share L1d)',
    );
  }
  return result;
}

function toCpu(row: RawCpu, coreKey: number, socket: number): Cpu {
  return {
    id: row.id,
    core: coreKey,
    socket,
    node: row.node,
    online: row.online,
    ...(row.maxMhz === undefined ? {} : { maxMhz: row.maxMhz }),
  };
}

function lowestId(group: readonly RawCpu[]): number {
  return Math.min(...group.map((row) => row.id));
}
