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
}

function runPreset(name: string): { rows: SummaryRow[]; sweep: string; stdout: string } {
  const cwd = mkdtempSync(join(tmpdir(), 'bench-exp-'));
  const r = spawnSync(process.execPath, [BIN, `+experiment=${name}`, 'model=bert-tiny', 'benchmark_duration=1', 'warmup_runs=2'], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, BENCH_CACHE_DIR: CACHE },
  });
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
      [1, 32], [1, 128], [1, 512], [2, 32], [2, 128], [2, 512],
    ]);
  });

  it('multi-instance: 1 and 2 instances (the divisors of 2 cores), batch 1 each', () => {
    const { rows } = runPreset('multi-instance');
    expect(rows.map((r) => [r.instances, r.batch_size])).toEqual([[1, 1], [1, 1], [1, 1], [2, 2], [2, 2], [2, 2]]);
  });

  it('batch-size-scaling: a batch of 8 as 1 x 8 and 2 x 4, with a best-setup table', () => {
    const { rows, sweep, stdout } = runPreset('batch-size-scaling');
    expect(rows.map((r) => [r.instances, r.batch_size])).toEqual([[1, 8], [2, 8]]);
    const best = JSON.parse(readFileSync(join(sweep, 'best_setups.json'), 'utf8')) as { batch_size: number; sequence_length: number; candidates: number }[];
    expect(best).toHaveLength(1);
    expect(best[0]).toMatchObject({ batch_size: 8, sequence_length: 128, candidates: 2 });
    expect(stdout).toContain('best setups');
    expect(readFileSync(join(sweep, 'best_setups.csv'), 'utf8')).toContain('lowest_latency');
  });
});
