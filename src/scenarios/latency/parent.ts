/**
 * The latency scenario's parent side, one repetition: start every instance's worker; each loads
 * its model and warms up, reports ready, and only when all are ready are they released together
 * (`go`), so their timed windows overlap. A worker that crashes, hangs past its timeout or talks
 * nonsense is reported with what is known of it (launcher/endpoint.ts); the others are stopped after
 * a short grace; whatever finished is returned.
 */
import type { Endpoint, InstanceFailure } from '../../launcher/endpoint.js';
import type { ChildMessage } from '../../launcher/protocol.js';
import { batchOf, batchStarts } from '../../inputs/index.js';
import type { InstanceResult, ScenarioContext, ScenarioOutcome } from '../types.js';

/** How long the other instances may still report after one has failed. */
const FAILURE_GRACE_MS = 2000;

type ResultMessage = {
  readonly type: 'result';
  readonly instance: InstanceResult;
  readonly backend: Record<string, unknown>;
};
const isResult = (m: ChildMessage | null): m is ResultMessage => m?.type === 'result';

export async function runLatency(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const cfg = ctx.config;
  const startTimeoutMs = cfg.launcher.start_timeout_s * 1000;
  const runTimeoutS = cfg.launcher.run_timeout_s ?? cfg.benchmark_duration * 3 + 120;
  // inputs.text: the run's batch is the first texts, split across the instances in order.
  const starts = batchStarts(ctx.plan.instances.map((i) => i.batch_size));
  const workers: Endpoint[] = ctx.plan.instances.map((inst, k, all) =>
    ctx.start(
      inst,
      all.length,
      ctx.inputs ? { tokens: batchOf(ctx.inputs, starts[k]!, inst.batch_size, cfg.sequence_length) } : {},
    ),
  );
  const pids = workers.map((w) => w.pid);
  const onAbort = (): void => {
    for (const w of workers) w.interrupt();
  };
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  if (ctx.signal?.aborted) onAbort();
  const failures: InstanceFailure[] = [];
  const results: ResultMessage[] = [];
  let parentRssDuringRunMb: number | null = null;
  const outcome = (): ScenarioOutcome => ({
    instances: results.map((r) => r.instance).sort((a, b) => a.index - b.index),
    failures,
    backend: results.sort((a, b) => a.instance.index - b.instance.index)[0]?.backend ?? null,
    pids,
    parentRssDuringRunMb,
  });
  try {
    // The start barrier: nobody measures until everybody has loaded and warmed up.
    const readyBy = Date.now() + startTimeoutMs;
    const ready = await Promise.all(workers.map((w) => w.next('ready', readyBy)));
    ready.forEach((m, i) => {
      if (m?.type !== 'ready')
        failures.push(workers[i]!.failure('before it was ready', `launcher.start_timeout_s=${startTimeoutMs / 1000}`));
    });
    if (failures.length > 0) return outcome();
    for (const w of workers) w.send({ type: 'go' });
    // The bench process holds no model weights while its children measure (inline it runs them itself).
    parentRssDuringRunMb = ctx.inline ? null : process.memoryUsage().rss / 2 ** 20;

    const doneBy = Date.now() + runTimeoutS * 1000;
    // Whoever fails first stops the others, after a short grace: instances that started together
    // finish together, so a neighbour that was about to report keeps its complete measurement.
    let firstFailure: number | null = null;
    const settled = new Set<number>();
    let grace: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      for (const w of workers) {
        void w.next('result', doneBy).then((m) => {
          if (settled.has(w.index)) return;
          settled.add(w.index);
          if (isResult(m)) results.push(m);
          else if (firstFailure === null) {
            firstFailure = w.index;
            failures.push(w.failure('while measuring', `launcher.run_timeout_s=${runTimeoutS}`));
            grace = setTimeout(resolve, FAILURE_GRACE_MS);
          } else failures.push(w.failure('while measuring', `launcher.run_timeout_s=${runTimeoutS}`));
          if (settled.size === workers.length) resolve();
        });
      }
    });
    clearTimeout(grace);
    for (const w of workers) {
      if (settled.has(w.index)) continue;
      settled.add(w.index);
      failures.push({ ...w.failure(''), message: `stopped because instance ${firstFailure} failed` });
    }
    return outcome();
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort);
    await Promise.all(workers.map((w) => w.stop()));
  }
}
