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
 * latencies of all instances pooled (null when only a summary is available), its environment, and
 * its repetitions' figures (one for a file written before repetitions, or a run of one): the unit
 * of evidence `bench compare` reasons over.
 *
 * A dispatch run (scenario=dispatch) is one run with two setups, whose instances' latencies are
 * service times (session.run alone). What a user compares such runs on is the request latency
 * (arrival to completion, queueing included), so its row's latency figures are the dispatched
 * setup's request latencies over all classes (from results.json's `dispatch` section, or from the
 * `dispatch.csv` beside a CSV), `latency_measure` says so, and `dispatch` holds the figures per
 * setup and class for the report. A dispatch run read from a CSV with no dispatch.csv beside it
 * keeps the CSV's figures, service times, marked `latency_measure: 'service'`.
 *
 * A percentile the run's samples do not support (stats/summary.ts: too few calls per instance, or
 * requests per class) is null, as the CSVs leave its cell empty; results.json keeps the figure.
 */
import { UserError } from '../util/errors.js';
import { parse } from 'csv-parse/sync';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { flatten, isTree } from '../util/tree.js';
import { coresPerInstance, sameForAll } from '../results/best.js';
import { instancesOf, repetitionsOf } from '../results/repetitions.js';
import type { RepetitionResult, RunResult } from '../results/types.js';
import { isDisturbanceWarning } from '../stats/interference.js';
import { describeLengths, type DispatchReport } from '../scenarios/dispatch/index.js';
import { isTuneCsv, loadOptimumBenchmark, loadTuneCsv, optimumFilesAt } from './interop.js';
import { isSupported, unsupportedAcross, type LatencySummary, type PercentileName } from '../stats/summary.js';

export class ReportInputError extends UserError {
  override readonly name = 'ReportInputError';
}

export type SetKind = 'run' | 'sweep' | 'csv' | 'collection';

/**
 * What a row's latency figures measure: `inference` one timed call (the latency scenario);
 * `request` a dispatch run's requests from arrival to completion in its dispatched setup;
 * `service` a dispatch run's session.run time alone (a CSV without request figures).
 */
export type LatencyMeasure = 'inference' | 'request' | 'service';

/** One (setup, class) row of a dispatch run, as dispatch.csv has it; class `all` is every request. */
export interface DispatchClassFigures {
  readonly setup: 'dispatched' | 'homogeneous';
  readonly class: string;
  /** Tokens, e.g. `<=32`, `33-128`; `any` for the class `all`. */
  readonly length_range: string;
  readonly requests: number | null;
  readonly latency_mean_ms: number | null;
  readonly latency_std_ms: number | null;
  readonly latency_p50_ms: number | null;
  readonly latency_p90_ms: number | null;
  readonly latency_p99_ms: number | null;
  readonly queueing_p50_ms: number | null;
  readonly queueing_p99_ms: number | null;
  readonly throughput_requests_per_s: number | null;
}

/** A dispatch run's figures per setup and class. */
export interface DispatchFigures {
  /** e.g. `open loop, Poisson 200/s, 200 requests, lengths mix 32:60% 128:30% 384:10%`; null from dispatch.csv. */
  readonly workload: string | null;
  /** Each setup's layout, e.g. `small <=32: 1 x 1 core; large >32: 1 x 1 core`; null when unknown. */
  readonly dispatched_setup: string | null;
  readonly homogeneous_setup: string | null;
  /** Class `all` first, then the classes by length, per setup (dispatched, then homogeneous). */
  readonly classes: readonly DispatchClassFigures[];
  /** Every request's latency (end - arrival) in the dispatched setup; null from dispatch.csv. */
  readonly request_latencies_ms: readonly number[] | null;
  readonly warnings: readonly string[];
  /** From dispatch.csv: each repetition's dispatched figures over all classes (the classes above are the first's). */
  readonly per_repetition?: readonly { readonly repetition: number; readonly all: DispatchClassFigures }[];
}

/** One repetition of a row: the figures a comparison across runs is made of. */
export interface RepetitionFigures {
  readonly repetition: number;
  readonly status: string;
  /**
   * The repetition's median latency: its worst instance's (the study's rule for several instances;
   * the aggregate's p50), or for a dispatch run the dispatched setup's request latency, all classes.
   */
  readonly latency_p50_ms: number | null;
  readonly latency_mean_ms: number | null;
  readonly throughput_samples_per_s: number | null;
  /** Other processes used its CPUs while it measured. */
  readonly disturbed: boolean;
  /**
   * The calls behind latency_p50_ms (that instance's; a dispatch run's requests), for the within-run spread; null from
   * a CSV.
   */
  readonly latencies_ms: readonly number[] | null;
}

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
  /** `scenario.name` of the config (`latency`, `dispatch`); '' when the input does not say. */
  readonly scenario: string;
  /** What the latency figures below measure (see LatencyMeasure). */
  readonly latency_measure: LatencyMeasure;
  /** A dispatch run's figures per setup and class; null for other runs (or when not recorded). */
  readonly dispatch: DispatchFigures | null;
  readonly instances: number | null;
  /** Cores each instance computed on (threads, at most its pinned CPUs); null when unknown or unequal. */
  readonly cores_per_instance: number | null;
  /** Total batch over all instances; null for a dispatch run (single requests of many lengths). */
  readonly batch_size: number | null;
  /**
   * The study's aggregate latency: the worst instance's mean; for a dispatch run the mean request
   * latency of its dispatched setup.
   */
  readonly latency_mean_ms: number | null;
  readonly latency_p50_ms: number | null;
  readonly latency_p99_ms: number | null;
  /** Spread and count of the pooled calls, when the input has them (results.json, results.csv). */
  readonly latency_std_ms: number | null;
  readonly latency_count: number | null;
  /** Summed over instances; a dispatch run: completed requests per second of its dispatched setup. */
  readonly throughput_samples_per_s: number | null;
  /**
   * Every call of every instance, pooled (a dispatch run: every request's latency in its dispatched
   * setup); null when only a summary was read.
   */
  readonly latencies_ms: readonly number[] | null;
  /** Each repetition's figures, in order (one for a run of one repetition). */
  readonly repetitions: readonly RepetitionFigures[];
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

/**
 * A percentile, or null when its samples do not support it (stats/summary.ts; derived from the count in older files).
 */
const pct = (l: LatencySummary, name: PercentileName): number | null =>
  isSupported(l, name) ? num(l[`${name}_ms`]) : null;

export const num = (v: unknown): number | null => {
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

export function readJson(path: string): unknown {
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

/** Words for a dispatch run's workload, from results.json's `dispatch.workload` (as the run printed it). */
function describeWorkload(w: DispatchReport['workload']): string {
  const arrival =
    w.mode === 'open'
      ? `open loop, Poisson ${w.offered_rate_per_s ?? '?'}/s`
      : `closed loop, ${w.clients ?? '?'} client${w.clients === 1 ? '' : 's'}`;
  const shape = describeLengths(w.lengths);
  return `${arrival}, ${w.requests} requests${shape === '' ? '' : `, lengths ${shape}`}`;
}

/** The figures per setup and class from results.json's `dispatch` section. */
export function dispatchFromReport(d: DispatchReport): DispatchFigures {
  const classes: DispatchClassFigures[] = [];
  for (const s of [d.dispatched, d.baseline]) {
    if (!s) continue;
    const entries = [
      ['all', 'any', s.overall] as const,
      ...Object.entries(s.per_class).map(([n, c]) => [n, d.workload.classes[n]?.range ?? '', c] as const),
    ];
    for (const [name, range, c] of entries) {
      classes.push({
        setup: s.setup,
        class: name,
        length_range: range,
        requests: c.requests,
        latency_mean_ms: num(c.latency.mean_ms),
        latency_std_ms: num(c.latency.std_ms),
        latency_p50_ms: pct(c.latency, 'p50'),
        latency_p90_ms: pct(c.latency, 'p90'),
        latency_p99_ms: pct(c.latency, 'p99'),
        queueing_p50_ms: pct(c.queueing, 'p50'),
        queueing_p99_ms: pct(c.queueing, 'p99'),
        throughput_requests_per_s: num(c.throughput_requests_per_s),
      });
    }
  }
  const q = d.dispatched.requests;
  const latencies = q.end_ms.map((end, k) => end - q.arrival_ms[k]!).filter(Number.isFinite);
  return {
    workload: describeWorkload(d.workload),
    dispatched_setup: d.dispatched.description,
    homogeneous_setup: d.baseline?.description ?? null,
    classes,
    request_latencies_ms: latencies.length > 0 ? latencies : null,
    warnings: d.warnings,
  };
}

/** dispatch.csv read back (null when the file is not there or holds no dispatched `all` row). */
export function readDispatchCsv(path: string): DispatchFigures | null {
  if (!existsSync(path)) return null;
  const records = parseCsv(path).filter((rec) => rec.setup === 'dispatched' || rec.setup === 'homogeneous');
  // Rows of several repetitions carry their number (files from before repetitions do not: one).
  const repetitionOfRow = (rec: Record<string, string>): number => num(rec.repetition) ?? 1;
  const first = Math.min(...records.map(repetitionOfRow));
  const toFigures = (rec: Record<string, string>): DispatchClassFigures => ({
    setup: rec.setup as 'dispatched' | 'homogeneous',
    class: rec.class ?? '',
    length_range: rec.length_range ?? '',
    requests: num(rec.requests),
    latency_mean_ms: num(rec.latency_mean_ms),
    latency_std_ms: num(rec.latency_std_ms),
    latency_p50_ms: num(rec.latency_p50_ms),
    latency_p90_ms: num(rec.latency_p90_ms),
    latency_p99_ms: num(rec.latency_p99_ms),
    queueing_p50_ms: num(rec.queueing_p50_ms),
    queueing_p99_ms: num(rec.queueing_p99_ms),
    throughput_requests_per_s: num(rec.throughput_requests_per_s),
  });
  const perRepetition = records
    .filter((rec) => rec.setup === 'dispatched' && rec.class === 'all')
    .map((rec) => ({ repetition: repetitionOfRow(rec), all: toFigures(rec) }));
  const classes = records.filter((rec) => repetitionOfRow(rec) === first).map(toFigures);
  if (!classes.some((c) => c.setup === 'dispatched' && c.class === 'all')) return null;
  return {
    workload: null,
    dispatched_setup: null,
    homogeneous_setup: null,
    classes,
    request_latencies_ms: null,
    warnings: [],
    per_repetition: perRepetition,
  };
}

/** The dispatched setup's figures over all requests, as a row's latency and throughput figures. */
function requestFigures(
  d: DispatchFigures,
): Pick<
  ResultRow,
  | 'latency_mean_ms'
  | 'latency_p50_ms'
  | 'latency_p99_ms'
  | 'latency_std_ms'
  | 'latency_count'
  | 'throughput_samples_per_s'
  | 'latencies_ms'
> {
  const all = d.classes.find((c) => c.setup === 'dispatched' && c.class === 'all')!;
  return {
    latency_mean_ms: all.latency_mean_ms,
    latency_p50_ms: all.latency_p50_ms,
    latency_p99_ms: all.latency_p99_ms,
    latency_std_ms: all.latency_std_ms,
    latency_count: all.requests,
    // Each request is one sequence: requests/s are samples/s.
    throughput_samples_per_s: all.throughput_requests_per_s,
    latencies_ms: d.request_latencies_ms,
  };
}

const scenarioOf = (config: Readonly<Record<string, unknown>>): string =>
  typeof config['scenario.name'] === 'string' ? config['scenario.name'] : '';

/**
 * Keys the planner fills when the config leaves them null (launcher.cores_per_instance,
 * backend.num_threads) take the value the run used, so that `null` (derived: 2 cores here) matches
 * an explicit 2 in `bench compare` and tables show what ran.
 */
function withEffectiveSetup(
  config: Record<string, unknown>,
  cores: number | null,
  threads: number | null,
): Record<string, unknown> {
  const unset = (k: string): boolean => config[k] === null || config[k] === '' || config[k] === undefined;
  const out = { ...config };
  // Only where the threads were left to the planner too: then the cores a run computed on (what a
  // summary.csv records) and the cores it was given (what a results.json's plan records) agree, so
  // a directory and a CSV are filled alike.
  if (
    cores !== null &&
    'launcher.cores_per_instance' in config &&
    unset('launcher.cores_per_instance') &&
    unset('backend.num_threads')
  ) {
    out['launcher.cores_per_instance'] = cores;
  }
  if (threads !== null && 'backend.num_threads' in config && unset('backend.num_threads'))
    out['backend.num_threads'] = threads;
  return out;
}

/** A row from a parsed results.json. */
export function rowFromResult(r: RunResult, source: string, job: number | null): ResultRow {
  const a = r.aggregate;
  const ok = r.instances.filter((i) => i.status === 'ok');
  const pooled = ok.flatMap((i) => (Array.isArray(i.latencies_ms) ? i.latencies_ms : []));
  const scenario = scenarioOf(isTree(r.config) ? flatten(r.config) : {});
  const dispatch = r.dispatch ? dispatchFromReport(r.dispatch) : null;
  // The CPUs each instance was given by the plan (cores_per_instance counts physical cores, one CPU each without SMT).
  const planned = ((r.plan as { instances?: { cpus?: number[] }[] } | null)?.instances ?? []).map(
    (i) => i.cpus?.length ?? 0,
  );
  const useSmt = isTree(r.config) && isTree(r.config.launcher) && r.config.launcher.use_smt === true;
  const config = withEffectiveSetup(
    isTree(r.config) ? flatten(r.config) : {},
    dispatch || useSmt || planned.length === 0 ? null : sameForAll(planned),
    dispatch ? null : sameForAll(r.instances.map((i) => i.threads)),
  );
  // The aggregate's percentiles are the worst instance's: withheld unless every instance's calls support them.
  const withheld = a ? (a.unsupported_percentiles ?? unsupportedAcross(ok.map((i) => i.latency))) : [];
  const row: ResultRow = {
    source,
    job,
    status: r.status,
    overrides: r.overrides ?? [],
    config,
    environment: isTree(r.environment) ? r.environment : null,
    result: r,
    scenario,
    latency_measure: scenario === 'dispatch' || r.dispatch ? 'service' : 'inference',
    dispatch,
    instances: a?.instances ?? (r.instances.length || null),
    cores_per_instance: coresPerInstance(r),
    batch_size: scenario === 'dispatch' || r.dispatch ? null : (a?.batch_size ?? null),
    latency_mean_ms: a?.latency_mean_ms ?? null,
    latency_p50_ms: withheld.includes('p50') ? null : (a?.latency_p50_ms ?? null),
    latency_p99_ms: withheld.includes('p99') ? null : (a?.latency_p99_ms ?? null),
    latency_std_ms: a?.pooled.std_ms ?? null,
    latency_count: a?.pooled.count ?? null,
    throughput_samples_per_s: a?.throughput_samples_per_s ?? null,
    latencies_ms: pooled.length > 0 ? pooled : null,
    repetitions: repetitionsOf(r).map((rep) => repetitionFigures(r, rep)),
    error: r.error ?? null,
  };
  return dispatch ? { ...row, latency_measure: 'request', ...requestFigures(dispatch) } : row;
}

/** A repetition's figures from results.json. */
function repetitionFigures(r: RunResult, rep: RepetitionResult): RepetitionFigures {
  const base = { repetition: rep.repetition, status: rep.status, disturbed: rep.disturbed };
  if (rep.dispatch) {
    const d = dispatchFromReport(rep.dispatch);
    const all = d.classes.find((c) => c.setup === 'dispatched' && c.class === 'all');
    return {
      ...base,
      latency_p50_ms: all?.latency_p50_ms ?? null,
      latency_mean_ms: all?.latency_mean_ms ?? null,
      throughput_samples_per_s: all?.throughput_requests_per_s ?? null,
      latencies_ms: d.request_latencies_ms,
    };
  }
  const a = rep.aggregate;
  const ok = instancesOf(r, rep.repetition).filter((i) => i.status === 'ok');
  // The instance whose median is the repetition's (the worst one).
  const worst = ok.reduce<(typeof ok)[number] | null>(
    (w, i) => (w === null || i.latency.p50_ms > w.latency.p50_ms ? i : w),
    null,
  );
  return {
    ...base,
    latency_p50_ms: a?.latency_p50_ms ?? null,
    latency_mean_ms: a?.latency_mean_ms ?? null,
    throughput_samples_per_s: a?.throughput_samples_per_s ?? null,
    latencies_ms:
      worst && Array.isArray(worst.latencies_ms) && worst.latencies_ms.length > 0 ? worst.latencies_ms : null,
  };
}

/** A dispatch repetition's request figures from dispatch.csv; status and disturbance from its summary row. */
function dispatchRepetitionFigures(
  repetition: number,
  all: DispatchClassFigures,
  rec: Record<string, unknown>,
): RepetitionFigures {
  const base = recordFigures(rec, repetition);
  return {
    ...base,
    latency_p50_ms: all.latency_p50_ms,
    latency_mean_ms: all.latency_mean_ms,
    throughput_samples_per_s: all.throughput_requests_per_s,
  };
}

/** A repetition's (or a whole run's) figures from a CSV record. */
function recordFigures(
  rec: Record<string, unknown>,
  repetition: number,
  dispatch: DispatchFigures | null = null,
): RepetitionFigures {
  const warnings = typeof rec.warnings === 'string' ? rec.warnings.split(' | ') : [];
  const disturbed = rec.disturbed === true || rec.disturbed === 'true' || warnings.some(isDisturbanceWarning);
  const all = dispatch?.classes.find((c) => c.setup === 'dispatched' && c.class === 'all');
  return {
    repetition,
    status: String(rec.status ?? 'ok') || 'ok',
    latency_p50_ms: all ? all.latency_p50_ms : num(rec.latency_p50_ms),
    latency_mean_ms: all ? all.latency_mean_ms : num(rec.latency_mean_ms),
    throughput_samples_per_s: all ? all.throughput_requests_per_s : num(rec.throughput_samples_per_s),
    disturbed,
    latencies_ms: null,
  };
}

/**
 * A row from a summary record (summary.json / summary.csv) or an aggregate row of results.csv.
 * `dir`: the run's directory, where a dispatch run's dispatch.csv would be (null: unknown).
 */
function rowFromRecord(
  rec: Record<string, unknown>,
  source: string,
  dir: string | null,
  cores: number | null = null,
  repetitionRecords: readonly Record<string, unknown>[] = [],
): ResultRow {
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) if (k.startsWith('config.')) config[k.slice('config.'.length)] = v;
  const overrides =
    typeof rec.overrides === 'string' && rec.overrides.trim() !== '' ? rec.overrides.trim().split(/\s+/) : [];
  // results.csv counts the pooled calls in `iterations` on its aggregate row.
  const count = num(rec.latency_count) ?? (rec.row === 'aggregate' ? num(rec.iterations) : null);
  const threads = num(config['backend.num_threads']);
  const scenario = scenarioOf(config);
  const dispatch = scenario === 'dispatch' && dir !== null ? readDispatchCsv(join(dir, 'dispatch.csv')) : null;
  if (scenario !== 'dispatch')
    Object.assign(
      config,
      withEffectiveSetup(
        config,
        num(rec.cores_per_instance) ?? cores,
        num(rec.threads_per_instance) ?? num(rec.threads),
      ),
    );
  const row: ResultRow = {
    source,
    job: num(rec.job),
    status: String(rec.status ?? 'ok') || 'ok',
    overrides,
    config,
    environment: null,
    result: null,
    scenario,
    latency_measure: scenario === 'dispatch' ? 'service' : 'inference',
    dispatch,
    instances: num(rec.instances) ?? (rec.row === 'aggregate' ? null : 1),
    // summary.csv has the column; results.csv its instance rows (`cores`); older CSVs neither.
    cores_per_instance: num(rec.cores_per_instance) ?? cores ?? (threads !== null && threads > 0 ? threads : null),
    batch_size: scenario === 'dispatch' ? null : num(rec.batch_size),
    latency_mean_ms: num(rec.latency_mean_ms),
    latency_p50_ms: num(rec.latency_p50_ms),
    latency_p99_ms: num(rec.latency_p99_ms),
    latency_std_ms: num(rec.latency_std_ms),
    latency_count: count,
    throughput_samples_per_s: num(rec.throughput_samples_per_s),
    latencies_ms: null,
    // A dispatch run's request figures come from dispatch.csv, a row per repetition.
    repetitions: dispatch?.per_repetition?.length
      ? dispatch.per_repetition.map((x) =>
          dispatchRepetitionFigures(
            x.repetition,
            x.all,
            repetitionRecords.find((r) => num(r.repetition) === x.repetition) ?? rec,
          ),
        )
      : repetitionRecords.length > 0 && !dispatch
        ? repetitionRecords.map((r, k) => recordFigures(r, num(r.repetition) ?? k + 1))
        : [recordFigures(rec, 1, dispatch)],
    error: typeof rec.error === 'string' && rec.error !== '' ? rec.error : null,
  };
  return dispatch ? { ...row, latency_measure: 'request', ...requestFigures(dispatch) } : row;
}

function parseCsv(path: string): Record<string, string>[] {
  const text = readText(path);
  try {
    return parse(text, { columns: true, skip_empty_lines: true, relax_column_count: true }) as Record<string, string>[];
  } catch (err) {
    throw new ReportInputError(`${path} is not a valid CSV: ${(err as Error).message}`);
  }
}

/** A job's repetition rows in a summary (none for a job of one repetition, or an older summary). */
function repetitionRecordsOf<T extends Record<string, unknown>>(records: readonly T[], job: unknown): T[] {
  return records.filter((rec) => rec.row === 'repetition' && String(rec.job) === String(job));
}

function loadCsv(path: string): ResultSet {
  const records = parseCsv(path);
  // The study's consolidated CSV (bench export --format tune-csv, or huggingface/tune's consolidate.py).
  if (records.length > 0 && isTuneCsv(Object.keys(records[0]!))) return loadTuneCsv(path, records);
  if (records.length > 0 && !('latency_mean_ms' in records[0]!)) {
    throw new ReportInputError(`${path} has no latency_mean_ms column: expected a bench summary.csv or results.csv`);
  }
  const name = basename(path);
  const here = dirname(path);
  // results.csv: its instance rows give the cores each instance computed on.
  const perInstance = records
    .filter((rec) => rec.row === 'instance')
    .map((rec) => {
      const threads = num(rec.threads);
      const cpus = (rec.cpus ?? '').split(/\s+/).filter((c) => c !== '').length;
      return threads === null ? null : cpus > 0 ? Math.min(threads, cpus) : threads;
    });
  const cores =
    perInstance.length > 0 && perInstance.every((c) => c !== null && c === perInstance[0]) ? perInstance[0]! : null;
  const numbered = records.map((rec, k) => ({ rec, line: k + 2 }));
  // results.csv: instance rows, a row per repetition (aggregate) and the run across them (summary;
  // files from before repetitions have no summary row, and their one aggregate row is the run).
  if (records.some((rec) => rec.row === 'instance' || rec.row === 'aggregate' || rec.row === 'summary')) {
    const aggregates = records.filter((rec) => rec.row === 'aggregate');
    const runs = records.some((rec) => rec.row === 'summary')
      ? numbered.filter(({ rec }) => rec.row === 'summary')
      : numbered.filter(({ rec }) => rec.row === 'aggregate');
    const rows = runs.map(({ rec, line }) =>
      rowFromRecord(rec, `${name}:${line}`, here, cores, rec.row === 'summary' ? aggregates : []),
    );
    return { path, kind: 'csv', rows, warnings: [] };
  }
  // summary.csv: a job row per job, after its repetition rows when it has several.
  const rows = numbered
    .filter(({ rec }) => rec.row === undefined || rec.row === 'job')
    .map(({ rec, line }) => {
      // A summary row names its job's directory (relative to the sweep).
      const dir = rec.dir !== undefined && rec.dir !== '' ? resolve(here, rec.dir) : null;
      return rowFromRecord(rec, `${name}:${line}`, dir, null, repetitionRecordsOf(records, rec.job));
    });
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
  const jobRecords = records.filter((rec) => rec.row === undefined || rec.row === 'job');
  const rows = jobRecords.map((rec, k): ResultRow => {
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
    return rowFromRecord(rec, source, jobDir, null, repetitionRecordsOf(records, rec.job));
  });
  return { path: dir, kind: 'sweep', rows, warnings };
}

/** Files named `name` at or below `dir`, `depth` folders down at most (hidden folders skipped), in natural order. */
export function findResults(dir: string, depth: number, out: string[], name = 'results.json'): void {
  let entries: string[];
  try {
    entries = readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (e === name) out.push(p);
    else if (depth > 0 && !e.startsWith('.') && statSync(p, { throwIfNoEntry: false })?.isDirectory())
      findResults(p, depth - 1, out, name);
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
    if (basename(path) === 'benchmark.json') return loadOptimumBenchmark(path, [path]);
    throw new ReportInputError(
      `${input}: expected a run or sweep directory, a results.json, a summary/results CSV, an optimum-benchmark benchmark.json or the study's consolidated CSV`,
    );
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
    // Exported (or optimum-benchmark's own) benchmark.json files.
    const exported = optimumFilesAt(path);
    if (exported.length > 0) return loadOptimumBenchmark(path, exported);
    throw new ReportInputError(
      `${input}: no results found (no results.json, summary.json, summary.csv or optimum-benchmark benchmark.json in it or below it)`,
    );
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
