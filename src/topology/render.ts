import { formatCpuList } from './cpulist.js';
import { SMT_UNKNOWN } from './lscpu-summary.js';
import { numaNodes, physicalCores, socketIds, summarize, uniqueSorted } from './model.js';
import type { PhysicalCore, Topology } from './model.js';

/** How many sibling groups the text form shows before eliding; the JSON form lists them all. */
const SIBLING_EXAMPLES = 4;

export interface TopologyJson {
  source: string;
  summary: {
    cpus: number;
    online_cpus: number;
    physical_cores: number;
    max_threads_per_core: number;
    sockets: number;
    nodes: number;
    nodes_with_cpus: number;
  };
  sockets: { id: number; nodes: number[]; cores: number; cpus: string }[];
  nodes: { id: number; sockets: number[]; cores: number; cpus: string }[];
  cores: { core: number; socket: number; node: number | null; cpus: number[] }[];
  offline_cpus: string;
  warnings: string[];
}

export function topologyToJson(topology: Topology): TopologyJson {
  const summary = summarize(topology);
  const cores = physicalCores(topology);
  return {
    source: topology.source,
    summary: {
      cpus: summary.cpus,
      online_cpus: summary.onlineCpus,
      physical_cores: summary.physicalCores,
      max_threads_per_core: summary.maxThreadsPerCore,
      sockets: summary.sockets,
      nodes: summary.nodes,
      nodes_with_cpus: summary.cpuNodes,
    },
    sockets: socketIds(topology).map((id) => {
      const socketCores = cores.filter((core) => core.socket === id);
      return {
        id,
        nodes: uniqueSorted(socketCores.flatMap((core) => (core.node === null ? [] : [core.node]))),
        cores: socketCores.length,
        cpus: formatCpuList(socketCores.flatMap((core) => core.cpuIds)),
      };
    }),
    nodes: numaNodes(topology).map((node) => ({
      id: node.id,
      sockets: node.sockets,
      cores: cores.filter((core) => core.node === node.id).length,
      cpus: formatCpuList(node.cpuIds),
    })),
    cores: cores.map((core) => ({ core: core.core, socket: core.socket, node: core.node, cpus: core.cpuIds })),
    offline_cpus: formatCpuList(topology.cpus.filter((cpu) => !cpu.online).map((cpu) => cpu.id)),
    warnings: topology.warnings,
  };
}

/** A plain-text report for `bench topology`; the CLI prints it. */
export function renderTopologyText(topology: Topology): string {
  const json = topologyToJson(topology);
  const { summary } = json;
  const lines = [
    `CPU topology from ${json.source}`,
    `  ${count(summary.cpus, 'CPU')} (${summary.online_cpus} online), ${count(summary.physical_cores, 'physical core')}, ` +
      `up to ${count(summary.max_threads_per_core, 'thread')} per core, ${count(summary.sockets, 'socket')}, ` +
      `${count(summary.nodes, 'NUMA node')} (${summary.nodes_with_cpus} with CPUs)`,
    '',
    ...table(
      ['socket', 'nodes', 'cores', 'CPUs'],
      json.sockets.map((socket) => [String(socket.id), listOrDash(socket.nodes), String(socket.cores), socket.cpus]),
    ),
  ];
  if (json.nodes.length > 0) {
    lines.push(
      '',
      ...table(
        ['node', 'sockets', 'cores', 'CPUs'],
        json.nodes.map((node) => [
          String(node.id),
          listOrDash(node.sockets),
          String(node.cores),
          node.cpus === '' ? '(no CPUs: memory only)' : node.cpus,
        ]),
      ),
    );
  } else {
    lines.push('', 'NUMA: no node information (memory binding is not possible)');
  }
  const smtUnknown = topology.warnings.some((w) => w.includes(SMT_UNKNOWN));
  lines.push(
    '',
    `SMT siblings: ${smtUnknown ? 'unknown in this record (each CPU counted as a core; see the notes)' : siblingExamples(physicalCores(topology))}`,
  );
  if (json.offline_cpus !== '') lines.push(`Offline CPUs: ${json.offline_cpus}`);
  if (json.warnings.length > 0) lines.push('', 'Notes:', ...json.warnings.map((warning) => `  - ${warning}`));
  return `${lines.join('\n')}\n`;
}

function siblingExamples(cores: readonly PhysicalCore[]): string {
  const smtCores = cores.filter((core) => core.cpuIds.length > 1);
  if (smtCores.length === 0) return 'none (one CPU per core)';
  const shown = smtCores.slice(0, SIBLING_EXAMPLES).map((core) => `{${core.cpuIds.join(',')}}`);
  const more = smtCores.length > SIBLING_EXAMPLES ? ` ... (${smtCores.length} cores with SMT)` : '';
  return `${shown.join(' ')}${more}`;
}

function count(value: number, noun: string): string {
  return `${value} ${noun}${value === 1 ? '' : 's'}`;
}

function listOrDash(ids: readonly number[]): string {
  return ids.length === 0 ? '-' : ids.join(',');
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const format = (row: readonly string[]): string =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [format(header), ...rows.map(format)];
}
