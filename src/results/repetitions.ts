/**
 * A run's repetitions: reading them (also from files written before repetitions existed, which hold
 * one) and combining them into the run's figures.
 *
 * Which repetitions make a run's figures: those that measured ok and were not disturbed (other
 * processes on their CPUs); when every ok one was disturbed, all of them, flagged `disturbed_only`.
 * Their figures are combined by geometric mean with a t-interval on the logs (src/stats/repetitions.ts).
 */
import { geometricMean, spreadInterval } from '../stats/repetitions.js';
import { disturbedInstances } from '../stats/interference.js';
import { summarize } from '../stats/summary.js';
import { aggregate } from './aggregate.js';
import type { Aggregate, InstanceResult, RepetitionResult, RepetitionSummary, RunResult } from './types.js';

export const REPETITION_METHOD = 'geometric mean of the repetitions; 95% t-interval on their logs (df = n - 1)';

/** The repetition an instance belongs to (1 in files from before repetitions). */
export const repetitionOf = (i: { readonly repetition?: number }): number => i.repetition ?? 1;

/** The instances of one repetition. */
export function instancesOf(r: Pick<RunResult, 'instances'>, repetition: number): InstanceResult[] {
  return r.instances.filter((i) => repetitionOf(i) === repetition);
}

/** The instances of the run's first repetition: its layout (every repetition has the same). */
export function layoutOf(r: Pick<RunResult, 'instances' | 'repetitions'>): InstanceResult[] {
  return instancesOf(r, r.repetitions?.[0]?.repetition ?? 1);
}

/** Whether a run's figures rest on disturbed measurements: every repetition used was disturbed. */
export function isRunDisturbed(r: RunResult): boolean {
  return r.repetition_summary ? r.repetition_summary.disturbed_only : disturbedInstances(r.instances).length > 0;
}

/** The run's repetitions; a file from before repetitions holds one, rebuilt from its top-level fields. */
export function repetitionsOf(r: RunResult): readonly RepetitionResult[] {
  if (r.repetitions) return r.repetitions;
  if (r.instances.length === 0 && r.aggregate === null) return [];
  return [
    {
      repetition: 1,
      status: r.status === 'ok' ? 'ok' : r.status === 'interrupted' ? 'interrupted' : 'errored',
      started_at: r.started_at,
      finished_at: r.finished_at,
      aggregate: r.aggregate,
      failures: r.failures,
      process_ids: r.process_ids,
      disturbed: disturbedInstances(r.instances).length > 0,
      error: r.error,
      ...(r.dispatch ? { dispatch: r.dispatch } : {}),
    },
  ];
}

/** The repetitions whose figures make the run's: the clean ok ones, else every ok one. */
export function usedRepetitions(reps: readonly RepetitionResult[]): {
  used: RepetitionResult[];
  disturbedOnly: boolean;
} {
  return cleanOrAll(reps.filter((r) => r.status === 'ok' && r.aggregate !== null));
}

/**
 * The rule every reader of repetitions follows (results, compare, interop): of the ok ones, those
 * other processes did not disturb; when all were disturbed, all of them (`disturbedOnly`).
 */
export function cleanOrAll<T extends { readonly disturbed: boolean }>(
  ok: readonly T[],
): { used: T[]; disturbedOnly: boolean } {
  const clean = ok.filter((r) => !r.disturbed);
  return clean.length > 0 ? { used: clean, disturbedOnly: false } : { used: [...ok], disturbedOnly: ok.length > 0 };
}

/**
 * The run's aggregate over several repetitions: each figure the geometric mean of the used
 * repetitions' (throughput included), `pooled` over all their calls. One repetition: its own.
 */
export function aggregateAcross(
  reps: readonly RepetitionResult[],
  instances: readonly InstanceResult[],
): Aggregate | null {
  const withFigures = reps.filter((r): r is RepetitionResult & { aggregate: Aggregate } => r.aggregate !== null);
  if (withFigures.length === 0) return null;
  if (withFigures.length === 1) return withFigures[0]!.aggregate;
  const g = (f: (a: Aggregate) => number): number => geometricMean(withFigures.map((r) => f(r.aggregate)));
  const used = new Set(withFigures.map((r) => r.repetition));
  const windows = withFigures.map((r) => r.aggregate.common_window_ms).filter((w): w is number => w !== null);
  const first = withFigures[0]!.aggregate;
  return {
    instances: first.instances,
    batch_size: first.batch_size,
    latency_mean_ms: g((a) => a.latency_mean_ms),
    latency_p50_ms: g((a) => a.latency_p50_ms),
    latency_p90_ms: g((a) => a.latency_p90_ms),
    latency_p99_ms: g((a) => a.latency_p99_ms),
    throughput_samples_per_s: g((a) => a.throughput_samples_per_s),
    forwards_per_s: g((a) => a.forwards_per_s),
    throughput_sum_of_rates_samples_per_s: g((a) => a.throughput_sum_of_rates_samples_per_s),
    common_window_ms: windows.length > 0 ? geometricMean(windows) : null,
    pooled: summarize(
      instances.filter((i) => i.status === 'ok' && used.has(repetitionOf(i))).flatMap((i) => i.latencies_ms),
    ),
    // A percentile is shown across repetitions only where every repetition's calls support it.
    unsupported_percentiles: [...new Set(withFigures.flatMap((r) => r.aggregate.unsupported_percentiles ?? []))],
  };
}

/** One repetition's aggregate from its instances (the ok ones). */
export function repetitionAggregate(instances: readonly InstanceResult[]): Aggregate | null {
  return aggregate(instances);
}

/** The dispatched setup's request latency median and completed requests/s of a dispatch repetition. */
function requestFigures(r: RepetitionResult): { p50: number; rate: number } | null {
  const o = r.dispatch?.dispatched.overall;
  return o ? { p50: o.latency.p50_ms, rate: o.throughput_requests_per_s } : null;
}

/** The run's figures across repetitions, and which repetitions they rest on. */
export function summarizeRepetitions(reps: readonly RepetitionResult[], planned: number): RepetitionSummary {
  const { used, disturbedOnly } = usedRepetitions(reps);
  const usedSet = new Set(used.map((r) => r.repetition));
  const excluded = reps
    .filter((r) => !usedSet.has(r.repetition))
    .map((r) => ({
      repetition: r.repetition,
      reason:
        r.status !== 'ok'
          ? `${r.status}${r.error ? `: ${r.error.split('\n')[0]}` : ''}`
          : r.disturbed
            ? 'disturbed (other processes used its CPUs)'
            : 'no figures',
    }));
  const figures = (f: (a: Aggregate) => number): number[] => used.map((r) => f(r.aggregate!));
  const requests = used.map(requestFigures).filter((x): x is { p50: number; rate: number } => x !== null);
  return {
    planned,
    completed: reps.filter((r) => r.status === 'ok').length,
    used: used.map((r) => r.repetition),
    excluded,
    disturbed_only: disturbedOnly,
    method: REPETITION_METHOD,
    latency_mean_ms: spreadInterval(figures((a) => a.latency_mean_ms)),
    latency_p50_ms: spreadInterval(figures((a) => a.latency_p50_ms)),
    latency_p99_ms: spreadInterval(figures((a) => a.latency_p99_ms)),
    throughput_samples_per_s: spreadInterval(figures((a) => a.throughput_samples_per_s)),
    ...(requests.length > 0 && requests.length === used.length
      ? {
          request_latency_p50_ms: spreadInterval(requests.map((x) => x.p50)),
          requests_per_s: spreadInterval(requests.map((x) => x.rate)),
        }
      : {}),
  };
}

/** The first ok repetition's dispatch report (the run's `dispatch`). */
export function firstDispatch(reps: readonly RepetitionResult[]): RepetitionResult['dispatch'] {
  return (reps.find((r) => r.status === 'ok' && r.dispatch) ?? reps.find((r) => r.dispatch))?.dispatch;
}
