/**
 * The best setup per problem size, the study's Figure 9: for each (model, batch, sequence length),
 * the job with the lowest latency (the worst instance's mean) and the one with the highest
 * throughput (summed over instances). Read from results only, so it works on any set of runs.
 *
 * The batch is `batch_size` as configured: the total that is split across instances with
 * `launcher.split_batch=true` (batch-size scaling: 1 x 8 against 2 x 4), the batch of every
 * instance otherwise (multi-instance: 1 x batch 1 against 2 x batch 1). Different models or dtypes
 * are different problems and never compete.
 */
import { isRunDisturbed, layoutOf } from './repetitions.js';
import type { RunResult } from './types.js';
import { numberValue } from '../util/numbers.js';

export interface SetupFigure {
  readonly job: number;
  readonly setup: string;
  /** Other processes took CPU time from its instances while they measured. */
  readonly disturbed: boolean;
  readonly overrides: readonly string[];
  readonly latency_mean_ms: number;
  readonly throughput_samples_per_s: number;
}

export interface BestSetup {
  /** The model (and dtype when not fp32), e.g. `bert-base-cased` or `bert-base-cased int8`. */
  readonly model: string;
  /**
   * The runtime, with its mode where it has one: `onnxruntime`, `pytorch (torchscript)`; `mock`
   * when the latencies are simulated. Runtimes are setups of the same problem, but each gets its
   * own best setup: the study compares them side by side, not as one field.
   */
  readonly backend: string;
  readonly batch_size: number;
  readonly sequence_length: number;
  readonly lowest_latency: SetupFigure;
  readonly highest_throughput: SetupFigure;
  readonly candidates: number;
}

export interface JobForBest {
  readonly result: RunResult;
  readonly overrides: readonly string[];
}

/**
 * Cores each instance computed on: its intra-op threads, at most the CPUs it was pinned to; null
 * when the instances differ (e.g. a dispatch run's pools) or there are none. (Every repetition has
 * the same instances, so all of them may be passed.)
 */
export function coresPerInstance(r: Pick<RunResult, 'instances'>): number | null {
  return sameForAll(
    r.instances.map((i) => (i.cpus && i.cpus.length > 0 ? Math.min(i.threads, i.cpus.length) : i.threads)),
  );
}

/** The value every instance has, or null when they differ (or there are none). */
export function sameForAll(values: readonly number[]): number | null {
  return values.length > 0 && values.every((v) => v === values[0]) ? values[0]! : null;
}

/** `4 x 12 cores, batch 2 each` — the shape of a multi-instance setup. */
export function describeSetup(r: RunResult): string {
  const instances = layoutOf(r);
  const n = instances.length;
  const cores = instances.map((i) => i.cpus?.length ?? i.threads);
  const same = cores.every((c) => c === cores[0]);
  const batches = instances.map((i) => i.batch_size);
  const threads = instances.map((i) => i.threads);
  const coreText = same ? `${cores[0]} core${cores[0] === 1 ? '' : 's'}` : `${cores.join('+')} cores`;
  const threadText = threads.every((t, k) => t === cores[k]) ? '' : `, ${threads.join('+')} threads`;
  const batchText = batches.every((b) => b === batches[0])
    ? `batch ${batches[0]}${n > 1 ? ' each' : ''}`
    : `batches ${batches.join('+')}`;
  // Unpinned instances may run on any CPU: say so rather than count "cores" they were never given.
  const unpinned = (r.plan as { binding?: unknown } | null)?.binding === 'none';
  if (unpinned)
    return `${n} unpinned${threads.every((t) => t === threads[0]) ? ` x ${threads[0]} thread${threads[0] === 1 ? '' : 's'}` : `, ${threads.join('+')} threads`}, ${batchText}`;
  return `${n} x ${coreText}${threadText}, ${batchText}`;
}

/**
 * Which of model and backend a best-setup table needs as columns: those that take more than one
 * value across its rows (the terminal's table and the report's alike).
 */
export function varyingColumns(best: readonly Pick<BestSetup, 'model' | 'backend'>[]): {
  readonly model: boolean;
  readonly backend: boolean;
} {
  return {
    model: new Set(best.map((b) => b.model)).size > 1,
    backend: new Set(best.map((b) => b.backend)).size > 1,
  };
}

export function bestSetups(jobs: readonly (JobForBest & { readonly job?: number })[]): BestSetup[] {
  const groups = new Map<
    string,
    {
      model: string;
      backend: string;
      batch: number;
      seq: number;
      items: { job: number; r: RunResult; overrides: readonly string[] }[];
    }
  >();
  jobs.forEach((j, k) => {
    const r = j.result;
    const config = (r.config ?? {}) as {
      sequence_length?: unknown;
      batch_size?: unknown;
      model?: { name?: unknown; dtype?: unknown };
    };
    // A Float in memory (sequence_length=128.0), a number once read back from results.json.
    const seq = numberValue(config.sequence_length);
    // A dispatch run serves many lengths: it has no single (batch, sequence) problem size.
    if (r.status !== 'ok' || !r.aggregate || seq === undefined || r.dispatch) return;
    const batch = numberValue(config.batch_size) ?? r.aggregate.batch_size;
    const dtype =
      typeof config.model?.dtype === 'string' && config.model.dtype !== 'fp32' ? ` ${config.model.dtype}` : '';
    const model = `${String(config.model?.name ?? '?')}${dtype}`;
    const mode = (r.backend as { mode?: unknown } | null)?.mode;
    const backend = `${String(r.backend?.name ?? '?')}${typeof mode === 'string' ? ` (${mode})` : ''}`;
    const key = JSON.stringify([model, backend, batch, seq]);
    const g = groups.get(key) ?? { model, backend, batch, seq, items: [] };
    g.items.push({ job: j.job ?? k, r, overrides: j.overrides });
    groups.set(key, g);
  });
  const figure = (x: { job: number; r: RunResult; overrides: readonly string[] }): SetupFigure => ({
    job: x.job,
    setup: describeSetup(x.r),
    disturbed: isRunDisturbed(x.r),
    overrides: x.overrides,
    latency_mean_ms: x.r.aggregate!.latency_mean_ms,
    throughput_samples_per_s: x.r.aggregate!.throughput_samples_per_s,
  });
  return [...groups.values()]
    .sort(
      (a, b) =>
        a.model.localeCompare(b.model) || a.backend.localeCompare(b.backend) || a.batch - b.batch || a.seq - b.seq,
    )
    .map((g) => {
      const byLatency = [...g.items].sort((a, b) => a.r.aggregate!.latency_mean_ms - b.r.aggregate!.latency_mean_ms);
      const byThroughput = [...g.items].sort(
        (a, b) => b.r.aggregate!.throughput_samples_per_s - a.r.aggregate!.throughput_samples_per_s,
      );
      return {
        model: g.model,
        backend: g.backend,
        batch_size: g.batch,
        sequence_length: g.seq,
        lowest_latency: figure(byLatency[0]!),
        highest_throughput: figure(byThroughput[0]!),
        candidates: g.items.length,
      };
    });
}
