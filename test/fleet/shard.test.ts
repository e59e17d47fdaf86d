/**
 * A sweep split into shards run apart (as on several machines): together they run every job once,
 * into one folder, and bench gather rebuilds the summary from it. No Slurm needed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseShard, shardJobs } from '../../src/run/gather.js';
import { bench, freshDir } from '../helpers.js';
import type { Row } from './rows.js';

const FAST = [
  'backend=mock',
  'model=bert-tiny',
  'benchmark_duration=0.1',
  'warmup_runs=1',
  'scenario.min_iterations=3',
];
const SWEEP = ['-m', ...FAST, 'batch_size=1,2,4', 'sequence_length=16,32'];
// Outside a Slurm array or an Indexed Job, whatever the machine running the tests is.
const ENV = { SLURM_ARRAY_TASK_ID: undefined, SLURM_ARRAY_TASK_COUNT: undefined, JOB_COMPLETION_INDEX: undefined };

describe('shards', () => {
  it('I/N takes every N-th job; the environment of a Slurm array task or an Indexed Job gives the index', () => {
    const jobs = Array.from({ length: 7 }, (_, num) => ({ num }));
    expect(shardJobs(jobs, { index: 1, count: 3 }).map((j) => j.num)).toEqual([1, 4]);
    expect([0, 1, 2].flatMap((i) => shardJobs(jobs, { index: i, count: 3 }).map((j) => j.num)).sort()).toEqual(
      jobs.map((j) => j.num),
    );
    expect(parseShard('2/5', {})).toEqual({ index: 2, count: 5 });
    expect(parseShard(undefined, {})).toBeNull();
    // Never from the environment alone (a sweep inside someone's own array job is not cut down).
    expect(parseShard(undefined, { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '4' })).toBeNull();
    // An array numbered from 1 counts from SLURM_ARRAY_TASK_MIN.
    expect(parseShard('/4', { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1' })).toEqual({ index: 3, count: 4 });
    expect(parseShard('/3', { JOB_COMPLETION_INDEX: '2' })).toEqual({ index: 2, count: 3 });
    for (const bad of ['3/3', '-1/2', 'a/b', '1', '/0'])
      expect(() => parseShard(bad, { JOB_COMPLETION_INDEX: '0' }), bad).toThrow('--shard');
    expect(() => parseShard('/2', {})).toThrow('neither is set');
  });

  it('two shards run apart cover every job once, in one folder; bench gather summarizes them', () => {
    const cwd = freshDir();
    const dir = join(cwd, 'shared');
    for (const shard of ['1/2', '0/2']) {
      const r = bench([...SWEEP, `hydra.sweep.dir=${dir}`, '--shard', shard], { cwd, env: ENV });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`(shard ${shard.split('/')[0]} of 2)`);
      expect(r.stdout).toMatch(/bench: 3 of 3 jobs ok/);
    }
    const g = bench(['gather', dir, '--format', 'json'], { cwd, env: ENV });
    expect(g.code, g.stderr).toBe(0);
    const doc = JSON.parse(g.stdout) as {
      jobs: number;
      ok: number;
      missing: unknown[];
      duplicates: unknown[];
      machines: { jobs: number }[];
      summary: Row[];
    };
    expect(doc).toMatchObject({ jobs: 6, ok: 6, missing: [], duplicates: [] });
    expect(doc.machines.reduce((s, m) => s + m.jobs, 0)).toBe(6);
    const rows = doc.summary.filter((r) => r.row === 'job');
    expect(rows.map((r) => r.job)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(rows.map((r) => r.shard)).toEqual(['0/2', '1/2', '0/2', '1/2', '0/2', '1/2']);
    expect(rows.every((r) => r.hostname !== '')).toBe(true);
    // summary.csv holds the same, one line per job.
    const csv = readFileSync(join(dir, 'summary.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(7);
  });

  it('a missing job is listed, gather exits 1, and --resume runs only it', () => {
    const cwd = freshDir();
    const dir = join(cwd, 'half');
    expect(bench([...SWEEP, `hydra.sweep.dir=${dir}`, '--shard', '0/3'], { cwd, env: ENV }).code).toBe(0);
    const g = bench(['gather', dir], { cwd, env: ENV });
    expect(g.code).toBe(1);
    expect(g.stdout).toContain('2 of 6 jobs ok');
    expect(g.stderr).toContain('4 jobs missing (1, 2, 4, 5)');
    const resumed = bench(['--resume', dir], { cwd, env: ENV });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout.match(/kept from the earlier run/g)).toHaveLength(2);
    expect(bench(['gather', dir], { cwd, env: ENV }).code).toBe(0);
  });

  it('two jobs with the same overrides stay two jobs across shards', () => {
    const cwd = freshDir();
    const dir = join(cwd, 'twice');
    const same = ['-m', ...FAST, 'batch_size=1,1', `hydra.sweep.dir=${dir}`];
    for (const shard of ['0/2', '1/2']) expect(bench([...same, '--shard', shard], { cwd, env: ENV }).code).toBe(0);
    const g = bench(['gather', dir, '--format', 'json'], { cwd, env: ENV });
    expect(g.code, g.stderr).toBe(0);
    expect(JSON.parse(g.stdout)).toMatchObject({ jobs: 2, ok: 2, duplicates: [], missing: [] });
  });

  it('refuses what would scatter or mix a sweep', () => {
    const cwd = freshDir();
    const dir = join(cwd, 'one');
    expect(bench([...SWEEP, `hydra.sweep.dir=${dir}`, '--shard', '0/2'], { cwd, env: ENV }).code).toBe(0);
    const other = bench([...SWEEP, 'seed=7', `hydra.sweep.dir=${dir}`, '--shard', '1/2'], { cwd, env: ENV });
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('holds another sweep');
    const timed = bench([...SWEEP, '--shard', '0/2'], { cwd, env: ENV });
    expect(timed.code).toBe(1);
    expect(timed.stderr).toContain('is named after the time');
    const single = bench([...FAST, '--shard', '0/2'], { cwd, env: ENV });
    expect(single.code).toBe(2);
    expect(single.stderr).toContain('--shard applies to a sweep: add -m');
    const sized = bench(
      [
        '-m',
        ...FAST,
        'launcher.num_instances=core_counts()',
        `hydra.sweep.dir=${join(cwd, 'sized')}`,
        '--shard',
        '0/2',
      ],
      {
        cwd,
        env: ENV,
      },
    );
    expect(sized.code).toBe(1);
    expect(sized.stderr).toContain('takes its values from the machine');
    const notSweep = bench(['gather', cwd], { cwd, env: ENV });
    expect(notSweep.code).toBe(1);
    expect(notSweep.stderr).toContain('is not a sweep folder but holds some (one');
    expect(bench(['gather', freshDir()], { env: ENV }).stderr).toContain('is not a sweep folder (no multirun.yaml)');
    const bad = bench([...SWEEP, `hydra.sweep.dir=${dir}`, '--shard', '2/2'], { cwd, env: ENV });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected I/N with 0 <= I < N');
  });
});
