/**
 * The dispatch scenario's worker: one instance that serves single requests of varying length. It
 * loads its backend once (one session, one thread pool sized to its cores), prepares the inputs of
 * each length once and keeps them, warms up on the lengths it will see, says ready, then answers
 * every `request` with a `done` carrying the service time, measured with the monotonic clock around
 * the forward alone, until `stop`, when it reports. Never prints, never reads argv.
 */
import type { PreparedInputs } from '../../backends/types.js';
import { mappedAllocator } from '../../launcher/malloc.js';
import type { InitMessage } from '../../launcher/protocol.js';
import { injectFault, type WorkerPort } from '../../launcher/worker.js';
import { interference, sampleCpus, type CpuSample } from '../../stats/interference.js';
import { currentAffinity } from '../../topology/detect.js';
import type { ServedReport } from './parent.js';
import { instanceBackend, instancePeakRssMb, timedForward } from '../backend.js';

export async function dispatchWorker(init: InitMessage, port: WorkerPort): Promise<void> {
  const { config: cfg, instance, fault } = init;
  await injectFault(fault, instance.index, 'load', port);
  const backend = instanceBackend(init);
  // The inputs of each length, built on first use (untimed) and kept.
  const prepared = new Map<number, PreparedInputs>();
  const serve = async (length: number): Promise<number> => {
    let inputs = prepared.get(length);
    if (!inputs) {
      inputs = await backend.prepare({
        batchSize: 1,
        sequenceLength: length,
        seed: cfg.seed + 1000 * instance.index + length,
      });
      prepared.set(length, inputs);
    }
    return (await timedForward(backend, inputs)).ms;
  };
  try {
    const load = await backend.load();
    const warm = Array.isArray(init.options.warmup_lengths) ? (init.options.warmup_lengths as number[]) : [];
    const lengths = warm.length > 0 ? warm : [1];
    const firstInferenceMs = await serve(lengths[0]!);
    let warmupCalls = 0;
    for (const l of lengths) {
      for (let i = 0; i < Math.max(1, cfg.warmup_runs); i++, warmupCalls++) await serve(l);
    }
    await port.send({ type: 'ready', pid: process.pid });
    // As a latency instance does over its timed window (stats/interference.ts): the kernel's busy
    // time on our CPUs against our own CPU time, here from the first request to `stop`.
    const cpus = currentAffinity();
    let window: { readonly start: CpuSample; readonly startMs: number } | null = null;
    let serving = false;
    for await (const msg of port.messages()) {
      if (msg.type === 'request') {
        if (!serving) {
          serving = true;
          // At the first request: the other instances are serving by then.
          await injectFault(fault, instance.index, 'measure', port);
          const start = cpus && cpus.length > 0 ? sampleCpus(cpus, backend.processIds?.() ?? []) : null;
          if (start) window = { start, startMs: performance.now() };
        }
        const serviceMs = await serve(msg.length as number);
        await port.send({ type: 'done', id: msg.id as number, service_ms: serviceMs });
      } else if (msg.type === 'stop') {
        const end = window && cpus ? sampleCpus(cpus, backend.processIds?.() ?? []) : null;
        const report: ServedReport = {
          index: instance.index,
          cpus,
          threads: instance.threads,
          load_prepare_ms: load.prepare_ms,
          load_session_ms: load.session_ms,
          first_inference_ms: firstInferenceMs,
          warmup_calls: warmupCalls,
          peak_rss_mb: await instancePeakRssMb(backend),
          backend: backend.describe(),
          allocator: mappedAllocator(),
          interference:
            window && end && cpus ? interference(cpus, window.start, end, performance.now() - window.startMs) : null,
        };
        await injectFault(fault, instance.index, 'report', port);
        await port.send({ type: 'served', report });
        break;
      }
    }
  } finally {
    await backend.dispose();
  }
}
