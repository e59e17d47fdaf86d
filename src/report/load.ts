/**
 * Result sets read back from disk, for `bench compare` and `bench report`. They read only files
 * (never live objects), so results copied from another machine work the same.
 *
 * Accepted inputs:
 * - a run directory (`results.json`, else `results.csv`);
 * - a sweep directory (`summary.json` or `summary.csv`, each job's `results.json` in its `dir`;
 *   a job whose results.json is gone keeps its summary row, without raw latencies);
 * - a CSV file: a sweep's `summary.csv` or a run's `results.csv` (its aggregate rows), with the
 *   flattened `config.*` columns;
 * - any other directory: every `results.json` found below it (three levels at most), e.g.
 *   `outputs/2026-01-02/`.
 * One row per run: its configuration flattened to dotted keys, its aggregate figures, the raw
 * latencies of all instances pooled (null when only a summary is available), its environment.
 */
import { parse } from 'csv-parse/sync';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { flatten, isTree } from '../config/tree.js';
import type { RunResult } from '../results/types.js';

export class ReportInputError extends Error {
  override readonly name = 'ReportInputError';
}

export type SetKind = 'run' | 'sweep' | 'csv' | 'collection';

export interface ResultRow {
  /** Where the row came from, relative to the set's root: a job dir, `summary.csv:3`, ... */
  readonly source: string;
  readonly job: number | null;
  readonly status: string;
  /** The command-line overrides of the run (empty when unknown). */
  readonly overrides: readonly string[];
  /** The resolved config flattened to dotted keys; values as JSON has them, or strings from a CSV. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly environment: Readonly<Record<string, unknown>> | null;
  /** The full result when it was read from results.json. */
  readonly result: RunResult | null;
  readonly instances: number | null;
  /** Total batch over all instances. */
  readonly batch_size: number | null;
  /** The study's aggregate latency: the worst instance's mean. */
  readonly latency_mean_ms: number | null;
  readonly latency_p50_ms: number | null;
  readonly latency_p99_ms: number | null;
  /** Spread and count of the pooled calls, when the input has them (results.json, results.csv). */
  readonly latency_std_ms: number | null;
  readonly latency_count: number | null;
  /** Summed over instances. */
  readonly throughput_samples_per_s: number | null;
  /** Every call of every instance, pooled; null when only a summary was read. */
  readonly latencies_ms: readonly number[] | null;
  readonly error: string | null;
}

export interface ResultSet {
  /** The path as given, resolved. */
  readonly path: string;
  readonly kind: SetKind;
  readonly rows: readonly ResultRow[];
  /** Things the reader had to work around (a job without results.json, an unreadable file). */
  readonly warnings: readonly string[];
}

const num = (v: unknown): number | null => {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const x = Number(v);
    return Number.isFinite(x) ? x : null;
  }
  return null;
};

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ReportInputError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

function readJson(path: string): unknown {
  const text = readText(path);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ReportInputError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

function asRunResult(value: unknown, path: string): RunResult {
  if (!isTree(value) || typeof value.schema_version !== 'number' || !Array.isArray(value.instances)) {
    throw new ReportInputError(`${path} is not a bench results.json (no schema_version / instances)`);
  }
  return value as unknown as RunResult;
}

/** A row from a parsed results.json. */
export function rowFromResult(r: RunResult, source: string, job: number | null): ResultRow {
  const a = r.aggregate;
  const ok = r.instances.filter((i) => i.status === 'ok');
  const pooled = ok.flatMap((i) => (Array.isArray(i.latencies_ms) ? i.latencies_ms : []));
  return {
    source,
    job,
    status: r.status,
    overrides: r.overrides ?? [],
    config: isTree(r.config) ? flatten(r.config) : {},
    environment: isTree(r.environment) ? r.environment : null,
    result: r,
    instances: a?.instances ?? (r.instances.length || null),
    batch_size: a?.batch_size ?? null,
    latency_mean_ms: a?.latency_mean_ms ?? null,
    latency_p50_ms: a?.latency_p50_ms ?? null,
    latency_p99_ms: a?.latency_p99_ms ?? null,
    latency_std_ms: a?.pooled.std_ms ?? null,
    latency_count: a?.pooled.count ?? null,
    throughput_samples_per_s: a?.throughput_samples_per_s ?? null,
    latencies_ms: pooled.length > 0 ? pooled : null,
    error: r.error ?? null,
  };
}

/** A row from a summary record (summary.json / summary.csv) or an aggregate row of results.csv. */
function rowFromRecord(rec: Record<string, unknown>, source: string): ResultRow {
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) if (k.startsWith('config.')) config[k.slice('config.'.length)] = v;
  const overrides = typeof rec.overrides === 'string' && rec.overrides.trim() !== '' ? rec.overrides.trim().split(/\s+/) : [];
  // results.csv counts the pooled calls in `iterations` on its aggregate row.
  const count = num(rec.latency_count) ?? (rec.row === 'aggregate' ? num(rec.iterations) : null);
  return {
    source,
    job: num(rec.job),
    status: String(rec.status ?? 'ok') || 'ok',
    overrides,
    config,
    environment: null,
    result: null,
    instances: num(rec.instances) ?? (rec.row === 'aggregate' ? null : 1),
    batch_size: num(rec.batch_size),
    latency_mean_ms: num(rec.latency_mean_ms),
    latency_p50_ms: num(rec.latency_p50_ms),
    latency_p99_ms: num(rec.latency_p99_ms),
    latency_std_ms: num(rec.latency_std_ms),
    latency_count: count,
    throughput_samples_per_s: num(rec.throughput_samples_per_s),
    latencies_ms: null,
    error: typeof rec.error === 'string' && rec.error !== '' ? rec.error : null,
  };
}

function parseCsv(path: string): Record<string, string>[] {
  const text = readText(path);
  try {
    return parse(text, { columns: true, skip_empty_lines: true, relax_column_count: true }) as Record<string, string>[];
  } catch (err) {
    throw new ReportInputError(`${path} is not a valid CSV: ${(err as Error).message}`);
  }
}

function loadCsv(path: string): ResultSet {
  const records = parseCsv(path);
  if (records.length > 0 && !('latency_mean_ms' in records[0]!)) {
    throw new ReportInputError(`${path} has no latency_mean_ms column: expected a bench summary.csv or results.csv`);
  }
  const name = basename(path);
  const rows = records
    .map((rec, k) => ({ rec, line: k + 2 }))
    // results.csv: one row per instance plus the aggregate row; the aggregate is the run.
    .filter(({ rec }) => rec.row === undefined || rec.row === 'aggregate')
    .map(({ rec, line }) => rowFromRecord(rec, `${name}:${line}`));
  return { path, kind: 'csv', rows, warnings: [] };
}

function loadSweep(dir: string): ResultSet {
  const warnings: string[] = [];
  let records: Record<string, unknown>[];
  if (existsSync(join(dir, 'summary.json'))) {
    const value = readJson(join(dir, 'summary.json'));
    if (!Array.isArray(value)) throw new ReportInputError(`${join(dir, 'summary.json')} is not a list of jobs`);
    records = value.filter(isTree);
  } else {
    records = parseCsv(join(dir, 'summary.csv'));
  }
  const rows = records.map((rec, k): ResultRow => {
    const jobDir = typeof rec.dir === 'string' && rec.dir !== '' ? resolve(dir, rec.dir) : null;
    const source = jobDir ? relative(dir, jobDir) || '.' : `summary:${k}`;
    const file = jobDir ? join(jobDir, 'results.json') : null;
    if (file && existsSync(file)) {
      try {
        return rowFromResult(asRunResult(readJson(file), file), source, num(rec.job));
      } catch (err) {
        warnings.push(`${source}: ${(err as Error).message}; using its summary row`);
      }
    } else if (String(rec.status ?? '') === 'ok') {
      warnings.push(`${source}: no results.json; using its summary row (no raw latencies)`);
    }
    return rowFromRecord(rec, source);
  });
  return { path: dir, kind: 'sweep', rows, warnings };
}

function findResults(dir: string, depth: number, out: string[]): void {
  let entries: string[];
  try {
    entries = readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (e === 'results.json') out.push(p);
    else if (depth > 0 && !e.startsWith('.') && statSync(p, { throwIfNoEntry: false })?.isDirectory()) findResults(p, depth - 1, out);
  }
}

/** Reads a run dir, a sweep dir, a summary/results CSV, or a folder of runs. */
export function loadResultSet(input: string): ResultSet {
  const path = resolve(input);
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new ReportInputError(`${input}: no such file or directory`);
  if (st.isFile()) {
    if (path.endsWith('.csv')) return loadCsv(path);
    if (basename(path) === 'results.json') return loadResultSet(dirname(path));
    if (basename(path) === 'summary.json') return loadSweep(dirname(path));
    throw new ReportInputError(`${input}: expected a run or sweep directory, a results.json, or a summary/results CSV`);
  }
  if (existsSync(join(path, 'results.json'))) {
    const file = join(path, 'results.json');
    return { path, kind: 'run', rows: [rowFromResult(asRunResult(readJson(file), file), '.', null)], warnings: [] };
  }
  if (existsSync(join(path, 'summary.json')) || existsSync(join(path, 'summary.csv'))) return loadSweep(path);
  if (existsSync(join(path, 'results.csv'))) return { ...loadCsv(join(path, 'results.csv')), path, kind: 'run' };
  const files: string[] = [];
  findResults(path, 3, files);
  if (files.length === 0) {
    throw new ReportInputError(`${input}: no results found (no results.json, summary.json or summary.csv in it or below it)`);
  }
  const warnings: string[] = [];
  const rows: ResultRow[] = [];
  for (const f of files) {
    const source = relative(path, dirname(f)) || '.';
    try {
      rows.push(rowFromResult(asRunResult(readJson(f), f), source, null));
    } catch (err) {
      warnings.push(`${source}: ${(err as Error).message}`);
    }
  }
  return { path, kind: 'collection', rows, warnings };
}
