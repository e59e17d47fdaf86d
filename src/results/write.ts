/**
 * results.json, results.csv and the sweep's summary.csv / summary.json, all written atomically.
 */
import { stringify } from 'csv-stringify/sync';
import { join } from 'node:path';
import { flatten, isTree } from '../config/tree.js';
import { writeFileAtomic } from './atomic.js';
import { coresPerInstance, sameForAll, type BestSetup } from './best.js';
import { isSupported, unsupportedAcross, type LatencySummary, type PercentileName } from '../stats/summary.js';
import type { Aggregate, InstanceResult, RunResult } from './types.js';

export const RESULTS_JSON = 'results.json';
export const RESULTS_CSV = 'results.csv';

const round = (x: number, digits = 4): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

/** A percentile's cell: empty when the calls do not support it (results.json keeps the figure). */
const pct = (l: LatencySummary, name: PercentileName, value = l[`${name}_ms`]): number | '' => (isSupported(l, name) ? round(value) : '');

/** The aggregate's withheld percentiles: recorded, or (older results) from its instances. */
function aggregateSupports(a: Aggregate, instances: readonly InstanceResult[], name: PercentileName): boolean {
  return !(a.unsupported_percentiles ?? unsupportedAcross(instances.filter((i) => i.status === 'ok').map((i) => i.latency))).includes(name);
}
const aggregatePct = (a: Aggregate, instances: readonly InstanceResult[], name: PercentileName, value: number): number | '' =>
  aggregateSupports(a, instances, name) ? round(value) : '';

export function writeRunResults(dir: string, result: RunResult): void {
  writeFileAtomic(join(dir, RESULTS_JSON), `${JSON.stringify(result, null, 1)}\n`);
  writeFileAtomic(join(dir, RESULTS_CSV), resultsCsv(result));
}

function configColumns(result: RunResult): Record<string, unknown> {
  const cfg = result.config;
  if (!isTree(cfg)) return {};
  return Object.fromEntries(Object.entries(flatten(cfg)).map(([k, v]) => [`config.${k}`, v]));
}

export function resultsCsv(result: RunResult): string {
  const cfg = configColumns(result);
  const backend = String(result.backend?.name ?? '');
  const rows: Record<string, unknown>[] = result.instances.map((i) => ({
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
    ...cfg,
  }));
  // Instances that did not finish still get their row: what is known about them.
  for (const f of result.failures) {
    if (result.instances.some((i) => i.index === f.index)) continue;
    rows.push({ row: 'instance', instance: f.index, status: 'errored', backend, error: f.message.split('\n')[0] ?? '', ...cfg });
  }
  const a = result.aggregate;
  // Every latency percentile of the aggregate row is the worst instance's (the study's rule); std
  // and iterations are those of all calls pooled (min and max are the same either way). A
  // percentile some instance's calls do not support is left empty.
  const worst = (pick: (l: InstanceResult['latency']) => number): number => Math.max(...result.instances.map((i) => pick(i.latency)));
  if (a) {
    rows.push({
      row: 'aggregate',
      instance: 'all',
      status: result.status,
      backend,
      batch_size: a.batch_size,
      threads: result.instances.reduce((s, i) => s + i.threads, 0),
      cpus: result.instances.flatMap((i) => i.cpus ?? []).join(' '),
      iterations: a.pooled.count,
      latency_mean_ms: round(a.latency_mean_ms),
      latency_std_ms: round(a.pooled.std_ms),
      latency_min_ms: round(a.pooled.min_ms),
      latency_p50_ms: aggregatePct(a, result.instances, 'p50', a.latency_p50_ms),
      latency_p90_ms: aggregatePct(a, result.instances, 'p90', a.latency_p90_ms),
      latency_p95_ms: aggregatePct(a, result.instances, 'p95', worst((l) => l.p95_ms)),
      latency_p99_ms: aggregatePct(a, result.instances, 'p99', a.latency_p99_ms),
      latency_p999_ms: aggregatePct(a, result.instances, 'p999', worst((l) => l.p999_ms)),
      latency_max_ms: round(a.pooled.max_ms),
      throughput_samples_per_s: round(a.throughput_samples_per_s),
      forwards_per_s: round(a.forwards_per_s),
      first_inference_ms: '',
      load_session_ms: '',
      peak_rss_mb: '',
      ...cfg,
    });
  }
  return toCsv(rows);
}

/** Rows with possibly different keys: the header is the union, in first-seen order. */
export function toCsv(rows: readonly Record<string, unknown>[]): string {
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    for (const k of Object.keys(r)) {
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
    }
  }
  return stringify(rows as Record<string, unknown>[], { header: true, columns, cast: { boolean: (b) => String(b) } });
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

export function summaryRecord(row: SummaryRow): Record<string, unknown> {
  const a = row.result?.aggregate ?? null;
  const instances = row.result?.instances ?? [];
  return {
    job: row.job,
    status: row.status,
    overrides: row.overrides.join(' '),
    backend: String(row.result?.backend?.name ?? ''),
    instances: a?.instances ?? '',
    // Intra-op threads, at most the pinned CPUs, when every instance has the same (the report's
    // core-count scaling needs it: backend.num_threads is often null, i.e. chosen by the planner).
    cores_per_instance: row.result ? (coresPerInstance(row.result) ?? '') : '',
    batch_size: a?.batch_size ?? '',
    // The shape of the setup, derived where the config left it to the planner.
    threads_per_instance: perInstance(instances.map((i) => i.threads)),
    batch_per_instance: perInstance(instances.map((i) => i.batch_size)),
    latency_mean_ms: a ? round(a.latency_mean_ms) : '',
    // Of the pooled calls, so that two summaries can be compared with Welch's test.
    latency_std_ms: a ? round(a.pooled.std_ms) : '',
    latency_count: a ? a.pooled.count : '',
    // Empty where the worst instance's calls do not support the percentile.
    latency_p50_ms: a ? aggregatePct(a, instances, 'p50', a.latency_p50_ms) : '',
    latency_p90_ms: a ? aggregatePct(a, instances, 'p90', a.latency_p90_ms) : '',
    latency_p99_ms: a ? aggregatePct(a, instances, 'p99', a.latency_p99_ms) : '',
    throughput_samples_per_s: a ? round(a.throughput_samples_per_s) : '',
    dir: row.dir,
    error: row.error ?? '',
    // What the run warned about (a disturbed measurement above all), one line each.
    warnings: (row.result?.warnings ?? []).map((w) => w.split('\n')[0]).join(' | '),
    ...(row.result ? configColumns(row.result) : {}),
  };
}

export function writeSweepSummary(sweepDir: string, rows: readonly SummaryRow[]): void {
  const records = rows.map(summaryRecord);
  writeFileAtomic(join(sweepDir, 'summary.csv'), toCsv(records));
  writeFileAtomic(join(sweepDir, 'summary.json'), `${JSON.stringify(records, null, 1)}\n`);
}

export function writeBestSetups(sweepDir: string, best: readonly BestSetup[]): void {
  writeFileAtomic(join(sweepDir, 'best_setups.json'), `${JSON.stringify(best, null, 1)}\n`);
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
