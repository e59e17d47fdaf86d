import { TopologyError } from './errors.js';
import { parseCpuList } from './cpulist.js';
import { buildTopology } from './build.js';
import type { RawCpu } from './build.js';
import type { Topology } from './model.js';

/** Reads a sysfs file; undefined when it does not exist or cannot be read. */
export type ReadSysfsFile = (path: string) => string | undefined;

const CPU_DIR = '/sys/devices/system/cpu';
const NODE_DIR = '/sys/devices/system/node';

/**
 * Builds a Topology from sysfs through an injected reader (a fake in tests). Cores come from
 * `thread_siblings_list` (the kernel's own sibling set, so Arm hybrids with repeating core ids are
 * right), else `core_id`; both are grouped per `physical_package_id`. Offline CPUs usually lack
 * topology files: they become single-CPU cores whose socket follows their node.
 */
export function parseSysfs(readFile: ReadSysfsFile, source = '/sys/devices/system'): Topology {
  const presentText = readFile(`${CPU_DIR}/present`) ?? readFile(`${CPU_DIR}/possible`);
  if (presentText === undefined) {
    throw new TopologyError(
      `${source}: cannot read ${CPU_DIR}/present; is /sys mounted? Set topology.file to a recorded lscpu -p output instead`,
    );
  }
  const cpuIds = parseSysfsList(presentText, `${CPU_DIR}/present`, source);
  const onlineText = readFile(`${CPU_DIR}/online`);
  const online = new Set(onlineText === undefined ? cpuIds : parseSysfsList(onlineText, `${CPU_DIR}/online`, source));
  const { nodeOf, cpulessNodes } = readNodes(readFile, source);
  const coreOf = coreKeys(readFile, cpuIds, source);
  const rows = cpuIds.map((id): RawCpu => {
    const maxKhz = readInteger(readFile, `${CPU_DIR}/cpu${id}/cpufreq/cpuinfo_max_freq`);
    return {
      id,
      coreId: coreOf.get(id) ?? null,
      socket: readInteger(readFile, `${CPU_DIR}/cpu${id}/topology/physical_package_id`),
      node: nodeOf.get(id) ?? null,
      online: online.has(id),
      l1dId: null,
      ...(maxKhz === null ? {} : { maxMhz: maxKhz / 1000 }),
    };
  });
  return buildTopology(rows, { source, cpulessNodes });
}

/**
 * CPU id -> core key: the lowest CPU of its `thread_siblings_list`. Only when no CPU has that file
 * is `core_id` used instead; mixing both would let a core_id collide with a sibling-list key.
 */
function coreKeys(readFile: ReadSysfsFile, cpuIds: readonly number[], source: string): Map<number, number> {
  const bySiblings = new Map<number, number>();
  for (const id of cpuIds) {
    const path = `${CPU_DIR}/cpu${id}/topology/thread_siblings_list`;
    const text = readFile(path);
    const [lowestSibling] = text === undefined ? [] : parseSysfsList(text, path, source);
    if (lowestSibling !== undefined) bySiblings.set(id, lowestSibling);
  }
  if (bySiblings.size > 0) return bySiblings;
  const byCoreId = new Map<number, number>();
  for (const id of cpuIds) {
    const coreId = readInteger(readFile, `${CPU_DIR}/cpu${id}/topology/core_id`);
    if (coreId !== null) byCoreId.set(id, coreId);
  }
  return byCoreId;
}

/** Nodes from `node/online` (or `possible`); none at all means a kernel without NUMA. */
function readNodes(readFile: ReadSysfsFile, source: string): { nodeOf: Map<number, number>; cpulessNodes: number[] } {
  const nodeOf = new Map<number, number>();
  const cpulessNodes: number[] = [];
  const nodesText = readFile(`${NODE_DIR}/online`) ?? readFile(`${NODE_DIR}/possible`);
  const nodeIds = nodesText === undefined ? [] : parseSysfsList(nodesText, `${NODE_DIR}/online`, source);
  for (const node of nodeIds) {
    const path = `${NODE_DIR}/node${node}/cpulist`;
    const cpus = parseSysfsList(readFile(path) ?? '', path, source);
    if (cpus.length === 0) cpulessNodes.push(node);
    for (const cpu of cpus) nodeOf.set(cpu, node);
  }
  return { nodeOf, cpulessNodes };
}

function parseSysfsList(text: string, path: string, source: string): number[] {
  try {
    return parseCpuList(text);
  } catch (error) {
    throw new TopologyError(`${source}: ${path}: ${(error as Error).message}`);
  }
}

/** A non-negative integer file; anything else (missing, -1 for an unknown id) is null. */
function readInteger(readFile: ReadSysfsFile, path: string): number | null {
  const text = readFile(path)?.trim();
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : null;
}
