/**
 * How much of the machine a run used: achieved GFLOP/s (the forward's FLOPs, counted from the
 * architecture by forwardFlops, times forwards per second) over a ceiling. The ceiling that
 * counts is measured: a large fp32 MatMul run through the same ONNX Runtime with the instance's
 * thread count, i.e. the practical GEMM peak (backends/onnxruntime/peak.ts). An estimate from the CPU's
 * vector width x FMA units x clock x cores is given beside it, since clocks under load are not the
 * ones /proc/cpuinfo shows.
 */
import type { Interference } from './interference.js';

/** How a run's ceiling was measured, recorded in results.json (`efficiency.peak_probes`). */
export interface PeakMeasurement {
  readonly threads: number;
  /** null when the probe failed (then `error` says why). */
  readonly gflops: number | null;
  readonly measured_at: string;
  readonly cached: boolean;
  readonly disturbed: boolean;
  /** The instance whose placement and environment the probe's child was started with. */
  readonly like_instance: number;
  readonly binding: string;
  /** The CPUs the probe ran on, as the kernel reported the child's affinity; null when unknown. */
  readonly cpus: readonly number[] | null;
  readonly memory_nodes: readonly number[];
  /** GLIBC_TUNABLES and OMP_NUM_THREADS as the probe's child saw them. */
  readonly env: Readonly<Record<string, string | null>>;
  readonly onnxruntime_version: string | null;
  readonly probe_ms: number;
  /** The cache file it was read from or written to; null when it was not cached (disturbed, failed). */
  readonly cache_file: string | null;
  readonly interference: Interference | null;
  readonly error: string | null;
}

export interface Efficiency {
  /** Over all instances' forwards (they differ in a dispatch run, whose requests have their own lengths). */
  readonly flops_per_forward: number;
  readonly achieved_gflops: number;
  /** Sum over instances of the measured GEMM ceiling for their thread counts. */
  readonly measured_peak_gflops: number | null;
  readonly fraction_of_measured_peak: number | null;
  readonly estimated_peak_gflops: number | null;
  readonly estimate_basis: string | null;
  /**
   * How the measured ceiling was obtained, one entry per distinct thread count: the probe's child,
   * placed like an instance (binding, the CPUs it reported, memory nodes, environment), the ONNX
   * Runtime version, cached or measured now, disturbed or not. Absent where no probe ran (the mock).
   */
  readonly peak_probes?: readonly PeakMeasurement[];
}

/** In place of the figures when the FLOP count is unknown (a user model whose architecture does not show): why. */
export interface EfficiencyOmitted {
  readonly omitted: string;
}

export function efficiency(
  flopsPerForwardByInstance: readonly number[],
  forwardsPerSecondByInstance: readonly number[],
  measuredPeakByInstance: readonly (number | null)[],
  estimate: { gflops: number; basis: string } | null,
): Efficiency {
  const achieved = flopsPerForwardByInstance.reduce(
    (s, f, k) => s + (f * (forwardsPerSecondByInstance[k] ?? 0)) / 1e9,
    0,
  );
  const peaks = measuredPeakByInstance.every((p): p is number => p !== null)
    ? measuredPeakByInstance.reduce((s, p) => s + p, 0)
    : null;
  const forwards = forwardsPerSecondByInstance.reduce((s, r) => s + r, 0);
  return {
    // The forwards-weighted mean: achieved FLOP/s over forwards/s (exactly the common figure when every instance has
    // it).
    flops_per_forward:
      flopsPerForwardByInstance.every((f) => f === flopsPerForwardByInstance[0]) || forwards === 0
        ? (flopsPerForwardByInstance[0] ?? 0)
        : (achieved * 1e9) / forwards,
    achieved_gflops: achieved,
    measured_peak_gflops: peaks,
    fraction_of_measured_peak: peaks ? achieved / peaks : null,
    estimated_peak_gflops: estimate?.gflops ?? null,
    estimate_basis: estimate?.basis ?? null,
  };
}

/** FP32 FLOPs per cycle per core from the vector extensions: 2 FMA pipes x lanes x 2 (mul + add). */
export function flopsPerCycle(flags: readonly string[]): { flops: number; isa: string } | null {
  if (flags.includes('avx512f')) return { flops: 2 * 16 * 2, isa: 'AVX-512' };
  if (flags.includes('avx2') && flags.includes('fma')) return { flops: 2 * 8 * 2, isa: 'AVX2+FMA' };
  if (flags.includes('asimd')) return { flops: 2 * 4 * 2, isa: 'NEON' };
  return null;
}

export function estimatedPeak(
  flags: readonly string[],
  cores: number,
  mhz: number | null,
): { gflops: number; basis: string } | null {
  const perCycle = flopsPerCycle(flags);
  if (!perCycle || !mhz) return null;
  return {
    gflops: (perCycle.flops * cores * mhz) / 1e3,
    basis: `${perCycle.isa}: ${perCycle.flops} FP32 FLOP/cycle x ${cores} cores x ${mhz} MHz (the clock /proc/cpuinfo reports; under load it may be higher)`,
  };
}
