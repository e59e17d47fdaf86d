#!/usr/bin/env node
// bench's own performance, as ratios measured side by side in one run (absolute times drift on
// shared machines; ratios taken alternately hold). Prints a table and writes JSON.
//   npm run bench:self            (BENCH_SELF_SECONDS=10 BENCH_SELF_ROUNDS=2 by default)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(root, 'bin', 'bench.js');
const SECONDS = Number(process.env.BENCH_SELF_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_SELF_ROUNDS ?? 2);
const THREADS = 2;
const WARMUP = 10;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function runBench(args) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-self-'));
  execFileSync(process.execPath, [BIN, ...args, `hydra.run.dir=${dir}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  return JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
}

function runBare(file, vocab) {
  const out = execFileSync(process.execPath, [join(root, 'scripts', 'bare-loop.mjs'), file, THREADS, 1, 128, SECONDS, WARMUP, vocab], {
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1));
}

const common = ['model=bert-base-cased', 'batch_size=1', 'sequence_length=128', `backend.num_threads=${THREADS}`, `warmup_runs=${WARMUP}`];

// Synthesize (or find) the model first, so no round pays for it.
const first = runBench([...common, 'benchmark_duration=1']);
const modelFile = first.backend.model.file;
const vocab = first.backend.model.architecture.vocab_size;

const benchMeans = [];
const bareMeans = [];
for (let round = 0; round < ROUNDS; round++) {
  // ABBA order, so a drift of the machine during the run weighs on both sides alike.
  const order = round % 2 === 0 ? ['bench', 'bare'] : ['bare', 'bench'];
  for (const who of order) {
    if (who === 'bench') benchMeans.push(runBench([...common, `benchmark_duration=${SECONDS}`]).instances[0].latency.mean_ms);
    else bareMeans.push(runBare(modelFile, vocab).mean_ms);
  }
  process.stderr.write(`round ${round + 1}/${ROUNDS}: bench ${benchMeans.at(-1).toFixed(2)} ms, bare loop ${bareMeans.at(-1).toFixed(2)} ms\n`);
}

const figures = [
  {
    figure: 'harness overhead: bench mean latency / bare loop (bert-base-cased 1x128, 2 threads)',
    bench: median(benchMeans),
    reference: median(bareMeans),
    ratio: median(benchMeans) / median(bareMeans),
    target: '<= 1.01',
    pass: median(benchMeans) / median(bareMeans) <= 1.01,
    unit: 'ms',
    samples: { bench: benchMeans, reference: bareMeans },
  },
];

const lines = [
  '| figure | bench | reference | ratio | target | pass |',
  '|---|---:|---:|---:|---|---|',
  ...figures.map((f) => `| ${f.figure} | ${f.bench.toFixed(2)} ${f.unit} | ${f.reference.toFixed(2)} ${f.unit} | ${f.ratio.toFixed(3)} | ${f.target} | ${f.pass ? 'yes' : 'NO'} |`),
];
process.stdout.write(`${lines.join('\n')}\n`);
const outDir = join(process.cwd(), 'outputs');
mkdirSync(outDir, { recursive: true });
const report = { date: new Date().toISOString(), seconds_per_run: SECONDS, rounds: ROUNDS, environment: first.environment, figures };
writeFileSync(join(outDir, 'bench-self.json'), `${JSON.stringify(report, null, 1)}\n`);
process.stdout.write(`written to ${join(outDir, 'bench-self.json')}\n`);
