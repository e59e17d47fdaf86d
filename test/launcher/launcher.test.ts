/**
 * The multi-instance launcher through the built CLI: plans, pinned children, the fallbacks and
 * the failures. Runs on this 2-core machine and on recorded topologies.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findExecutable } from '../../src/launcher/binding.js';
import { detectTopology } from '../../src/topology/detect.js';
import { numaNodes } from '../../src/topology/model.js';
import { isAlive, LIVE_CORES } from '../helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'bench.js');
const STUDY = join(import.meta.dirname, '..', 'fixtures', 'topology', 'study-c5-metal-2s-48c.lscpu-p.txt');
const CACHE = mkdtempSync(join(tmpdir(), 'bench-cache-'));
const QUICK = ['model=bert-tiny', 'benchmark_duration=0.3', 'warmup_runs=2', 'scenario.min_iterations=5'];
const HAS_NUMACTL = findExecutable('numactl') !== null;

function bench(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { code: number | null; stdout: string; stderr: string; cwd: string } {
  const cwd = mkdtempSync(join(tmpdir(), 'bench-launch-'));
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, BENCH_CACHE_DIR: CACHE, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, cwd };
}

interface PlanOut {
  binding: string;
  env: Record<string, string>;
  instances: {
    index: number;
    cpus: number[];
    memory_nodes: number[];
    threads: number;
    batch_size: number;
    command: string;
  }[];
  leftover_cpus: number[];
  warnings: string[];
}

interface Result {
  status: string;
  plan: PlanOut;
  instances: {
    index: number;
    status: string;
    cpus: number[];
    threads: number;
    batch_size: number;
    throughput_samples_per_s: number;
    window_start_epoch_ms: number;
    window_ms: number;
    latencies_ms: number[];
  }[];
  failures: { index: number; message: string; signal: string | null; exit_code: number | null; stderr_tail: string }[];
  aggregate: {
    throughput_samples_per_s: number;
    throughput_sum_of_rates_samples_per_s: number;
    batch_size: number;
    common_window_ms: number;
  } | null;
  warnings: string[];
  process_ids: number[];
}

const result = (cwd: string): Result => {
  const day = join(cwd, 'outputs', readdirSync(join(cwd, 'outputs'))[0]!);
  return JSON.parse(readFileSync(join(day, readdirSync(day)[0]!, 'results.json'), 'utf8')) as Result;
};

const plan = (args: string[]): PlanOut => {
  const r = bench(['plan', '--format', 'json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PlanOut;
};

describe('bench plan on the study machine (2 sockets x 24 cores, SMT)', () => {
  it.each<[number, [string, string][]]>([
    [1, [['0-47', '0,1']]],
    [
      2,
      [
        ['0-23', '0'],
        ['24-47', '1'],
      ],
    ],
    [
      4,
      [
        ['0-11', '0'],
        ['12-23', '0'],
        ['24-35', '1'],
        ['36-47', '1'],
      ],
    ],
  ])("%i instance(s) give exactly the study's numactl lines", (n, expected) => {
    const p = plan([`topology.file=${STUDY}`, `launcher.num_instances=${n}`]);
    expect(p.binding).toBe('numactl');
    expect(p.instances.map((i) => i.command.split(' /')[0])).toEqual(
      expected.map(([cpus, nodes]) => `numactl -C ${cpus} -m ${nodes}`),
    );
    expect(p.instances.every((i) => i.threads === 48 / n)).toBe(true);
  });

  it('splits the batch across instances and pins SMT siblings with their core', () => {
    const p = plan([
      `topology.file=${STUDY}`,
      'launcher.num_instances=4',
      'launcher.split_batch=true',
      'batch_size=8',
      'launcher.use_smt=true',
    ]);
    expect(p.instances.map((i) => i.batch_size)).toEqual([2, 2, 2, 2]);
    expect(p.instances[0]!.command).toContain('numactl -C 0-11,48-59 -m 0');
    expect(p.instances[0]!.threads).toBe(24);
  });

  it('reports leftover cores instead of dropping them silently', () => {
    const p = plan([`topology.file=${STUDY}`, 'launcher.num_instances=5']);
    expect(p.leftover_cpus).toEqual([45, 46, 47]);
    expect(p.warnings.join(' ')).toContain('45-47');
  });
});

describe('bench plan with launcher=inline', () => {
  it('shows no child command and says the instance is not pinned', () => {
    const p = plan(['model=bert-tiny', 'launcher=inline']);
    expect(p.binding).toBe('none');
    expect(p.instances[0]!.command).toBe('in the bench process (launcher=inline), not pinned');
    expect(p.warnings.join(' ')).toContain('not comparable with pinned runs');
  });
});

describe('bench topology', () => {
  it('prints this machine as text and JSON', () => {
    const text = bench(['topology']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('physical cores');
    const json = JSON.parse(bench(['topology', '--format', 'json']).stdout) as {
      summary: { cpus: number; physical_cores: number };
    };
    expect(json.summary.cpus).toBeGreaterThan(0);
    expect(json.summary.physical_cores).toBeGreaterThan(0);
    const study = JSON.parse(bench(['topology', '--format', 'json', `topology.file=${STUDY}`]).stdout) as {
      summary: Record<string, number>;
    };
    expect(study.summary).toMatchObject({
      cpus: 96,
      physical_cores: 48,
      max_threads_per_core: 2,
      sockets: 2,
      nodes: 2,
    });
  });
});

describe('pinned instances on this machine', () => {
  it('runs two children pinned to CPU 0 and CPU 1, each reporting its affinity', () => {
    const r = bench(['launcher.num_instances=2', ...QUICK]);
    expect(r.code, r.stderr).toBe(0);
    const res = result(r.cwd);
    expect(res.plan.binding).toBe(HAS_NUMACTL ? 'numactl' : 'taskset');
    expect(res.plan.env.GLIBC_TUNABLES).toContain('glibc.malloc.hugetlb=1');
    expect(res.instances.map((i) => i.cpus)).toEqual([[0], [1]]);
    expect(res.instances.map((i) => i.threads)).toEqual([1, 1]);
    const sum = res.instances.reduce((s, i) => s + i.throughput_samples_per_s, 0);
    expect(res.aggregate!.throughput_sum_of_rates_samples_per_s).toBeCloseTo(sum, 6);
    expect(res.aggregate!.common_window_ms).toBeGreaterThan(250);
  });

  it('counts throughput over the window the instances measured in together, not as the sum of their rates', () => {
    // Windows that differ on purpose: batch 3 split 1 + 2, the mock's latency following the FLOPs
    // (100 ms a call at batch 1, 200 ms at batch 2, no spread), 3 calls each: one instance measures
    // for 300 ms, the other for 600 ms, and completes only 1 of its calls in the first 300.
    const r = bench([
      'launcher.num_instances=2',
      'launcher.split_batch=true',
      'launcher.allow_uneven_split=true',
      'batch_size=3',
      'backend=mock',
      'model=bert-tiny',
      'backend.cv=0',
      `backend.gflops_per_thread=${33_554_432 / 1e8}`,
      'benchmark_duration=0.05',
      'warmup_runs=0',
      'scenario.min_iterations=3',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const res = result(r.cwd);
    const instances = res.instances;
    expect(instances.map((i) => i.batch_size).sort()).toEqual([1, 2]);
    const windows = instances.map((i) => i.window_ms).sort((a, b) => a - b);
    expect(windows[1]! / windows[0]!).toBeGreaterThan(1.8);
    // The common window, and the calls each instance completed inside it, rebuilt from the raw latencies.
    const start = Math.max(...instances.map((i) => i.window_start_epoch_ms));
    const end = Math.min(...instances.map((i) => i.window_start_epoch_ms + i.window_ms));
    const samplesInside = instances.reduce((sum, i) => {
      let t = i.window_start_epoch_ms;
      let n = 0;
      for (const l of i.latencies_ms) {
        t += l;
        if (t >= start && t <= end) n++;
      }
      return sum + n * i.batch_size;
    }, 0);
    const inWindow = samplesInside / ((end - start) / 1e3);
    expect(res.aggregate!.common_window_ms).toBeCloseTo(end - start, 6);
    expect(res.aggregate!.throughput_samples_per_s).toBeCloseTo(inWindow, 6);
    // About 5 samples in 300 ms against 10 + 10 samples/s: the two differ by ~17%.
    expect(inWindow / res.aggregate!.throughput_sum_of_rates_samples_per_s).toBeLessThan(0.9);
  });

  it('splits the batch: batch_size=4 over 2 instances gives 2 each and an aggregate batch of 4', () => {
    const r = bench(['launcher.num_instances=2', 'launcher.split_batch=true', 'batch_size=4', ...QUICK]);
    expect(r.code, r.stderr).toBe(0);
    const res = result(r.cwd);
    expect(res.instances.map((i) => i.batch_size)).toEqual([2, 2]);
    expect(res.aggregate!.batch_size).toBe(4);
  });

  it('falls back to taskset when numactl is not installed; warns where memory binding is lost (several NUMA nodes)', async () => {
    const path = mkdtempSync(join(tmpdir(), 'no-numactl-'));
    const taskset = findExecutable('taskset');
    expect(taskset).not.toBeNull();
    mkdirSync(join(path, 'bin'));
    symlinkSync(taskset!, join(path, 'bin', 'taskset'));
    const r = bench(['launcher.num_instances=2', ...QUICK], { PATH: join(path, 'bin') });
    expect(r.code, r.stderr).toBe(0);
    const res = result(r.cwd);
    expect(res.plan.binding).toBe('taskset');
    expect(res.plan.instances[0]!.command).toMatch(/^taskset -c 0 /);
    expect(res.instances.map((i) => i.cpus)).toEqual([[0], [1]]);
    // With one node, memory binding changes nothing: the fallback is recorded, not warned about.
    const several = numaNodes(await detectTopology()).length > 1;
    expect(r.stdout.includes('numactl is not installed: pinning with taskset instead')).toBe(several);
    expect(res.warnings.join(' ').includes('memory is no longer bound')).toBe(several);
  });
});

describe('impossible plans stop before anything runs', () => {
  it.each<[string[], string]>([
    [[`launcher.num_instances=${LIVE_CORES + 1}`], `the maximum is launcher.num_instances=${LIVE_CORES}`],
    [
      ['launcher.split_batch=true', 'batch_size=3', 'launcher.num_instances=2'],
      `launcher.num_instances values that split it evenly and fit on this machine: ${LIVE_CORES >= 3 ? '1, 3' : '1'}`,
    ],
    [['launcher=inline', 'launcher.num_instances=2'], 'launcher=inline runs one instance'],
    [['launcher.nodes=[7]'], 'launcher.nodes'],
    [[`topology.file=${STUDY}`, 'launcher.num_instances=2'], 'plans CPUs this machine does not have'],
    [['topology.file=/nonexistent/lscpu.txt'], '/nonexistent/lscpu.txt'],
  ])('%j', (args, message) => {
    const r = bench([...args, ...QUICK]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(() => readdirSync(join(r.cwd, 'outputs'))).toThrow();
  });
});

describe('failing children', () => {
  it.each<[string, string, boolean]>([
    ['{instance:1,kind:crash,phase:report}', 'exited on signal SIGKILL', true],
    ['{instance:1,kind:exit,phase:load}', 'exited with code 3 before it was ready', false],
    ['{instance:1,kind:hang,phase:measure}', 'timed out while measuring', true],
    ['{instance:1,kind:garbage,phase:report}', 'sent a message that is not part of the protocol', true],
  ])('launcher.fault=%s is reported; what finished is on disk; exit 1', (fault, message, otherFinished) => {
    const r = bench(['launcher.num_instances=2', `launcher.fault=${fault}`, 'launcher.run_timeout_s=4', ...QUICK]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`instance 1: ${message}`);
    const res = result(r.cwd);
    expect(res.status).toBe('errored');
    expect(res.failures[0]!.index).toBe(1);
    expect(res.instances.map((i) => i.index)).toEqual(otherFinished ? [0] : []);
    expect(res.process_ids).toHaveLength(2);
    expect(res.process_ids.filter(isAlive)).toEqual([]);
  });
});
