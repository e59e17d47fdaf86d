#!/usr/bin/env node
// The reference bench is measured against: one ONNX Runtime session, the same options bench uses
// by default, a plain timed loop, nothing else. Prints one JSON line.
//   node scripts/bare-loop.mjs MODEL.onnx THREADS BATCH SEQUENCE SECONDS WARMUP VOCAB
import * as ort from 'onnxruntime-node';

const [file, threads, batch, sequence, seconds, warmup, vocab] = process.argv.slice(2);
const b = Number(batch);
const s = Number(sequence);
const session = await ort.InferenceSession.create(file, {
  executionProviders: ['cpu'],
  intraOpNumThreads: Number(threads),
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});
const fill = (f) => BigInt64Array.from({ length: b * s }, (_, i) => BigInt(f(i)));
const feeds = {};
for (const name of session.inputNames) {
  const data =
    name === 'input_ids'
      ? fill(() => 1000 + Math.floor(Math.random() * (Number(vocab) - 1000)))
      : name === 'attention_mask'
        ? fill(() => 1)
        : fill(() => 0);
  feeds[name] = new ort.Tensor('int64', data, [b, s]);
}
for (let i = 0; i < Number(warmup); i++) await session.run(feeds);
const latencies = [];
const start = process.hrtime.bigint();
const limit = BigInt(Math.round(Number(seconds) * 1e9));
let end = start;
while (end - start < limit || latencies.length < 10) {
  const t0 = process.hrtime.bigint();
  await session.run(feeds);
  end = process.hrtime.bigint();
  latencies.push(Number(end - t0) / 1e6);
}
const mean = latencies.reduce((a, x) => a + x, 0) / latencies.length;
const sorted = [...latencies].sort((x, y) => x - y);
process.stdout.write(
  `${JSON.stringify({ mean_ms: mean, p50_ms: sorted[Math.floor(sorted.length / 2)], calls: latencies.length, window_s: Number(end - start) / 1e9 })}\n`,
);
