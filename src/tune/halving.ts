/**
 * Successive halving (Jamieson & Talwalkar 2016; Li et al. 2017, Hyperband's inner loop): every
 * candidate gets a short run; the best 1/eta go on to runs eta times longer; the last rung is a
 * normal full-length run. Dropped on the way, whatever their rank: runs that failed, setups over
 * the latency budget, and setups more than `prune_margin` worse than the rung's best (a setup 10%
 * behind after a short run does not catch up). Pure functions over results: no I/O.
 */
import type { TuneConfig } from '../config/schema.js';
import type { RunResult } from '../results/types.js';
import { Rng } from '../models/rng.js';
import { mean, percentile } from '../stats/summary.js';

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
  return stat === 'mean' ? a.latency_mean_ms : stat === 'p50' ? a.latency_p50_ms : stat === 'p90' ? a.latency_p90_ms : a.latency_p99_ms;
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
      eliminated.push({ candidate: e.candidate, reason: `failed: ${(e.error ?? e.result?.error ?? 'no result').split('\n')[0]}` });
      continue;
    }
    const over = overBudget(e.result!, tune);
    if (over) {
      eliminated.push({ candidate: e.candidate, reason: over });
      continue;
    }
    ranked.push({ candidate: e.candidate, score });
  }
  ranked.sort((x, y) => (tune.objective === 'latency' ? x.score - y.score : y.score - x.score) || x.candidate - y.candidate);
  const keep = final ? ranked.length : Math.max(2, Math.ceil(entries.length / tune.eta));
  const best = ranked[0]?.score;
  const survivors: number[] = [];
  ranked.forEach((r, rank) => {
    const gap = best === undefined ? 0 : behind(r.score, best, tune.objective);
    if (!final && rank > 0 && gap > tune.prune_margin) {
      eliminated.push({ candidate: r.candidate, reason: `${(gap * 100).toFixed(1)}% behind the rung's best (tune.prune_margin=${tune.prune_margin})` });
    } else if (survivors.length >= keep) {
      eliminated.push({ candidate: r.candidate, reason: `rank ${rank + 1}: not in the best ${keep} of ${entries.length} (tune.eta=${tune.eta})` });
    } else survivors.push(r.candidate);
  });
  return { survivors, eliminated };
}

/** Why a result breaks `tune.max_latency_ms`, or null when it keeps it (or there is none). */
export function overBudget(result: RunResult, tune: TuneConfig): string | null {
  if (tune.max_latency_ms === null) return null;
  const latency = budgetLatencyMs(result, tune.latency_stat);
  if (latency === null || latency <= tune.max_latency_ms) return null;
  return `${tune.latency_stat} latency ${msText(latency)} ms is over tune.max_latency_ms=${tune.max_latency_ms}`;
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
  /** How far the runner-up is behind the winner (behind(); 0.05 = 5%), from two runs of equal length. */
  readonly runner_up_behind: number;
  /** Percentile-bootstrap interval of that gap. */
  readonly lo: number;
  readonly hi: number;
  readonly confidence: number;
  /** Whether the interval excludes 0: the winner is better, not just luckier. */
  readonly significant: boolean;
  readonly method: string;
}

/**
 * Is the winner better than the runner-up, or a coin toss? Each instance's calls are resampled
 * with replacement and the objective recomputed from the resampled means (latency: the worst
 * instance's mean; throughput: the sum of batch / mean over instances), seeded, so the same
 * results give the same interval.
 */
export function winnerConfidence(
  winner: RunResult,
  runnerUp: RunResult,
  objective: Objective,
  opts: { resamples?: number; confidence?: number; seed?: number } = {},
): WinnerConfidence {
  const resamples = opts.resamples ?? 2000;
  const confidence = opts.confidence ?? 0.95;
  const rng = new Rng(opts.seed ?? 1);
  const a = samplesOf(winner);
  const b = samplesOf(runnerUp);
  const gap = (meansA: readonly number[], meansB: readonly number[]): number => behind(scoreOfMeans(b, meansB, objective), scoreOfMeans(a, meansA, objective), objective);
  const observed = gap(a.map((x) => mean(x.latencies)), b.map((x) => mean(x.latencies)));
  const draws: number[] = new Array<number>(resamples);
  for (let r = 0; r < resamples; r++) {
    draws[r] = gap(a.map((x) => resampledMean(x.latencies, rng)), b.map((x) => resampledMean(x.latencies, rng)));
  }
  draws.sort((x, y) => x - y);
  const tail = (1 - confidence) / 2;
  const lo = percentile(draws, tail);
  const hi = percentile(draws, 1 - tail);
  return {
    runner_up_behind: observed,
    lo,
    hi,
    confidence,
    significant: lo > 0,
    method: `percentile bootstrap over each instance's calls (${resamples} resamples, seeded)`,
  };
}

interface InstanceSamples {
  readonly batch: number;
  readonly latencies: readonly number[];
}

function samplesOf(r: RunResult): InstanceSamples[] {
  return r.instances.map((i) => ({ batch: i.batch_size, latencies: i.latencies_ms }));
}

function scoreOfMeans(instances: readonly InstanceSamples[], meansMs: readonly number[], objective: Objective): number {
  if (objective === 'latency') return Math.max(...meansMs);
  return instances.reduce((s, inst, k) => s + (inst.batch * 1000) / meansMs[k]!, 0);
}

function resampledMean(xs: readonly number[], rng: Rng): number {
  let s = 0;
  for (let k = 0; k < xs.length; k++) s += xs[rng.int(xs.length)]!;
  return s / xs.length;
}
