/**
 * Successive halving (Jamieson & Talwalkar 2016; Li et al. 2017, Hyperband's inner loop): every
 * candidate gets a short run; the best 1/eta go on to runs eta times longer; the last rung is a
 * normal full-length run. Dropped on the way, whatever their rank: runs that failed, setups over
 * the latency budget, and setups more than `prune_margin` worse than the rung's best (a setup 10%
 * behind after a short run does not catch up). Pure functions over results: no I/O.
 */
import type { TuneConfig } from '../config/schema.js';
import { repetitionsOf, usedRepetitions } from '../results/repetitions.js';
import type { RunResult } from '../results/types.js';
import { DEFAULT_NOISE_FLOOR, geometricMean, welchLogRatio } from '../stats/repetitions.js';

export type Objective = TuneConfig['objective'];

/** What the objective ranks: the batch latency (worst instance's mean, lower is better) or throughput. */
export function objectiveScore(result: RunResult, objective: Objective): number | null {
  const a = result.aggregate;
  if (result.status !== 'ok' || !a) return null;
  return objective === 'latency' ? a.latency_mean_ms : a.throughput_samples_per_s;
}

/** The latency figure a budget bounds: the worst instance's mean / p50 / p90 / p99. */
export function budgetLatencyMs(result: RunResult, stat: TuneConfig['latency_stat']): number | null {
  const a = result.aggregate;
  if (!a) return null;
  return stat === 'mean'
    ? a.latency_mean_ms
    : stat === 'p50'
      ? a.latency_p50_ms
      : stat === 'p90'
        ? a.latency_p90_ms
        : a.latency_p99_ms;
}

/**
 * How far `x` is behind `best` under the objective, as a fraction (positive: worse): latency
 * x / best - 1 (0.2: takes 20% longer), throughput 1 - x / best (0.2: delivers 20% less).
 */
export function behind(x: number, best: number, objective: Objective): number {
  return objective === 'latency' ? x / best - 1 : 1 - x / best;
}

export interface RungEntry {
  readonly candidate: number;
  readonly result: RunResult | null;
  readonly error?: string | null;
}

export interface Elimination {
  readonly candidate: number;
  readonly reason: string;
}

export interface RungDecision {
  /** Candidates that go on, best first. */
  readonly survivors: readonly number[];
  readonly eliminated: readonly Elimination[];
}

/**
 * The candidates of a rung that go on to the next one; of the last rung (`final`), every one that
 * ran within the budget, ranked: there is nothing left to halve or prune.
 */
export function selectSurvivors(entries: readonly RungEntry[], tune: TuneConfig, final = false): RungDecision {
  const eliminated: Elimination[] = [];
  const ranked: { candidate: number; score: number }[] = [];
  for (const e of entries) {
    const score = e.result ? objectiveScore(e.result, tune.objective) : null;
    if (score === null) {
      eliminated.push({
        candidate: e.candidate,
        reason: `failed: ${(e.error ?? e.result?.error ?? 'no result').split('\n')[0]}`,
      });
      continue;
    }
    const over = overBudget(e.result!, tune);
    if (over) {
      eliminated.push({ candidate: e.candidate, reason: over });
      continue;
    }
    ranked.push({ candidate: e.candidate, score });
  }
  ranked.sort(
    (x, y) => (tune.objective === 'latency' ? x.score - y.score : y.score - x.score) || x.candidate - y.candidate,
  );
  const keep = final ? ranked.length : Math.max(2, Math.ceil(entries.length / tune.eta));
  const best = ranked[0]?.score;
  const survivors: number[] = [];
  ranked.forEach((r, rank) => {
    const gap = best === undefined ? 0 : behind(r.score, best, tune.objective);
    if (!final && rank > 0 && gap > tune.prune_margin) {
      eliminated.push({
        candidate: r.candidate,
        reason: `${(gap * 100).toFixed(1)}% behind the rung's best (tune.prune_margin=${tune.prune_margin})`,
      });
    } else if (survivors.length >= keep) {
      eliminated.push({
        candidate: r.candidate,
        reason: `rank ${rank + 1}: not in the best ${keep} of ${entries.length} (tune.eta=${tune.eta})`,
      });
    } else survivors.push(r.candidate);
  });
  return { survivors, eliminated };
}

/** Whether the run's calls support the budget's percentile (the mean always is). */
export function budgetSupported(result: RunResult, stat: TuneConfig['latency_stat']): boolean {
  return stat === 'mean' || !(result.aggregate?.unsupported_percentiles ?? []).includes(stat);
}

/**
 * Why a result breaks `tune.max_latency_ms`, or null when it keeps it (or there is none). A
 * percentile its calls do not support is still the best estimate there is: it decides, and the
 * reason says on how few calls.
 */
export function overBudget(result: RunResult, tune: TuneConfig): string | null {
  if (tune.max_latency_ms === null) return null;
  const latency = budgetLatencyMs(result, tune.latency_stat);
  if (latency === null || latency <= tune.max_latency_ms) return null;
  const few = budgetSupported(result, tune.latency_stat)
    ? ''
    : ` (from ${result.aggregate?.pooled.count ?? '?'} calls, too few for a 95% interval of it)`;
  return `${tune.latency_stat} latency ${msText(latency)} ms is over tune.max_latency_ms=${tune.max_latency_ms}${few}`;
}

/** Three significant digits at least, so a figure just over a budget never prints as equal to it. */
export function msText(x: number): string {
  return x >= 100 ? x.toFixed(1) : x >= 10 ? x.toFixed(2) : x.toFixed(3);
}

/** The screening durations: min, min x eta, ... below max; the last rung always runs max. */
export function nextDuration(current: number, tune: Pick<TuneConfig, 'eta' | 'max_duration_s'>): number {
  return Math.min(current * tune.eta, tune.max_duration_s);
}

export interface WinnerConfidence {
  /** How far the runner-up is behind the winner (behind(); 0.05 = 5%), from the final rung. */
  readonly runner_up_behind: number;
  /** Its interval (a t-interval over repetitions); null when either has fewer than 2 repetitions. */
  readonly lo: number | null;
  readonly hi: number | null;
  readonly confidence: number;
  /** Two-sided p-value of Welch's t-test on the repetitions' log objective; null without repetitions. */
  readonly p_value: number | null;
  /**
   * Whether the winner is better, not just luckier: with repetitions, p < 1 - confidence and the
   * interval excludes 0; without, the gap is beyond the noise floor of single runs.
   */
  readonly significant: boolean;
  /** What `significant` rests on: a test over repetitions, or the noise floor (too few repetitions). */
  readonly basis: 'repetitions' | 'noise-floor';
  /** Repetitions of the winner and of the runner-up the figures rest on. */
  readonly repetitions: readonly [number, number];
  readonly method: string;
}

/** A run's objective in each repetition it is judged on (the clean ok ones, else every ok one). */
export function repetitionScores(result: RunResult, objective: Objective): number[] {
  return usedRepetitions(repetitionsOf(result)).used.map((r) =>
    objective === 'latency' ? r.aggregate!.latency_mean_ms : r.aggregate!.throughput_samples_per_s,
  );
}

/**
 * Is the winner better than the runner-up, or a coin toss? Each repetition (a fresh measurement,
 * interleaved with the other's) gives one objective figure; Welch's t-test on their logs gives the
 * ratio runner-up / winner with its interval (src/stats/repetitions.ts), turned into how far the
 * runner-up is behind. The calls of one run are never treated as independent samples.
 */
export function winnerConfidence(
  winner: RunResult,
  runnerUp: RunResult,
  objective: Objective,
  confidence = 0.95,
  noiseFloor = DEFAULT_NOISE_FLOOR,
): WinnerConfidence {
  const a = repetitionScores(winner, objective);
  const b = repetitionScores(runnerUp, objective);
  const gapOf = (ratio: number): number => (objective === 'latency' ? ratio - 1 : 1 - ratio);
  const repetitions: [number, number] = [a.length, b.length];
  if (a.length < 2 || b.length < 2) {
    // E.g. a runner-up dropped in a screening rung: one run each, compared against the noise floor.
    const gap = gapOf(geometricMean(b) / geometricMean(a));
    return {
      runner_up_behind: gap,
      lo: null,
      hi: null,
      confidence,
      p_value: null,
      significant: gap > noiseFloor,
      basis: 'noise-floor',
      repetitions,
      method: `one run of ${a.length < 2 && b.length < 2 ? 'each' : 'one of them'}: no test; called only beyond the ${Math.round(noiseFloor * 100)}% noise floor of single runs`,
    };
  }
  const w = welchLogRatio(a, b, confidence);
  // behind(): latency ratio - 1 (grows with the ratio), throughput 1 - ratio (shrinks with it).
  const lo = objective === 'latency' ? gapOf(w.lo) : gapOf(w.hi);
  const hi = objective === 'latency' ? gapOf(w.hi) : gapOf(w.lo);
  return {
    runner_up_behind: gapOf(w.ratio),
    lo,
    hi,
    confidence,
    p_value: w.p_value,
    significant: w.p_value < 1 - confidence && lo > 0,
    basis: 'repetitions',
    repetitions,
    method: `Welch's t-test on the log ${objective === 'latency' ? 'mean latency' : 'throughput'} of each repetition (${a.length} and ${b.length}, interleaved)`,
  };
}
