/**
 * The latency scenario's worker, in one instance: build the backend, load and warm up, say ready,
 * wait for the common start (`go`), measure, report the instance's result and where the kernel let
 * it run. The same in a pinned child and in the bench process (launcher=inline).
 */
import type { InitMessage } from '../../launcher/protocol.js';
import { injectFault, type WorkerPort } from '../../launcher/worker.js';
import { paddedTail } from '../../models/inputs.js';
import type { TokenBatch } from '../../inputs/index.js';
import { summarize } from '../../stats/summary.js';
import { currentAffinity } from '../../topology/detect.js';
import { mappedAllocator } from '../../launcher/malloc.js';
import type { InstanceResult } from '../types.js';
import type { ProfileSummary } from '../../backends/types.js';
import { measureLatency } from './measure.js';
import { instanceBackend, instancePeakRssMb } from '../backend.js';

export async function latencyWorker(init: InitMessage, port: WorkerPort): Promise<void> {
  const { config: cfg, instance, fault } = init;
  await injectFault(fault, instance.index, 'load', port);
  const backend = instanceBackend(init);
  // Inline, every instance shares the process's CPUs; a child reports its own affinity.
  const cpus = currentAffinity();
  try {
    const m = await measureLatency(backend, {
      shape: {
        batchSize: instance.batch_size,
        sequenceLength: cfg.sequence_length,
        seed: cfg.seed + instance.index,
        paddedTokens: cfg.scenario.name === 'latency' ? paddedTail(cfg.scenario.padding ?? 0, cfg.sequence_length) : 0,
        ...tokensOf(init.options),
      },
      warmupRuns: cfg.warmup_runs,
      durationS: cfg.benchmark_duration,
      minIterations: cfg.scenario.name === 'latency' ? cfg.scenario.min_iterations : 1,
      // The start barrier: ready once warm, then wait for every instance's go.
      startSignal: async () => {
        const go = port.receive((msg) => msg.type === 'go');
        await port.send({ type: 'ready', pid: process.pid });
        await go;
        // At the start of the timed window: the other instances are measuring by then.
        await injectFault(fault, instance.index, 'measure', port);
      },
      ...(port.signal ? { abort: port.signal } : {}),
      cpus: cpus ?? [],
    });
    const result: InstanceResult = {
      index: instance.index,
      status: 'ok',
      cpus,
      threads: instance.threads,
      batch_size: instance.batch_size,
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
      peak_rss_mb: await instancePeakRssMb(backend),
      allocator: mappedAllocator(),
      ...profileOf(backend),
      latencies_ms: m.latencies_ms,
      interference: m.interference,
    };
    await injectFault(fault, instance.index, 'report', port);
    await port.send({ type: 'result', instance: result, backend: backend.describe() });
  } finally {
    await backend.dispose();
  }
}

/** inputs.text: the batch of real text the parent tokenized for this instance (parent.ts). */
function tokensOf(options: Readonly<Record<string, unknown>>): { tokens?: TokenBatch } {
  const t = options.tokens as TokenBatch | undefined;
  return t && Array.isArray(t.ids) && Array.isArray(t.mask) ? { tokens: t } : {};
}

/** The instance's operator profile where backend.profile=true (the profiler ends here). */
function profileOf(backend: { profile?(): ProfileSummary | null }): { profile?: ProfileSummary } {
  const profile = backend.profile?.() ?? null;
  return profile ? { profile } : {};
}
