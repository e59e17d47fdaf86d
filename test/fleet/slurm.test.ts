/**
 * A sweep submitted to a real (single-host) Slurm as an array job: every job's results arrive
 * exactly once, each with its machine and shard; --resume submits only the shards still needed.
 * Skipped, saying why, where Slurm cannot start (test/fleet/slurm-cluster.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bench, freshDir } from '../helpers.js';
import type { Row } from './rows.js';
import { startCluster } from './slurm-cluster.js';

const cluster = startCluster();
const why = 'skip' in cluster ? cluster.skip : null;
if (why) console.warn(`Slurm tests skipped: ${why}`);
afterAll(() => {
  if (!('skip' in cluster)) cluster.stop();
});

const SWEEP = [
  '-m',
  'backend=mock',
  'model=bert-tiny',
  'benchmark_duration=0.2',
  'warmup_runs=1',
  'scenario.min_iterations=3',
  'batch_size=1,2,4',
  'hydra/launcher=slurm',
  'hydra.launcher.tasks=2',
  'hydra.launcher.time_min=5',
];

describe('--dry-run (no Slurm needed)', () => {
  it('prints the sbatch command and the task script, and makes nothing', () => {
    const cwd = freshDir();
    const r = bench([...SWEEP, 'hydra.launcher.partition=short', `hydra.sweep.dir=${join(cwd, 'sweep')}`, '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('# 3 jobs in 2 shards into');
    expect(r.stdout).toMatch(
      /^sbatch --parsable --job-name=bench --array=0,1 --output=\S+%A_%a\.out --partition=short --time=5 --exclusive/m,
    );
    expect(r.stdout).toContain('--resume');
    expect(r.stdout).toContain('--shard "${SLURM_ARRAY_TASK_ID}/2"');
    expect(existsSync(join(cwd, 'sweep'))).toBe(false);
  });
});

describe.skipIf(why !== null)('a Slurm array job', () => {
  it('runs every job exactly once, records machine and shard; --resume submits only the shards still needed', () => {
    const env = 'skip' in cluster ? {} : cluster.env;
    const cwd = freshDir();
    const dir = join(cwd, 'sweep');
    const r = bench([...SWEEP, `hydra.sweep.dir=${dir}`, '--wait', '--format', 'json'], { cwd, env });
    expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
    expect(r.stderr).toMatch(/bench: submitted Slurm job \d+: 2 array tasks \(shards of 2\) for 3 jobs/);
    const doc = JSON.parse(r.stdout) as {
      jobs: number;
      ok: number;
      duplicates: unknown[];
      missing: unknown[];
      summary: Row[];
    };
    expect(doc).toMatchObject({ jobs: 3, ok: 3, duplicates: [], missing: [] });
    const rows = doc.summary.filter((x) => x.row === 'job');
    expect(rows.map((x) => [x.job, x.shard, x.status])).toEqual([
      [0, '0/2', 'ok'],
      [1, '1/2', 'ok'],
      [2, '0/2', 'ok'],
    ]);
    expect(rows.every((x) => x.hostname === hostname())).toBe(true);
    // Each task's output is kept beside the results.
    const submission = JSON.parse(readFileSync(join(dir, 'slurm', 'submission.json'), 'utf8')) as {
      job_id: string;
      shards: number[];
    };
    expect(submission.shards).toEqual([0, 1]);
    expect(existsSync(join(dir, 'slurm', `${submission.job_id}_0.out`))).toBe(true);

    // Job 1 (shard 1) lost: --resume submits shard 1 only, and the sweep is whole again; not while
    // an earlier submission of the sweep is still in the queue.
    const queued = bench([...SWEEP, `hydra.sweep.dir=${join(cwd, 'busy')}`, 'benchmark_duration=2'], { cwd, env });
    expect(queued.code, queued.stderr).toBe(0);
    const early = bench(['--resume', join(cwd, 'busy')], { cwd, env });
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/still has \d tasks? in the queue .*scancel \d+/);
    // Cancelled, so that nothing of it outlives the test.
    const busyId = /submitted Slurm job (\d+)/.exec(queued.stdout)![1]!;
    spawnSync('scancel', [busyId], { env: { ...process.env, ...env } });
    for (let i = 0; i < 40; i++) {
      const q = spawnSync('squeue', ['-h', '-j', busyId], { env: { ...process.env, ...env }, encoding: 'utf8' });
      if (q.stdout.trim() === '') break;
      spawnSync('sleep', ['0.5']);
    }
    rmSync(join(dir, '1'), { recursive: true });
    const again = bench(['--resume', dir, '--wait'], { cwd, env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/submitted Slurm job \d+: 1 array task \(shards of 2\)/);
    expect(again.stdout).toContain('3 of 3 jobs ok');
    const second = JSON.parse(readFileSync(join(dir, 'slurm', 'submission.json'), 'utf8')) as { shards: number[] };
    expect(second.shards).toEqual([1]);
  });

  it('a list of constraints runs the same sweep on each machine type; compare --by machine and report read them together', async () => {
    const env = 'skip' in cluster ? {} : cluster.env;
    const cwd = freshDir();
    const dir = join(cwd, 'fleet');
    const r = bench([...SWEEP, 'hydra.launcher.constraint=[typea,typeb]', `hydra.sweep.dir=${dir}`, '--wait'], {
      cwd,
      env,
    });
    expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
    expect(r.stdout.match(/submitted Slurm job \d+: 2 array tasks/g)).toHaveLength(2);
    expect(r.stdout.match(/3 of 3 jobs ok/g)).toHaveLength(2);
    for (const type of ['typea', 'typeb']) {
      const sbatch = (
        JSON.parse(readFileSync(join(dir, type, 'slurm', 'submission.json'), 'utf8')) as { sbatch: string[] }
      ).sbatch;
      expect(sbatch).toContain(`--constraint=${type}`);
    }
    // Both types ran on this one node: make typeb's results look like another CPU, as a real fleet's would.
    for (const job of ['0', '1', '2']) {
      const file = join(dir, 'typeb', job, 'results.json');
      const result = JSON.parse(readFileSync(file, 'utf8')) as { environment: Record<string, unknown> };
      result.environment.cpu_model = 'Other CPU';
      writeFileSync(file, JSON.stringify(result));
    }
    const cmp = bench(['compare', dir, '--by', 'machine', '--format', 'json'], { cwd });
    expect(cmp.code, cmp.stderr).toBe(0);
    expect(cmp.stderr).toContain('(A) vs Other CPU (B)');
    expect((JSON.parse(cmp.stdout) as { matched: unknown[] }).matched).toHaveLength(3);
    const { writeReport } = await import('../../src/report/report.js');
    const report = await writeReport(dir, { out: join(cwd, 'report.html') });
    expect(new Set(report.model.rows.map((x) => x.row.config.machine))).toEqual(
      new Set([
        'Other CPU',
        (
          JSON.parse(readFileSync(join(dir, 'typea', '0', 'results.json'), 'utf8')) as {
            environment: { cpu_model: string };
          }
        ).environment.cpu_model,
      ]),
    );
  });
});
