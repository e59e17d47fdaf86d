import { TopologyError } from './errors.js';

/**
 * Linux CPU list syntax, as in sysfs (`0-3,8-11`), `taskset -c`, `numactl -C` and lscpu.
 * util-linux >= 2.42 also prints strides (`0-62:2` = 0,2,4,...,62); we read them, never write them,
 * because older taskset/numactl reject them.
 */

/** Guards against typos such as `0-99999999` turning into a huge array (kernels cap at 8192 CPUs). */
const MAX_CPU_ID = 65_535;

const TERM = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/;

/** Parses `0-3,8,10-20:2` into sorted, unique CPU ids. Empty or blank text is the empty list. */
export function parseCpuList(text: string): number[] {
  const ids = new Set<number>();
  const trimmed = text.trim();
  if (trimmed === '') return [];
  for (const rawTerm of trimmed.split(',')) {
    for (const id of expandTerm(rawTerm.trim(), text)) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

function expandTerm(term: string, whole: string): number[] {
  const match = TERM.exec(term);
  if (!match) {
    throw new TopologyError(
      `invalid CPU list '${whole.trim()}': '${term}' is not N, A-B or A-B:STEP (e.g. 0-3,8-11 or 0-62:2)`,
    );
  }
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  const step = match[3] === undefined ? 1 : Number(match[3]);
  if (last < first || step < 1 || last > MAX_CPU_ID) {
    throw new TopologyError(
      `invalid CPU list '${whole.trim()}': range '${term}' must run upwards, with a step >= 1 and ids <= ${MAX_CPU_ID}`,
    );
  }
  const ids: number[] = [];
  for (let id = first; id <= last; id += step) ids.push(id);
  return ids;
}

/**
 * Formats CPU ids compactly the way the kernel does (`Cpus_allowed_list`): runs of two or more
 * consecutive ids become `a-b`, single ids stay alone. numactl and every taskset accept it.
 */
export function formatCpuList(cpuIds: readonly number[]): string {
  const sorted = [...new Set(cpuIds)].sort((a, b) => a - b);
  const parts: string[] = [];
  let runStart: number | undefined;
  let previous: number | undefined;
  for (const id of sorted) {
    if (previous !== undefined && id === previous + 1) {
      previous = id;
      continue;
    }
    if (runStart !== undefined && previous !== undefined) parts.push(formatRun(runStart, previous));
    runStart = id;
    previous = id;
  }
  if (runStart !== undefined && previous !== undefined) parts.push(formatRun(runStart, previous));
  return parts.join(',');
}

function formatRun(first: number, last: number): string {
  return first === last ? String(first) : `${first}-${last}`;
}
