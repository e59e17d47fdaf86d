/**
 * The dispatch scenario end to end through the built CLI on this 2-core machine: the
 * smart-dispatch preset with bert-tiny on ONNX Runtime, the open-loop rate with the mock backend,
 * a closed loop, and refusals that happen before anything runs.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DispatchReport } from '../../src/scenarios/dispatch.js';
import { bench } from '../helpers.js';

const CACHE = mkdtempSync(join(tmpdir(), 'bench-cache-'));
const ENV = { BENCH_CACHE_DIR: CACHE };

interface Result {
  status: string;
  instances: { index: number; cpus: number[] | null; threads: number; iterations: number }[];
  plan: { instances: { cpus: number[] }[] };
  dispatch: DispatchReport;
}

function runDir(cwd: string): string {
  const day = join(cwd, 'outputs', readdirSync(join(cwd, 'outputs'))[0]!);
  return join(day, readdirSync(day)[0]!);
}

const result = (dir: string): Result => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Result;

describe('bench +experiment=smart-dispatch', () => {
  it('runs with bert-tiny on ONNX Runtime and shows dispatched vs homogeneous side by side', () => {
    const started = Date.now();
    const r = bench(['+experiment=smart-dispatch', 'model=bert-tiny', 'benchmark_duration=1'], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.stdout).toMatch(/dispatch: \d+ requests, open loop, Poisson 4\.0\/s/);
    expect(r.stdout).toMatch(/class\s+metric\s+dispatched\s+homogeneous\s+gain/);
    expect(r.stdout).toMatch(/dispatched\s+small <=32: 1 x 1 core; large >32: 1 x 1 core/);
    expect(r.stdout).toMatch(/homogeneous\s+2 x 1 core, length-blind/);
    for (const row of ['latency p50 ms', 'latency p99 ms', 'queueing p99 ms', 'throughput req/s']) expect(r.stdout).toContain(row);
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
    expect(Object.keys(d.gain!)).toEqual(['latency_p50', 'latency_p90', 'latency_p99', 'throughput', 'per_class']);
    // The instance rows are the dispatched setup's, pinned where the plan said.
    expect(res.instances.map((i) => [i.cpus, i.threads])).toEqual(d.pools.map((p) => [p.cpus[0], 1]));
    const csv = readFileSync(join(dir, 'dispatch.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^setup,class,length_range,requests,tokens,latency_mean_ms,latency_p50_ms/);
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
      ['+experiment=smart-dispatch', 'model=bert-tiny', 'backend=mock', 'backend.latency_ms=2', 'benchmark_duration=3', `scenario.arrival.rate_per_s=${rate}`, 'warmup_runs=1'],
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
  });

  it('runs a closed loop of a fixed number of requests', () => {
    const r = bench(
      ['scenario=dispatch', 'model=bert-tiny', 'backend=mock', 'backend.latency_ms=1', 'scenario.arrival.mode=closed', 'scenario.arrival.clients=3', 'scenario.requests=60', 'warmup_runs=1'],
      { env: ENV },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('closed loop, 3 clients');
    const d = result(runDir(r.cwd)).dispatch;
    expect(d.dispatched.overall.requests).toBe(60);
    expect(d.baseline!.overall.requests).toBe(60);
    expect(d.workload).toMatchObject({ mode: 'closed', clients: 3, offered_rate_per_s: null });
  });

  it('stops a setup that falls too far behind, naming the rate, and keeps the error in results.json', () => {
    const r = bench(
      ['scenario=dispatch', 'model=bert-tiny', 'backend=mock', 'backend.latency_ms=50', 'benchmark_duration=1', 'scenario.arrival.rate_per_s=200', 'launcher.run_timeout_s=2', 'warmup_runs=1'],
      { env: ENV },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the pools did not finish the workload within launcher\.run_timeout_s=2: \d+ requests completed, \d+ still outstanding .* lower scenario\.arrival\.rate_per_s/);
    const res = result(runDir(r.cwd)) as Result & { error: string };
    expect(res.status).toBe('errored');
    expect(res.error).toContain('launcher.run_timeout_s=2');
  });

  it('refuses, before any directory exists, pools this machine cannot hold and lengths no pool takes', () => {
    const big = bench(['+experiment=smart-dispatch', 'model=bert-tiny', 'backend=mock', 'scenario.pools=[{name:small,max_length:32,instances:2,cores_per_instance:1000},{name:large,max_length:null,instances:1,cores_per_instance:1}]'], { env: ENV });
    expect(big.code).toBe(1);
    expect(big.stderr).toMatch(/scenario\.pools: small 2 x 1000, large 1 x 1 need 2001 physical cores but \d+ physical cores are usable/);
    expect(existsSync(join(big.cwd, 'outputs'))).toBe(false);

    const file = join(mkdtempSync(join(tmpdir(), 'bench-lengths-')), 'lengths.txt');
    writeFileSync(file, '16\n64\n200\n');
    const uncovered = bench(
      ['scenario=dispatch', 'model=bert-tiny', 'backend=mock', 'scenario.lengths.distribution=file', `scenario.lengths.file=${file}`, 'scenario.pools=[{name:small,max_length:32,instances:1,cores_per_instance:1},{name:mid,max_length:128,instances:1,cores_per_instance:1}]'],
      { env: ENV },
    );
    expect(uncovered.code).toBe(1);
    expect(uncovered.stderr).toContain('scenario.pools: requests of 200 tokens');
    expect(existsSync(join(uncovered.cwd, 'outputs'))).toBe(false);
  });
});
