/**
 * bench tune end to end with the mock backend, whose latency is a known function of the setup
 * (mockMeanLatencyMs: call overhead + FLOPs at an Amdahl speed-up, slowed by contention between
 * instances): tune must find the optimum that function predicts, for latency, for throughput, and
 * for throughput under a latency budget, which moves the optimum.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mockMeanLatencyMs } from '../../src/backends/mock/index.js';
import { forwardFlops } from '../../src/models/arch.js';
import { BERT_TINY } from '../fixtures/models.js';
import { bench, benchStart, onlyEntry, waitFor } from '../helpers.js';

// Chosen so that each optimum is >= 20% ahead of the runner-up: the test runs beside other test
// files on a 2-core machine, and their load must not be able to reorder the setups.
const MOCK = { latency_ms: null, cv: 0.03, serial_fraction: 0.5, contention: 0.05, call_overhead_ms: 2 };
const PROBLEM = [
  'backend=mock',
  'model=bert-tiny',
  'batch_size=8',
  'sequence_length=32',
  'benchmark_duration=1',
  'warmup_runs=3',
];
const KNOBS = [
  'backend.serial_fraction=0.5',
  'backend.contention=0.05',
  'backend.call_overhead_ms=2',
  '+tune.space.params.backend.gflops_per_thread=[4,8]',
  'tune.min_duration_s=0.3',
];

/** The four layouts x gflops of the 2-core space, with the latency and throughput the mock will give. */
function predicted(): { label: string; latencyMs: number; throughput: number }[] {
  const layouts = [
    { label: '1 x 2 cores, batch 8', instances: 1, threads: 2, batch: 8 },
    { label: '2 x 1 core, batch 8 each', instances: 2, threads: 1, batch: 8 },
    { label: '2 x 1 core, batch 4 each', instances: 2, threads: 1, batch: 4 },
  ];
  return layouts.flatMap((l) =>
    [4, 8].map((g) => {
      const latencyMs = mockMeanLatencyMs(
        { ...MOCK, gflops_per_thread: g },
        forwardFlops(BERT_TINY, l.batch, 32),
        l.threads,
        l.instances,
      );
      return {
        label: `${l.label}, gflops_per_thread=${g}`,
        latencyMs,
        throughput: (l.instances * l.batch * 1000) / latencyMs,
      };
    }),
  );
}

interface TuneJson {
  status: string;
  rungs: { candidates: number[]; survivors: number[]; final: boolean; eliminated: { reason: string }[] }[];
  trials: { job: number; status: string; dir: string; rung: number; repetitions?: number }[];
  ranking: { label: string; latency_mean_ms: number; throughput_samples_per_s: number }[];
  winner: { label: string };
  confidence: {
    significant: boolean;
    runner_up_behind: number;
    duration_s: number;
    runner_up: string;
    basis: string;
    repetitions: number[];
  };
  trials_wall_s: number;
}

function tune(args: readonly string[]): {
  code: number | null;
  stdout: string;
  stderr: string;
  cwd: string;
  dir: string;
  json: TuneJson;
} {
  const r = bench(['tune', ...PROBLEM, ...KNOBS, ...args]);
  const dir = onlyEntry(onlyEntry(join(r.cwd, 'multirun')));
  return { ...r, dir, json: JSON.parse(readFileSync(join(dir, 'tune.json'), 'utf8')) as TuneJson };
}

describe('bench tune on the mock backend finds the known optimum', () => {
  it('latency: the batch split over 2 x 1 core at the faster speed; the slower speed is pruned early', () => {
    const expected = predicted()
      .filter((p) => !p.label.includes('batch 8 each'))
      .sort((a, b) => a.latencyMs - b.latencyMs);
    expect(expected[0]!.label).toBe('2 x 1 core, batch 4 each, gflops_per_thread=8');
    expect(expected[1]!.latencyMs / expected[0]!.latencyMs).toBeGreaterThan(1.2);
    const t = tune([]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.json.winner.label).toBe(expected[0]!.label);
    expect(t.json.status).toBe('ok');
    // 4 candidates screened; the two at 4 GFLOP/s (~1.7x slower) are pruned as far behind; the
    // runner-up (24% behind as predicted) too, unless load from other tests narrowed the gap.
    expect(t.json.rungs.map((r) => r.candidates.length)[0]).toBe(4);
    expect(t.json.rungs[0]!.eliminated.filter((e) => e.reason.includes('behind')).length).toBeGreaterThanOrEqual(2);
    expect([1, 2]).toContain(t.json.rungs[1]!.candidates.length);
    const winner = t.json.ranking[0]!;
    expect(winner.latency_mean_ms / expected[0]!.latencyMs).toBeGreaterThan(0.9);
    expect(winner.latency_mean_ms / expected[0]!.latencyMs).toBeLessThan(1.15);
    // Its confidence comes from the longest rung where it and the runner-up ran equally long: the
    // final one, whose finalists ran 3 interleaved repetitions each (a test over them), or, when
    // the runner-up was pruned, the screening rung (one run each, against the noise floor).
    const finalists = t.json.rungs[1]!.candidates.length;
    expect(t.json.confidence).toMatchObject({ significant: true, runner_up: expected[1]!.label });
    expect(t.json.confidence.duration_s).toBe(finalists === 1 ? 0.3 : 1);
    expect(t.json.confidence).toMatchObject(
      finalists === 1 ? { basis: 'noise-floor', repetitions: [1, 1] } : { basis: 'repetitions', repetitions: [3, 3] },
    );
    // Each finalist ran 3 repetitions (results.json has them all); its figures rest on those that
    // no other process disturbed, which a loaded machine may make fewer.
    for (const x of t.json.trials.filter((x) => x.rung === 1)) {
      const ran = (JSON.parse(readFileSync(join(x.dir, 'results.json'), 'utf8')) as { repetitions: unknown[] })
        .repetitions;
      expect(ran).toHaveLength(3);
      expect(x.repetitions).toBeGreaterThanOrEqual(1);
      expect(x.repetitions).toBeLessThanOrEqual(3);
    }
    expect(t.json.trials.filter((x) => x.rung === 0).every((x) => x.repetitions === 1)).toBe(true);
    // The ranking never puts screening figures beside final ones: a block per rung, each labelled.
    expect(t.stdout).toContain('rung 2 (final): ');
    expect(t.stdout).toContain(' x 1 s x 3 repetitions each, interleaved');
    expect(t.stdout).toMatch(
      /-- final rung: 1 s runs x 3 repetitions \(geometric mean\) --\n {2}1 +2 x 1 core, batch 4 each, gflops_per_thread=8/,
    );
    expect(t.stdout).toContain('-- rung 1, screening: 0.3 s runs, fewer warm-up calls --');
    expect(t.stdout).toContain(`winner: ${expected[0]!.label}`);
    expect(t.stdout).toMatch(
      /deploy: bench backend=mock .* launcher.num_instances=2 launcher.cores_per_instance=1 launcher.split_batch=true backend.gflops_per_thread=8/,
    );
    // The winner's config runs as a primary config of its own.
    const again = bench(['-cp', t.dir, '-cn', 'winner', 'benchmark_duration=0.3']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('[1]');
  });

  it('throughput: whole batches on 2 x 1 core; under a latency budget, the split batch instead', () => {
    const all = predicted();
    const best = [...all].sort((a, b) => b.throughput - a.throughput)[0]!;
    expect(best.label).toBe('2 x 1 core, batch 8 each, gflops_per_thread=8');
    expect(best.throughput / [...all].sort((a, b) => b.throughput - a.throughput)[1]!.throughput).toBeGreaterThan(1.2);
    const free = tune(['tune.objective=throughput']);
    expect(free.code, free.stderr).toBe(0);
    expect(free.json.winner.label).toBe(best.label);

    // The budget bounds the mean: the unbounded winner is well over it, the bounded one well under.
    const budgetMs = 7.5;
    expect(best.latencyMs / budgetMs).toBeGreaterThan(1.1);
    const feasible = all.filter((p) => p.latencyMs < budgetMs).sort((a, b) => b.throughput - a.throughput);
    expect(feasible[0]!.label).toBe('2 x 1 core, batch 4 each, gflops_per_thread=8');
    expect(feasible[0]!.latencyMs / budgetMs).toBeLessThan(0.8);
    expect(feasible[0]!.throughput / feasible[1]!.throughput).toBeGreaterThan(1.2);
    const bounded = tune(['tune.objective=throughput', `tune.max_latency_ms=${budgetMs}`, 'tune.latency_stat=mean']);
    expect(bounded.code, bounded.stderr).toBe(0);
    expect(bounded.json.winner.label).toBe(feasible[0]!.label);
    expect(
      bounded.json.rungs[0]!.eliminated.some(
        (e) => e.reason.includes(`mean latency`) && e.reason.includes(`over tune.max_latency_ms=${budgetMs}`),
      ),
    ).toBe(true);
  });

  it('the grid strategy measures every candidate at full length and agrees; --format json prints the outcome', () => {
    const t = tune(['tune.strategy=grid', '--format', 'json']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.json.rungs.map((r) => r.candidates.length)).toEqual([4]);
    expect(t.json.winner.label).toBe('2 x 1 core, batch 4 each, gflops_per_thread=8');
    // stdout is the one JSON document; what a person reads went to stderr.
    const printed = JSON.parse(t.stdout) as TuneJson & { kind: string };
    expect(printed.kind).toBe('tune');
    expect(printed.winner.label).toBe(t.json.winner.label);
    expect(printed.ranking).toHaveLength(4);
    expect(t.stderr).toContain('winner: 2 x 1 core, batch 4 each');
  });

  it('--resume keeps the trials that are ok and re-runs only the others', () => {
    const t = tune([]);
    expect(t.code, t.stderr).toBe(0);
    // Pretend the last trial failed: a resume must run it (and only it) again.
    const file = join(t.dir, 'tune.json');
    const json = JSON.parse(readFileSync(file, 'utf8')) as TuneJson;
    const last = json.trials.at(-1)!;
    last.status = 'errored';
    writeFileSync(file, JSON.stringify(json));
    const resumed = bench(['tune', '--resume', t.dir], { cwd: t.cwd });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout.match(/kept from the earlier run/g)).toHaveLength(json.trials.length - 1);
    const after = JSON.parse(readFileSync(file, 'utf8')) as TuneJson;
    expect(after.trials.map((x) => x.job)).toEqual(json.trials.map((x) => x.job));
    expect(after.winner.label).toBe(t.json.winner.label);
  });

  it('Ctrl-C stops the tune with what it measured on disk; --resume finishes it without measuring that again', async () => {
    const run = benchStart(['tune', ...PROBLEM, ...KNOBS]);
    await waitFor(() => run.output().includes('[2/4]'), 60_000, 'two screened candidates');
    run.child.kill('SIGINT');
    const end = await run.done;
    expect(end.code).toBe(130);
    expect(end.stderr).toContain('finish it with: bench tune --resume');
    const dir = onlyEntry(onlyEntry(join(run.cwd, 'multirun')));
    const before = JSON.parse(readFileSync(join(dir, 'tune.json'), 'utf8')) as TuneJson;
    expect(before.status).toBe('interrupted');
    const okBefore = before.trials.filter((t) => t.status === 'ok').length;
    expect(okBefore).toBeGreaterThanOrEqual(2);
    const resumed = bench(['tune', '--resume', dir], { cwd: run.cwd });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout.match(/kept from the earlier run/g)).toHaveLength(okBefore);
    const after = JSON.parse(readFileSync(join(dir, 'tune.json'), 'utf8')) as TuneJson;
    expect(after.status).toBe('ok');
    expect(after.winner.label).toBe('2 x 1 core, batch 4 each, gflops_per_thread=8');
  });

  it('bad input: a sweep, a topology file, an impossible space; each names the fix, exit 1', () => {
    const sweep = bench(['tune', ...PROBLEM, 'batch_size=1,8']);
    expect(sweep.code).toBe(1);
    expect(sweep.stderr).toContain("drop the sweep 'batch_size=1,8'");
    const other = bench(['tune', ...PROBLEM, 'topology.file=/nonexistent']);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('remove topology.file');
    const empty = bench(['tune', ...PROBLEM, 'tune.space.instances=[5]']);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('tune.space leaves no setup');
    const short = bench(['tune', ...PROBLEM, 'tune.min_duration_s=5']);
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('tune.min_duration_s=5 is above tune.max_duration_s=1');
    const badValue = bench(['tune', ...PROBLEM, '+tune.space.params.backend.cv=[-1]']);
    expect(badValue.code).toBe(1);
    expect(badValue.stderr).toContain(
      "tune.space: the candidate '1 x 2 cores, batch 8, cv=-1' is not a valid config (backend.cv=-1)",
    );
    expect(badValue.stderr).toContain('backend.cv: expected a number >= 0, got -1');
    expect(readdirSync(badValue.cwd)).toEqual([]);
    const budget = bench([
      'tune',
      ...PROBLEM,
      'tune.objective=throughput',
      'tune.max_latency_ms=0.001',
      'tune.min_duration_s=0.2',
    ]);
    expect(budget.code).toBe(1);
    expect(budget.stderr).toMatch(
      /no setup ran within tune.max_latency_ms=0.001: the lowest p99 latency was [\d.]+ ms \(.*\); raise tune.max_latency_ms/,
    );
    const typo = bench(['tune', ...PROBLEM, 'tune.objective=speed']);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('tune.objective: expected one of latency, throughput, got "speed"');
  });
});
