/**
 * The practical fp32 GEMM ceiling of this machine for a thread count: a 1024 x 1024 x 1024 MatMul
 * (2.1 GFLOP per call, its result summed to one number) run through the same ONNX Runtime for about a second. Cached per CPU model,
 * core count and thread count under the bench cache, so it is measured once per machine.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Rng } from '../models/rng.js';
import { writeFileAtomic } from '../results/atomic.js';
import { interference, isDisturbed, sampleCpus } from '../stats/interference.js';

const N = 1024;

export interface PeakMeasurement {
  readonly threads: number;
  readonly gflops: number;
  readonly measured_at: string;
  readonly cached: boolean;
  /** Other processes ran meanwhile: the figure is a lower bound and was not cached. */
  readonly disturbed: boolean;
}

/** Built only when the probe runs (a cache miss): most runs never load the ONNX encoder. */
async function matmulModel(): Promise<Uint8Array> {
  const { attr, GraphBuilder } = await import('../models/onnx-builder.js');
  const g = new GraphBuilder('gemm_peak');
  g.addInput('a', 'float32', [N, N]);
  g.addInitializer('b', new Rng(1).fillNormal(new Float32Array(N * N), 0, 0.02), [N, N]);
  g.addNode('MatMul', ['a', 'b'], { name: 'matmul', outputs: ['c'] });
  // Reduced to one number: copying a fresh 4 MB output into JavaScript on every call would
  // measure page faults, not arithmetic (first touches of new memory are slow on some VMs).
  g.addNode('ReduceSum', ['c'], { name: 'sum', outputs: ['s'], attributes: { keepdims: attr.int(0) } });
  g.addOutput('s', 'float32', []);
  return g.serialize(13);
}

/** A property of the machine, not of a model: kept in the user's cache even when BENCH_CACHE_DIR moves the models. */
function peakDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CACHE_HOME ?? join(os.homedir(), '.cache'), 'bench', 'peak');
}

function cacheFile(threads: number, env: NodeJS.ProcessEnv): string {
  const machine = createHash('sha256').update(`${os.cpus()[0]?.model ?? ''}|${os.cpus().length}|${os.totalmem()}`).digest('hex').slice(0, 12);
  return join(peakDir(env), `gemm-${machine}-t${threads}.json`);
}

export async function gemmPeak(threads: number, env: NodeJS.ProcessEnv = process.env): Promise<PeakMeasurement> {
  const file = cacheFile(threads, env);
  if (existsSync(file)) return { ...(JSON.parse(readFileSync(file, 'utf8')) as PeakMeasurement), cached: true };
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(await matmulModel(), {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const feeds = { a: new ort.Tensor('float32', new Rng(2).fillNormal(new Float32Array(N * N), 0, 1), [N, N]) };
  for (let i = 0; i < 3; i++) await session.run(feeds);
  // Best of several short rounds: the ceiling, not the average under whatever else runs.
  const cpus = Array.from({ length: os.availableParallelism() }, (_, k) => k);
  const before = sampleCpus(cpus);
  const t = performance.now();
  let best = 0;
  for (let round = 0; round < 5; round++) {
    let calls = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 200) {
      await session.run(feeds);
      calls++;
    }
    best = Math.max(best, (calls * 2 * N ** 3) / ((performance.now() - t0) / 1e3) / 1e9);
  }
  const after = sampleCpus(cpus);
  await session.release();
  // A ceiling measured while other processes ran is too low: use it for this run, never cache it.
  const disturbed = before !== null && after !== null && isDisturbed(interference(cpus, before, after, performance.now() - t));
  const measurement = { threads, gflops: best, measured_at: new Date().toISOString(), cached: false, disturbed };
  if (!disturbed) {
    mkdirSync(peakDir(env), { recursive: true });
    writeFileAtomic(file, `${JSON.stringify(measurement)}\n`);
  }
  return measurement;
}
