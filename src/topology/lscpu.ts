import { TopologyError } from './errors.js';
import { parseLscpuExtended, parseLscpuJsonCpus, parseLscpuParsable } from './lscpu-table.js';
import { parseLscpuSummary, summaryEntries } from './lscpu-summary.js';
import type { SummaryEntry } from './lscpu-summary.js';
import type { Topology } from './model.js';

export type LscpuForm = 'summary' | 'parsable' | 'extended' | 'json';

/** Keys that any lscpu summary (or its `grep -i numa` fragment) has. */
const SUMMARY_KEY = /^(CPU\(s\)|On-line CPU\(s\) list|NUMA node\(s\)|NUMA node\d+ CPU\(s\))$/;
const EXTENDED_COLUMNS = new Set(['NODE', 'SOCKET', 'CORE', 'ONLINE', 'BOOK', 'DRAWER', 'CLUSTER', 'MAXMHZ']);

/**
 * Which lscpu output `text` is: JSON (`-J`, either form), parsable (`-p`: a `# CPU,...` header),
 * extended (`-e`: a `CPU NODE SOCKET ...` header row) or the summary (`Key: value` lines, including
 * a `grep -i numa` fragment). Null when it is none of them.
 */
export function lscpuForm(text: string): LscpuForm | null {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return 'json';
  const lines = trimmed.split(/\r?\n/);
  if (lines.some((line) => /^#\s*cpu\s*(,|$)/i.test(line))) return 'parsable';
  const headerWords = (lines[0] ?? '').trim().split(/\s+/);
  if (headerWords[0]?.toUpperCase() === 'CPU' && headerWords.some((word) => EXTENDED_COLUMNS.has(word.toUpperCase()))) {
    return 'extended';
  }
  return summaryEntries(trimmed).some((entry) => SUMMARY_KEY.test(entry.key)) ? 'summary' : null;
}

/** Parses any recorded or live lscpu output; `source` (a path or command) is named in errors. */
export function parseLscpu(text: string, source: string): Topology {
  switch (lscpuForm(text)) {
    case 'json':
      return parseLscpuJson(text, source);
    case 'parsable':
      return parseLscpuParsable(text, source);
    case 'extended':
      return parseLscpuExtended(text, source);
    case 'summary':
      return parseLscpuSummary(summaryEntries(text), source);
    case null:
      throw new TopologyError(
        `${source}: not lscpu output; expected the output of lscpu, lscpu -p, lscpu -e or lscpu -J`,
      );
  }
}

function parseLscpuJson(text: string, source: string): Topology {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new TopologyError(
      `${source}: starts like lscpu -J output but is not valid JSON (${(error as Error).message})`,
    );
  }
  const record = typeof document === 'object' && document !== null ? (document as Record<string, unknown>) : {};
  if (Array.isArray(record['lscpu'])) return parseLscpuSummary(jsonEntries(record['lscpu'], source), source);
  if (Array.isArray(record['cpus'])) return parseLscpuJsonCpus(record['cpus'], source);
  throw new TopologyError(
    `${source}: JSON without an "lscpu" or "cpus" array; give the output of lscpu -J or lscpu -J -e`,
  );
}

/**
 * `{"field":"NUMA node4 CPU(s):","data":null}` items, flat or nested under `children` (the sectioned
 * layout). A null `data` is an empty value: for a node line, a node without CPUs.
 */
function jsonEntries(items: readonly unknown[], source: string): SummaryEntry[] {
  return items.flatMap((item): SummaryEntry[] => {
    if (typeof item !== 'object' || item === null) {
      throw new TopologyError(`${source}: an "lscpu" item is not an object`);
    }
    const { field, data, children } = item as { field?: unknown; data?: unknown; children?: unknown };
    const key = typeof field === 'string' ? field.trim().replace(/:$/, '') : '';
    const own = key === '' ? [] : [{ key, value: data === null || data === undefined ? '' : String(data).trim() }];
    return [...own, ...(Array.isArray(children) ? jsonEntries(children, source) : [])];
  });
}
