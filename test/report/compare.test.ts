/**
 * `bench compare` on the recorded result sets in test/fixtures/results (made by
 * scripts/make-report-fixtures.sh with the mock backend): A and B are two simulated machines (B
 * computes 1.2x faster), C repeats one of A's runs with another seed, D is a multi-instance sweep,
 * E is C's run on a machine about 3% slower, F a dispatch run; all of one repetition. The reps-*
 * sets have 5 repetitions per job that differ as real runs do: reps-same is an A/A pair with
 * reps-base, reps-slower does 10% more work per call, reps-disturbed is reps-same with every
 * repetition disturbed. V1 is a run recorded before repetitions existed.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { canonical, compareSets, inconclusiveRows, parseThreshold, regressions } from '../../src/report/compare.js';
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
    expect(canonical(csv.rows[0]!.config['backend.num_threads'])).toBe(
      canonical(a.rows[0]!.config['backend.num_threads']),
    );
    // A sweep's summary.csv carries the pooled spread and count and the cores per instance.
    for (const [k, row] of csv.rows.entries()) {
      expect(row.latency_std_ms).toBeCloseTo(a.rows[k]!.result!.aggregate!.pooled.std_ms, 3);
      expect(row.latency_count).toBe(a.rows[k]!.result!.aggregate!.pooled.count);
      expect(row.cores_per_instance).toBe(a.rows[k]!.cores_per_instance);
    }
    expect(csv.rows.map((r) => r.cores_per_instance)).toEqual([1, 1, 1, 2, 2, 2]);
    // A run's results.csv: its aggregate row is the run.
    const rcsv = loadResultSet(join(fx('C'), 'results.csv'));
    expect(rcsv.rows).toHaveLength(1);
    expect(rcsv.rows[0]!.latency_std_ms).toBeGreaterThan(0);
    expect(rcsv.rows[0]!.latency_count).toBeGreaterThan(10);
  });

  it('gives every row its repetitions: one for a run of one, five per job of the reps sets, from results.json and from the CSVs', () => {
    const one = loadResultSet(fx('C')).rows[0]!;
    expect(one.repetitions).toHaveLength(1);
    expect(one.repetitions[0]!.latency_p50_ms).toBe(one.result!.aggregate!.latency_p50_ms);
    expect(one.repetitions[0]!.latencies_ms!.length).toBeGreaterThan(10);
    const dir = loadResultSet(fx('reps-base'));
    expect(dir.rows).toHaveLength(2);
    for (const row of dir.rows) {
      expect(row.repetitions.map((r) => r.repetition)).toEqual([1, 2, 3, 4, 5]);
      expect(row.repetitions.every((r) => r.status === 'ok' && r.latencies_ms !== null && !r.disturbed)).toBe(true);
      // The repetitions differ as real runs do (backend.run_cv): not five copies of one figure.
      expect(new Set(row.repetitions.map((r) => r.latency_p50_ms)).size).toBe(5);
    }
    const csv = loadResultSet(join(fx('reps-base'), 'summary.csv'));
    expect(csv.rows).toHaveLength(2);
    csv.rows.forEach((row, k) => {
      expect(row.repetitions.map((r) => r.latency_p50_ms)).toEqual(
        dir.rows[k]!.repetitions.map((r) => Number(r.latency_p50_ms!.toFixed(4))),
      );
      expect(row.latencies_ms).toBeNull();
    });
    // One run's results.csv: its summary row is the run, its aggregate rows the repetitions.
    const run = loadResultSet(join(fx('reps-base'), dir.rows[0]!.source, 'results.csv'));
    expect(run.rows).toHaveLength(1);
    expect(run.rows[0]!.repetitions).toHaveLength(5);
    expect(run.rows[0]!.latency_mean_ms).toBeCloseTo(dir.rows[0]!.result!.aggregate!.latency_mean_ms, 3);
  });

  it('reads a results.json written before repetitions existed as a run of one repetition', () => {
    const v1 = loadResultSet(fx('V1'));
    expect((v1.rows[0]!.result as { repetitions?: unknown }).repetitions).toBeUndefined();
    expect(v1.rows[0]!.repetitions).toHaveLength(1);
    // Recorded while other processes took 43% of its CPUs: its instance's interference says so.
    expect(v1.rows[0]!.repetitions[0]).toMatchObject({ repetition: 1, status: 'ok', disturbed: true });
    const cmp = compareSets(v1, loadResultSet(fx('C')));
    expect(cmp.matched).toHaveLength(1);
    expect(cmp.matched[0]!.verdict).toBe('inconclusive');
    expect(cmp.matched[0]!.reason).toMatch(/^A rests only on disturbed repetitions/);
    expect(loadResultSet(join(fx('V1'), 'results.csv')).rows[0]!.repetitions).toHaveLength(1);
  });

  it('names the path when the input is not a result set', () => {
    expect(() => loadResultSet(join(FIXTURES, 'nope'))).toThrow(ReportInputError);
    const empty = mkdtempSync(join(tmpdir(), 'bench-cmp-'));
    expect(() => loadResultSet(empty)).toThrow(/no results found/);
  });
});

describe('verdicts over repetitions', () => {
  it('A/A: the same config measured twice, 5 repetitions each, is no significant difference (Welch on log repetition medians)', () => {
    const cmp = compareSets(loadResultSet(fx('reps-base')), loadResultSet(fx('reps-same')));
    expect(cmp.matched).toHaveLength(2);
    expect(cmp.tested_rows).toBe(2);
    for (const m of cmp.matched) {
      expect(m).toMatchObject({
        basis: 'repetitions',
        statistic: 'welch-log-repetitions',
        interval: 'repetitions',
        verdict: 'no significant difference',
      });
      expect(m.a.used).toBe(5);
      expect(m.b.used).toBe(5);
      expect(m.ratio_lo!).toBeLessThan(1);
      expect(m.ratio_hi!).toBeGreaterThan(1);
      expect(m.p_adjusted!).toBeGreaterThanOrEqual(m.p_value!);
    }
    expect(regressions(cmp, 0.05)).toEqual([]);
  });

  it('a planted 10% shift (10% more work per call) is slower on every row, with an interval around 1.10', () => {
    const cmp = compareSets(loadResultSet(fx('reps-base')), loadResultSet(fx('reps-slower')), MACHINES);
    for (const m of cmp.matched) {
      expect(m.verdict).toBe('slower');
      expect(m.ratio).toBeGreaterThan(1.06);
      expect(m.ratio).toBeLessThan(1.14);
      expect(m.ratio_lo!).toBeGreaterThan(1);
      expect(m.p_adjusted!).toBeLessThan(0.05);
    }
    expect(regressions(cmp, 0.05)).toHaveLength(2);
    expect(regressions(cmp, 0.2)).toHaveLength(0);
    // The same verdicts from the two summary.csv files (their repetition rows).
    const csv = compareSets(
      loadResultSet(join(fx('reps-base'), 'summary.csv')),
      loadResultSet(join(fx('reps-slower'), 'summary.csv')),
      MACHINES,
    );
    expect(csv.matched.map((m) => [m.basis, m.verdict])).toEqual([
      ['repetitions', 'slower'],
      ['repetitions', 'slower'],
    ]);
  });

  it('a side resting only on disturbed repetitions is inconclusive, never a regression, and shown', () => {
    const cmp = compareSets(loadResultSet(fx('reps-base')), loadResultSet(fx('reps-disturbed')));
    expect(cmp.matched.map((m) => m.verdict)).toEqual(['inconclusive', 'inconclusive']);
    expect(cmp.matched[0]!.b.disturbed).toBe(5);
    expect(cmp.matched[0]!.reason).toMatch(/B rests only on disturbed repetitions/);
    expect(regressions(cmp, 0)).toEqual([]);
    expect(inconclusiveRows(cmp)).toHaveLength(2);
    const table = renderComparison(cmp, 'table');
    expect(table).toMatch(/\b5\/5d\b/);
    expect(table).toContain('inconclusive');
  });

  it('disturbed repetitions are left out when a clean one exists on that side', () => {
    const base = loadResultSet(fx('reps-base'));
    const same = loadResultSet(fx('reps-same'));
    // Two of B's repetitions disturbed, one of them 30% slow: left out, the verdict rests on the other three.
    const marked = {
      ...same,
      rows: same.rows.map((r) => ({
        ...r,
        repetitions: r.repetitions.map((x) =>
          x.repetition <= 2
            ? { ...x, disturbed: true, latency_p50_ms: x.latency_p50_ms! * (x.repetition === 1 ? 1.3 : 1) }
            : x,
        ),
      })),
    };
    const cmp = compareSets(base, marked);
    for (const m of cmp.matched) {
      expect(m.b).toMatchObject({ repetitions: 5, used: 3, disturbed: 2 });
      expect(m.verdict).toBe('no significant difference');
    }
    expect(renderComparison(cmp, 'table')).toMatch(/\b5\/3\+2d\b/);
  });

  it('multiplicity: a borderline row is slower alone, and not once it is one of several rows (Holm; BH at will)', () => {
    const base = loadResultSet(fx('reps-base'));
    const row = base.rows[0]!;
    // B: the row's own repetitions, shifted by a factor chosen so that Welch's p is about 0.03.
    const shifted = (factor: number): typeof row => ({
      ...row,
      repetitions: row.repetitions.map((x) => ({
        ...x,
        latency_p50_ms: x.latency_p50_ms! * factor,
        latencies_ms: null,
      })),
    });
    const spread = (() => {
      const logs = row.repetitions.map((x) => Math.log(x.latency_p50_ms!));
      const m = logs.reduce((s, x) => s + x, 0) / logs.length;
      return Math.sqrt(logs.reduce((s, x) => s + (x - m) ** 2, 0) / (logs.length - 1));
    })();
    // Same spread on both sides: t = shift / (s sqrt(2/5)); t = 2.6 with df 8 gives p of about 0.03.
    const factor = Math.exp(2.6 * spread * Math.sqrt(2 / 5));
    const one = (rows: (typeof row)[]) => ({ ...base, rows });
    const alone = compareSets(one([row]), one([shifted(factor)]));
    expect(alone.matched[0]!.p_value!).toBeGreaterThan(0.01);
    expect(alone.matched[0]!.p_value!).toBeLessThan(0.05);
    expect(alone.matched[0]!.verdict).toBe('slower');
    // The same pair among four rows of no change: Holm multiplies the smallest p by 4.
    const tag = (r: typeof row, k: number): typeof row => ({
      ...r,
      config: { ...r.config, experiment_name: `x${k}`, sequence_length: 1000 + k },
    });
    const rowsA = [row, ...[1, 2, 3].map((k) => tag(row, k))];
    const rowsB = [shifted(factor), ...[1, 2, 3].map((k) => tag(shifted(1), k))];
    const holm = compareSets(one(rowsA), one(rowsB));
    const first = holm.matched.find((m) => m.setup['sequence_length'] === String(row.config['sequence_length']))!;
    expect(first.p_value).toBeCloseTo(alone.matched[0]!.p_value!, 12);
    expect(first.p_adjusted!).toBeCloseTo(4 * first.p_value!, 12);
    expect(first.verdict).toBe('no significant difference');
    expect(first.reason).toMatch(
      /^p = 0\.0\d\d for this row alone, 0\.1\d after Holm \(family-wise error\) over the 4 rows tested; its interval is the row's own, not adjusted$/,
    );
    expect(holm.tested_rows).toBe(4);
    const none = compareSets(one(rowsA), one(rowsB), { adjust: 'none' });
    expect(
      none.matched.find((m) => m.setup['sequence_length'] === String(row.config['sequence_length']))!.verdict,
    ).toBe('slower');
    expect(renderComparison(holm, 'table')).toContain('p adjusted over the 4 rows tested by Holm (family-wise error)');
  });
});

describe('verdicts of runs of one repetition: the noise floor', () => {
  it('B (1.2x faster machine) is faster than A, beyond the 10% noise floor, with the within-run spread', () => {
    const cmp = compareSets(loadResultSet(fx('A')), loadResultSet(fx('B')), MACHINES);
    expect(cmp.matched).toHaveLength(4);
    expect(cmp.varying_keys).toEqual(['backend.num_threads', 'sequence_length']);
    for (const m of cmp.matched) {
      expect(m).toMatchObject({
        basis: 'noise-floor',
        statistic: 'noise-floor',
        interval: 'within-run',
        verdict: 'faster',
        p_value: null,
      });
      expect(m.ratio).toBeGreaterThan(0.78);
      expect(m.ratio).toBeLessThan(0.88);
      expect(m.ratio_lo!).toBeLessThan(m.ratio);
      expect(m.ratio_hi!).toBeGreaterThan(m.ratio);
      expect(m.reason).toMatch(/beyond the 10% noise floor; no test with 1 repetition per side \(needs 3\)/);
    }
    expect(regressions(cmp, 0.05)).toEqual([]);
    expect(cmp.notes.join('\n')).toMatch(
      /every matched row has fewer than 3 usable repetitions on a side: no test is made over the calls of one run/,
    );
  });

  it('the other way round every row is slower; a regression needs the threshold plus the noise floor', () => {
    const cmp = compareSets(loadResultSet(fx('B')), loadResultSet(fx('A')), MACHINES);
    expect(cmp.matched.map((m) => m.verdict)).toEqual(['slower', 'slower', 'slower', 'slower']);
    // About 1.2x slower: past 5% + 10%, not past 15% + 10%.
    expect(regressions(cmp, 0.05)).toHaveLength(4);
    expect(regressions(cmp, 0.15)).toHaveLength(0);
    expect(
      regressions(compareSets(loadResultSet(fx('B')), loadResultSet(fx('A')), { ...MACHINES, noiseFloor: 0.2 }), 0.05),
    ).toHaveLength(0);
  });

  it('the same setup with another seed, and a 3% slower machine: within noise, not a verdict', () => {
    const cmp = compareSets(loadResultSet(fx('A')), loadResultSet(fx('C')));
    expect(cmp.matched).toHaveLength(1);
    const m = cmp.matched[0]!;
    expect(m.setup).toEqual({ 'backend.num_threads': '2', sequence_length: '128' });
    expect(m.verdict).toBe('within noise');
    expect(m.reason).toMatch(/1 repetition per side: a verdict needs 3 each \(repetitions=5\)/);
    const e = compareSets(loadResultSet(fx('C')), loadResultSet(fx('E')), MACHINES).matched[0]!;
    expect(e.ratio).toBeGreaterThan(1.01);
    expect(e.ratio).toBeLessThan(1.05);
    expect(e.verdict).toBe('within noise');
    // A lower noise floor, set by the user who measured their machine, calls it.
    expect(
      compareSets(loadResultSet(fx('C')), loadResultSet(fx('E')), { ...MACHINES, noiseFloor: 0.005 }).matched[0]!
        .verdict,
    ).toBe('slower');
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

  it('multi-instance runs: a set against itself is within noise with a ratio of 1', () => {
    const d = loadResultSet(fx('D'));
    expect(d.rows.map((r) => r.instances)).toEqual([1, 1, 2, 2]);
    const two = d.rows[2]!;
    expect(two.latencies_ms!.length).toBe(two.result!.instances.reduce((s, i) => s + i.latencies_ms.length, 0));
    // A repetition's figure is its worst instance's median, and its calls are that instance's.
    const worst = two.result!.instances.reduce((w, i) => (i.latency.p50_ms > w.latency.p50_ms ? i : w));
    expect(two.repetitions[0]!.latency_p50_ms).toBe(worst.latency.p50_ms);
    expect(two.repetitions[0]!.latencies_ms).toEqual(worst.latencies_ms);
    const cmp = compareSets(d, d);
    expect(cmp.matched).toHaveLength(4);
    expect(cmp.matched.every((m) => m.verdict === 'within noise' && m.ratio === 1)).toBe(true);
  });

  it('lists errored runs as not comparable, and pairs rows that share a configuration in order', () => {
    const a = loadResultSet(fx('A'));
    const broken = {
      ...a,
      rows: a.rows.map((r, k) =>
        k === 0
          ? {
              ...r,
              status: 'errored',
              error: 'instance 0 exited with code 1\nstack',
              repetitions: r.repetitions.map((x) => ({ ...x, status: 'errored' })),
            }
          : r,
      ),
    };
    const cmp = compareSets(broken, a);
    expect(cmp.skipped).toEqual([
      { side: 'A', source: '0', status: 'errored', reason: 'instance 0 exited with code 1' },
    ]);
    expect(cmp.matched).toHaveLength(5);
    expect(cmp.unmatched.map((u) => `${u.side}:${u.source}`)).toEqual(['B:0']);

    const c = loadResultSet(fx('C'));
    const twice = { ...c, rows: [c.rows[0]!, { ...c.rows[0]!, source: 'again' }] };
    const paired = compareSets(twice, c);
    expect(paired.matched).toHaveLength(1);
    expect(paired.unmatched.map((u) => `${u.side}:${u.source}`)).toEqual(['A:again']);
    expect(paired.notes.join('\n')).toMatch(
      /2 row\(s\) of A and 1 of B share the same configuration: paired in job order/,
    );
  });

  it('a run stopped after some repetitions is compared on those that measured ok, and says so', () => {
    const base = loadResultSet(fx('reps-base'));
    const cut = {
      ...base,
      rows: base.rows.map((r) => ({
        ...r,
        status: 'interrupted',
        repetitions: r.repetitions.map((x) => (x.repetition > 2 ? { ...x, status: 'interrupted' } : x)),
      })),
    };
    const cmp = compareSets(cut, loadResultSet(fx('reps-same')));
    expect(cmp.matched).toHaveLength(2);
    expect(cmp.matched.every((m) => m.a.used === 2 && m.basis === 'noise-floor')).toBe(true);
    expect(cmp.notes.join('\n')).toMatch(/A: .* is interrupted; compared on its 2 repetition\(s\) that measured ok/);
  });

  it('from a results.csv or a summary.csv (no raw calls): the same noise-floor verdicts, without a within-run interval', () => {
    const csvs = compareSets(
      loadResultSet(join(fx('A'), 'summary.csv')),
      loadResultSet(join(fx('B'), 'summary.csv')),
      MACHINES,
    );
    expect(csvs.matched).toHaveLength(4);
    for (const m of csvs.matched) {
      expect(m).toMatchObject({ basis: 'noise-floor', verdict: 'faster', interval: null, ratio_lo: null });
      expect(m.ratio).toBeGreaterThan(0.78);
      expect(m.ratio).toBeLessThan(0.88);
    }
    expect(csvs.notes.join('\n')).toMatch(/environment unknown for A and B/);
    expect(csvs.notes.join('\n')).toMatch(/their within-run spread is unknown/);
    // A summary.csv of an older bench, without latency_std_ms / latency_count / row: the same.
    const old = (name: string): string => {
      const rows = parse(readFileSync(join(fx(name), 'summary.csv'), 'utf8'), { columns: true }) as Record<
        string,
        string
      >[];
      const file = join(mkdtempSync(join(tmpdir(), 'bench-cmp-')), 'summary.csv');
      writeFileSync(
        file,
        toCsv(
          rows.map(
            ({
              latency_std_ms: _s,
              latency_count: _c,
              row: _r,
              repetition: _p,
              repetitions: _n,
              disturbed: _d,
              ...rest
            }) => rest,
          ),
        ),
      );
      return file;
    };
    const bare = compareSets(loadResultSet(old('A')), loadResultSet(old('B')), MACHINES);
    expect(bare.matched.map((m) => m.verdict)).toEqual(['faster', 'faster', 'faster', 'faster']);
    const mixed = compareSets(loadResultSet(join(fx('C'), 'results.csv')), loadResultSet(fx('A')));
    expect(mixed.matched[0]!.verdict).toBe('within noise');
  });
});

describe('dispatch runs', () => {
  const result = JSON.parse(readFileSync(join(fx('F'), 'results.json'), 'utf8')) as RunResult;
  const d = result.dispatch!;
  const requests = d.dispatched.requests;
  const requestLatencies = requests.end_ms.map((end, k) => end - requests.arrival_ms[k]!);
  const median = (xs: readonly number[]): number =>
    percentile(
      [...xs].sort((x, y) => x - y),
      0.5,
    );

  it('are compared on the request latency of the dispatched setup, and the output says so', () => {
    const cmp = compareSets(loadResultSet(fx('F')), loadResultSet(fx('F')));
    expect(cmp.matched).toHaveLength(1);
    const m = cmp.matched[0]!;
    expect(m.latency_measure).toBe('request');
    expect(m.basis).toBe('noise-floor');
    expect(m.a.calls).toBe(d.dispatched.overall.requests);
    expect(m.a.latency_ms).toBeCloseTo(median(requestLatencies), 3);
    // Not the instances' service times, which the run's aggregate holds.
    const service = result.instances.flatMap((i) => i.latencies_ms);
    expect(Math.abs(m.a.latency_ms - median(service))).toBeGreaterThan(0.01);
    expect(m.a.throughput_samples_per_s).toBeCloseTo(d.dispatched.overall.throughput_requests_per_s, 9);
    const table = renderComparison(cmp, 'table');
    expect(table).toContain('A request median ms');
    expect(table).toContain('A requests/s');
    expect(table).toMatch(
      /dispatch runs: latency = request latency of the dispatched setup, arrival to completion \(queueing included\)/,
    );
    const rows = parse(renderComparison(cmp, 'csv'), { columns: true }) as Record<string, string>[];
    expect(rows[0]!.latency_measure).toBe('request');
  });

  it('from results.csv, the request figures of the dispatch.csv beside it; without it, service times, never compared with request latencies', () => {
    const csv = loadResultSet(join(fx('F'), 'results.csv'));
    expect(csv.rows[0]!.latency_measure).toBe('request');
    expect(csv.rows[0]!.latency_mean_ms).toBeCloseTo(d.dispatched.overall.latency.mean_ms, 3);
    expect(csv.rows[0]!.latency_std_ms).toBeCloseTo(d.dispatched.overall.latency.std_ms, 3);
    expect(csv.rows[0]!.batch_size).toBeNull();
    const both = compareSets(csv, loadResultSet(fx('F')));
    expect(both.matched.map((m) => [m.latency_measure, m.verdict])).toEqual([['request', 'within noise']]);

    const alone = mkdtempSync(join(tmpdir(), 'bench-cmp-'));
    copyFileSync(join(fx('F'), 'results.csv'), join(alone, 'results.csv'));
    const service = loadResultSet(join(alone, 'results.csv'));
    expect(service.rows[0]!.latency_measure).toBe('service');
    const refused = compareSets(service, loadResultSet(fx('F')));
    expect(refused.matched).toEqual([]);
    expect(refused.skipped.map((s) => [s.side, s.reason])).toEqual([
      [
        'A',
        'A has service time only (a dispatch run from a CSV without dispatch.csv), B request latency (dispatch): not the same measure',
      ],
      [
        'B',
        'A has service time only (a dispatch run from a CSV without dispatch.csv), B request latency (dispatch): not the same measure',
      ],
    ]);
    const same = compareSets(service, service);
    expect(same.matched[0]!.latency_measure).toBe('service');
    const text = renderComparison(same, 'table');
    expect(text).toContain('A service median ms');
    expect(text).toMatch(
      /latency = service time \(session\.run in the instances, queueing excluded\), not request latency/,
    );
  });
});
describe('environment differences', () => {
  it('are listed above the table', () => {
    const other = join(mkdtempSync(join(tmpdir(), 'bench-cmp-')), 'C');
    cpSync(fx('C'), other, { recursive: true });
    const file = join(other, 'results.json');
    const r = JSON.parse(readFileSync(file, 'utf8')) as {
      environment: Record<string, unknown> & { topology: Record<string, unknown> };
    };
    Object.assign(r.environment, {
      cpu_model: 'Intel(R) Xeon(R) Platinum 8275CL CPU @ 3.00GHz',
      logical_cpus: 96,
      onnxruntime_node_version: '1.22.0',
      bench_version: '0.2.0',
      transparent_hugepages: 'always',
      node_version: '22.11.0',
      runtime: {
        name: 'pytorch',
        torch_version: '2.5.1',
        blas_libraries: ['/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblasp-r0.3.21.so'],
      },
    });
    r.environment.topology.physical_cores = 48;
    writeFileSync(file, JSON.stringify(r));
    const cmp = compareSets(loadResultSet(fx('C')), loadResultSet(other));
    const diff = Object.fromEntries(cmp.environment.differences.map((d) => [d.key, [d.a, d.b]]));
    const recorded = (
      JSON.parse(readFileSync(join(fx('C'), 'results.json'), 'utf8')) as { environment: { cpu_model: string } }
    ).environment.cpu_model;
    expect(diff['cpu_model']).toEqual([recorded, 'Intel(R) Xeon(R) Platinum 8275CL CPU @ 3.00GHz']);
    expect(diff['topology.physical_cores']).toEqual(['2', '48']);
    // A PyTorch run names the torch it ran and the BLAS it loaded; an ONNX Runtime run has neither.
    expect(diff['runtime.torch_version']).toEqual(['', '2.5.1']);
    expect(diff['runtime.blas_libraries']![1]).toContain('openblas-openmp');
    expect(Object.keys(diff)).toEqual(
      expect.arrayContaining([
        'logical_cpus',
        'onnxruntime_node_version',
        'bench_version',
        'transparent_hugepages',
        'node_version',
      ]),
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
    const md = renderComparison(
      compareSets(loadResultSet(fx('reps-base')), loadResultSet(fx('reps-slower')), MACHINES),
      'markdown',
    );
    expect(md).not.toMatch(/&(lt|gt|amp|quot|#\d+);/);
    expect(md).toContain('significant when p < 0.05');
    expect(md).toMatch(/\| [0-9.e<-]+ \| 1\.\d\d ± 0\.\d\d× slower \|/);
    // Strings from configs: a pipe would end the cell, markup would be passed through as HTML.
    const a = loadResultSet(fx('C'));
    const marked = {
      ...a,
      rows: a.rows.map((r) => ({ ...r, config: { ...r.config, 'backend.name': 'x|<b>y</b> & z &amp;' } })),
    };
    const text = renderComparison(compareSets(marked, loadResultSet(fx('A'))), 'markdown');
    expect(text).toContain('x\\|\\<b>y\\</b> & z \\&amp;');
    expect(text).not.toMatch(/[^\\]<b>/);
  });

  it('table and markdown name the statistic and give hyperfine-style speed figures', () => {
    const table = renderComparison(cmp, 'table');
    expect(table).toContain('the unit of evidence is the repetition');
    expect(table).toContain("within-run 95% bootstrap interval (2000 resamples of each repetition's calls, seed 1)");
    expect(table).toMatch(/1\.\d\d× faster \(noise floor\)/);
    expect(table).toContain('Unmatched (4)');
    expect(table).toContain('Verdict notes:');
    const tested = renderComparison(
      compareSets(loadResultSet(fx('reps-base')), loadResultSet(fx('reps-slower')), MACHINES),
      'table',
    );
    expect(tested).toContain("Welch's t-test on the log repetition figures");
    expect(tested).toMatch(/1\.\d\d ± 0\.\d\d× slower/);
    expect(tested).toMatch(/\b5\/5\b/);
    const md = renderComparison(cmp, 'markdown');
    expect(md).toMatch(/^# bench compare/);
    expect(md).toMatch(/\n\| backend\.num_threads \| sequence_length \| A median ms \|/);
    expect(md).toMatch(/\|---\|---\|---:\|/);
  });

  it('csv has one line per matched and unmatched row; json round-trips', () => {
    const rows = parse(renderComparison(cmp, 'csv', { threshold: 0.05 }), { columns: true }) as Record<
      string,
      string
    >[];
    expect(rows.map((r) => r.match)).toEqual([
      'matched',
      'matched',
      'matched',
      'matched',
      'only_a',
      'only_a',
      'only_b',
      'only_b',
    ]);
    expect(rows[0]).toMatchObject({
      'config.backend.num_threads': '1',
      'config.sequence_length': '32',
      verdict: 'faster',
      basis: 'noise-floor',
      regression: 'false',
      a_repetitions: '1',
    });
    const json = JSON.parse(renderComparison(cmp, 'json', { threshold: 0.05 })) as {
      matched: unknown[];
      unmatched: unknown[];
      regressions: unknown[];
      statistic: string[];
      noise_floor: number;
    };
    expect(json.matched).toHaveLength(4);
    expect(json.unmatched).toHaveLength(4);
    expect(json.regressions).toEqual([]);
    expect(json.noise_floor).toBe(0.1);
    expect(json.statistic[0]).toMatch(/^the unit of evidence is the repetition/);
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
    const slower = bench([
      'compare',
      '--ignore',
      'backend.gflops_per_thread',
      fx('reps-base'),
      fx('reps-slower'),
      '--fail-on-regression',
      '5%',
    ]);
    expect(slower.code).toBe(1);
    expect(slower.stderr).toMatch(/2 regressions past 5%/);
    expect(slower.stdout).toContain('(regression)');
    const faster = bench([
      'compare',
      fx('reps-slower'),
      fx('reps-base'),
      '--ignore',
      'backend.gflops_per_thread',
      '--fail-on-regression',
      '5%',
      '--format',
      'json',
    ]);
    expect(faster.code).toBe(0);
    expect((JSON.parse(faster.stdout) as { regressions: unknown[] }).regressions).toEqual([]);
    const missing = bench(['compare', fx('A'), join(FIXTURES, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope: no such file or directory/);
    expect(bench(['compare', fx('A'), fx('B'), '--format', 'xml']).stderr).toMatch(/invalid choice 'xml'/);
  });

  it('an A/A pair passes the gate; one run each fails it only past the threshold plus the noise floor', () => {
    const same = bench(['compare', fx('reps-base'), fx('reps-same'), '--fail-on-regression', '5%']);
    expect(same.code).toBe(0);
    expect(same.stderr).toMatch(
      /no regression past 5%: no row is significantly slower by more than 5% \(with repetitions\), nor slower by more than 5% \+ the 10% noise floor \(without\)/,
    );
    // C vs E: about 3% slower, one repetition each: within noise, so no regression even at 1%.
    const under = bench([
      'compare',
      fx('C'),
      fx('E'),
      '--ignore',
      'backend.gflops_per_thread',
      '--fail-on-regression',
      '1%',
    ]);
    expect(under.code).toBe(0);
    expect(under.stdout).toContain('within noise');
    // Passing is not clearing: a row slower than the threshold within the noise floor is noted.
    expect(under.stderr).toMatch(
      /note: \(all\): 1\.0\d× slower, within the noise floor: measure with repetitions for a verdict/,
    );
    // B vs A: about 1.2x slower, beyond 5% + the 10% floor.
    const over = bench([
      'compare',
      fx('B'),
      fx('A'),
      '--ignore',
      'backend.gflops_per_thread',
      '--fail-on-regression',
      '5%',
    ]);
    expect(over.code).toBe(1);
    expect(over.stdout).toContain('slower (noise floor, regression)');
    const floor = bench([
      'compare',
      fx('B'),
      fx('A'),
      '--ignore',
      'backend.gflops_per_thread',
      '--fail-on-regression',
      '5%',
      '--noise-floor',
      '20%',
    ]);
    expect(floor.code).toBe(0);
  });

  it('--fail-on-regression exits 3 when nothing regressed but a row rests on disturbed data only', () => {
    const r = bench(['compare', fx('reps-base'), fx('reps-disturbed'), '--fail-on-regression', '5%']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/no regression past 5%, but 2 rows are inconclusive \(disturbed measurements only\)/);
    expect(bench(['compare', fx('reps-base'), fx('reps-disturbed')]).code).toBe(0);
  });

  it('--fail-on-regression works on summary CSVs too (their repetition rows)', () => {
    const r = bench([
      'compare',
      join(fx('reps-base'), 'summary.csv'),
      join(fx('reps-slower'), 'summary.csv'),
      '--ignore',
      'backend.gflops_per_thread',
      '--fail-on-regression',
      '5%',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/2 regressions past 5%/);
  });

  it('thresholds are percentages: a bare number below 1 is refused as ambiguous, a noise floor above 100% too', () => {
    expect(parseThreshold('0.05')).toBeNull();
    expect(parseThreshold('0.05%')).toBeCloseTo(0.0005, 12);
    expect(parseThreshold('0')).toBe(0);
    const r = bench(['compare', fx('A'), fx('B'), '--fail-on-regression', '0.05']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('a bare number below 1 is ambiguous: write 5% or 0.05%');
    expect(bench(['compare', fx('A'), fx('B'), '--noise-floor', '150%']).stderr).toMatch(
      /--noise-floor: expected a percentage from 0% to 100%/,
    );
  });

  it('json: every row with the repetition figures behind it and, with a threshold, whether it fails it', () => {
    const r = bench([
      'compare',
      fx('reps-base'),
      fx('reps-slower'),
      '--ignore',
      'backend.gflops_per_thread',
      '--fail-on-regression',
      '5%',
      '--format',
      'json',
    ]);
    const json = JSON.parse(r.stdout) as {
      matched: { regression: boolean; a: { figures: { repetition: number; used: boolean }[] } }[];
    };
    expect(json.matched.every((m) => m.regression)).toBe(true);
    expect(json.matched[0]!.a.figures.map((f) => f.repetition)).toEqual([1, 2, 3, 4, 5]);
    expect(json.matched[0]!.a.figures.every((f) => f.used)).toBe(true);
  });

  it('--help describes the flags and the statistic; bad values of the new flags are refused', () => {
    const r = bench(['compare', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--fail-on-regression');
    expect(r.stdout).toContain('--noise-floor');
    expect(r.stdout).toContain("Welch's t-test on the log figures");
    const bad = bench(['compare', fx('A'), fx('B'), '--adjust', 'bonferroni']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--adjust: invalid choice 'bonferroni' \(choose from holm, bh, none\)/);
    expect(bench(['compare', fx('A'), fx('B'), '--noise-floor', 'lots']).stderr).toMatch(
      /--noise-floor: expected a percentage/,
    );
  });
});
