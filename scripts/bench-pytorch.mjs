#!/usr/bin/env node
// PyTorch through bench against a bare PyTorch loop, and the study's runtime table.
//
// 1. Overhead: `bench backend=pytorch` (a pinned Node child running the Python runtime) against a
//    bare loop (scripts/bare-torch.py: the same module, weights, inputs' shape and thread settings,
//    pinned to the same CPUs with the same tool), alternated ABBA in every round, so that a drift of
//    the machine weighs on both alike. Reported: per round, the ratio of bench's mean latency to the
//    bare loop's, and of their throughputs; the spread of the ratios is the noise the claim must
//    clear.
// 2. Runtime table: ORT fp32, ORT int8, PyTorch eager, TorchScript (and PyTorch int8), each run once
//    per round in a rotated order, the medians over rounds.
// Prints both tables and writes outputs/bench-pytorch.json.
//   npm run bench:pytorch   (BENCH_PT_MODEL=bert-base-cased BENCH_PT_SECONDS=8 BENCH_PT_ROUNDS=4 by default)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(root, 'bin', 'bench.js');
const MODEL = process.env.BENCH_PT_MODEL ?? 'bert-base-cased';
const SECONDS = Number(process.env.BENCH_PT_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_PT_ROUNDS ?? 4);
const THREADS = 2;
const WARMUP = 5;
const CPUS = '0-1';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

function runBench(args) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-pt-'));
  execFileSync(process.execPath, [BIN, ...args, `hydra.run.dir=${dir}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  return JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
}

const common = [
  `model=${MODEL}`,
  'batch_size=1',
  'sequence_length=128',
  `backend.num_threads=${THREADS}`,
  `warmup_runs=${WARMUP}`,
  `launcher.cpu_list=[${CPUS.replace('-', ',')}]`,
];

// Prepare: the synthesized graph, its exported weights and the int8 graph, and the interpreter.
const first = runBench([...common, 'backend=pytorch', 'benchmark_duration=1']);
const python = first.environment.runtime.python;
const weights = first.backend.model.file;
const arch = first.config.model;
runBench([...common, 'model.dtype=int8', 'benchmark_duration=1']);
const loadBefore = loadavg();
process.stderr.write(`prepared: ${weights} for ${python}\n`);

/** The bare loop, pinned as bench pins (numactl where it works, else taskset). */
function runBare() {
  const pin = (() => {
    try {
      execFileSync('numactl', ['-C', CPUS, '-m', '0', 'true'], { stdio: 'ignore' });
      return ['numactl', '-C', CPUS, '-m', '0'];
    } catch {
      return ['taskset', '-c', CPUS];
    }
  })();
  const n = String(THREADS);
  const out = execFileSync(
    pin[0],
    [
      ...pin.slice(1),
      python,
      join(root, 'scripts', 'bare-torch.py'),
      weights,
      JSON.stringify(arch),
      n,
      String(SECONDS),
      String(WARMUP),
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: n, MKL_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return JSON.parse(out.trim().split('\n').at(-1));
}

function runTorchBench() {
  const r = runBench([...common, 'backend=pytorch', `benchmark_duration=${SECONDS}`]);
  const i = r.instances[0];
  return { mean_ms: i.latency.mean_ms, p50_ms: i.latency.p50_ms, throughput: i.throughput_samples_per_s };
}

// 1. Overhead, ABBA.
const overhead = [];
for (let round = 0; round < ROUNDS; round++) {
  const a1 = runTorchBench();
  const b1 = runBare();
  const b2 = runBare();
  const a2 = runTorchBench();
  const benchMean = (a1.mean_ms + a2.mean_ms) / 2;
  const bareMean = (b1.mean_ms + b2.mean_ms) / 2;
  const row = {
    round: round + 1,
    bench_mean_ms: benchMean,
    bare_mean_ms: bareMean,
    latency_ratio: benchMean / bareMean,
    throughput_ratio: (a1.throughput + a2.throughput) / (b1.throughput + b2.throughput),
  };
  overhead.push(row);
  process.stderr.write(
    `round ${row.round}: bench ${benchMean.toFixed(2)} ms, bare ${bareMean.toFixed(2)} ms, ratio ${row.latency_ratio.toFixed(3)}\n`,
  );
}

// 2. The runtime table, in a rotated order each round.
const setups = {
  'ONNX Runtime fp32': ['backend=onnxruntime'],
  'ONNX Runtime int8': ['backend=onnxruntime', 'model.dtype=int8'],
  'PyTorch eager': ['backend=pytorch'],
  'PyTorch TorchScript': ['backend=pytorch', 'backend.mode=torchscript'],
  'PyTorch eager int8': ['backend=pytorch', 'model.dtype=int8'],
};
const names = Object.keys(setups);
const runs = Object.fromEntries(names.map((n) => [n, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < names.length; k++) {
    const name = names[(k + round) % names.length];
    const r = runBench([...common, ...setups[name], `benchmark_duration=${SECONDS}`]);
    runs[name].push(r.instances[0].latency.mean_ms);
  }
}
const loadAfter = loadavg();

const ratios = overhead.map((r) => r.latency_ratio);
const tputRatios = overhead.map((r) => r.throughput_ratio);
const lines = [
  `PyTorch through bench vs a bare loop: ${MODEL} 1x128, ${THREADS} threads, CPUs ${CPUS}, ${SECONDS} s windows, ${ROUNDS} ABBA rounds`,
  '| round | bench mean ms | bare mean ms | latency ratio | throughput ratio |',
  '|---:|---:|---:|---:|---:|',
  ...overhead.map(
    (r) =>
      `| ${r.round} | ${r.bench_mean_ms.toFixed(2)} | ${r.bare_mean_ms.toFixed(2)} | ${r.latency_ratio.toFixed(3)} | ${r.throughput_ratio.toFixed(3)} |`,
  ),
  `latency ratio: median ${median(ratios).toFixed(3)}, range ${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)}; ` +
    `throughput ratio: median ${median(tputRatios).toFixed(3)}`,
  '',
  `Runtimes: ${MODEL} 1x128, ${THREADS} threads, mean latency per round (ms), ${ROUNDS} rounds in rotated order`,
  '| runtime | median ms | rounds | vs ORT fp32 |',
  '|---|---:|---|---:|',
  ...names.map(
    (n) =>
      `| ${n} | ${median(runs[n]).toFixed(1)} | ${runs[n].map((x) => x.toFixed(1)).join(', ')} | ${(median(runs[n]) / median(runs['ONNX Runtime fp32'])).toFixed(2)}x |`,
  ),
  '',
  `load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}`,
];
console.log(lines.join('\n'));
mkdirSync(join(root, 'outputs'), { recursive: true });
writeFileSync(
  join(root, 'outputs', 'bench-pytorch.json'),
  JSON.stringify(
    {
      model: MODEL,
      threads: THREADS,
      seconds: SECONDS,
      rounds: ROUNDS,
      python,
      environment: first.environment,
      overhead,
      runtimes: runs,
      mean_ratio: mean(ratios),
    },
    null,
    2,
  ),
);
