import { TopologyError } from './errors.js';
import { formatCpuList, parseCpuList } from './cpulist.js';
import { buildTopology } from './build.js';
import type { RawCpu } from './build.js';
import type { Topology } from './model.js';

/**
 * The default `lscpu` summary ("Key: value" lines, flat or in the indented sections of
 * util-linux >= 2.38, the `{"lscpu":[{field,data}]}` JSON, or a `grep -i numa` fragment of it).
 *
 * It has no per-CPU core or socket ids, so they are derived, and every assumption is recorded in
 * `warnings`:
 * - Cores: with t = `Thread(s) per core`, C = `Core(s) per socket` x `Socket(s)` and n CPUs
 *   numbered 0..n-1, t = 1 makes every CPU a core; t >= 2 uses the common Linux enumeration in
 *   which all first threads come before all second threads, so CPU i belongs to core i mod C
 *   (siblings i, i+C, ...). The result is rejected when siblings would land in different NUMA
 *   nodes. `Thread(s) per core: 0` (old lscpu dividing online CPUs) is replaced by n / C when that
 *   divides evenly. When t x C != n (hybrid parts), several CPU types are listed, or the counts are
 *   missing, each CPU counts as its own core, with a warning.
 * - Sockets: the NUMA nodes holding CPUs, in id order, are shared out evenly over `Socket(s)`
 *   (k nodes per socket) when that gives every socket the same number of CPUs; otherwise each node
 *   counts as one socket. Without NUMA lines, cores are split into consecutive blocks per socket.
 */

export interface SummaryEntry {
  /** The field name without its colon, e.g. `NUMA node0 CPU(s)`. */
  key: string;
  value: string;
}

const KEY_VALUE = /^\s*([^:]+?):(.*)$/;
const NODE_KEY = /^NUMA node(\d+) CPU\(s\)$/;

/** "Key: value" lines; wrapped continuation lines (no colon) are skipped. */
/** Said in a topology's warnings when a partial record cannot tell which CPUs share a core. */
export const SMT_UNKNOWN = 'SMT siblings are unknown';

export function summaryEntries(text: string): SummaryEntry[] {
  return text.split(/\r?\n/).flatMap((line) => {
    const match = KEY_VALUE.exec(line);
    const key = match?.[1];
    return key === undefined ? [] : [{ key: key.trim(), value: (match?.[2] ?? '').trim() }];
  });
}

export function parseLscpuSummary(entries: readonly SummaryEntry[], source: string): Topology {
  const warnings: string[] = [];
  const counts = readCounts(entries, source);
  const nodeCpus = readNodes(entries, counts.nodeCount, source, warnings);
  const cpuIds = presentCpuIds(entries, counts.cpuCount, nodeCpus, source);
  const online = new Set(listValue(entries, 'On-line CPU(s) list', source) ?? cpuIds);
  const nodeOf = nodeLookup(cpuIds, nodeCpus, warnings);
  const coreOf = deriveCores(cpuIds, counts, nodeOf, warnings);
  const socketOf = deriveSockets(cpuIds, counts, nodeOf, coreOf, warnings);
  const maxMhz = counts.maxMhz.length === 1 ? counts.maxMhz[0] : undefined;
  const rows: RawCpu[] = cpuIds.map((id) => ({
    id,
    coreId: coreOf?.get(id) ?? null,
    socket: socketOf.get(id) ?? 0,
    node: nodeOf.get(id) ?? null,
    online: online.has(id),
    l1dId: null,
    ...(maxMhz === undefined ? {} : { maxMhz }),
  }));
  const cpulessNodes = [...nodeCpus].filter(([, cpus]) => cpus.length === 0).map(([node]) => node);
  return buildTopology(rows, { source, cpulessNodes, warnings });
}

interface SummaryCounts {
  cpuCount: number | undefined;
  /** One value per CPU type block; hybrid Arm parts list several. */
  threadsPerCore: number[];
  coresPerSocket: number[];
  sockets: number[];
  nodeCount: number | undefined;
  maxMhz: number[];
}

function readCounts(entries: readonly SummaryEntry[], source: string): SummaryCounts {
  const integers = (key: string): number[] =>
    valuesOf(entries, key).flatMap((value) => (/^\d+$/.test(value) ? [Number(value)] : []));
  const numbers = (key: string): number[] =>
    valuesOf(entries, key).flatMap((value) => (Number.isFinite(Number(value)) && value !== '' ? [Number(value)] : []));
  const cpuCount = integers('CPU(s)')[0];
  if (cpuCount === 0) throw new TopologyError(`${source}: 'CPU(s): 0'; give lscpu output of a running machine`);
  return {
    cpuCount,
    threadsPerCore: integers('Thread(s) per core'),
    coresPerSocket: [...integers('Core(s) per socket'), ...integers('Core(s) per cluster')],
    sockets: integers('Socket(s)'),
    nodeCount: integers('NUMA node(s)')[0],
    maxMhz: numbers('CPU max MHz'),
  };
}

function valuesOf(entries: readonly SummaryEntry[], key: string): string[] {
  return entries.filter((entry) => entry.key === key).map((entry) => entry.value);
}

function listValue(entries: readonly SummaryEntry[], key: string, source: string): number[] | undefined {
  const value = valuesOf(entries, key)[0];
  return value === undefined ? undefined : parseListField(value, key, source);
}

function parseListField(value: string, key: string, source: string): number[] {
  try {
    return parseCpuList(value);
  } catch (error) {
    throw new TopologyError(`${source}: '${key}': ${(error as Error).message}`);
  }
}

/** Node id -> CPUs; an empty list is a CPU-less (memory-only) node. */
function readNodes(
  entries: readonly SummaryEntry[],
  nodeCount: number | undefined,
  source: string,
  warnings: string[],
): Map<number, number[]> {
  const nodes = new Map<number, number[]>();
  for (const entry of entries) {
    const id = NODE_KEY.exec(entry.key)?.[1];
    if (id !== undefined) nodes.set(Number(id), parseListField(entry.value, entry.key, source));
  }
  if (nodeCount !== undefined && nodeCount !== nodes.size) {
    warnings.push(
      `'NUMA node(s): ${nodeCount}' but ${nodes.size} 'NUMA nodeN CPU(s)' lines; only those lines are used`,
    );
  }
  return nodes;
}

/** Present CPUs: on-line plus off-line lists, else 0..CPU(s)-1, else the CPUs of the node lines. */
function presentCpuIds(
  entries: readonly SummaryEntry[],
  cpuCount: number | undefined,
  nodeCpus: ReadonlyMap<number, number[]>,
  source: string,
): number[] {
  const listed = [
    ...(listValue(entries, 'On-line CPU(s) list', source) ?? []),
    ...(listValue(entries, 'Off-line CPU(s) list', source) ?? []),
  ];
  const ids =
    listed.length > 0
      ? listed
      : cpuCount !== undefined
        ? Array.from({ length: cpuCount }, (_, index) => index)
        : [...nodeCpus.values()].flat();
  if (ids.length === 0) {
    throw new TopologyError(
      `${source}: no 'CPU(s)', 'On-line CPU(s) list' or 'NUMA nodeN CPU(s)' line; give the full lscpu output`,
    );
  }
  return [...new Set(ids)].sort((a, b) => a - b);
}

function nodeLookup(
  cpuIds: readonly number[],
  nodeCpus: ReadonlyMap<number, number[]>,
  warnings: string[],
): Map<number, number> {
  const nodeOf = new Map<number, number>();
  for (const [node, cpus] of nodeCpus) for (const cpu of cpus) nodeOf.set(cpu, node);
  const unplaced = cpuIds.filter((id) => !nodeOf.has(id));
  if (nodeCpus.size > 0 && unplaced.length > 0) {
    warnings.push(`CPUs ${formatCpuList(unplaced)} are in no 'NUMA nodeN CPU(s)' line; their node is unknown`);
  }
  return nodeOf;
}

/** CPU id -> core index, or null when siblings cannot be derived (each CPU is then its own core). */
function deriveCores(
  cpuIds: readonly number[],
  counts: SummaryCounts,
  nodeOf: ReadonlyMap<number, number>,
  warnings: string[],
): Map<number, number> | null {
  const cpuCount = cpuIds.length;
  const [threads, ...otherTypes] = counts.threadsPerCore;
  if (otherTypes.length > 0) {
    if (counts.threadsPerCore.some((value) => value !== 1)) {
      warnings.push(
        `${counts.threadsPerCore.length} CPU types with different thread counts (a hybrid CPU); SMT siblings ` +
          'cannot be derived from the lscpu summary, so each CPU counts as its own core; record lscpu -p for exact cores',
      );
    }
    return null;
  }
  const [coresPerSocket] = counts.coresPerSocket;
  const [sockets] = counts.sockets;
  if (threads === undefined || coresPerSocket === undefined || sockets === undefined) {
    warnings.push(
      `no 'Thread(s) per core', 'Core(s) per socket' or 'Socket(s)' line; ${SMT_UNKNOWN}, so each CPU ` +
        'counts as its own core; record the full lscpu -p output for exact cores',
    );
    return null;
  }
  const coreCount = coresPerSocket * sockets;
  const threadsPerCore = threads === 0 && coreCount > 0 && cpuCount % coreCount === 0 ? cpuCount / coreCount : threads;
  if (threads === 0 && threadsPerCore !== 0) {
    warnings.push(
      `'Thread(s) per core: 0' (old lscpu divides on-line CPUs only); using CPU(s) / (cores x sockets) = ${threadsPerCore}`,
    );
  }
  if (threadsPerCore * coreCount !== cpuCount) {
    warnings.push(
      `Thread(s) per core (${threads}) x Core(s) per socket (${coresPerSocket}) x Socket(s) (${sockets}) = ` +
        `${threads * coreCount}, not the ${cpuCount} CPUs listed (a hybrid CPU?); each CPU counts as its own core; ` +
        'record lscpu -p for exact cores',
    );
    return null;
  }
  if (threadsPerCore === 1) return new Map(cpuIds.map((id) => [id, id]));
  const numberedFromZero = cpuIds.every((id, index) => id === index);
  const coreOf = new Map(cpuIds.map((id) => [id, id % coreCount]));
  if (!numberedFromZero || !siblingsShareNodes(cpuIds, coreOf, nodeOf)) {
    warnings.push(
      `CPU i and CPU i+${coreCount} would be SMT siblings but are not numbered 0..${cpuCount - 1} or sit in different ` +
        'NUMA nodes; each CPU counts as its own core; record lscpu -p for exact cores',
    );
    return null;
  }
  warnings.push(
    `SMT siblings derived from the lscpu summary: CPU i and CPU i+${coreCount} share a core ` +
      '(the usual Linux numbering); record lscpu -p for exact cores',
  );
  return coreOf;
}

function siblingsShareNodes(
  cpuIds: readonly number[],
  coreOf: ReadonlyMap<number, number>,
  nodeOf: ReadonlyMap<number, number>,
): boolean {
  const nodeOfCore = new Map<number, number | undefined>();
  return cpuIds.every((id) => {
    const core = coreOf.get(id) ?? -1;
    if (!nodeOfCore.has(core)) nodeOfCore.set(core, nodeOf.get(id));
    return nodeOfCore.get(core) === nodeOf.get(id);
  });
}

function deriveSockets(
  cpuIds: readonly number[],
  counts: SummaryCounts,
  nodeOf: ReadonlyMap<number, number>,
  coreOf: ReadonlyMap<number, number> | null,
  warnings: string[],
): Map<number, number> {
  const socketCounts = new Set(counts.sockets);
  const [sockets] = socketCounts;
  const all = (socket: number): Map<number, number> => new Map(cpuIds.map((id) => [id, socket]));
  if (sockets === undefined || socketCounts.size > 1) {
    warnings.push("no single 'Socket(s)' value; all CPUs counted as socket 0");
    return all(0);
  }
  if (sockets === 1) return all(0);
  const nodeIds = [...new Set(nodeOf.values())].sort((a, b) => a - b);
  if (nodeIds.length > 0) return socketsFromNodes(cpuIds, sockets, nodeIds, nodeOf, warnings);
  const coresPerSocket = Math.ceil((coreOf ? new Set(coreOf.values()).size : cpuIds.length) / sockets);
  warnings.push(`no NUMA lines; sockets assumed to hold consecutive blocks of ${coresPerSocket} cores`);
  return new Map(cpuIds.map((id, index) => [id, Math.floor((coreOf?.get(id) ?? index) / coresPerSocket)]));
}

function socketsFromNodes(
  cpuIds: readonly number[],
  sockets: number,
  nodeIds: readonly number[],
  nodeOf: ReadonlyMap<number, number>,
  warnings: string[],
): Map<number, number> {
  const nodesPerSocket = nodeIds.length / sockets;
  const socketOfNode = new Map(nodeIds.map((node, index) => [node, Math.floor(index / nodesPerSocket)]));
  const perSocket = new Map<number, number>();
  for (const id of cpuIds) {
    const socket = socketOfNode.get(nodeOf.get(id) ?? -1) ?? -1;
    perSocket.set(socket, (perSocket.get(socket) ?? 0) + 1);
  }
  const even = Number.isInteger(nodesPerSocket) && new Set(perSocket.values()).size === 1 && !perSocket.has(-1);
  if (even) return new Map(cpuIds.map((id) => [id, socketOfNode.get(nodeOf.get(id) ?? -1) ?? 0]));
  warnings.push(
    `'Socket(s): ${sockets}' cannot be matched to the ${nodeIds.length} NUMA nodes holding CPUs; ` +
      'each node counts as one socket; record lscpu -p for exact sockets',
  );
  const ordinal = new Map(nodeIds.map((node, index) => [node, index]));
  return new Map(cpuIds.map((id) => [id, ordinal.get(nodeOf.get(id) ?? -1) ?? 0]));
}
