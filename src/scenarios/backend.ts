/**
 * The backend of one planned instance, as every scenario's worker builds it from its init message:
 * the instance's threads and index, how many instances run alongside it, the repetition, seed and
 * output folder.
 */
import { createBackend } from '../backends/registry.js';
import type { Backend, ForwardTiming, PreparedInputs } from '../backends/types.js';
import type { InitMessage } from '../launcher/protocol.js';

export function instanceBackend(init: InitMessage): Backend {
  const { config: cfg, instance, model, outputDir, repetition, alongside } = init;
  return createBackend(
    cfg,
    {
      threads: instance.threads,
      instanceIndex: instance.index,
      instances: alongside,
      repetition,
      seed: cfg.seed,
      outputDir,
      untimedCalls: 1 + cfg.warmup_runs,
    },
    model,
  );
}

/** The monotonic clock, in nanoseconds. */
export const nowNs = (): bigint => process.hrtime.bigint();

/**
 * One forward, timed: with the monotonic clock around backend.run alone, or as the runtime timed it
 * where it runs in another process (ForwardTiming). `end` is when the call returned, for windows.
 */
export async function timedForward(backend: Backend, inputs: PreparedInputs): Promise<{ ms: number; end: bigint }> {
  const t0 = nowNs();
  const timing: ForwardTiming | void = await backend.run(inputs);
  const end = nowNs();
  return { ms: timing ? timing.runtimeMs : Number(end - t0) / 1e6, end };
}

/** Peak resident memory of the instance, MiB: this process's and that of any runtime process it ran. */
export async function instancePeakRssMb(backend: Backend): Promise<number> {
  // maxRSS is in KiB on Linux.
  return process.resourceUsage().maxRSS / 1024 + ((await backend.externalPeakRssMb?.()) ?? 0);
}
