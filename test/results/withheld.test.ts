/**
 * Percentiles too few calls do not support (stats/summary.ts) are withheld where people read them:
 * the terminal, results.csv, summary.csv and the report's rows, while results.json keeps the
 * figures and lists them; the aggregate's (the worst instance's) need every instance's support;
 * the run warns once, with what it would take.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { renderJobLine, renderRun } from '../../src/cli/render.js';
import type { JobOutcome } from '../../src/run/job.js';
import { rowFromResult } from '../../src/report/load.js';
import { aggregate } from '../../src/results/aggregate.js';
import type { InstanceResult, RunResult } from '../../src/results/types.js';
import { resultsCsv, summaryRecords } from '../../src/results/write.js';
import { withheldPercentilesWarning } from '../../src/scenarios/latency/index.js';
import { summarize } from '../../src/stats/summary.js';
import { bench, onlyEntry } from '../helpers.js';

function instance(index: number, calls: number): InstanceResult {
  const latencies = Array.from({ length: calls }, (_, k) => 10 + (k % 7));
  return {
    index,
    status: 'ok',
    cpus: [index],
    threads: 1,
    batch_size: 1,
    load_prepare_ms: 0,
    load_session_ms: 1,
    first_inference_ms: 12,
    warmup_runs: 1,
    iterations: calls,
    window_start_epoch_ms: 0,
    window_ms: calls * 13,
    latency: summarize(latencies),
    throughput_samples_per_s: 1000 / 13,
    forwards_per_s: 1000 / 13,
    peak_rss_mb: 50,
    latencies_ms: latencies,
  };
}

function run(instances: InstanceResult[]): RunResult {
  return {
    schema_version: 1,
    status: 'ok',
    bench_version: 'test',
    started_at: '',
    finished_at: '',
    output_dir: '/tmp/x',
    overrides: [],
    config: { model: { name: 'bert-tiny' }, batch_size: 1, sequence_length: 128 },
    backend: { name: 'mock' },
    environment: {},
    plan: null,
    instances,
    failures: [],
    process_ids: [],
    parent_memory: { peak_rss_mb: 0, rss_during_run_mb: null },
    aggregate: aggregate(instances),
    efficiency: null,
    warnings: [],
    error: null,
  };
}

const outcome = (r: RunResult): JobOutcome => ({
  status: 'ok',
  dir: '/tmp/x',
  overrides: ['launcher.num_instances=2'],
  result: r,
  error: null,
});

describe('withheld percentiles', () => {
  // 400 calls support p99 (368 needed); 40 calls support p90 (36) but not p95 (72) or p99.
  const r = run([instance(0, 400), instance(1, 40)]);

  it('the aggregate supports a percentile only when every instance does; results.json keeps the figures', () => {
    expect(r.instances[0]!.latency.unsupported_percentiles).toEqual(['p999']);
    expect(r.instances[1]!.latency.unsupported_percentiles).toEqual(['p95', 'p99', 'p999']);
    expect(r.aggregate!.unsupported_percentiles).toEqual(['p95', 'p99', 'p999']);
    expect(Number.isFinite(r.aggregate!.latency_p99_ms)).toBe(true);
  });

  it('results.csv and summary.csv leave their cells empty', () => {
    const rows = parse(resultsCsv(r), { columns: true }) as Record<string, string>[];
    const cells = (k: number) => [
      rows[k]!.latency_p90_ms !== '',
      rows[k]!.latency_p95_ms,
      rows[k]!.latency_p99_ms,
      rows[k]!.latency_p999_ms,
    ];
    expect(cells(0).slice(0, 3)).toEqual([true, expect.stringMatching(/^\d/), expect.stringMatching(/^\d/)]);
    expect(cells(0)[3]).toBe('');
    expect(cells(1)).toEqual([true, '', '', '']);
    expect(rows[2]!.row).toBe('aggregate');
    expect(cells(2)).toEqual([true, '', '', '']);
    const summary = summaryRecords({ job: 0, status: 'ok', dir: 'd', overrides: [], result: r, error: null }).at(-1)!;
    expect(summary.latency_p99_ms).toBe('');
    expect(summary.latency_p90_ms).toBeCloseTo(r.aggregate!.latency_p90_ms, 3);
    // An older results.json (no field) is judged by its counts.
    const { unsupported_percentiles: _dropped, ...old } = r.aggregate!;
    expect(
      summaryRecords({
        job: 0,
        status: 'ok',
        dir: 'd',
        overrides: [],
        result: { ...r, aggregate: old },
        error: null,
      }).at(-1)!.latency_p99_ms,
    ).toBe('');
  });

  it('the terminal says n/a, with the count and what is needed', () => {
    const text = renderRun(outcome(r));
    expect(text).toContain('[0] latency   mean');
    expect(text).toMatch(/\[0\] latency .* p99 \d+\.\d+ · min/);
    expect(text).toContain('[1] latency   mean');
    expect(text).toMatch(/\[1\] latency .* p90 \d+\.\d+ · p99 n\/a \(40 calls; needs >= 368\) · min/);
    expect(text).toContain('p99 n/a (needs >= 368 calls per instance)');
    expect(renderJobLine(outcome(r), 0, 1)).toContain('p99 n/a (needs >= 368 calls per instance)');
  });

  it('the report rows are null there', () => {
    const row = rowFromResult(r, 'x', null);
    expect(row.latency_p99_ms).toBeNull();
    expect(row.latency_p50_ms).toBeCloseTo(r.aggregate!.latency_p50_ms, 9);
  });

  it('the run warns once: which, how many calls, and how to get them', () => {
    const w = withheldPercentilesWarning(r.instances)!;
    expect(w).toMatch(
      /^too few timed calls for p95, p99, p99\.9 \(40-400 per instance; a 95% interval needs 72 \(p95\), 368 \(p99\), 3688 \(p99\.9\)\)/,
    );
    // At 76.9 calls/s: 368 calls x 1.1 / 76.9 = 5.3 s.
    expect(w).toContain(
      'set scenario.min_iterations to that count, or benchmark_duration to about 2 s (p95), 6 s (p99), 53 s (p99.9) at the measured 76.9 calls/s',
    );
    expect(withheldPercentilesWarning([instance(0, 4000)])).toBeNull();
    // p99.9 alone (thousands of calls; shown only in the CSVs) is no reason to warn.
    expect(withheldPercentilesWarning([instance(0, 1000)])).toBeNull();
  });

  it('end to end: a 10-call run prints n/a and warns; results.json keeps p99 and lists it', () => {
    const b = bench([
      'model=bert-tiny',
      'backend=mock',
      'backend.latency_ms=1',
      'benchmark_duration=0.001',
      'scenario.min_iterations=10',
      'warmup_runs=1',
    ]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/p90 n\/a \(10 calls; needs >= 36\) · p99 n\/a \(10 calls; needs >= 368\)/);
    expect(b.stdout).toMatch(/warning {3}too few timed calls for p90, p95, p99, p99\.9 \(10 per instance/);
    const dir = onlyEntry(onlyEntry(join(b.cwd, 'outputs')));
    const res = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResult;
    expect(res.instances[0]!.latency.unsupported_percentiles).toEqual(['p90', 'p95', 'p99', 'p999']);
    expect(Number.isFinite(res.instances[0]!.latency.p99_ms)).toBe(true);
    expect(res.warnings.filter((x) => x.startsWith('too few timed calls'))).toHaveLength(1);
    const csv = parse(readFileSync(join(dir, 'results.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(csv.map((row) => row.latency_p99_ms)).toEqual(['', '']);
  });
});
