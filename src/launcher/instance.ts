/**
 * One instance's work, the same in-process (`launcher=inline`) and in a pinned child: build the
 * backend, measure, and report what the kernel says about where it ran.
 */
import { readFileSync } from 'node:fs';
import { createBackend } from '../backends/index.js';
import type { RunConfig } from '../config/schema.js';
import type { ResolvedModel } from '../models/resolve.js';
import type { InstanceResult } from '../results/types.js';
import { paddedTail } from '../models/inputs.js';
import { measureLatency } from '../scenarios/latency.js';
import { summarize } from '../stats/summary.js';
import { parseCpusAllowedList } from '../topology/detect.js';

export interface InstanceSpec {
  readonly index: number;
  readonly threads: number;
  readonly batchSize: number;
  /** Which repetition of the run (1-based; the mock backend seeds its draws with it). */
  readonly repetition?: number;
  /** The resolved model file (null for the mock backend). */
  readonly model: ResolvedModel | null;
  readonly outputDir?: string;
}

export interface InstanceRun {
  readonly instance: InstanceResult;
  /** The backend's own description (versions, threads, model provenance). */
  readonly backend: Record<string, unknown>;
}

export async function runInstance(
  cfg: RunConfig,
  spec: InstanceSpec,
  startSignal?: () => Promise<void>,
  abort?: AbortSignal,
): Promise<InstanceRun> {
  const backend = createBackend(
    cfg,
    {
      batchSize: spec.batchSize,
      sequenceLength: cfg.sequence_length,
      threads: spec.threads,
      seed: cfg.seed + spec.index,
      instanceIndex: spec.index,
      repetition: spec.repetition ?? 1,
      paddedTokens: cfg.scenario.name === 'latency' ? paddedTail(cfg.scenario.padding ?? 0, cfg.sequence_length) : 0,
      ...(spec.outputDir ? { outputDir: spec.outputDir } : {}),
    },
    spec.model,
  );
  const cpus = currentAffinity();
  try {
    const m = await measureLatency(backend, {
      warmupRuns: cfg.warmup_runs,
      durationS: cfg.benchmark_duration,
      // Only the latency scenario runs here; a dispatch run has no minimum call count.
      minIterations: cfg.scenario.name === 'latency' ? cfg.scenario.min_iterations : 1,
      batchSize: spec.batchSize,
      ...(startSignal ? { startSignal } : {}),
      ...(abort ? { abort } : {}),
      cpus: cpus ?? [],
    });
    const instance: InstanceResult = {
      index: spec.index,
      status: 'ok',
      cpus,
      threads: spec.threads,
      batch_size: spec.batchSize,
      load_prepare_ms: m.load.prepare_ms,
      load_session_ms: m.load.session_ms,
      first_inference_ms: m.first_inference_ms,
      warmup_runs: m.warmup_runs,
      iterations: m.iterations,
      window_start_epoch_ms: m.window_start_epoch_ms,
      window_ms: m.window_ms,
      latency: summarize(m.latencies_ms),
      throughput_samples_per_s: m.throughput_samples_per_s,
      forwards_per_s: m.forwards_per_s,
      // maxRSS is in KiB on Linux.
      peak_rss_mb: process.resourceUsage().maxRSS / 1024,
      latencies_ms: m.latencies_ms,
      interference: m.interference,
    };
    return { instance, backend: backend.describe() };
  } finally {
    await backend.dispose();
  }
}

/** The CPUs this process may run on, as the kernel reports them (null off Linux). */
export function currentAffinity(): number[] | null {
  try {
    return parseCpusAllowedList(readFileSync('/proc/self/status', 'utf8'));
  } catch {
    return null;
  }
}
