#!/usr/bin/env node
// bench tune against the brute force it replaces, measured in one session: the same space, run
// once as `tune.strategy=grid` (every candidate for the full duration) and once as successive
// halving, alternately when BENCH_TUNE_ROUNDS > 1. Reports how close tune's winner is to the
// brute-force best and the ratio of wall times. Where the two winners differ, they are measured
// again side by side (ABBA, BENCH_TUNE_VERIFY_ROUNDS x 2 full-length runs): consecutive runs of one
// setup differ by up to ~10% on a shared VM, more than most gaps between good setups, so one run
// of each is no verdict. Writes outputs/bench-tune.json.
//   npm run bench:tune                     (bert-base-cased, batch 8 x 128, latency)
//   BENCH_TUNE_ARGS="batch_size=1 tune.objective=throughput" npm run bench:tune
// Targets (issue 10): winner within 5% of the brute-force best, in at most half the time.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(root, 'bin', 'bench.js');
const ROUNDS = Number(process.env.BENCH_TUNE_ROUNDS ?? 1);
const PROBLEM = (
  process.env.BENCH_TUNE_ARGS ?? 'model=bert-base-cased batch_size=8 sequence_length=128 tune.objective=latency'
)
  .split(/\s+/)
  .filter(Boolean);
const DURATION = Number(process.env.BENCH_TUNE_SECONDS ?? 10);
const VERIFY_ROUNDS = Number(process.env.BENCH_TUNE_VERIFY_ROUNDS ?? 2);
const log = (msg) => process.stderr.write(`${msg}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** One ordinary bench run of a candidate (its overrides) at full length; returns its objective score. */
function measure(overrides, objective) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-tune-verify-'));
  const args = PROBLEM.filter((a) => !a.startsWith('tune.'));
  execFileSync(
    process.execPath,
    [BIN, ...args, ...overrides, `benchmark_duration=${DURATION}`, `hydra.run.dir=${dir}`],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const a = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')).aggregate;
  return objective === 'latency' ? a.latency_mean_ms : a.throughput_samples_per_s;
}

function tune(strategy) {
  const cwd = mkdtempSync(join(tmpdir(), `bench-tune-${strategy}-`));
  const started = Date.now();
  execFileSync(
    process.execPath,
    [BIN, 'tune', ...PROBLEM, `benchmark_duration=${DURATION}`, `tune.strategy=${strategy}`],
    { cwd, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const wallS = (Date.now() - started) / 1000;
  const day = join(cwd, 'multirun', readdirSync(join(cwd, 'multirun'))[0]);
  const dir = join(day, readdirSync(day)[0]);
  return { wallS, json: JSON.parse(readFileSync(join(dir, 'tune.json'), 'utf8')), dir };
}

const rounds = [];
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? ['grid', 'halving'] : ['halving', 'grid'];
  const got = {};
  for (const strategy of order) {
    log(`round ${round + 1}/${ROUNDS}: ${strategy}`);
    got[strategy] = tune(strategy);
  }
  const { grid, halving } = got;
  const objective = grid.json.tune.objective;
  const better = (a, b) => (objective === 'latency' ? b / a - 1 : a / b - 1);
  const best = grid.json.ranking[0];
  const picked = grid.json.ranking.find((r) => r.label === halving.json.winner.label);
  // Same winner: no shortfall. Different winners: measure both again, alternately, at full length.
  const verify = { tune: [], brute_force: [] };
  if (picked.label !== best.label) {
    for (let v = 0; v < VERIFY_ROUNDS; v++) {
      for (const who of v % 2 === 0 ? ['tune', 'brute_force'] : ['brute_force', 'tune']) {
        const row = who === 'tune' ? picked : best;
        verify[who].push(measure(row.overrides, objective));
        log(`verify ${v + 1}/${VERIFY_ROUNDS} ${who}: ${row.label}: ${verify[who].at(-1).toFixed(2)}`);
      }
    }
  }
  const shortfall = picked.label === best.label ? 0 : -better(median(verify.tune), median(verify.brute_force));
  rounds.push({
    round: round + 1,
    objective,
    candidates: grid.json.space.candidates.length,
    brute_force: {
      winner: best.label,
      score: best.score,
      wall_s: grid.wallS,
      runs: grid.json.trials.length,
      dir: grid.dir,
    },
    tune: {
      winner: halving.json.winner.label,
      score_own: halving.json.ranking[0].score,
      score_in_brute_force: picked.score,
      wall_s: halving.wallS,
      runs: halving.json.trials.length,
      rungs: halving.json.rungs.map((r) => ({ duration_s: r.duration_s, candidates: r.candidates.length })),
      dir: halving.dir,
    },
    verify,
    shortfall_vs_best: shortfall,
    time_ratio: halving.wallS / grid.wallS,
    pass: shortfall <= 0.05 && halving.wallS / grid.wallS <= 0.5,
  });
}

const unit = rounds[0].objective === 'latency' ? 'ms' : 'seq/s';
const lines = [
  `bench tune vs brute force: ${PROBLEM.join(' ')}, ${DURATION} s per full run, ${rounds[0].candidates} candidates`,
  'round  brute force best (score, wall)  |  tune winner (its score in the brute force, wall)  |  shortfall (side by side)  time ratio  pass',
  ...rounds.map(
    (r) =>
      `${String(r.round).padEnd(5)}  ${r.brute_force.winner} (${r.brute_force.score.toFixed(2)} ${unit}, ${r.brute_force.wall_s.toFixed(0)} s)  |  ` +
      `${r.tune.winner} (${r.tune.score_in_brute_force.toFixed(2)} ${unit}, ${r.tune.wall_s.toFixed(0)} s)  |  ` +
      `${(r.shortfall_vs_best * 100).toFixed(1)}%  ${r.time_ratio.toFixed(2)}  ${r.pass ? 'pass' : 'MISS'}`,
  ),
  'targets: shortfall <= 5%, time ratio <= 0.5',
];
process.stdout.write(`${lines.join('\n')}\n`);
mkdirSync(join(root, 'outputs'), { recursive: true });
writeFileSync(
  join(root, 'outputs', 'bench-tune.json'),
  `${JSON.stringify({ problem: PROBLEM, duration_s: DURATION, rounds }, null, 1)}\n`,
);
