/**
 * The study's experiments as presets, run on this machine with bert-tiny and ONNX Runtime.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOverride, expandValues } from '../../src/config/grammar.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'bench.js');
const CACHE = mkdtempSync(join(tmpdir(), 'bench-cache-'));

interface SummaryRow {
  status: string;
  instances: number;
  batch_size: number;
  'config.sequence_length': number;
  'config.launcher.num_instances': number;
  'config.launcher.cores_per_instance': number | string;
  'config.launcher.binding': string;
  cores_per_instance: number | string;
  batch_per_instance: number | string;
}

function runPreset(name: string): { rows: SummaryRow[]; sweep: string; stdout: string } {
  const cwd = mkdtempSync(join(tmpdir(), 'bench-exp-'));
  const r = spawnSync(
    process.execPath,
    [BIN, `+experiment=${name}`, 'model=bert-tiny', 'benchmark_duration=1', 'warmup_runs=2'],
    {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, BENCH_CACHE_DIR: CACHE },
    },
  );
  expect(r.status, r.stderr).toBe(0);
  const day = join(cwd, 'multirun', readdirSync(join(cwd, 'multirun'))[0]!);
  const sweep = join(day, readdirSync(day)[0]!);
  const rows = JSON.parse(readFileSync(join(sweep, 'summary.json'), 'utf8')) as SummaryRow[];
  expect(rows.every((row) => row.status === 'ok')).toBe(true);
  return { rows, sweep, stdout: r.stdout };
}

describe('machine sweeps', () => {
  const values = (line: string, cores: number, batch: number | null = null): unknown[] => {
    const v = parseOverride(line).value;
    if (v?.kind !== 'sweep') throw new Error('not a sweep');
    return expandValues(v.sweep, line, undefined, { physicalCores: cores, batchSize: batch }).map((e) => e.value);
  };

  it.each<[string, number, number | null, number[]]>([
    ['x=core_counts()', 48, null, [1, 2, 4, 8, 16, 32, 48]],
    ['x=core_counts()', 2, null, [1, 2]],
    ['x=core_counts()', 1, null, [1]],
    ['x=divisors()', 48, null, [1, 2, 3, 4, 6, 8, 12, 16, 24, 48]],
    ['x=divisors(12)', 2, null, [1, 2, 3, 4, 6, 12]],
    ['x=split_counts()', 48, 8, [1, 2, 4, 8]],
    ['x=split_counts()', 2, 8, [1, 2]],
    ['x=split_counts(6)', 4, null, [1, 2, 3]],
  ])('%s on %i cores (batch %s)', (line, cores, batch, expected) => {
    expect(values(line, cores, batch)).toEqual(expected);
  });

  it('split_counts() without a batch says what it needs', () => {
    expect(() => values('x=split_counts()', 4)).toThrow('split_counts() needs a fixed batch_size');
  });
});

describe('experiment presets on this 2-core machine', () => {
  it('out-of-the-box: one unpinned instance, sequence 32/128/512', () => {
    const { rows } = runPreset('out-of-the-box');
    expect(rows.map((r) => r['config.sequence_length'])).toEqual([32, 128, 512]);
    expect(rows.every((r) => r['config.launcher.binding'] === 'none' && r.instances === 1)).toBe(true);
  });

  it('core-count-scaling: one instance on 1 and 2 cores, for each sequence length', () => {
    const { rows } = runPreset('core-count-scaling');
    expect(rows.map((r) => [r['config.launcher.cores_per_instance'], r['config.sequence_length']])).toEqual([
      [1, 32],
      [1, 128],
      [1, 512],
      [2, 32],
      [2, 128],
      [2, 512],
    ]);
  });

  it('multi-instance: 1 and 2 instances (the divisors of 2 cores), batch 1 each', () => {
    const { rows, sweep } = runPreset('multi-instance');
    expect(rows.map((r) => [r.instances, r.batch_size])).toEqual([
      [1, 1],
      [1, 1],
      [1, 1],
      [2, 2],
      [2, 2],
      [2, 2],
    ]);
    // The setup's shape is in the summary even where the planner derived it.
    expect(rows.map((r) => [r.cores_per_instance, r.batch_per_instance])).toEqual([
      [2, 1],
      [2, 1],
      [2, 1],
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
    // Best setups compare 1 x batch 1 with 2 x batch 1 for each sequence length (batch_size as configured).
    const best = JSON.parse(readFileSync(join(sweep, 'best_setups.json'), 'utf8')) as {
      model: string;
      batch_size: number;
      sequence_length: number;
      candidates: number;
    }[];
    expect(best.map((b) => [b.model, b.batch_size, b.sequence_length, b.candidates])).toEqual([
      ['bert-tiny', 1, 32, 2],
      ['bert-tiny', 1, 128, 2],
      ['bert-tiny', 1, 512, 2],
    ]);
  });

  it('batch-size-scaling: a batch of 8 as 1 x 8 and 2 x 4, with a best-setup table', () => {
    const { rows, sweep, stdout } = runPreset('batch-size-scaling');
    expect(rows.map((r) => [r.instances, r.batch_size])).toEqual([
      [1, 8],
      [2, 8],
    ]);
    const best = JSON.parse(readFileSync(join(sweep, 'best_setups.json'), 'utf8')) as {
      batch_size: number;
      sequence_length: number;
      candidates: number;
    }[];
    expect(best).toHaveLength(1);
    expect(best[0]).toMatchObject({ batch_size: 8, sequence_length: 128, candidates: 2 });
    expect(stdout).toContain('best setups');
    expect(readFileSync(join(sweep, 'best_setups.csv'), 'utf8')).toContain('lowest_latency');
  });
});

describe('bench plan previews a preset on another machine, job by job', () => {
  const STUDY = join(import.meta.dirname, '..', 'fixtures', 'topology', 'study-c5-metal-2s-48c.lscpu-p.txt');

  it('batch-size-scaling on the study machine: 8 split over 1, 2, 4 and 8 instances', () => {
    const r = spawnSync(
      process.execPath,
      [BIN, 'plan', '+experiment=batch-size-scaling', `topology.file=${STUDY}`, '--format', 'json'],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const { jobs } = JSON.parse(r.stdout) as {
      jobs: {
        overrides: string[];
        plan: { instances: { cpus: number[]; memory_nodes: number[]; batch_size: number }[] };
      }[];
    };
    expect(jobs.map((j) => j.plan.instances.map((i) => i.batch_size))).toEqual([
      [8],
      [4, 4],
      [2, 2, 2, 2],
      [1, 1, 1, 1, 1, 1, 1, 1],
    ]);
    expect(jobs[1]!.plan.instances.map((i) => [i.cpus[0], i.cpus.at(-1), i.memory_nodes])).toEqual([
      [0, 23, [0]],
      [24, 47, [1]],
    ]);
    const text = spawnSync(
      process.execPath,
      [BIN, 'plan', '+experiment=core-count-scaling', `topology.file=${STUDY}`],
      { encoding: 'utf8' },
    );
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toContain('a sweep of 21 jobs');
    expect(text.stdout).toContain(
      'launcher.cores_per_instance=48 sequence_length=512\n  [0] numactl -C 0-47 -m 0,1  threads 48  batch 1',
    );
  });

  it('machine sweeps count only the cores a run may use (launcher.nodes, offline CPUs)', () => {
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        'plan',
        '+experiment=core-count-scaling',
        `topology.file=${STUDY}`,
        'launcher.nodes=[0]',
        'sequence_length=128',
        '--format',
        'json',
      ],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const { jobs } = JSON.parse(r.stdout) as { jobs: { plan: { instances: { cpus: number[] }[] } }[] };
    expect(jobs.map((j) => j.plan.instances[0]!.cpus.length)).toEqual([1, 2, 4, 8, 16, 24]);
    const offline = join(import.meta.dirname, '..', 'fixtures', 'lscpu', 'xeon-e5-2630v4-2s-offline-cpus.lscpu.txt');
    const m = spawnSync(
      process.execPath,
      [
        BIN,
        'plan',
        '+experiment=multi-instance',
        `topology.file=${offline}`,
        'sequence_length=128',
        '--format',
        'json',
      ],
      { encoding: 'utf8' },
    );
    expect(m.status, m.stderr).toBe(0);
    expect(
      (JSON.parse(m.stdout) as { jobs: { plan: { instances: unknown[] } }[] }).jobs.map((j) => j.plan.instances.length),
    ).toEqual([1, 2, 4]);
  });

  it('a job that cannot run on that machine is named, and the exit status is 1', () => {
    const r = spawnSync(
      process.execPath,
      [BIN, 'plan', '-m', 'launcher.num_instances=48,49', `topology.file=${STUDY}`],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      '[job 1] launcher.num_instances=49\n  cannot run: launcher.num_instances=49 needs at least one physical core',
    );
  });
});
