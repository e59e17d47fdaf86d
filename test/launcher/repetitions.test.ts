/**
 * Repetitions: each a fresh measurement (new child processes) of the same config, written as it
 * ends, interleaved across the jobs of a sweep, resumable, and summarized across.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { runFactor } from '../../src/backends/mock/index.js';
import type { RunResult } from '../../src/results/types.js';
import { RESULTS_CSV_COLUMNS, SUMMARY_CSV_COLUMNS } from '../../src/results/write.js';
import { geometricMean } from '../../src/stats/repetitions.js';
import { bench, benchStart, onlyEntry, waitFor } from '../helpers.js';

// 2 ms calls whose repetitions differ by a seeded factor (CV 5%), as real runs do.
const FAST = [
  'backend=mock',
  'model=bert-tiny',
  'benchmark_duration=0.15',
  'warmup_runs=1',
  'backend.latency_ms=2',
  'backend.run_cv=0.05',
];
const read = (dir: string): RunResult => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResult;
const csv = (file: string): Record<string, string>[] =>
  parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
const header = (file: string): string[] => readFileSync(file, 'utf8').split('\n')[0]!.split(',');

describe('a run of several repetitions', () => {
  it('measures each in new processes, keeps every one, and gives the figures across them with intervals', () => {
    const r = bench([...FAST, 'repetitions=3', 'benchmark_duration=0.3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/bench: repetition 1\/3 · p50 2\.\d+ ms/);
    expect(r.stdout).toMatch(/bench: repetition 3\/3 · /);
    expect(r.stdout).toMatch(/across {4}p50 2\.\d+ (\[2\.\d+, 2\.\d+\] )?ms/);
    const dir = onlyEntry(onlyEntry(join(r.cwd, 'outputs')));
    const res = read(dir);
    expect(res.status).toBe('ok');
    expect(res.repetitions!.map((x) => [x.repetition, x.status])).toEqual([
      [1, 'ok'],
      [2, 'ok'],
      [3, 'ok'],
    ]);
    // Fresh processes: every repetition's child is another process.
    expect(new Set(res.repetitions!.flatMap((x) => x.process_ids)).size).toBe(3);
    expect(res.instances.map((i) => i.repetition)).toEqual([1, 2, 3]);
    // The run's figures are the geometric means of the repetitions' (those not disturbed: a busy
    // test machine may disturb one), with a t-interval.
    const p50s = res.repetitions!.map((x) => x.aggregate!.latency_p50_ms);
    expect(new Set(p50s).size).toBe(3);
    const clean = res.repetitions!.filter((x) => !x.disturbed).map((x) => x.repetition);
    const used = clean.length > 0 ? clean : [1, 2, 3];
    expect(res.aggregate!.latency_p50_ms).toBeCloseTo(geometricMean(used.map((k) => p50s[k - 1]!)), 9);
    const s = res.repetition_summary!;
    expect(s).toMatchObject({ planned: 3, completed: 3, used, disturbed_only: clean.length === 0 });
    if (used.length > 1) {
      expect(s.latency_p50_ms.lo!).toBeLessThan(s.latency_p50_ms.centre!);
      expect(s.latency_p50_ms.hi!).toBeGreaterThan(s.latency_p50_ms.centre!);
    }
    // results.csv: instance and aggregate rows of each repetition, then the summary row.
    const rows = csv(join(dir, 'results.csv'));
    expect(rows.map((x) => `${x.row}:${x.repetition}`)).toEqual([
      'instance:1',
      'aggregate:1',
      'instance:2',
      'aggregate:2',
      'instance:3',
      'aggregate:3',
      'summary:all',
    ]);
    const summary = rows.at(-1)!;
    expect(Number(summary.repetitions)).toBe(used.length);
    // Every figure of the summary row is across the repetitions alike: p95 too (not the max of them).
    const p95s = rows
      .filter((x) => x.row === 'aggregate' && used.includes(Number(x.repetition)))
      .map((x) => Number(x.latency_p95_ms));
    expect(Number(summary.latency_p95_ms)).toBeCloseTo(geometricMean(p95s), 3);
    if (used.length > 1) expect(Number(summary.latency_p50_lo_ms)).toBeLessThan(Number(summary.latency_p50_ms));
    expect(Number(summary.latency_p50_ms)).toBeCloseTo(res.aggregate!.latency_p50_ms, 3);
  });

  it('launcher=inline runs them in the bench process, and says that they are not fresh processes', () => {
    const r = bench([...FAST, 'repetitions=2', 'launcher=inline']);
    expect(r.code, r.stderr).toBe(0);
    const res = read(onlyEntry(onlyEntry(join(r.cwd, 'outputs'))));
    expect(new Set(res.repetitions!.flatMap((x) => x.process_ids)).size).toBe(1);
    expect(res.warnings.join('\n')).toContain(
      'launcher=inline: the repetitions ran in the bench process, one after the other, not in fresh processes',
    );
  });

  it('keeps the columns of a run of one, which keeps its rows as before repetitions', () => {
    const one = bench([...FAST]);
    expect(one.code, one.stderr).toBe(0);
    const three = bench([...FAST, 'repetitions=3']);
    const oneFile = join(onlyEntry(onlyEntry(join(one.cwd, 'outputs'))), 'results.csv');
    const threeFile = join(onlyEntry(onlyEntry(join(three.cwd, 'outputs'))), 'results.csv');
    expect(header(oneFile).slice(0, RESULTS_CSV_COLUMNS.length)).toEqual([...RESULTS_CSV_COLUMNS]);
    expect(header(threeFile)).toEqual(header(oneFile));
    expect(csv(oneFile).map((x) => x.row)).toEqual(['instance', 'aggregate']);
    expect(one.stdout).not.toContain('repetition');
  });

  it('a failed repetition stops the job: what finished is kept, the error names the repetition and the way to finish it', () => {
    const r = bench([...FAST, 'repetitions=3', 'launcher.fault={instance:0,kind:exit,phase:measure}']);
    expect(r.code).toBe(1);
    const res = read(onlyEntry(onlyEntry(join(r.cwd, 'outputs'))));
    expect(res.status).toBe('errored');
    expect(res.repetitions!.map((x) => x.status)).toEqual(['errored']);
    expect(res.error).toMatch(/^repetition 1 of 3: instance 0: /);
    expect(res.error).toContain('the 2 repetitions after it did not run: bench --resume runs them');
  });

  it('Ctrl-C between repetitions: the ones measured stay on disk, the run is interrupted', async () => {
    const run = benchStart([...FAST, 'benchmark_duration=0.3', 'repetitions=20']);
    let dir = '';
    await waitFor(
      () => {
        try {
          dir = onlyEntry(onlyEntry(join(run.cwd, 'outputs')));
          const res = read(dir);
          return res.status === 'incomplete' && (res.repetitions?.length ?? 0) >= 1;
        } catch {
          return false;
        }
      },
      30_000,
      'a first repetition on disk',
    );
    // Written between repetitions: incomplete, with what is left to do.
    expect(read(dir).error).toMatch(/of 20 repetitions measured so far/);
    run.child.kill('SIGINT');
    const done = await run.done;
    expect(done.code).toBe(130);
    const res = read(dir);
    expect(res.status).toBe('interrupted');
    expect(res.repetitions!.filter((x) => x.status === 'ok').length).toBeGreaterThanOrEqual(1);
    expect(res.repetitions!.length).toBeLessThan(20);
  });
});

describe('a sweep of several repetitions', () => {
  it('interleaves them: every job 1st, then every job 2nd; summary.csv has a row per repetition and per job', () => {
    const r = bench(['-m', ...FAST, 'repetitions=2', 'sequence_length=32,64']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('launching 2 jobs x 2 repetitions (interleaved');
    expect(r.stdout).toMatch(/\[1\/2\] repetition 1\/2 sequence_length=32 · /);
    const sweep = onlyEntry(onlyEntry(join(r.cwd, 'multirun')));
    const started = [0, 1].flatMap((job) =>
      read(join(sweep, String(job))).repetitions!.map((x) => ({
        job,
        rep: x.repetition,
        at: Date.parse(x.started_at),
      })),
    );
    expect(started.sort((a, b) => a.at - b.at).map((x) => `${x.job}.${x.rep}`)).toEqual(['0.1', '1.1', '0.2', '1.2']);
    const file = join(sweep, 'summary.csv');
    expect(header(file).slice(0, SUMMARY_CSV_COLUMNS.length)).toEqual([...SUMMARY_CSV_COLUMNS]);
    const rows = csv(file);
    expect(rows.map((x) => `${x.job}:${x.row}:${x.repetition}`)).toEqual([
      '0:repetition:1',
      '0:repetition:2',
      '0:job:',
      '1:repetition:1',
      '1:repetition:2',
      '1:job:',
    ]);
    const job = rows.find((x) => x.row === 'job')!;
    expect(Number(job.repetitions)).toBe(2);
    expect(Number(job.latency_p50_lo_ms)).toBeLessThan(Number(job.latency_p50_hi_ms));
    // summary.json has the same rows.
    expect((JSON.parse(readFileSync(join(sweep, 'summary.json'), 'utf8')) as unknown[]).length).toBe(6);
  });

  it('--resume runs only the repetitions that are not ok, keeping the others and the jobs that were done', () => {
    const r = bench(['-m', ...FAST, 'repetitions=2', 'sequence_length=32,64']);
    expect(r.code, r.stderr).toBe(0);
    const sweep = onlyEntry(onlyEntry(join(r.cwd, 'multirun')));
    // Job 0's second repetition failed (as a crash would leave it).
    const file0 = join(sweep, '0', 'results.json');
    const before = read(join(sweep, '0'));
    const broken: RunResult = {
      ...before,
      status: 'errored',
      error: 'repetition 2 of 2: instance 0: exited',
      repetitions: before.repetitions!.map((x) =>
        x.repetition === 2 ? { ...x, status: 'errored', error: 'instance 0: exited' } : x,
      ),
      instances: before.instances.filter((i) => i.repetition !== 2),
    };
    writeFileSync(file0, JSON.stringify(broken));
    const summary = JSON.parse(readFileSync(join(sweep, 'summary.json'), 'utf8')) as { job: number; status: string }[];
    writeFileSync(
      join(sweep, 'summary.json'),
      JSON.stringify(summary.map((x) => (x.job === 0 ? { ...x, status: 'errored' } : x))),
    );
    const job1 = statSync(join(sweep, '1', 'results.json')).mtimeMs;
    const resumed = bench(['--resume', sweep], { cwd: r.cwd });
    expect(resumed.code, resumed.stderr).toBe(0);
    const after = read(join(sweep, '0'));
    expect(after.status).toBe('ok');
    expect(after.repetitions!.map((x) => x.status)).toEqual(['ok', 'ok']);
    expect(after.repetitions![0]!.started_at).toBe(before.repetitions![0]!.started_at);
    expect(Date.parse(after.repetitions![1]!.started_at)).toBeGreaterThan(
      Date.parse(before.repetitions![1]!.started_at),
    );
    expect(after.instances.map((i) => i.repetition)).toEqual([1, 2]);
    expect(statSync(join(sweep, '1', 'results.json')).mtimeMs).toBe(job1);
    expect(resumed.stdout).toContain('(kept from the earlier run)');
  });
});

describe("the mock's run-to-run factor", () => {
  it('is 1 without run_cv, the same for every instance of a repetition, and varies between repetitions with about the CV asked', () => {
    expect(runFactor(0, 42, 3)).toBe(1);
    expect(runFactor(0.05, 42, 3)).toBe(runFactor(0.05, 42, 3));
    const factors = Array.from({ length: 400 }, (_, k) => runFactor(0.05, 42, k + 1));
    const m = factors.reduce((s, x) => s + x, 0) / factors.length;
    const sd = Math.sqrt(factors.reduce((s, x) => s + (x - m) ** 2, 0) / (factors.length - 1));
    expect(m).toBeGreaterThan(0.99);
    expect(m).toBeLessThan(1.01);
    expect(sd).toBeGreaterThan(0.04);
    expect(sd).toBeLessThan(0.06);
  });
});
