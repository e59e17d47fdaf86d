/**
 * The dispatch scenario end to end through the built CLI on this 2-core machine: the
 * smart-dispatch preset with bert-tiny on ONNX Runtime, the open-loop rate with the mock backend,
 * a closed loop, and refusals that happen before anything runs.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { currentAffinity } from '../../src/topology/detect.js';
import { forwardFlops } from '../../src/models/arch.js';
import { writeReport } from '../../src/report/report.js';
import type { DispatchReport } from '../../src/scenarios/dispatch/index.js';
import type { Efficiency } from '../../src/stats/efficiency.js';
import type { Interference } from '../../src/stats/interference.js';
import { bench, benchStart } from '../helpers.js';

const CACHE = mkdtempSync(join(tmpdir(), 'bench-cache-'));
const ENV = { BENCH_CACHE_DIR: CACHE };

interface Result {
  status: string;
  config: { model: Parameters<typeof forwardFlops>[0] };
  instances: {
    index: number;
    cpus: number[] | null;
    threads: number;
    iterations: number;
    interference?: Interference | null;
  }[];
  plan: { instances: { cpus: number[] }[] };
  dispatch: DispatchReport;
  efficiency: Efficiency;
  warnings: string[];
}

function runDir(cwd: string): string {
  const day = join(cwd, 'outputs', readdirSync(join(cwd, 'outputs'))[0]!);
  return join(day, readdirSync(day)[0]!);
}

const result = (dir: string): Result => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Result;

describe('bench +experiment=smart-dispatch', () => {
  it('runs with launcher=inline: the workers of the pools in the bench process, the same report, and the run says so', () => {
    const r = bench(
      [
        '+experiment=smart-dispatch',
        'model=bert-tiny',
        'backend=mock',
        'launcher=inline',
        'benchmark_duration=1',
        'scenario.arrival.rate_per_s=50',
        'scenario.min_requests_per_class=0',
      ],
      { env: ENV },
    );
    expect(r.code, r.stderr).toBe(0);
    const res = result(runDir(r.cwd));
    expect(res.status).toBe('ok');
    expect(res.dispatch.dispatched.overall.requests).toBe(50);
    expect(res.dispatch.baseline!.overall.requests).toBe(50);
    // Every worker ran in the bench process: one pid for all.
    expect(new Set((res as unknown as { process_ids: number[] }).process_ids).size).toBe(1);
    expect(res.warnings.join('\n')).toContain('launcher=inline: the instances run in the bench process, unpinned');
    expect(r.stdout).toContain('dispatched');
  });

  it.each([
    ['{instance:1,kind:garbage,phase:report}', 'instance 1: sent a message that is not part of the protocol'],
    ['{instance:0,kind:crash,phase:measure}', 'instance 0: exited on signal SIGKILL while serving'],
  ])('takes launcher.fault=%s like a latency run: the run errors, exit 1, results.json kept', (fault, message) => {
    const r = bench(
      [
        '+experiment=smart-dispatch',
        'model=bert-tiny',
        'backend=mock',
        'benchmark_duration=1',
        'scenario.arrival.rate_per_s=20',
        'scenario.min_requests_per_class=0',
        `launcher.fault=${fault}`,
      ],
      { env: ENV },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(result(runDir(r.cwd)).status).toBe('errored');
  });

  it('runs with bert-tiny on ONNX Runtime and shows dispatched vs homogeneous side by side', () => {
    const started = Date.now();
    // Four requests (no sizing for the classes, to keep it short): too few for any percentile.
    const r = bench(
      ['+experiment=smart-dispatch', 'model=bert-tiny', 'benchmark_duration=1', 'scenario.min_requests_per_class=0'],
      { env: ENV },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.stdout).toMatch(/dispatch: \d+ requests, open loop, Poisson 4\.0\/s/);
    expect(r.stdout).toMatch(/class\s+metric\s+dispatched\s+homogeneous\s+gain/);
    expect(r.stdout).toMatch(/dispatched\s+small <=32: 1 x 1 core; large >32: 1 x 1 core/);
    expect(r.stdout).toMatch(/homogeneous\s+2 x 1 core, length-blind/);
    for (const row of ['latency p50 ms', 'latency p99 ms', 'queueing p99 ms', 'throughput req/s'])
      expect(r.stdout).toContain(row);
    // 4 requests support no percentile (p50 needs 6): every latency figure and its gain is n/a, and the run says why.
    expect(r.stdout).toMatch(/latency p50 ms\s+n\/a\s+n\/a\n/);
    expect(r.stdout).toMatch(/throughput req\/s\s+[\d.]+\s+[\d.]+\s+[\d.]+x \[[\d.]+, [\d.]+\]/);
    expect(r.stdout).toContain(
      'n/a: too few requests in the class for a 95% interval of that percentile (p50 needs 6, p90 36, p99 368)',
    );
    expect(r.stdout).toMatch(
      /warning {3}too few requests for p50 \(all, .*\), p90 \(all, .*\), p99 \(all, .*\): a 95% interval needs 6 for p50, 36 for p90, 368 for p99 per class/,
    );
    const dir = runDir(r.cwd);
    const res = result(dir);
    expect(res.status).toBe('ok');
    const d = res.dispatch;
    expect(d.workload).toMatchObject({ mode: 'open', offered_rate_per_s: 4, requests: 4 });
    expect(d.pools.map((p) => [p.name, p.range, p.cpus.map((c) => c.length)])).toEqual([
      ['small', '<=32', [1]],
      ['large', '>32', [1]],
    ]);
    expect(d.pools[0]!.cpus[0]).not.toEqual(d.pools[1]!.cpus[0]);
    expect(d.dispatched.overall.requests).toBe(4);
    expect(d.baseline!.overall.requests).toBe(4);
    // The same workload in both setups: same lengths, same arrival times.
    expect(d.baseline!.requests.length).toEqual(d.dispatched.requests.length);
    expect(d.baseline!.requests.arrival_ms).toEqual(d.dispatched.requests.arrival_ms);
    expect(Object.keys(d.gain!)).toEqual([
      'latency_p50',
      'latency_p90',
      'latency_p99',
      'throughput',
      'per_class',
      'intervals',
    ]);
    // The figures stay in results.json, marked; their gains' intervals are null (withheld).
    expect(d.dispatched.overall.latency.unsupported_percentiles).toEqual(['p50', 'p90', 'p95', 'p99', 'p999']);
    expect(Number.isFinite(d.dispatched.overall.latency.p50_ms)).toBe(true);
    expect(d.gain!.intervals).toMatchObject({ latency_p50: null, latency_p90: null, latency_p99: null });
    expect(d.gain!.intervals!.throughput!.lo).toBeLessThanOrEqual(d.gain!.throughput);
    // The instance rows are the dispatched setup's, pinned where the plan said.
    expect(res.instances.map((i) => [i.cpus, i.threads])).toEqual(d.pools.map((p) => [p.cpus[0], 1]));
    const csv = readFileSync(join(dir, 'dispatch.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^setup,class,length_range,requests,tokens,latency_mean_ms,latency_p50_ms/);
    expect(csv[0]).toMatch(
      /,gain_latency_p50,gain_latency_p50_lo,gain_latency_p50_hi,.*,gain_throughput,gain_throughput_lo,gain_throughput_hi,repetition$/,
    );
    // Withheld percentiles are empty cells.
    expect(csv[1]!.split(',').slice(6, 9)).toEqual(['', '', '']);
    expect(csv.slice(1).map((line) => line.split(',').slice(0, 2).join(','))).toEqual([
      'dispatched,all',
      'dispatched,small',
      'dispatched,large',
      'homogeneous,all',
      'homogeneous,small',
      'homogeneous,large',
    ]);
  });

  it('holds the open-loop target rate within 2% over a run (mock backend)', () => {
    const rate = 200;
    const r = bench(
      [
        '+experiment=smart-dispatch',
        'model=bert-tiny',
        'backend=mock',
        'backend.latency_ms=2',
        'benchmark_duration=3',
        `scenario.arrival.rate_per_s=${rate}`,
        'warmup_runs=1',
      ],
      { env: ENV },
    );
    expect(r.code, r.stderr).toBe(0);
    const d = result(runDir(r.cwd)).dispatch;
    for (const s of [d.dispatched, d.baseline!]) {
      expect(s.overall.requests).toBe(600);
      expect(Math.abs(s.achieved_arrival_rate_per_s / rate - 1)).toBeLessThan(0.02);
      // Independently, from the moments the arrivals were actually taken in.
      const released = s.requests.released_ms;
      const measured = (released.length - 1) / ((released.at(-1)! - released[0]!) / 1000);
      expect(Math.abs(measured / rate - 1)).toBeLessThan(0.02);
      expect(s.overall.service.mean_ms).toBeGreaterThan(1.8);
      // The mock sleeps 2 ms a call; a loaded machine (the suite runs files in parallel) overshoots
      // timers by a fraction of a millisecond, so the bound leaves room for that, not for queueing.
      expect(s.overall.service.mean_ms).toBeLessThan(4);
      // Latency covers queueing and service.
      expect(s.overall.latency.p50_ms).toBeGreaterThanOrEqual(s.overall.service.p50_ms);
      expect(s.overall.throughput_requests_per_s / rate).toBeGreaterThan(0.95);
    }
    expect(r.stdout).toContain('backend mock');
    // 600 requests support p99 over all of them (368 needed) but not in either class (about 360 and 240).
    const g = d.gain!.intervals!;
    expect(g.latency_p99).not.toBeNull();
    expect(g.per_class.small!.latency_p99).toBeNull();
    expect(g.per_class.large!.latency_p90).not.toBeNull();
    expect(r.stdout).toMatch(/all \(600\)\s+latency p50 ms(\s+[\d.]+){2}\s+[\d.]+x \[[\d.]+, [\d.]+\]/);
    // Compute: the FLOPs of the lengths actually fed, not of sequence_length (128).
    const res = result(runDir(r.cwd));
    const q = d.dispatched.requests;
    const flops = q.length.reduce((sum, len) => sum + forwardFlops(res.config.model, 1, len), 0);
    expect(res.efficiency.achieved_gflops / (flops / d.dispatched.window_s / 1e9)).toBeCloseTo(1, 6);
    expect(res.efficiency.flops_per_forward / (flops / q.length.length)).toBeCloseTo(1, 6);
    expect(Math.abs(res.efficiency.flops_per_forward / forwardFlops(res.config.model, 1, 128) - 1)).toBeGreaterThan(
      0.1,
    );
  });

  it('sizes an open loop so that every length class has the requests p90 needs (scenario.min_requests_per_class)', () => {
    // 100/s for 0.2 s would be 20 requests; the default asks for 36 in each class.
    const r = bench(
      [
        '+experiment=smart-dispatch',
        'model=bert-tiny',
        'backend=mock',
        'backend.latency_ms=1',
        'benchmark_duration=0.2',
        'scenario.arrival.rate_per_s=100',
        'warmup_runs=1',
      ],
      { env: ENV },
    );
    expect(r.code, r.stderr).toBe(0);
    const d = result(runDir(r.cwd)).dispatch;
    expect(d.workload.requests).toBeGreaterThan(20);
    expect(Math.min(...Object.values(d.dispatched.per_class).map((c) => c.requests))).toBe(36);
    expect(d.workload.arrival_window_s).toBeCloseTo(d.workload.requests / 100, 6);
    // p90 is backed in every class and printed with its gain; p99 is not, and the warning says what it would take.
    for (const c of Object.values(d.gain!.intervals!.per_class)) expect(c.latency_p90).not.toBeNull();
    expect(r.stdout).toMatch(/latency p90 ms(\s+[\d.]+){2}\s+[\d.]+x \[/);
    expect(r.stdout).toMatch(/latency p99 ms\s+n\/a\s+n\/a\n/);
    expect(r.stdout).toMatch(
      /too few requests for p99 \(all, small, large\).*for them run longer \(p99: benchmark_duration=\d+ or scenario\.requests=\d+\)/,
    );
  });

  it('flags a dispatch run whose CPUs other processes used, as a latency run is flagged', async () => {
    // A busy loop pinned to every CPU bench may use, for the length of the run.
    const cpus = currentAffinity() ?? [0];
    const loops = cpus.map((cpu) =>
      spawn('taskset', ['-c', String(cpu), process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' }),
    );
    try {
      const run = benchStart(
        [
          '+experiment=smart-dispatch',
          'model=bert-tiny',
          'backend=mock',
          'backend.latency_ms=2',
          'benchmark_duration=1',
          'scenario.arrival.rate_per_s=50',
          'scenario.min_requests_per_class=0',
          'warmup_runs=1',
        ],
        { env: ENV },
      );
      const r = await run.done;
      expect(r.code, r.stderr).toBe(0);
      const res = result(runDir(r.cwd));
      for (const i of [...res.instances, ...res.dispatch.dispatched.instances, ...res.dispatch.baseline!.instances]) {
        expect(i.interference, `instance ${i.index}`).toBeTruthy();
        expect(i.interference!.others_share).toBeGreaterThan(0.05);
      }
      expect(res.warnings.join('\n')).toMatch(
        /other processes used \d+% of CPU .* while instance 0 measured: its numbers are disturbed/,
      );
      expect(res.dispatch.warnings.join('\n')).toMatch(/homogeneous setup: other processes used \d+% of CPU/);
      expect(r.stdout).toMatch(/warning {3}other processes used/);
      // And the report flags the run where it shows its figures.
      const report = await writeReport(runDir(r.cwd), {
        out: join(mkdtempSync(join(tmpdir(), 'bench-report-')), 'r.html'),
      });
      expect(readFileSync(report.markdown, 'utf8')).toMatch(
        /dispatch run: request latency .*; disturbed: other processes used its CPUs/,
      );
    } finally {
      for (const l of loops) l.kill('SIGKILL');
    }
  });

  it('runs a closed loop of a fixed number of requests', () => {
    const r = bench(
      [
        'scenario=dispatch',
        'model=bert-tiny',
        'backend=mock',
        'backend.latency_ms=1',
        'scenario.arrival.mode=closed',
        'scenario.arrival.clients=3',
        'scenario.requests=60',
        'warmup_runs=1',
      ],
      { env: ENV },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('closed loop, 3 clients');
    const d = result(runDir(r.cwd)).dispatch;
    expect(d.dispatched.overall.requests).toBe(60);
    expect(d.baseline!.overall.requests).toBe(60);
    expect(d.workload).toMatchObject({ mode: 'closed', clients: 3, offered_rate_per_s: null });
    // The default mix reaches every pool: no idle pool is reported.
    expect(d.warnings.join(' ')).not.toContain('got no request');
  });

  it('says so when a pool gets no request: its cores sat idle, and the comparison says little', () => {
    const r = bench(
      [
        'scenario=dispatch',
        'model=bert-tiny',
        'backend=mock',
        'backend.latency_ms=1',
        'scenario.lengths.mix=[[16,1]]',
        'scenario.requests=20',
        'scenario.arrival.rate_per_s=200',
        'warmup_runs=0',
      ],
      { env: ENV },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('pool large got no request');
    expect(result(runDir(r.cwd)).dispatch.warnings.join(' ')).toContain("set scenario.pools' max_length");
  });

  it('stops a setup that falls too far behind, naming the rate, and keeps the error in results.json', () => {
    const r = bench(
      [
        'scenario=dispatch',
        'model=bert-tiny',
        'backend=mock',
        'backend.latency_ms=50',
        'benchmark_duration=1',
        'scenario.arrival.rate_per_s=200',
        'launcher.run_timeout_s=2',
        'warmup_runs=1',
      ],
      { env: ENV },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /the pools did not finish the workload within launcher\.run_timeout_s=2: \d+ requests completed, \d+ still outstanding .* lower scenario\.arrival\.rate_per_s/,
    );
    const res = result(runDir(r.cwd)) as Result & { error: string };
    expect(res.status).toBe('errored');
    expect(res.error).toContain('launcher.run_timeout_s=2');
  });

  it('refuses, before any directory exists, pools this machine cannot hold and lengths no pool takes', () => {
    const big = bench(
      [
        '+experiment=smart-dispatch',
        'model=bert-tiny',
        'backend=mock',
        'scenario.pools=[{name:small,max_length:32,instances:2,cores_per_instance:1000},{name:large,max_length:null,instances:1,cores_per_instance:1}]',
      ],
      { env: ENV },
    );
    expect(big.code).toBe(1);
    expect(big.stderr).toMatch(
      /scenario\.pools: small 2 x 1000, large 1 x 1 need 2001 physical cores but \d+ physical cores are usable/,
    );
    expect(existsSync(join(big.cwd, 'outputs'))).toBe(false);

    const file = join(mkdtempSync(join(tmpdir(), 'bench-lengths-')), 'lengths.txt');
    writeFileSync(file, '16\n64\n200\n');
    const uncovered = bench(
      [
        'scenario=dispatch',
        'model=bert-tiny',
        'backend=mock',
        'scenario.lengths.distribution=file',
        `scenario.lengths.file=${file}`,
        'scenario.pools=[{name:small,max_length:32,instances:1,cores_per_instance:1},{name:mid,max_length:128,instances:1,cores_per_instance:1}]',
      ],
      { env: ENV },
    );
    expect(uncovered.code).toBe(1);
    expect(uncovered.stderr).toContain('scenario.pools: requests of 200 tokens');
    expect(existsSync(join(uncovered.cwd, 'outputs'))).toBe(false);
  });
});
