import { TopologyError } from './errors.js';
import { buildTopology } from './build.js';
import type { RawCpu } from './build.js';
import type { Topology } from './model.js';

/**
 * Per-CPU lscpu forms: `-p` (comma separated, `#` header), `-e` (whitespace table) and the
 * `{"cpus":[...]}` JSON of `lscpu -J -e`. Columns are always found by header name, never position:
 * `-p` may insert an empty column (`Node,,L1d`), drop columns or end rows early.
 */

/** One row as column name (lower case) -> cell text; null = empty, `-` or absent. */
type Cells = ReadonlyMap<string, string | null>;

export function parseLscpuParsable(text: string, source: string): Topology {
  const lines = text.split(/\r?\n/);
  const headerIndex = lines.findLastIndex((line) => /^#\s*cpu\s*(,|$)/i.test(line));
  const headerLine = lines[headerIndex];
  if (headerLine === undefined) {
    throw new TopologyError(`${source}: no '# CPU,Core,...' header line; give the full output of lscpu -p`);
  }
  const header = headerLine.replace(/^#\s*/, '').split(',').map(columnName);
  const rows = lines.flatMap((line, index) => {
    if (index <= headerIndex || line.trim() === '' || line.startsWith('#')) return [];
    const fields = line.split(',').map((field) => field.trim());
    return [toRawCpu(parsableCells(header, fields), source, index + 1)];
  });
  return buildTopology(rows, { source });
}

export function parseLscpuExtended(text: string, source: string): Topology {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const [headerLine, ...rowLines] = lines;
  if (headerLine === undefined) throw new TopologyError(`${source}: empty lscpu -e output`);
  const header = headerLine.trim().split(/\s+/).map(columnName);
  const rows = rowLines.map((line, index) =>
    toRawCpu(extendedCells(header, line.trim().split(/\s+/)), source, index + 2),
  );
  return buildTopology(rows, { source });
}

/** `lscpu -J -e`: `{"cpus":[{"cpu":0,"node":0,...,"online":true}]}`; values may be strings or numbers. */
export function parseLscpuJsonCpus(cpus: readonly unknown[], source: string): Topology {
  const rows = cpus.map((entry, index) => {
    if (typeof entry !== 'object' || entry === null) {
      throw new TopologyError(`${source}: cpus[${index}] is not an object`);
    }
    const cells = new Map<string, string | null>();
    for (const [key, value] of Object.entries(entry)) {
      cells.set(columnName(key), value === null || value === undefined ? null : cellText(String(value)));
    }
    return toRawCpu(withL1d(cells), source, index + 1);
  });
  return buildTopology(rows, { source });
}

/** Lower case, so `Core` (-p), `CORE` (-e) and `core` (JSON) match, as do `MAXMHZ` and `Maxmhz`. */
function columnName(name: string): string {
  return name.trim().toLowerCase();
}

function cellText(text: string): string | null {
  const trimmed = text.trim();
  return trimmed === '' || trimmed === '-' ? null : trimmed;
}

/**
 * `-p` in its compatible form puts caches after an empty column (`Node,,L1d,L1i,L2,L3`) and leaves
 * out the caches it cannot identify, so a short row's cache cells cannot be attributed: they are
 * kept only when the row is as long as the header. The user-defined form (`-p=...,CACHE`) has one
 * `L1d:L1i:L2` column instead, handled like `-e`.
 */
function parsableCells(header: readonly string[], fields: readonly string[]): Cells {
  const separator = header.indexOf('');
  const cells = new Map<string, string | null>();
  header.forEach((name, index) => {
    if (name === '') return;
    const isCache = separator >= 0 && index > separator;
    if (isCache && fields.length !== header.length) return;
    cells.set(name, cellText(fields[index] ?? ''));
  });
  return withL1d(cells);
}

function extendedCells(header: readonly string[], fields: readonly string[]): Cells {
  return withL1d(new Map(header.map((name, index) => [name, cellText(fields[index] ?? '')])));
}

/** Derives an `l1d` cell from a joined `l1d:l1i:l2:l3` column when every cache id is present. */
function withL1d(cells: Map<string, string | null>): Cells {
  for (const [name, value] of cells) {
    if (!name.includes(':') || value === null) continue;
    const names = name.split(':');
    const ids = value.split(':');
    const l1dIndex = names.indexOf('l1d');
    if (ids.length === names.length && l1dIndex >= 0) cells.set('l1d', ids[l1dIndex] ?? null);
  }
  return cells;
}

function toRawCpu(cells: Cells, source: string, lineNumber: number): RawCpu {
  const id = integerCell(cells, 'cpu', source, lineNumber);
  if (id === null) throw new TopologyError(`${source}: line ${lineNumber} has no CPU id`);
  const maxMhz = numberCell(cells, 'maxmhz', source, lineNumber);
  return {
    id,
    coreId: integerCell(cells, 'core', source, lineNumber),
    socket: integerCell(cells, 'socket', source, lineNumber),
    node: integerCell(cells, 'node', source, lineNumber),
    online: onlineCell(cells.get('online') ?? null, source, lineNumber),
    l1dId: integerCell(cells, 'l1d', source, lineNumber),
    ...(maxMhz === null ? {} : { maxMhz }),
  };
}

function integerCell(cells: Cells, name: string, source: string, lineNumber: number): number | null {
  const text = cells.get(name) ?? null;
  if (text === null) return null;
  if (!/^\d+$/.test(text)) {
    throw new TopologyError(`${source}: line ${lineNumber}: ${name} '${text}' is not a non-negative integer`);
  }
  return Number(text);
}

function numberCell(cells: Cells, name: string, source: string, lineNumber: number): number | null {
  const text = cells.get(name) ?? null;
  if (text === null) return null;
  const value = Number(text);
  if (!Number.isFinite(value)) {
    throw new TopologyError(`${source}: line ${lineNumber}: ${name} '${text}' is not a number`);
  }
  return value;
}

/** `Y`/`N` in -p, `yes`/`no` in -e, booleans in JSON; no ONLINE column means online. */
function onlineCell(text: string | null, source: string, lineNumber: number): boolean {
  if (text === null) return true;
  const value = text.toLowerCase();
  if (['y', 'yes', 'true'].includes(value)) return true;
  if (['n', 'no', 'false'].includes(value)) return false;
  throw new TopologyError(`${source}: line ${lineNumber}: online '${text}' is not Y/N, yes/no or true/false`);
}
