/**
 * The GEMM ceiling a run's efficiency is set against, measured the way its instances ran: in a
 * child started like an instance (the same command, so the same numactl/taskset binding, CPUs and
 * memory nodes, and the same environment: launcher.thp's GLIBC_TUNABLES, OMP_NUM_THREADS), not in
 * the bench parent, which is unpinned and has its own heap settings. The probe itself is
 * backends/onnxruntime/peak.ts; the figure is cached under the bench cache, keyed by the ONNX Runtime version,
 * the CPU, the thread count, the binding and the environment, and never cached when other processes
 * took our CPUs meanwhile.
 */
import {
  machineIdentity,
  peakCacheFile,
  probeMs as probeMsFrom,
  readCachedPeak,
  writeCachedPeak,
  type PeakKey,
} from '../backends/onnxruntime/peak.js';
import type { PeakMeasurement } from '../stats/efficiency.js';
import { onnxruntimeVersion } from '../util/versions.js';
import type { BindingKind } from './binding.js';
import type { PlanInstance } from './plan.js';
import { spawnChild } from './process.js';
import type { PeakReport } from './protocol.js';

/** Where and how the probe's child starts: as `instance` did, with the children's extra environment. */
export interface PeakPlacement {
  /** The child's entry point, which answers a `peak` request (bench's: src/run/child.ts). */
  readonly entry: string;
  readonly binding: BindingKind;
  readonly instance: PlanInstance;
  /**
   * What every child gets on top of bench's own environment (PreparedLaunch.env); OMP_NUM_THREADS is added as for
   * instances.
   */
  readonly env: Readonly<Record<string, string>>;
}

export interface PeakOptions {
  /** Where bench reads BENCH_CACHE_DIR and BENCH_PEAK_PROBE_MS from (default: process.env). */
  readonly settings?: NodeJS.ProcessEnv;
  /** The ONNX Runtime version the key names (default: the installed one); tests change it. */
  readonly onnxruntimeVersion?: string | null;
}

/** The cache key of a placement: what the child will run with, as far as the parent can tell. */
export function peakKey(p: PeakPlacement, opts: PeakOptions = {}): PeakKey {
  const settings = opts.settings ?? process.env;
  const pinned = p.binding !== 'none';
  return {
    onnxruntime_version: opts.onnxruntimeVersion !== undefined ? opts.onnxruntimeVersion : onnxruntimeVersion(),
    ...machineIdentity(),
    threads: p.instance.threads,
    binding: p.binding,
    cpus: pinned ? [...p.instance.cpus] : [],
    // Only numactl binds memory (taskset pins CPUs only).
    memory_nodes: p.binding === 'numactl' ? [...p.instance.memory_nodes] : [],
    // The child inherits bench's environment with the launch's on top (spawnChild).
    env: {
      GLIBC_TUNABLES: p.env.GLIBC_TUNABLES ?? process.env.GLIBC_TUNABLES ?? null,
      OMP_NUM_THREADS: String(p.instance.threads),
      // launcher.malloc: the probe child runs with the instances' allocator too.
      LD_PRELOAD: p.env.LD_PRELOAD ?? process.env.LD_PRELOAD ?? null,
    },
    probe_ms: probeMsFrom(settings),
  };
}

/** The cached ceiling for this placement, else one measured now in a child placed like the instance. */
export async function gemmPeak(p: PeakPlacement, opts: PeakOptions = {}): Promise<PeakMeasurement> {
  const key = peakKey(p, opts);
  const file = peakCacheFile(key, opts.settings ?? process.env);
  const cached = readCachedPeak(file, key);
  if (cached) return { ...cached, like_instance: p.instance.index };
  const base = {
    threads: key.threads,
    like_instance: p.instance.index,
    binding: p.binding,
    memory_nodes: key.memory_nodes,
    onnxruntime_version: key.onnxruntime_version,
    probe_ms: key.probe_ms,
  };
  // Start-up and session creation are seconds at most; the rounds themselves are probe_ms.
  const limitMs = 60_000 + 10 * key.probe_ms;
  const child = spawnChild(p.entry, p.binding, p.instance, p.env);
  try {
    child.send({ type: 'peak', threads: key.threads, probe_ms: key.probe_ms });
    const m = await child.next('peak', Date.now() + limitMs);
    const measuredAt = new Date().toISOString();
    if (m?.type !== 'peak') {
      const f = child.failure('while measuring the GEMM peak', `${limitMs / 1000} s`);
      const error = `the GEMM peak probe failed: ${f.message}${f.stderr_tail ? ` (stderr: ${f.stderr_tail.split('\n').slice(-3).join(' | ')})` : ''}`;
      return {
        ...base,
        gflops: null,
        measured_at: measuredAt,
        cached: false,
        disturbed: false,
        cpus: null,
        env: key.env,
        cache_file: null,
        interference: null,
        error,
      };
    }
    const r = m.report as PeakReport;
    const measurement: PeakMeasurement = {
      ...base,
      gflops: r.gflops,
      measured_at: measuredAt,
      cached: false,
      disturbed: r.disturbed,
      cpus: r.cpus,
      env: r.env,
      cache_file: null,
      interference: r.interference,
      error: null,
    };
    // A ceiling measured while other processes ran is too low: used for this run, never cached.
    if (r.disturbed) return measurement;
    try {
      writeCachedPeak(file, key, { ...measurement, cache_file: file });
      return { ...measurement, cache_file: file };
    } catch (err) {
      return { ...measurement, error: `measured, but not cached in ${file}: ${(err as Error).message}` };
    }
  } finally {
    await child.stop();
  }
}

/**
 * A run's ceilings: one probe per distinct thread count among the instances that finished, placed
 * like the first of them with that count, one after the other (probes side by side would disturb
 * each other, and then not be cached).
 */
export async function runPeaks(
  launch: {
    readonly entry: string;
    readonly binding: BindingKind;
    readonly env: Readonly<Record<string, string>>;
    readonly plan: { readonly instances: readonly PlanInstance[] };
  },
  instances: readonly {
    readonly index: number;
    readonly threads: number;
    readonly cpus: readonly number[] | null;
    readonly batch_size: number;
  }[],
  opts: PeakOptions = {},
): Promise<PeakMeasurement[]> {
  const probes: PeakMeasurement[] = [];
  for (const threads of new Set(instances.map((i) => i.threads))) {
    const like = instances.find((i) => i.threads === threads)!;
    const planned = launch.plan.instances.find((i) => i.index === like.index);
    const instance: PlanInstance = planned
      ? { ...planned, threads }
      : { index: like.index, cpus: [...(like.cpus ?? [])], memory_nodes: [], threads, batch_size: like.batch_size };
    probes.push(await gemmPeak({ entry: launch.entry, binding: launch.binding, instance, env: launch.env }, opts));
  }
  return probes;
}
