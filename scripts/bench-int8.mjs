#!/usr/bin/env node
// int8 (model.dtype=int8) against fp32: bert-base-cased 1x128 at 2 threads, measured alternately in
// one run (ABBA order, so a drift of the machine weighs on both alike), as a latency ratio. Also the
// accuracy of the int8 model on the benchmark's input: the min per-token cosine against fp32 of the
// outputs, and of the encoder's contribution (the output minus that of the same graph with the
// quantized weights set to zero, as test/models/quantize.test.ts checks): with random weights the
// residual stream dominates the output, so the output cosine alone is passed by the zero-weight
// graph too (printed as the control); the contribution's is not.
// Prints a table and writes outputs/bench-int8.json.
//   npm run bench:int8     (BENCH_INT8_SECONDS=10 BENCH_INT8_ROUNDS=2 by default)
//   BENCH_INT8_VARIANTS='{"per-channel":["model.quantization.per_channel=true"]}' adds int8 variants.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(root, 'bin', 'bench.js');
const { decodeModel } = await import(join(root, 'dist', 'models', 'onnx-builder.js'));
const SECONDS = Number(process.env.BENCH_INT8_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_INT8_ROUNDS ?? 2);
const THREADS = 2;
const WARMUP = 10;
const TARGET_SPEEDUP = 2;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function runBench(args) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-int8-'));
  execFileSync(process.execPath, [BIN, ...args, `hydra.run.dir=${dir}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  return JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
}

const common = [
  'model=bert-base-cased',
  'batch_size=1',
  'sequence_length=128',
  `backend.num_threads=${THREADS}`,
  `warmup_runs=${WARMUP}`,
];
const variants = { fp32: ['model.dtype=fp32'], int8: ['model.dtype=int8'] };
for (const [name, overrides] of Object.entries(JSON.parse(process.env.BENCH_INT8_VARIANTS ?? '{}'))) {
  variants[name] = ['model.dtype=int8', ...overrides];
}
const names = Object.keys(variants);
const loadBefore = loadavg();

// Prepare (synthesize, quantize) every model first, so no timed round pays for it.
const prepared = {};
for (const name of names) {
  const r = runBench([...common, ...variants[name], 'benchmark_duration=1']);
  prepared[name] = {
    file: r.backend.model.file,
    size_mb: r.backend.model.size_mb,
    quantization: r.backend.model.quantization,
    environment: r.environment,
  };
  process.stderr.write(`prepared ${name}: ${r.backend.model.file} (${r.backend.model.size_mb} MB)\n`);
}

// Accuracy on the benchmark's own kind of input: seeded token ids, full mask.
async function lastHidden(model, feeds) {
  const s = await ort.InferenceSession.create(model, {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  const out = (await s.run(feeds(s)))[s.outputNames[0]];
  await s.release();
  return out;
}
function minTokenCosine(a, b, hidden) {
  let min = 1;
  for (let t = 0; t < a.length / hidden; t++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let h = 0; h < hidden; h++) {
      const x = a[t * hidden + h];
      const y = b[t * hidden + h];
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    min = Math.min(min, dot / Math.sqrt(na * nb));
  }
  return min;
}
let seed = 42;
const ids = Array.from({ length: 128 }, () => 1000 + ((seed = (seed * 48271) % 2147483647) % 27996));
const feeds = (s) =>
  Object.fromEntries(
    s.inputNames.map((n) => [
      n,
      new ort.Tensor(
        'int64',
        BigInt64Array.from(ids, (v) => BigInt(n === 'input_ids' ? v : n === 'attention_mask' ? 1 : 0)),
        [1, 128],
      ),
    ]),
  );
/**
 * The output of an int8 file with every int8 weight of a matrix product set to 0 (biases, norms,
 * embeddings kept): what is left when the encoder's layers contribute nothing
 * (zeroWeightOutput in test/models/quantize.test.ts).
 */
async function zeroWeightOutput(int8File, feeds) {
  const model = decodeModel(readFileSync(int8File));
  const products = new Set(['DynamicQuantizeMatMul', 'MatMulInteger', 'MatMulIntegerToFloat', 'QAttention']);
  const weights = new Set(model.graph.node.filter((n) => products.has(n.opType)).flatMap((n) => n.input));
  let zeroed = 0;
  for (const t of model.graph.initializer) {
    if (t.dataType === onnxProto.onnx.TensorProto.DataType.INT8 && t.rawData?.length && weights.has(t.name)) {
      t.rawData = new Uint8Array(t.rawData.length);
      zeroed++;
    }
  }
  if (zeroed === 0) throw new Error(`${int8File}: no int8 weights of a matrix product to zero`);
  return lastHidden(onnxProto.onnx.ModelProto.encode(model).finish(), feeds);
}
const minus = (x, base) => x.map((v, i) => v - base[i]);
const reference = await lastHidden(prepared.fp32.file, feeds);
const hidden = reference.dims.at(-1);
// fp32's contribution is over the default int8 graph with its weights zeroed (the same biases, norms
// and embeddings as fp32); each int8 variant's over its own zero-weight graph.
const baseline = await zeroWeightOutput(prepared.int8.file, feeds);
const control = minTokenCosine(baseline.data, reference.data, hidden);
const cosine = {};
const contribution = {};
for (const name of names.filter((n) => n !== 'fp32')) {
  const out = await lastHidden(prepared[name].file, feeds);
  const own = name === 'int8' ? baseline : await zeroWeightOutput(prepared[name].file, feeds);
  cosine[name] = minTokenCosine(out.data, reference.data, hidden);
  contribution[name] = minTokenCosine(minus(out.data, own.data), minus(reference.data, baseline.data), hidden);
  process.stderr.write(
    `accuracy ${name}: min per-token cosine vs fp32 ${cosine[name].toFixed(6)}, of the encoder's contribution ${contribution[name].toFixed(6)}\n`,
  );
}
process.stderr.write(`control (quantized weights set to zero) vs fp32: min per-token cosine ${control.toFixed(6)}\n`);

const means = Object.fromEntries(names.map((n) => [n, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? names : [...names].reverse();
  for (const name of order) {
    means[name].push(
      runBench([...common, ...variants[name], `benchmark_duration=${SECONDS}`]).instances[0].latency.mean_ms,
    );
  }
  process.stderr.write(
    `round ${round + 1}/${ROUNDS}: ${names.map((n) => `${n} ${means[n].at(-1).toFixed(2)} ms`).join(', ')}\n`,
  );
}
const loadAfter = loadavg();

const fp32 = median(means.fp32);
const figures = names
  .filter((n) => n !== 'fp32')
  .map((n) => {
    const ms = median(means[n]);
    return {
      figure: `${n} / fp32 mean latency (bert-base-cased 1x128, ${THREADS} threads)`,
      variant: n,
      overrides: variants[n],
      fp32_ms: fp32,
      int8_ms: ms,
      ratio: ms / fp32,
      speedup: fp32 / ms,
      target: `speed-up >= ${TARGET_SPEEDUP}x (ratio <= ${1 / TARGET_SPEEDUP})`,
      pass: fp32 / ms >= TARGET_SPEEDUP,
      min_token_cosine: cosine[n],
      min_token_cosine_encoder_contribution: contribution[n],
      min_token_cosine_zero_weight_control: control,
      size_mb: { fp32: prepared.fp32.size_mb, int8: prepared[n].size_mb },
      samples: { fp32: means.fp32, int8: means[n] },
    };
  });

const lines = [
  '| variant | fp32 | int8 | int8/fp32 | speed-up | target | pass | min cosine: encoder contribution | min cosine: output | size (MB) |',
  '|---|---:|---:|---:|---:|---|---|---:|---:|---:|',
  ...figures.map(
    (f) =>
      `| ${f.variant} | ${f.fp32_ms.toFixed(2)} ms | ${f.int8_ms.toFixed(2)} ms | ${f.ratio.toFixed(3)} | ${f.speedup.toFixed(2)}x | >= ${TARGET_SPEEDUP}x | ${f.pass ? 'yes' : 'NO'} | ${f.min_token_cosine_encoder_contribution.toFixed(5)} | ${f.min_token_cosine.toFixed(5)} | ${f.size_mb.fp32} -> ${f.size_mb.int8} |`,
  ),
];
process.stdout.write(
  `${lines.join('\n')}\nzero-weight control (the int8 graph with its quantized weights set to 0) vs fp32: min output cosine ${control.toFixed(5)}\nload average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}\n`,
);
const outDir = join(process.cwd(), 'outputs');
mkdirSync(outDir, { recursive: true });
const report = {
  date: new Date().toISOString(),
  seconds_per_run: SECONDS,
  rounds: ROUNDS,
  load_average: { before: loadBefore, after: loadAfter },
  environment: prepared.fp32.environment,
  quantization: prepared.int8.quantization,
  accuracy_note:
    'min per-token cosine against fp32 on seeded token ids (1x128): of the outputs, and of the encoder contribution ' +
    '(output minus the output of the same graph with the quantized weights set to zero); the control is the zero-weight graph against fp32',
  zero_weight_control_min_token_cosine: control,
  figures,
};
writeFileSync(join(outDir, 'bench-int8.json'), `${JSON.stringify(report, null, 1)}\n`);
process.stdout.write(`written to ${join(outDir, 'bench-int8.json')}\n`);
