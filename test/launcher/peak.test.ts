/**
 * The GEMM peak behind "% of the measured fp32 GEMM peak": measured in a child started like an
 * instance (pinned to its CPUs, with the children's environment), cached under BENCH_CACHE_DIR
 * keyed by what moves it. The probe is shortened with BENCH_PEAK_PROBE_MS to keep this fast.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PeakMeasurement } from '../../src/stats/efficiency.js';
import { findExecutable } from '../../src/launcher/binding.js';
import { peakKey, type PeakPlacement } from '../../src/launcher/peak.js';
import { peakCacheFile } from '../../src/backends/onnxruntime/peak.js';
import { onnxruntimeVersion } from '../../src/util/versions.js';
import { BIN, LIVE_CORES, onlyEntry } from '../helpers.js';

const placement = (over: Partial<PeakPlacement> = {}): PeakPlacement => ({
  entry: '/bench/dist/run/child.js',
  binding: 'numactl',
  instance: { index: 0, cpus: [0, 1], memory_nodes: [0], threads: 2, batch_size: 1 },
  env: { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' },
  ...over,
});
const settings = { BENCH_CACHE_DIR: '/cache/here' };
const fileOf = (p: PeakPlacement, ort: string | null = '1.30.0'): string =>
  peakCacheFile(peakKey(p, { settings, onnxruntimeVersion: ort }), settings);

describe('the cache key of the GEMM peak', () => {
  it('is kept under BENCH_CACHE_DIR and is the same for the same placement', () => {
    expect(fileOf(placement())).toBe(fileOf(placement()));
    expect(dirname(fileOf(placement()))).toBe('/cache/here/peak');
  });

  it('changes with the ONNX Runtime version, so a new runtime measures again', () => {
    expect(fileOf(placement(), '1.31.0')).not.toBe(fileOf(placement(), '1.30.0'));
  });

  it("changes with launcher.thp (the children's GLIBC_TUNABLES), the threads, the binding and the CPUs", () => {
    const base = fileOf(placement());
    expect(fileOf(placement({ env: {} }))).not.toBe(base);
    expect(fileOf(placement({ instance: { ...placement().instance, threads: 1 } }))).not.toBe(base);
    expect(fileOf(placement({ binding: 'taskset' }))).not.toBe(base);
    expect(fileOf(placement({ instance: { ...placement().instance, cpus: [0, 2] } }))).not.toBe(base);
  });

  it('changes with the probe length (BENCH_PEAK_PROBE_MS): a short probe is not reused by a full one', () => {
    const short = { ...settings, BENCH_PEAK_PROBE_MS: '100' };
    expect(peakCacheFile(peakKey(placement(), { settings: short }), short)).not.toBe(
      peakCacheFile(peakKey(placement(), { settings }), settings),
    );
    expect(peakKey(placement(), { settings: short }).probe_ms).toBe(100);
    expect(peakKey(placement(), { settings: { BENCH_PEAK_PROBE_MS: 'soon' } }).probe_ms).toBe(1000);
  });
});

describe.runIf(LIVE_CORES >= 2)('the probe runs where an instance runs', () => {
  const cache = mkdtempSync(join(tmpdir(), 'bench-peak-cache-'));
  const QUICK = ['model=bert-tiny', 'benchmark_duration=0.2', 'warmup_runs=1', 'scenario.min_iterations=5'];
  const run = (args: string[]): PeakMeasurement[] => {
    const cwd = mkdtempSync(join(tmpdir(), 'bench-peak-'));
    const r = spawnSync(process.execPath, [BIN, ...QUICK, ...args], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, BENCH_CACHE_DIR: cache, BENCH_PEAK_PROBE_MS: '100', GLIBC_TUNABLES: '' },
    });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(
      readFileSync(join(onlyEntry(onlyEntry(join(cwd, 'outputs'))), 'results.json'), 'utf8'),
    ) as {
      efficiency: { measured_peak_gflops: number | null; peak_probes: PeakMeasurement[] };
    };
    expect(result.efficiency.measured_peak_gflops).toBe(result.efficiency.peak_probes[0]!.gflops);
    return result.efficiency.peak_probes;
  };

  it("pinned to the instance's CPU (as the child reports its affinity), with its environment; cached unless disturbed", () => {
    // CPU 1, not the parent's 0-1: only a pinned child reports [1].
    const [first, ...more] = run(['launcher.cpu_list=1']);
    expect(more).toEqual([]);
    expect(first).toMatchObject({
      threads: 1,
      binding: findExecutable('numactl') ? 'numactl' : 'taskset',
      cpus: [1],
      env: { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1', OMP_NUM_THREADS: '1' },
      onnxruntime_version: onnxruntimeVersion(),
      probe_ms: 100,
      cached: false,
      error: null,
    });
    expect(first!.gflops).toBeGreaterThan(0);
    // A probe other processes disturbed is used but not kept.
    expect(first!.cache_file === null).toBe(first!.disturbed);
    const again = run(['launcher.cpu_list=1'])[0]!;
    expect(again.cached).toBe(!first!.disturbed);
    if (again.cached) expect(again.gflops).toBe(first!.gflops);

    // launcher.thp=false: another environment, so another key; measured, not taken from the cache.
    const noThp = run(['launcher.cpu_list=1', 'launcher.thp=false'])[0]!;
    expect(noThp).toMatchObject({ cached: false, cpus: [1], env: { GLIBC_TUNABLES: '', OMP_NUM_THREADS: '1' } });
    if (!first!.disturbed && !noThp.disturbed) {
      expect(noThp.cache_file).not.toBe(first!.cache_file);
      expect(readdirSync(join(cache, 'peak'))).toHaveLength(2);
    }
    if (first!.cache_file) expect(existsSync(first!.cache_file)).toBe(true);
  });
});
