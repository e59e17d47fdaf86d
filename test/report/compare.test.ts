/**
 * `bench compare` on the recorded result sets in test/fixtures/results (made by
 * scripts/make-report-fixtures.sh with the mock backend): A and B are two simulated machines (B
 * computes 1.2x faster), C repeats one of A's runs with another seed, D is a multi-instance sweep.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { canonical, compareSets, parseThreshold, regressions } from '../../src/report/compare.js';
import { renderComparison } from '../../src/report/compare-render.js';
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

  it('falls back to Welch on mean ± std from a results.csv, and to a bare ratio from a summary.csv', () => {
    const welch = compareSets(loadResultSet(join(fx('A'), '4', 'results.csv')), loadResultSet(join(fx('C'), 'results.csv')));
    expect(welch.matched).toHaveLength(1);
    expect(welch.matched[0]!.statistic).toBe('welch');
    expect(welch.matched[0]!.verdict).toBe('no significant difference');
    expect(renderComparison(welch, 'table')).toContain("Welch's t-test on mean ± std");
    const bare = compareSets(loadResultSet(join(fx('A'), 'summary.csv')), loadResultSet(join(fx('B'), 'summary.csv')), MACHINES);
    expect(bare.matched).toHaveLength(4);
    expect(bare.matched.every((m) => m.statistic === 'none' && m.verdict === 'unknown')).toBe(true);
    expect(bare.notes.join('\n')).toMatch(/environment unknown for A and B/);
    // A CSV against a directory: Welch, the directory side summarized by its pooled figures.
    const mixed = compareSets(loadResultSet(join(fx('C'), 'results.csv')), loadResultSet(fx('A')));
    expect(mixed.matched[0]!.statistic).toBe('welch');
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

  it('--help describes the flags and the statistic', () => {
    const r = bench(['compare', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--fail-on-regression');
    expect(r.stdout).toContain('Mann-Whitney U');
  });
});
