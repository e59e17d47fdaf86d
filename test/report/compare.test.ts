/**
 * `bench compare` on the recorded result sets in test/fixtures/results (made by
 * scripts/make-report-fixtures.sh with the mock backend): A and B are two simulated machines (B
 * computes 1.2x faster), C repeats one of A's runs with another seed, D is a multi-instance sweep,
 * E is C's run on a machine about 3% slower, F a dispatch run.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { canonical, compareSets, parseThreshold, regressions } from '../../src/report/compare.js';
import { renderComparison } from '../../src/report/compare-render.js';
import { toCsv } from '../../src/results/write.js';
import { percentile } from '../../src/stats/summary.js';
import type { RunResult } from '../../src/results/types.js';
import { loadResultSet, ReportInputError } from '../../src/report/load.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'results');
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'bench.js');
const fx = (name: string): string => join(FIXTURES, name);
const MACHINES = { ignore: ['backend.gflops_per_thread'] };

function bench(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('loading result sets', () => {
  it('reads sweep dirs, run dirs and CSVs into one row per run', () => {
    const a = loadResultSet(fx('A'));
    expect(a.kind).toBe('sweep');
    expect(a.rows).toHaveLength(6);
    expect(a.rows.every((r) => r.latencies_ms !== null && r.environment !== null)).toBe(true);
    const c = loadResultSet(fx('C'));
    expect(c.kind).toBe('run');
    expect(c.rows[0]!.config['sequence_length']).toBe(128);
    const csv = loadResultSet(join(fx('A'), 'summary.csv'));
    expect(csv.kind).toBe('csv');
    expect(csv.rows).toHaveLength(6);
    expect(csv.rows[0]!.latencies_ms).toBeNull();
    expect(canonical(csv.rows[0]!.config['backend.num_threads'])).toBe(canonical(a.rows[0]!.config['backend.num_threads']));
    // A sweep's summary.csv carries the pooled spread and count (Welch's test) and the cores per instance.
    for (const [k, row] of csv.rows.entries()) {
      expect(row.latency_std_ms).toBeCloseTo(a.rows[k]!.result!.aggregate!.pooled.std_ms, 3);
      expect(row.latency_count).toBe(a.rows[k]!.result!.aggregate!.pooled.count);
      expect(row.cores_per_instance).toBe(a.rows[k]!.cores_per_instance);
    }
    expect(csv.rows.map((r) => r.cores_per_instance)).toEqual([1, 1, 1, 2, 2, 2]);
    // A run's results.csv: its aggregate row, with the std and count a Welch test needs.
    const rcsv = loadResultSet(join(fx('C'), 'results.csv'));
    expect(rcsv.rows).toHaveLength(1);
    expect(rcsv.rows[0]!.latency_std_ms).toBeGreaterThan(0);
    expect(rcsv.rows[0]!.latency_count).toBeGreaterThan(10);
  });

  it('names the path when the input is not a result set', () => {
    expect(() => loadResultSet(join(FIXTURES, 'nope'))).toThrow(ReportInputError);
    const empty = mkdtempSync(join(tmpdir(), 'bench-cmp-'));
    expect(() => loadResultSet(empty)).toThrow(/no results found/);
  });
});

describe('matching and verdicts', () => {
  it('B (1.2x faster machine) is faster than A on every matched row, with the ratio near 1/1.2', () => {
    const cmp = compareSets(loadResultSet(fx('A')), loadResultSet(fx('B')), MACHINES);
    expect(cmp.matched).toHaveLength(4);
    expect(cmp.varying_keys).toEqual(['backend.num_threads', 'sequence_length']);
    for (const m of cmp.matched) {
      expect(m.statistic).toBe('mann-whitney-u');
      expect(m.verdict).toBe('faster');
      expect(m.ratio).toBeGreaterThan(0.78);
      expect(m.ratio).toBeLessThan(0.88);
      expect(m.ratio_lo!).toBeLessThan(m.ratio);
      expect(m.ratio_hi!).toBeGreaterThan(m.ratio);
      expect(m.p_value!).toBeLessThan(1e-4);
    }
    expect(regressions(cmp, 0.05)).toEqual([]);
  });

  it('the other way round every row is slower, and a 5% threshold flags them all', () => {
    const cmp = compareSets(loadResultSet(fx('B')), loadResultSet(fx('A')), MACHINES);
    expect(cmp.matched.map((m) => m.verdict)).toEqual(['slower', 'slower', 'slower', 'slower']);
    expect(regressions(cmp, 0.05)).toHaveLength(4);
    expect(regressions(cmp, 0.5)).toHaveLength(0);
  });

  it('the same setup with another seed: no significant difference (seed is not matched on)', () => {
    const cmp = compareSets(loadResultSet(fx('A')), loadResultSet(fx('C')));
    expect(cmp.matched).toHaveLength(1);
    const m = cmp.matched[0]!;
    expect(m.setup).toEqual({ 'backend.num_threads': '2', sequence_length: '128' });
    expect(m.verdict).toBe('no significant difference');
    expect(m.ratio_lo!).toBeLessThan(1);
    expect(m.ratio_hi!).toBeGreaterThan(1);
  });

  it('lists unmatched rows with the keys their closest counterpart differs in, never drops them', () => {
    const cmp = compareSets(loadResultSet(fx('A')), loadResultSet(fx('B')), MACHINES);
    const only = cmp.unmatched.map((u) => `${u.side}:${u.setup['sequence_length']}:${u.setup['backend.num_threads']}`);
    expect(only).toEqual(['A:256:1', 'A:256:2', 'B:512:1', 'B:512:2']);
    expect(cmp.unmatched[0]!.closest_differs.map(([k]) => k)).toEqual(['sequence_length']);
    // Without --ignore, the machines' differing config value keeps every row apart, and the notes say which key.
    const strict = compareSets(loadResultSet(fx('A')), loadResultSet(fx('B')));
    expect(strict.matched).toHaveLength(0);
    expect(strict.unmatched).toHaveLength(12);
    expect(strict.notes.join('\n')).toContain('--ignore backend.gflops_per_thread');
  });

  it('pools the instances of multi-instance runs: a set against itself is no different', () => {
    const d = loadResultSet(fx('D'));
    expect(d.rows.map((r) => r.instances)).toEqual([1, 1, 2, 2]);
    const two = d.rows[2]!;
    expect(two.latencies_ms!.length).toBe(two.result!.instances.reduce((s, i) => s + i.latencies_ms.length, 0));
    const cmp = compareSets(d, d);
    expect(cmp.matched).toHaveLength(4);
    expect(cmp.matched.every((m) => m.verdict === 'no significant difference' && m.ratio === 1)).toBe(true);
  });

  it('lists errored runs as not comparable, and pairs rows that share a configuration in order', () => {
    const a = loadResultSet(fx('A'));
    const broken = { ...a, rows: a.rows.map((r, k) => (k === 0 ? { ...r, status: 'errored', error: 'instance 0 exited with code 1\nstack' } : r)) };
    const cmp = compareSets(broken, a);
    expect(cmp.skipped).toEqual([{ side: 'A', source: '0', status: 'errored', reason: 'instance 0 exited with code 1' }]);
    expect(cmp.matched).toHaveLength(5);
    expect(cmp.unmatched.map((u) => `${u.side}:${u.source}`)).toEqual(['B:0']);

    const c = loadResultSet(fx('C'));
    const twice = { ...c, rows: [c.rows[0]!, { ...c.rows[0]!, source: 'again' }] };
    const paired = compareSets(twice, c);
    expect(paired.matched).toHaveLength(1);
    expect(paired.unmatched.map((u) => `${u.side}:${u.source}`)).toEqual(['A:again']);
    expect(paired.notes.join('\n')).toMatch(/2 row\(s\) of A and 1 of B share the same configuration: paired in job order/);
  });

  it('falls back to Welch on mean ± std from a results.csv or a summary.csv, and to a bare ratio without a spread', () => {
    const welch = compareSets(loadResultSet(join(fx('A'), '4', 'results.csv')), loadResultSet(join(fx('C'), 'results.csv')));
    expect(welch.matched).toHaveLength(1);
    expect(welch.matched[0]!.statistic).toBe('welch');
    expect(welch.matched[0]!.verdict).toBe('no significant difference');
    expect(renderComparison(welch, 'table')).toContain("Welch's t-test on mean ± std");
    // Two sweeps' summary.csv: a verdict on every matched row, the same as from the directories.
    const csvs = compareSets(loadResultSet(join(fx('A'), 'summary.csv')), loadResultSet(join(fx('B'), 'summary.csv')), MACHINES);
    expect(csvs.matched).toHaveLength(4);
    for (const m of csvs.matched) {
      expect(m.statistic).toBe('welch');
      expect(m.verdict).toBe('faster');
      expect(m.ratio).toBeGreaterThan(0.78);
      expect(m.ratio).toBeLessThan(0.88);
    }
    expect(csvs.notes.join('\n')).toMatch(/environment unknown for A and B/);
    expect(csvs.notes.join('\n')).not.toMatch(/only the ratio of means/);
    // A summary.csv of an older bench, without latency_std_ms / latency_count: the ratio only, no verdict.
    const old = (name: string): string => {
      const rows = parse(readFileSync(join(fx(name), 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
      const file = join(mkdtempSync(join(tmpdir(), 'bench-cmp-')), 'summary.csv');
      writeFileSync(file, toCsv(rows.map(({ latency_std_ms: _s, latency_count: _c, ...rest }) => rest)));
      return file;
    };
    const bare = compareSets(loadResultSet(old('A')), loadResultSet(old('B')), MACHINES);
    expect(bare.matched).toHaveLength(4);
    expect(bare.matched.every((m) => m.statistic === 'none' && m.verdict === 'unknown')).toBe(true);
    expect(bare.notes.join('\n')).toMatch(/only the ratio of means is shown/);
    // A CSV against a directory: Welch, the directory side summarized by its pooled figures.
    const mixed = compareSets(loadResultSet(join(fx('C'), 'results.csv')), loadResultSet(fx('A')));
    expect(mixed.matched[0]!.statistic).toBe('welch');
  });
});

describe('dispatch runs', () => {
  const result = JSON.parse(readFileSync(join(fx('F'), 'results.json'), 'utf8')) as RunResult;
  const d = result.dispatch!;
  const requests = d.dispatched.requests;
  const requestLatencies = requests.end_ms.map((end, k) => end - requests.arrival_ms[k]!);
  const median = (xs: readonly number[]): number => percentile([...xs].sort((x, y) => x - y), 0.5);

  it('are compared on the request latency of the dispatched setup, and the output says so', () => {
    const cmp = compareSets(loadResultSet(fx('F')), loadResultSet(fx('F')));
    expect(cmp.matched).toHaveLength(1);
    const m = cmp.matched[0]!;
    expect(m.latency_measure).toBe('request');
    expect(m.statistic).toBe('mann-whitney-u');
    expect(m.a.calls).toBe(d.dispatched.overall.requests);
    expect(m.a.latency_ms).toBeCloseTo(median(requestLatencies), 9);
    // Not the instances' service times, which the run's aggregate holds.
    const service = result.instances.flatMap((i) => i.latencies_ms);
    expect(Math.abs(m.a.latency_ms - median(service))).toBeGreaterThan(0.01);
    expect(m.a.throughput_samples_per_s).toBeCloseTo(d.dispatched.overall.throughput_requests_per_s, 9);
    const table = renderComparison(cmp, 'table');
    expect(table).toContain('A request median ms');
    expect(table).toContain('A requests/s');
    expect(table).toMatch(/statistic: dispatch runs: latency = request latency of the dispatched setup, arrival to completion \(queueing included\)/);
    expect(table).toContain('every request of the dispatched setup');
    expect(table).not.toContain("all instances' calls pooled");
    const rows = parse(renderComparison(cmp, 'csv'), { columns: true }) as Record<string, string>[];
    expect(rows[0]!.latency_measure).toBe('request');
  });

  it('from results.csv, the request figures of the dispatch.csv beside it; without it, service times, never compared with request latencies', () => {
    const csv = loadResultSet(join(fx('F'), 'results.csv'));
    expect(csv.rows[0]!.latency_measure).toBe('request');
    expect(csv.rows[0]!.latency_mean_ms).toBeCloseTo(d.dispatched.overall.latency.mean_ms, 3);
    expect(csv.rows[0]!.latency_std_ms).toBeCloseTo(d.dispatched.overall.latency.std_ms, 3);
    expect(csv.rows[0]!.batch_size).toBeNull();
    const welch = compareSets(csv, loadResultSet(fx('F')));
    expect(welch.matched.map((m) => [m.latency_measure, m.statistic, m.verdict])).toEqual([['request', 'welch', 'no significant difference']]);

    const alone = mkdtempSync(join(tmpdir(), 'bench-cmp-'));
    copyFileSync(join(fx('F'), 'results.csv'), join(alone, 'results.csv'));
    const service = loadResultSet(join(alone, 'results.csv'));
    expect(service.rows[0]!.latency_measure).toBe('service');
    const refused = compareSets(service, loadResultSet(fx('F')));
    expect(refused.matched).toEqual([]);
    expect(refused.skipped.map((s) => [s.side, s.reason])).toEqual([
      ['A', 'A has service time only (a dispatch run from a CSV without dispatch.csv), B request latency (dispatch): not the same measure'],
      ['B', 'A has service time only (a dispatch run from a CSV without dispatch.csv), B request latency (dispatch): not the same measure'],
    ]);
    const both = compareSets(service, service);
    expect(both.matched[0]!.latency_measure).toBe('service');
    const text = renderComparison(both, 'table');
    expect(text).toContain('A service mean ± std ms');
    expect(text).toMatch(/latency = service time \(session\.run in the instances, queueing excluded\), not request latency/);
  });
});

describe('environment differences', () => {
  it('are listed above the table', () => {
    const other = join(mkdtempSync(join(tmpdir(), 'bench-cmp-')), 'C');
    cpSync(fx('C'), other, { recursive: true });
    const file = join(other, 'results.json');
    const r = JSON.parse(readFileSync(file, 'utf8')) as { environment: Record<string, unknown> & { topology: Record<string, unknown> } };
    Object.assign(r.environment, {
      cpu_model: 'Intel(R) Xeon(R) Platinum 8275CL CPU @ 3.00GHz',
      logical_cpus: 96,
      onnxruntime_node_version: '1.22.0',
      bench_version: '0.2.0',
      transparent_hugepages: 'always',
      node_version: '22.11.0',
    });
    r.environment.topology.physical_cores = 48;
    writeFileSync(file, JSON.stringify(r));
    const cmp = compareSets(loadResultSet(fx('C')), loadResultSet(other));
    const diff = Object.fromEntries(cmp.environment.differences.map((d) => [d.key, [d.a, d.b]]));
    expect(diff['cpu_model']).toEqual(['AMD EPYC', 'Intel(R) Xeon(R) Platinum 8275CL CPU @ 3.00GHz']);
    expect(diff['topology.physical_cores']).toEqual(['2', '48']);
    expect(Object.keys(diff)).toEqual(
      expect.arrayContaining(['logical_cpus', 'onnxruntime_node_version', 'bench_version', 'transparent_hugepages', 'node_version']),
    );
    expect(diff['os']).toBeUndefined();
    const text = renderComparison(cmp, 'table');
    expect(text.indexOf('Environment differences')).toBeGreaterThan(0);
    expect(text.indexOf('Environment differences')).toBeLessThan(text.indexOf('Matched (1)'));
    expect(text).toMatch(/onnxruntime-node\s+1\.30\.0\s+1\.22\.0/);
  });
});

describe('output formats', () => {
  const cmp = compareSets(loadResultSet(fx('A')), loadResultSet(fx('B')), MACHINES);

  it('markdown is plain text: no HTML entities, only what Markdown needs escaped', () => {
    const md = renderComparison(cmp, 'markdown');
    expect(md).not.toMatch(/&(lt|gt|amp|quot|#\d+);/);
    expect(md).toContain('significant when p < 0.05 and the interval excludes 1');
    expect(md).toMatch(/\| <1e-4 \|/);
    // Strings from configs: a pipe would end the cell, markup would be passed through as HTML.
    const a = loadResultSet(fx('C'));
    const marked = { ...a, rows: a.rows.map((r) => ({ ...r, config: { ...r.config, 'backend.name': 'x|<b>y</b> & z &amp;' } })) };
    const text = renderComparison(compareSets(marked, loadResultSet(fx('A'))), 'markdown');
    expect(text).toContain('x\\|\\<b>y\\</b> & z \\&amp;');
    expect(text).not.toMatch(/[^\\]<b>/);
  });

  it('table and markdown name the statistic and give hyperfine-style speed figures', () => {
    const table = renderComparison(cmp, 'table');
    expect(table).toContain('Mann-Whitney U test on the raw latencies');
    expect(table).toContain('bootstrap interval (2000 resamples, seed 1)'.replace('bootstrap', 'percentile-bootstrap'));
    expect(table).toMatch(/1\.\d\d ± 0\.\d\d× faster/);
    expect(table).toContain('Unmatched (4)');
    const md = renderComparison(cmp, 'markdown');
    expect(md).toMatch(/^# bench compare/);
    expect(md).toMatch(/\n\| backend\.num_threads \| sequence_length \| A median ms \|/);
    expect(md).toMatch(/\|---\|---\|---:\|/);
  });

  it('csv has one line per matched and unmatched row; json round-trips', () => {
    const rows = parse(renderComparison(cmp, 'csv', { threshold: 0.05 }), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.match)).toEqual(['matched', 'matched', 'matched', 'matched', 'only_a', 'only_a', 'only_b', 'only_b']);
    expect(rows[0]).toMatchObject({ 'config.backend.num_threads': '1', 'config.sequence_length': '32', verdict: 'faster', regression: 'false' });
    const json = JSON.parse(renderComparison(cmp, 'json', { threshold: 0.05 })) as { matched: unknown[]; unmatched: unknown[]; regressions: unknown[]; statistic: string[] };
    expect(json.matched).toHaveLength(4);
    expect(json.unmatched).toHaveLength(4);
    expect(json.regressions).toEqual([]);
    expect(json.statistic[0]).toMatch(/^Mann-Whitney U/);
  });

  it('parses thresholds', () => {
    expect(parseThreshold('5%')).toBeCloseTo(0.05, 12);
    expect(parseThreshold('2.5')).toBeCloseTo(0.025, 12);
    expect(parseThreshold('five')).toBeNull();
    expect(parseThreshold('-5%')).toBeNull();
  });
});

describe('bench compare (the command)', () => {
  it('--fail-on-regression exits 1 on a slower B, 0 on a faster one, 2 on trouble', () => {
    // Flags before the positionals: --ignore takes one value (repeatable), never A or B.
    const slower = bench(['compare', '--ignore', 'backend.gflops_per_thread', fx('B'), fx('A'), '--fail-on-regression', '5%']);
    expect(slower.code).toBe(1);
    expect(slower.stderr).toMatch(/4 regressions past 5%/);
    expect(slower.stdout).toContain('(regression)');
    const faster = bench(['compare', fx('A'), fx('B'), '--ignore', 'backend.gflops_per_thread', '--fail-on-regression', '5%', '--format', 'json']);
    expect(faster.code).toBe(0);
    expect((JSON.parse(faster.stdout) as { regressions: unknown[] }).regressions).toEqual([]);
    const missing = bench(['compare', fx('A'), join(FIXTURES, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope: no such file or directory/);
    expect(bench(['compare', fx('A'), fx('B'), '--format', 'xml']).stderr).toMatch(/invalid choice 'xml'/);
  });

  it('--fail-on-regression exits 0 on a row significantly slower by less than the threshold, 1 past it', () => {
    // E is C's run on a machine about 3% slower: significantly slower, under 5%, over 1%.
    const under = bench(['compare', fx('C'), fx('E'), '--ignore', 'backend.gflops_per_thread', '--fail-on-regression', '5%']);
    expect(under.code).toBe(0);
    expect(under.stdout).toMatch(/1\.0\d ± 0\.\d\d× slower/);
    expect(under.stdout).not.toContain('(regression)');
    expect(under.stderr).toMatch(/no matched row is significantly slower by more than 5%/);
    const over = bench(['compare', fx('C'), fx('E'), '--ignore', 'backend.gflops_per_thread', '--fail-on-regression', '1%']);
    expect(over.code).toBe(1);
    expect(over.stderr).toMatch(/1 regression past 1%/);
    expect(over.stdout).toContain('slower (regression)');
  });

  it('--fail-on-regression works on summary CSVs too (Welch)', () => {
    const r = bench(['compare', join(fx('B'), 'summary.csv'), join(fx('A'), 'summary.csv'), '--ignore', 'backend.gflops_per_thread', '--fail-on-regression', '5%']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/4 regressions past 5%/);
  });

  it('--help describes the flags and the statistic', () => {
    const r = bench(['compare', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--fail-on-regression');
    expect(r.stdout).toContain('Mann-Whitney U');
  });
});
