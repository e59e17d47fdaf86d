/**
 * The practical fp32 GEMM ceiling of this machine for a thread count: a 1024 x 1024 x 1024 MatMul
 * (2.1 GFLOP per call, its result summed to one number) run through the same ONNX Runtime, best of
 * five short rounds. `measureGemmPeak` is the probe itself; it runs in a child started like an
 * instance (launcher/peak.ts: the same binding, CPUs, memory nodes and environment), never in the
 * bench parent. The figure is cached under the bench cache (`<cache>/peak`), keyed by everything
 * that moves it (`PeakKey`), so that a new ONNX Runtime, another placement or `launcher.thp`
 * measures it again.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { cacheRoot } from '../../models/cache.js';
import { Rng } from '../../util/rng.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { interference, isDisturbed, sampleCpus, type Interference } from '../../stats/interference.js';
import type { PeakMeasurement } from '../../stats/efficiency.js';

const N = 1024;

/** Five rounds of 200 ms. `BENCH_PEAK_PROBE_MS` shortens it (tests); the length is part of the cache key. */
export const DEFAULT_PROBE_MS = 1000;
const ROUNDS = 5;

/** What the probe found, in the process it ran in. */
export interface GemmProbe {
  readonly gflops: number;
  /** Other processes ran on the probe's CPUs meanwhile: the figure is a lower bound and is not cached. */
  readonly disturbed: boolean;
  readonly interference: Interference | null;
}

/** Everything the ceiling depends on; a cached figure is reused only when all of it is the same. */
export interface PeakKey {
  readonly onnxruntime_version: string | null;
  readonly cpu_model: string;
  readonly online_cpus: number;
  readonly threads: number;
  /** numactl | taskset | none, and where: the CPUs and memory nodes of the instance it stands for. */
  readonly binding: string;
  readonly cpus: readonly number[];
  readonly memory_nodes: readonly number[];
  /** The variables the probe's child gets that move the figure: GLIBC_TUNABLES (launcher.thp), OMP_NUM_THREADS. */
  readonly env: Readonly<Record<string, string | null>>;
  readonly probe_ms: number;
}

/** Built only when the probe runs (a cache miss): most runs never load the ONNX encoder. */
async function matmulModel(): Promise<Uint8Array> {
  const { attr, GraphBuilder } = await import('../../models/onnx-builder.js');
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

/** Runs the probe in this process, on `cpus` (this process's affinity, for the interference check). */
export async function measureGemmPeak(
  threads: number,
  opts: { readonly probeMs: number; readonly cpus: readonly number[] },
): Promise<GemmProbe> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(await matmulModel(), {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  try {
    const feeds = { a: new ort.Tensor('float32', new Rng(2).fillNormal(new Float32Array(N * N), 0, 1), [N, N]) };
    for (let i = 0; i < 3; i++) await session.run(feeds);
    // Best of several short rounds (each at least one call): the ceiling, not the average under whatever else runs.
    const roundMs = opts.probeMs / ROUNDS;
    const before = sampleCpus(opts.cpus);
    const t = performance.now();
    let best = 0;
    for (let round = 0; round < ROUNDS; round++) {
      let calls = 0;
      const t0 = performance.now();
      do {
        await session.run(feeds);
        calls++;
      } while (performance.now() - t0 < roundMs);
      best = Math.max(best, (calls * 2 * N ** 3) / ((performance.now() - t0) / 1e3) / 1e9);
    }
    const after = sampleCpus(opts.cpus);
    const x = before !== null && after !== null ? interference(opts.cpus, before, after, performance.now() - t) : null;
    return { gflops: best, disturbed: isDisturbed(x), interference: x };
  } finally {
    await session.release();
  }
}

/** The probe length asked for by `BENCH_PEAK_PROBE_MS` (a positive number of ms), else the default. */
export function probeMs(env: NodeJS.ProcessEnv = process.env): number {
  const asked = Number(env.BENCH_PEAK_PROBE_MS);
  return env.BENCH_PEAK_PROBE_MS !== undefined && Number.isFinite(asked) && asked > 0 ? asked : DEFAULT_PROBE_MS;
}

/** This machine's part of the key. */
export function machineIdentity(): Pick<PeakKey, 'cpu_model' | 'online_cpus'> {
  return { cpu_model: os.cpus()[0]?.model ?? '', online_cpus: os.cpus().length };
}

/** The key as one string, its environment in name order. */
function canonical(key: PeakKey): string {
  return JSON.stringify({
    ...key,
    env: Object.fromEntries(Object.entries(key.env).sort(([a], [b]) => a.localeCompare(b))),
  });
}

/** Where the figure for `key` is kept: `<cache>/peak/gemm-t<threads>-<hash of the key>.json`. */
export function peakCacheFile(key: PeakKey, env: NodeJS.ProcessEnv = process.env): string {
  const hash = createHash('sha256').update(canonical(key)).digest('hex').slice(0, 16);
  return join(cacheRoot(env), 'peak', `gemm-t${key.threads}-${hash}.json`);
}

interface CachedPeak {
  readonly key: PeakKey;
  readonly measurement: PeakMeasurement;
}

/** The cached measurement for `key`, or null (none, unreadable, or written for another key). */
export function readCachedPeak(file: string, key: PeakKey): PeakMeasurement | null {
  if (!existsSync(file)) return null;
  try {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as CachedPeak;
    if (canonical(cached.key) !== canonical(key) || typeof cached.measurement?.gflops !== 'number') return null;
    return { ...cached.measurement, cached: true, cache_file: file };
  } catch {
    return null;
  }
}

export function writeCachedPeak(file: string, key: PeakKey, measurement: PeakMeasurement): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomic(file, `${JSON.stringify({ key, measurement } satisfies CachedPeak, null, 1)}\n`);
}
