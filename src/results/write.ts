/**
 * results.json, results.csv and the sweep's summary.csv / summary.json, all written atomically.
 *
 * The CSVs have stable columns, whatever the run: the same fixed columns in the same order (a cell
 * is empty where a row has no value), then the flattened config. Rows:
 * - results.csv: one row per instance of each repetition (`row` instance), one per repetition
 *   across its instances (`row` aggregate), and, for a run of several repetitions, a last one across
 *   them (`row` summary, with the 95% intervals); a run of one has no summary row (its aggregate row
 *   is the run, as before repetitions existed);
 * - summary.csv: one row per job (`row` job: its figures across repetitions), preceded, for a job of
 *   several repetitions, by one row per repetition (`row` repetition).
 */
import { stringify } from 'csv-stringify/sync';
import { join } from 'node:path';
import { canonicalConfigKeys } from '../config/load.js';
import { flatten, isTree } from '../util/tree.js';
import { toJson } from '../util/numbers.js';
import { writeFileAtomic } from '../util/atomic.js';
import { coresPerInstance, sameForAll, type BestSetup } from './best.js';
import { instancesOf, repetitionOf, repetitionsOf } from './repetitions.js';
import type { Aggregate, InstanceResult, RepetitionResult, RunResult } from './types.js';
import { geometricMean, type SpreadInterval } from '../stats/repetitions.js';
import { isDisturbed } from '../stats/interference.js';
import { dispatchCsvRows } from '../scenarios/dispatch/index.js';
import { isSupported, unsupportedAcross, type LatencySummary, type PercentileName } from '../stats/summary.js';

export const RESULTS_JSON = 'results.json';
export const RESULTS_CSV = 'results.csv';
export const DISPATCH_CSV = 'dispatch.csv';

const round = (x: number, digits = 4): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

/** A percentile's cell: empty when the calls do not support it (results.json keeps the figure). */
const pct = (l: LatencySummary, name: PercentileName, value = l[`${name}_ms`]): number | '' =>
  isSupported(l, name) ? round(value) : '';

/** The aggregate's withheld percentiles: recorded, or (older results) from its instances. */
function aggregateSupports(a: Aggregate, instances: readonly InstanceResult[], name: PercentileName): boolean {
  return !(
    a.unsupported_percentiles ?? unsupportedAcross(instances.filter((i) => i.status === 'ok').map((i) => i.latency))
  ).includes(name);
}
const aggregatePct = (
  a: Aggregate,
  instances: readonly InstanceResult[],
  name: PercentileName,
  value: number,
): number | '' => (aggregateSupports(a, instances, name) ? round(value) : '');

export function writeRunResults(dir: string, result: RunResult): void {
  writeFileAtomic(join(dir, RESULTS_JSON), `${toJson(result, 1)}\n`);
  writeFileAtomic(join(dir, RESULTS_CSV), resultsCsv(result));
  const dispatch = dispatchCsv(result);
  if (dispatch !== null) writeFileAtomic(join(dir, DISPATCH_CSV), dispatch);
}

/**
 * dispatch.csv of a dispatch run: one row per (setup, class) of every repetition, its number in the
 * last column (null for other runs).
 */
export function dispatchCsv(result: RunResult): string | null {
  const reps = repetitionsOf(result).filter((r) => r.dispatch);
  if (reps.length === 0) return null;
  return toCsv(reps.flatMap((r) => dispatchCsvRows(r.dispatch!).map((row) => ({ ...row, repetition: r.repetition }))));
}

function configColumns(result: RunResult): Record<string, unknown> {
  const cfg = result.config;
  if (!isTree(cfg)) return {};
  return Object.fromEntries(Object.entries(flatten(cfg)).map(([k, v]) => [`config.${k}`, v]));
}

/**
 * Columns both CSVs end their fixed part with (after those of versions before repetitions): which
 * repetition a row is, how many the figures rest on, whether they were disturbed, and the 95%
 * intervals across repetitions.
 */
const REPETITION_COLUMNS = [
  'repetition',
  'repetitions',
  'disturbed',
  'latency_mean_lo_ms',
  'latency_mean_hi_ms',
  'latency_p50_lo_ms',
  'latency_p50_hi_ms',
  'throughput_lo_samples_per_s',
  'throughput_hi_samples_per_s',
] as const;

/**
 * Which machine and which bench measured a row, and when: CSVs from two machines (or two versions)
 * stay apart when concatenated. They come after the repetition columns, so older columns keep
 * their places.
 */
const MACHINE_COLUMNS = ['hostname', 'cpu_model', 'bench_version', 'started_at', 'shard'] as const;

function machineCells(r: RunResult): Record<(typeof MACHINE_COLUMNS)[number], string> {
  const env = (r.environment ?? {}) as { hostname?: unknown; cpu_model?: unknown };
  return {
    hostname: typeof env.hostname === 'string' ? env.hostname : '',
    cpu_model: typeof env.cpu_model === 'string' ? env.cpu_model : '',
    bench_version: r.bench_version ?? '',
    started_at: r.started_at ?? '',
    // `I/N` for a job run in shard I of N (a Slurm array task), empty otherwise.
    shard: r.shard ? `${r.shard.index}/${r.shard.count}` : '',
  };
}

/** The columns every results.csv has, in this order (then `config.*`). */
export const RESULTS_CSV_COLUMNS = [
  'row',
  'instance',
  'status',
  'backend',
  'batch_size',
  'threads',
  'cpus',
  'iterations',
  'latency_mean_ms',
  'latency_std_ms',
  'latency_min_ms',
  'latency_p50_ms',
  'latency_p90_ms',
  'latency_p95_ms',
  'latency_p99_ms',
  'latency_p999_ms',
  'latency_max_ms',
  'throughput_samples_per_s',
  'forwards_per_s',
  'first_inference_ms',
  'load_session_ms',
  'peak_rss_mb',
  'error',
  ...REPETITION_COLUMNS,
  ...MACHINE_COLUMNS,
] as const;

/** The interval columns of a row across repetitions (empty with fewer than two). */
function intervalCells(s: RunResult['repetition_summary']): Record<string, unknown> {
  const cell = (x: SpreadInterval | undefined, end: 'lo' | 'hi'): number | string =>
    x && x[end] !== null ? round(x[end]!) : '';
  return {
    latency_mean_lo_ms: cell(s?.latency_mean_ms, 'lo'),
    latency_mean_hi_ms: cell(s?.latency_mean_ms, 'hi'),
    latency_p50_lo_ms: cell(s?.latency_p50_ms, 'lo'),
    latency_p50_hi_ms: cell(s?.latency_p50_ms, 'hi'),
    throughput_lo_samples_per_s: cell(s?.throughput_samples_per_s, 'lo'),
    throughput_hi_samples_per_s: cell(s?.throughput_samples_per_s, 'hi'),
  };
}

/**
 * An across-instances row (a repetition's, or the run's across repetitions): every latency
 * percentile is the worst instance's (the study's rule), left empty where some instance's calls
 * do not support it; std and iterations are those of all calls pooled (min and max are the same
 * either way).
 */
function aggregateCells(
  a: Aggregate,
  instances: readonly InstanceResult[],
  worst = (pick: (l: InstanceResult['latency']) => number): number =>
    Math.max(...instances.filter((i) => i.status === 'ok').map((i) => pick(i.latency))),
): Record<string, unknown> {
  const ok = instances.filter((i) => i.status === 'ok');
  return {
    batch_size: a.batch_size,
    iterations: a.pooled.count,
    latency_mean_ms: round(a.latency_mean_ms),
    latency_std_ms: round(a.pooled.std_ms),
    latency_min_ms: round(a.pooled.min_ms),
    latency_p50_ms: aggregatePct(a, ok, 'p50', a.latency_p50_ms),
    latency_p90_ms: aggregatePct(a, ok, 'p90', a.latency_p90_ms),
    latency_p95_ms: aggregatePct(
      a,
      ok,
      'p95',
      worst((l) => l.p95_ms),
    ),
    latency_p99_ms: aggregatePct(a, ok, 'p99', a.latency_p99_ms),
    latency_p999_ms: aggregatePct(
      a,
      ok,
      'p999',
      worst((l) => l.p999_ms),
    ),
    latency_max_ms: round(a.pooled.max_ms),
    throughput_samples_per_s: round(a.throughput_samples_per_s),
    forwards_per_s: round(a.forwards_per_s),
  };
}

export function resultsCsv(result: RunResult): string {
  const cfg = { ...machineCells(result), ...configColumns(result) };
  const backend = String(result.backend?.name ?? '');
  const rows: Record<string, unknown>[] = [];
  const reps = repetitionsOf(result);
  for (const rep of reps) {
    const instances = instancesOf(result, rep.repetition);
    for (const i of instances) {
      rows.push({
        row: 'instance',
        instance: i.index,
        status: i.status,
        backend,
        batch_size: i.batch_size,
        threads: i.threads,
        cpus: i.cpus?.join(' ') ?? '',
        iterations: i.iterations,
        latency_mean_ms: round(i.latency.mean_ms),
        latency_std_ms: round(i.latency.std_ms),
        latency_min_ms: round(i.latency.min_ms),
        latency_p50_ms: pct(i.latency, 'p50'),
        latency_p90_ms: pct(i.latency, 'p90'),
        latency_p95_ms: pct(i.latency, 'p95'),
        latency_p99_ms: pct(i.latency, 'p99'),
        latency_p999_ms: pct(i.latency, 'p999'),
        latency_max_ms: round(i.latency.max_ms),
        throughput_samples_per_s: round(i.throughput_samples_per_s),
        forwards_per_s: round(i.forwards_per_s),
        first_inference_ms: round(i.first_inference_ms),
        load_session_ms: round(i.load_session_ms),
        peak_rss_mb: round(i.peak_rss_mb, 1),
        repetition: rep.repetition,
        disturbed: isDisturbed(i.interference),
        ...cfg,
      });
    }
    // Instances that did not finish still get their row: what is known about them.
    for (const f of rep.failures) {
      if (instances.some((i) => i.index === f.index)) continue;
      rows.push({
        row: 'instance',
        instance: f.index,
        status: 'errored',
        backend,
        error: f.message.split('\n')[0] ?? '',
        repetition: rep.repetition,
        ...cfg,
      });
    }
    if (rep.aggregate) {
      rows.push({
        row: 'aggregate',
        instance: 'all',
        status: rep.status,
        backend,
        threads: instances.reduce((s, i) => s + i.threads, 0),
        cpus: instances.flatMap((i) => i.cpus ?? []).join(' '),
        ...aggregateCells(rep.aggregate, instances),
        first_inference_ms: '',
        load_session_ms: '',
        peak_rss_mb: '',
        repetition: rep.repetition,
        disturbed: rep.disturbed,
        ...cfg,
      });
    }
  }
  const a = result.aggregate;
  const s = result.repetition_summary ?? null;
  if (a && reps.length > 1) {
    const used = new Set(s?.used ?? reps.map((r) => r.repetition));
    const first = reps[0]?.repetition ?? 1;
    // Across repetitions every figure is the geometric mean of the repetitions' own (worst-instance) ones.
    const acrossWorst = (pick: (l: InstanceResult['latency']) => number): number =>
      geometricMean(
        [...used].map((k) =>
          Math.max(
            ...instancesOf(result, k)
              .filter((i) => i.status === 'ok')
              .map((i) => pick(i.latency)),
          ),
        ),
      );
    rows.push({
      row: 'summary',
      instance: 'all',
      status: result.status,
      backend,
      threads: instancesOf(result, first).reduce((sum, i) => sum + i.threads, 0),
      cpus: instancesOf(result, first)
        .flatMap((i) => i.cpus ?? [])
        .join(' '),
      ...aggregateCells(
        a,
        result.instances.filter((i) => used.has(repetitionOf(i))),
        acrossWorst,
      ),
      repetition: 'all',
      repetitions: used.size,
      disturbed: s?.disturbed_only ?? reps.some((r) => r.disturbed),
      ...intervalCells(s),
      ...cfg,
    });
  }
  return toCsv(rows, [...RESULTS_CSV_COLUMNS, ...CONFIG_COLUMNS()]);
}

/** `config.*` columns every CSV has, whichever backend, scenario and launcher its runs used. */
const CONFIG_COLUMNS = (): string[] => canonicalConfigKeys().map((k) => `config.${k}`);

/**
 * Rows with possibly different keys: the header is `fixed` (always, in its order), then the union of
 * the other keys, in first-seen order.
 */
export function toCsv(rows: readonly Record<string, unknown>[], fixed: readonly string[] = []): string {
  const columns: string[] = [...fixed];
  const seen = new Set<string>(fixed);
  for (const r of rows) {
    for (const k of Object.keys(r)) {
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
    }
  }
  // One line per row, always: a cell's line breaks (a multi-line error) become ' | ', so grep, wc
  // -l and line-based diffs see rows.
  return stringify(rows as Record<string, unknown>[], {
    header: true,
    columns,
    cast: {
      boolean: (b) => String(b),
      string: (s) => s.replace(/\r?\n/g, ' | '),
      // A config's `1.0` stays 1.0 (a Float), a big int keeps its digits.
      object: (o) => toJson(o, 0),
      bigint: (b) => String(b),
    },
  });
}

export interface SummaryRow {
  readonly job: number;
  readonly status: string;
  readonly dir: string;
  readonly overrides: readonly string[];
  readonly result: RunResult | null;
  readonly error: string | null;
}

/** One value when every instance has it, else the values joined with `+` (e.g. `12+12+8`). */
function perInstance(values: readonly number[]): number | string {
  return values.length === 0 ? '' : (sameForAll(values) ?? values.join('+'));
}

/** The columns every summary.csv has, in this order (then `config.*`). */
export const SUMMARY_CSV_COLUMNS = [
  'job',
  'status',
  'overrides',
  'backend',
  'instances',
  'cores_per_instance',
  'batch_size',
  'threads_per_instance',
  'batch_per_instance',
  'latency_mean_ms',
  'latency_std_ms',
  'latency_count',
  'latency_p50_ms',
  'latency_p90_ms',
  'latency_p99_ms',
  'throughput_samples_per_s',
  'dir',
  'error',
  'warnings',
  'row',
  ...REPETITION_COLUMNS,
  ...MACHINE_COLUMNS,
] as const;

function figureCells(a: Aggregate | null, instances: readonly InstanceResult[]): Record<string, unknown> {
  return {
    instances: a?.instances ?? '',
    batch_size: a?.batch_size ?? '',
    latency_mean_ms: a ? round(a.latency_mean_ms) : '',
    // Of the pooled calls, so that two summaries can be compared with Welch's test.
    latency_std_ms: a ? round(a.pooled.std_ms) : '',
    latency_count: a ? a.pooled.count : '',
    // Empty where the worst instance's calls do not support the percentile.
    latency_p50_ms: a ? aggregatePct(a, instances, 'p50', a.latency_p50_ms) : '',
    latency_p90_ms: a ? aggregatePct(a, instances, 'p90', a.latency_p90_ms) : '',
    latency_p99_ms: a ? aggregatePct(a, instances, 'p99', a.latency_p99_ms) : '',
    throughput_samples_per_s: a ? round(a.throughput_samples_per_s) : '',
  };
}

/**
 * A job's rows of summary.csv: one per repetition when it has several (their own figures), then
 * the job's (its figures across the repetitions, with their intervals).
 */
export function summaryRecords(row: SummaryRow): Record<string, unknown>[] {
  const r = row.result;
  const reps = r ? repetitionsOf(r) : [];
  const layout = r ? instancesOf(r, reps[0]?.repetition ?? 1) : [];
  const summary = r?.repetition_summary ?? null;
  const planned = summary?.planned ?? reps.length;
  const config = r ? { ...machineCells(r), ...configColumns(r) } : {};
  const common = {
    job: row.job,
    overrides: row.overrides.join(' '),
    backend: String(r?.backend?.name ?? ''),
    // Intra-op threads, at most the pinned CPUs, when every instance has the same (the report's
    // core-count scaling needs it: backend.num_threads is often null, i.e. chosen by the planner).
    cores_per_instance: r ? (coresPerInstance({ instances: layout }) ?? '') : '',
    // The shape of the setup, derived where the config left it to the planner.
    threads_per_instance: perInstance(layout.map((i) => i.threads)),
    batch_per_instance: perInstance(layout.map((i) => i.batch_size)),
    dir: row.dir,
  };
  const repRows = (planned > 1 ? reps : []).map((rep: RepetitionResult) => ({
    ...common,
    status: rep.status,
    ...figureCells(rep.aggregate, r ? instancesOf(r, rep.repetition) : []),
    error: rep.error?.split('\n')[0] ?? '',
    warnings: rep.disturbed ? 'disturbed: other processes used its CPUs' : '',
    row: 'repetition',
    repetition: rep.repetition,
    disturbed: rep.disturbed,
    ...config,
  }));
  return [
    ...repRows,
    {
      ...common,
      status: row.status,
      ...figureCells(
        r?.aggregate ?? null,
        r ? r.instances.filter((i) => (summary?.used ?? [repetitionOf(i)]).includes(repetitionOf(i))) : [],
      ),
      error: row.error ?? '',
      // What the run warned about (a disturbed measurement above all), one line each.
      warnings: (r?.warnings ?? []).map((w) => w.split('\n')[0]).join(' | '),
      row: 'job',
      repetition: '',
      repetitions: summary ? summary.used.length : reps.length > 0 ? 1 : '',
      disturbed: summary ? summary.disturbed_only : reps.some((x) => x.disturbed),
      ...intervalCells(summary),
      ...config,
    },
  ];
}

export function writeSweepSummary(sweepDir: string, rows: readonly SummaryRow[]): void {
  const records = rows.flatMap(summaryRecords);
  writeFileAtomic(join(sweepDir, 'summary.csv'), toCsv(records, [...SUMMARY_CSV_COLUMNS, ...CONFIG_COLUMNS()]));
  writeFileAtomic(join(sweepDir, 'summary.json'), `${toJson(records, 1)}\n`);
}

export function writeBestSetups(sweepDir: string, best: readonly BestSetup[]): void {
  writeFileAtomic(join(sweepDir, 'best_setups.json'), `${toJson(best, 1)}\n`);
  const rows = best.flatMap((b) =>
    (['lowest_latency', 'highest_throughput'] as const).map((goal) => ({
      model: b.model,
      backend: b.backend,
      batch_size: b.batch_size,
      sequence_length: b.sequence_length,
      goal,
      job: b[goal].job,
      setup: b[goal].setup,
      disturbed: b[goal].disturbed,
      latency_mean_ms: round(b[goal].latency_mean_ms),
      throughput_samples_per_s: round(b[goal].throughput_samples_per_s),
      overrides: b[goal].overrides.join(' '),
      candidates: b.candidates,
    })),
  );
  writeFileAtomic(join(sweepDir, 'best_setups.csv'), rows.length > 0 ? toCsv(rows) : '');
}
