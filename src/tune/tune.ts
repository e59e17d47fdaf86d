/**
 * `bench tune`: which setup to deploy for a problem size and an objective. The space comes from
 * the machine (space.ts), the search is successive halving (halving.ts), and every measurement is
 * an ordinary bench run in a job directory of the tune directory, so the results are on disk, the
 * directory reads like a sweep (`bench report`, `bench compare`), and an interrupted tune resumes
 * (`bench tune --resume DIR`) without measuring again what it has.
 *
 * Files: tune.json (the space, every trial, each rung's decisions, the ranking, the winner and its
 * confidence), tune.csv (the ranking), winner.yaml (the winner's full config: `bench -cp DIR -cn
 * winner`), winner-plan.json (its instance plan), and summary.csv/json as a sweep writes them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ConfigError } from '../config/errors.js';
import { isHydraOverride } from '../config/compose.js';
import { elementText, parseOverride } from '../config/grammar.js';
import { getPath } from '../util/tree.js';
import { resolveKey } from '../config/interpolate.js';
import { composeJob, resolveContext, resolveTask } from '../config/load.js';
import type { RunConfig, TuneConfig } from '../config/schema.js';
import { toYaml } from '../config/yaml.js';
import { openJob, type Job, type JobEvent, type JobOutcome } from '../run/job.js';
import { topologyFor } from '../run/launch.js';
import type { JobLoopRequest } from '../run/sweep.js';
import { PlanError } from '../launcher/plan.js';
import { writeFileAtomic } from '../util/atomic.js';
import { WriteGuard } from '../util/write-guard.js';
import { benchVersion } from '../util/versions.js';
import { claimSweepDir, namedAfterTime } from '../results/rundir.js';
import type { RunResult } from '../results/types.js';
import { RESULTS_JSON, toCsv, writeSweepSummary, type SummaryRow } from '../results/write.js';
import {
  behind,
  budgetLatencyMs,
  budgetSupported,
  nextDuration,
  objectiveScore,
  selectSurvivors,
  winnerConfidence,
  type Elimination,
  type WinnerConfidence,
} from './halving.js';
import { keyOfSomeOption, tuneSpace, type Candidate, type TuneSpace } from './space.js';

export const TUNE_JSON = 'tune.json';

export interface Trial {
  readonly job: number;
  readonly rung: number;
  readonly candidate: number;
  readonly duration_s: number;
  /**
   * Repetitions its figures rest on: those it ran, less any that other processes disturbed; absent
   * in tune.json from before repetitions.
   */
  readonly repetitions?: number;
  /** Whether it ran in the final rung (full length and warm-up, repeated). */
  readonly final?: boolean;
  /** Whether its calls support the budget's percentile (tune.latency_stat); false: figure withheld. */
  readonly budget_supported?: boolean;
  readonly status: string;
  readonly dir: string;
  readonly overrides: readonly string[];
  readonly score: number | null;
  readonly latency_mean_ms: number | null;
  readonly budget_latency_ms: number | null;
  readonly throughput_samples_per_s: number | null;
  /** Wall time of the whole run: start-up and warm-up included. */
  readonly wall_s: number;
  readonly error: string | null;
}

export interface Rung {
  readonly rung: number;
  readonly duration_s: number;
  readonly final: boolean;
  readonly candidates: readonly number[];
  readonly survivors: readonly number[];
  readonly eliminated: readonly Elimination[];
}

export interface RankRow {
  readonly rank: number;
  readonly candidate: number;
  readonly label: string;
  /** The longest rung it reached, and its figures there. */
  readonly rung: number;
  readonly duration_s: number;
  /** Repetitions behind its figures (the final rung's tune.final_repetitions; 1 in screening rungs). */
  readonly repetitions: number;
  /** Whether its figures are from the final rung. */
  readonly final: boolean;
  /** Whether its calls support tune.latency_stat (budget_latency_ms is withheld in tables when not). */
  readonly budget_supported: boolean;
  readonly score: number | null;
  readonly latency_mean_ms: number | null;
  readonly budget_latency_ms: number | null;
  readonly throughput_samples_per_s: number | null;
  /**
   * -behind(this, winner) in the same rung (runs of equal length): 0 for the winner, -0.12 when 12%
   * worse; null when the winner has no figure in that rung.
   */
  readonly vs_winner: number | null;
  readonly dropped: string | null;
  readonly job: number;
  readonly overrides: readonly string[];
}

export interface TuneOutcome {
  readonly dir: string;
  readonly status: 'ok' | 'no-setup' | 'interrupted';
  readonly tune: TuneConfig;
  readonly space: TuneSpace;
  readonly rungs: readonly Rung[];
  readonly trials: readonly Trial[];
  readonly ranking: readonly RankRow[];
  readonly winner: RankRow | null;
  /** Winner vs runner-up, from the longest rung both ran in (same duration). */
  readonly confidence: (WinnerConfidence & { readonly runner_up: string; readonly duration_s: number }) | null;
  /** `bench ...` that runs the winner on the default config with the user's own overrides. */
  readonly command: string | null;
  readonly winner_plan: Record<string, unknown> | null;
  readonly elapsed_s: number;
  /** Wall time of all trials together (what a comparison with a brute-force sweep counts). */
  readonly trials_wall_s: number;
  /** Tune files that could not be written (a full disk), each with the reason: the outcome is the only copy. */
  readonly write_errors: readonly string[];
}

export type TuneEvent =
  | { readonly type: 'tune-start'; readonly dir: string; readonly tune: TuneConfig; readonly space: TuneSpace }
  | {
      readonly type: 'rung-start';
      readonly rung: number;
      readonly duration_s: number;
      readonly candidates: readonly Candidate[];
      readonly final: boolean;
      /** Repetitions of each candidate in this rung. */
      readonly repetitions: number;
    }
  | {
      readonly type: 'trial-end';
      readonly trial: Trial;
      readonly candidate: Candidate;
      readonly kept: boolean;
      readonly warnings: readonly string[];
      /** The trial's results could not be written (a full disk): its result, the only copy. */
      readonly unsaved?: RunResult;
    }
  | { readonly type: 'rung-end'; readonly rung: Rung }
  | JobEvent;

export type TuneRequest = JobLoopRequest<TuneEvent>;

export async function runTune(req: TuneRequest): Promise<TuneOutcome> {
  const started = Date.now();
  for (const o of req.overrides) {
    if (o.value?.kind === 'sweep') {
      throw new ConfigError(
        `bench tune searches its space itself: drop the sweep '${o.inputLine}' or list its values in tune.space (e.g. tune.space.params)`,
      );
    }
  }
  const master = composeJob(req.repo, req.source, req.overrides, { master: true, version: benchVersion() });
  const { resolved, runConfig } = resolveTask(master.config);
  const tune = checkTunable(runConfig);
  const topology = await topologyFor(runConfig);
  const found = tuneSpace(tune, runConfig, topology, resolved, (key) => keyOfSomeOption(req.repo, key));
  const space: TuneSpace =
    (runConfig.repetitions ?? 1) !== 1
      ? {
          ...found,
          notes: [
            ...found.notes,
            `repetitions=${runConfig.repetitions} is not used: screening runs have 1, the final rung ${finalRepetitions(tune)}; set tune.final_repetitions=${runConfig.repetitions} for ${runConfig.repetitions} in the final rung`,
          ],
        }
      : found;
  const taskLines = req.overrides.filter((o) => !isHydraOverride(o)).map((o) => o.inputLine);
  for (const c of space.candidates) {
    // A bad value in tune.space.params fails here, naming it, rather than as every run failing.
    try {
      resolveTask(
        // A job number as its trials will have one (sweep jobs have one; ${hydra:job.num} may be used).
        composeJob(req.repo, req.source, [...taskLines, ...c.overrides].map(parseOverride), {
          job: { num: c.id, id: String(c.id) },
          version: benchVersion(),
        }).config,
      );
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      throw new ConfigError(
        `tune.space: the candidate '${c.label}' is not a valid config (${c.overrides.slice(5).join(' ') || c.overrides.join(' ')}):\n${err.message}`,
      );
    }
  }

  const dir =
    req.resumeDir ??
    claimSweepDir(
      String(resolveKey(master.config, 'hydra.sweep.dir', resolveContext())),
      'multirun.yaml',
      toYaml(master.config),
      'hydra.sweep.dir',
      !namedAfterTime(getPath(master.config, 'hydra.sweep.dir').value),
    );
  const earlier = req.resumeDir ? earlierTrials(req.resumeDir) : new Map<string, Trial>();
  req.onEvent?.({ type: 'tune-start', dir, tune, space });

  const hydraOverrides = req.overrides.filter((o) => isHydraOverride(o));
  const trials: Trial[] = [];
  const rows: SummaryRow[] = [];
  const rungs: Rung[] = [];
  const results = new Map<number, RunResult>();
  const bestTrial = new Map<number, Trial>();
  const dropped = new Map<number, string>();
  let nextJob = Math.max(-1, ...[...earlier.values()].map((t) => t.job)) + 1;
  let interrupted = false;

  // A tune file that cannot be written (a full disk) does not stop the tune: the trials' own
  // folders keep their measurements, and the outcome goes to the caller, which prints it.
  const writes = new WriteGuard();
  const save = (status: TuneOutcome['status'] | 'running', extra: Partial<TuneOutcome> = {}): void => {
    writes.run('summary.csv', () => writeSweepSummary(dir, rows));
    writes.run(TUNE_JSON, () =>
      writeFileAtomic(
        join(dir, TUNE_JSON),
        `${JSON.stringify({ status, bench_version: benchVersion(), dir, tune, space, rungs, trials, ...extra }, null, 1)}\n`,
      ),
    );
  };

  const finishTrial = async (
    slot: { id: number; overrides: string[]; job: number; handle: Job | null; wallMs: number; final: boolean },
    rung: number,
    duration: number,
  ): Promise<{ trial: Trial; result: RunResult; unsaved: boolean }> => {
    const t0 = Date.now();
    const outcome: JobOutcome = await slot.handle!.finish();
    const wallS = (slot.wallMs + Date.now() - t0) / 1000;
    const trial = makeTrial(
      slot.job,
      rung,
      slot.id,
      duration,
      outcome.status,
      outcome.dir,
      slot.overrides,
      outcome.result,
      tune,
      wallS,
      outcome.error?.message ?? outcome.result.error,
    );
    return { trial: { ...trial, final: slot.final }, result: outcome.result, unsaved: outcome.unsaved === true };
  };

  let alive = space.candidates.map((c) => c.id);
  let duration = tune.strategy === 'grid' ? tune.max_duration_s : Math.min(tune.min_duration_s, tune.max_duration_s);
  for (let rung = 0; !interrupted; rung++) {
    const final = tune.strategy === 'grid' || duration >= tune.max_duration_s || alive.length <= 2;
    if (final) duration = tune.max_duration_s;
    req.onEvent?.({
      type: 'rung-start',
      rung,
      duration_s: duration,
      candidates: alive.map((id) => space.candidates[id]!),
      final,
      repetitions: final ? finalRepetitions(tune) : 1,
    });
    const entries: { candidate: number; result: RunResult | null; error: string | null }[] = [];
    // Every candidate of the rung is opened, then their repetitions run in rounds (the final rung
    // repeats each finalist tune.final_repetitions times, interleaved, so drift hits them alike).
    const slots: {
      id: number;
      overrides: string[];
      job: number;
      handle: Job | null;
      wallMs: number;
      done: boolean;
      final: boolean;
    }[] = [];
    const record = (id: number, trial: Trial, result: RunResult | null, kept: boolean, unsaved = false): void => {
      trials.push(trial);
      rows.push({
        job: trial.job,
        status: trial.status,
        dir: relative(dir, trial.dir),
        overrides: trial.overrides,
        result,
        error: trial.error,
      });
      if (result) results.set(trial.job, result);
      if (trial.status === 'ok') bestTrial.set(id, trial);
      else if (!bestTrial.has(id)) bestTrial.set(id, trial);
      entries.push({ candidate: id, result: trial.status === 'ok' ? result : null, error: trial.error });
      req.onEvent?.({
        type: 'trial-end',
        trial,
        candidate: space.candidates[id]!,
        kept,
        warnings: result?.warnings ?? [],
        ...(unsaved && result ? { unsaved: result } : {}),
      });
      save('running');
    };
    for (const id of alive) {
      if (req.signal?.aborted) break;
      const candidate = space.candidates[id]!;
      const overrides = [...taskLines, ...candidate.overrides, ...rungOverrides(runConfig, tune, duration, final)];
      const before = earlier.get(trialKey(overrides));
      if (before?.status === 'ok' && existsSync(join(before.dir, RESULTS_JSON))) {
        const result = JSON.parse(readFileSync(join(before.dir, RESULTS_JSON), 'utf8')) as RunResult;
        record(id, { ...before, rung, candidate: id, final }, result, true);
        continue;
      }
      const job = before?.job ?? nextJob++;
      const t0 = Date.now();
      const handle = await openJob({
        repo: req.repo,
        source: req.source,
        overrides: [...hydraOverrides, ...overrides.map(parseOverride)],
        sweep: { job: { num: job, id: `${job}` }, dir },
        ...(req.onEvent ? { onEvent: req.onEvent } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
        ...(before ? { reuseDir: before.dir, earlier: readResult(before.dir) } : {}),
      });
      slots.push({ id, overrides, job, handle, wallMs: Date.now() - t0, done: false, final });
    }
    while (slots.some((x) => !x.done) && !req.signal?.aborted) {
      for (const slot of slots) {
        if (slot.done || req.signal?.aborted) continue;
        const t0 = Date.now();
        const next = slot.handle!.pending()[0];
        if (next !== undefined) await slot.handle!.runRepetition(next);
        slot.wallMs += Date.now() - t0;
        if (slot.handle!.done && !req.signal?.aborted) {
          slot.done = true;
          const t = await finishTrial(slot, rung, duration);
          record(slot.id, t.trial, t.result, false, t.unsaved);
        }
      }
    }
    if (req.signal?.aborted) {
      interrupted = true;
      // What was measured before the signal is kept, marked interrupted.
      for (const slot of slots.filter((x) => !x.done)) {
        const t = await finishTrial(slot, rung, duration);
        record(slot.id, t.trial, t.result, false, t.unsaved);
      }
    }
    if (interrupted) break;
    const decision = selectSurvivors(entries, tune, final);
    for (const e of decision.eliminated) dropped.set(e.candidate, e.reason);
    const done: Rung = {
      rung,
      duration_s: duration,
      final,
      candidates: alive,
      survivors: decision.survivors,
      eliminated: decision.eliminated,
    };
    rungs.push(done);
    req.onEvent?.({ type: 'rung-end', rung: done });
    alive = [...decision.survivors];
    if (final || alive.length === 0) break;
    duration = nextDuration(duration, tune);
  }

  const finalRung = rungs.find((r) => r.final);
  const ranking = rank(space, bestTrial, dropped, rungs, tune, trials);
  const winnerRow = !interrupted && finalRung && finalRung.survivors.length > 0 ? ranking[0]! : null;
  let confidence: (WinnerConfidence & { readonly runner_up: string; readonly duration_s: number }) | null = null;
  const feasible = (r: RankRow): boolean =>
    r.score !== null && !(r.dropped ?? '').startsWith('failed') && !(r.dropped ?? '').includes('max_latency_ms');
  const runnerUp = winnerRow ? ranking.find((r) => r.candidate !== winnerRow.candidate && feasible(r)) : undefined;
  if (winnerRow && runnerUp) {
    // The two runs to compare: the longest rung in which both ran (the final one, unless the
    // runner-up was pruned earlier), so that both are measured for the same duration.
    const both = [...rungs]
      .reverse()
      .find((r) => r.candidates.includes(winnerRow.candidate) && r.candidates.includes(runnerUp.candidate));
    const jobOf = (candidate: number) =>
      trials.find((t) => t.rung === both?.rung && t.candidate === candidate && t.status === 'ok')?.job;
    const a = jobOf(winnerRow.candidate);
    const b = jobOf(runnerUp.candidate);
    if (both && a !== undefined && b !== undefined) {
      confidence = {
        ...winnerConfidence(results.get(a)!, results.get(b)!, tune.objective),
        runner_up: runnerUp.label,
        duration_s: both.duration_s,
      };
    }
  }
  const winnerResult = winnerRow ? results.get(winnerRow.job)! : null;
  const command = winnerRow
    ? [
        'bench',
        ...taskLines.filter((o) => !parseOverride(o).keyOrGroup.startsWith('tune.')),
        ...winnerRow.overrides.filter((o) => !restatesBase(o, resolved)),
      ].join(' ')
    : null;
  const status: TuneOutcome['status'] = interrupted ? 'interrupted' : winnerRow ? 'ok' : 'no-setup';
  const outcome: Omit<TuneOutcome, 'write_errors'> = {
    dir,
    status,
    tune,
    space,
    rungs,
    trials,
    ranking,
    winner: winnerRow,
    confidence,
    command,
    winner_plan: winnerResult?.plan ?? null,
    elapsed_s: (Date.now() - started) / 1000,
    trials_wall_s: trials.filter((t) => !earlierKept(t, earlier)).reduce((s, t) => s + t.wall_s, 0),
  };
  writes.run('tune.csv', () =>
    writeFileAtomic(join(dir, 'tune.csv'), toCsv(ranking.map((r) => rankRecord(r, tune.latency_stat)))),
  );
  if (winnerRow) {
    writes.run('winner.yaml', () => {
      const config = readFileSync(join(bestTrial.get(winnerRow.candidate)!.dir, '.hydra', 'config.yaml'), 'utf8');
      writeFileAtomic(
        join(dir, 'winner.yaml'),
        `# bench tune winner (${tune.objective}): ${winnerRow.label}\n# Run it again with: bench -cp ${dir} -cn winner\n${config}`,
      );
    });
    writes.run('winner-plan.json', () =>
      writeFileAtomic(join(dir, 'winner-plan.json'), `${JSON.stringify(winnerResult!.plan, null, 1)}\n`),
    );
  }
  save(status, {
    ranking,
    winner: winnerRow,
    confidence,
    command,
    elapsed_s: outcome.elapsed_s,
    trials_wall_s: outcome.trials_wall_s,
  });
  return { ...outcome, write_errors: writes.errors() };
}

/** Repetitions of each finalist in the last rung (tune.final_repetitions, default 3). */
export const finalRepetitions = (tune: TuneConfig): number => tune.final_repetitions ?? 3;

/** Reads a trial's results.json (null when it is not there or not readable). */
function readResult(jobDir: string): RunResult | null {
  try {
    return JSON.parse(readFileSync(join(jobDir, RESULTS_JSON), 'utf8')) as RunResult;
  } catch {
    return null;
  }
}

/** What tune needs of the base config: a tune node, this machine, pinned child processes. */
function checkTunable(cfg: RunConfig): TuneConfig {
  if (!cfg.tune)
    throw new ConfigError(
      "bench tune: this config has no 'tune' node; copy the one of bench's configs/config.yaml, or add keys with +tune.objective=...",
    );
  if (cfg.topology.file !== null) {
    throw new PlanError(
      `bench tune measures setups on this machine: remove topology.file=${cfg.topology.file} (bench plan prints plans for other machines)`,
    );
  }
  if (cfg.launcher.name !== 'process')
    throw new PlanError('bench tune varies the number of pinned instances: use launcher=process');
  if (cfg.scenario.name !== 'latency') throw new PlanError('bench tune ranks latency runs: use scenario=latency');
  const t = cfg.tune;
  // Checked here, not in the schema: an ordinary short run (benchmark_duration=0.1) must not trip over them.
  if (t.min_duration_s > t.max_duration_s) {
    throw new ConfigError(
      `tune.min_duration_s=${t.min_duration_s} is above tune.max_duration_s=${t.max_duration_s} (default: benchmark_duration): lower it or lengthen the runs`,
    );
  }
  if (t.max_latency_ms !== null && t.objective === 'latency') {
    throw new ConfigError(
      'tune.max_latency_ms is a budget for tune.objective=throughput; the latency objective already minimizes latency',
    );
  }
  return t;
}

/** Duration of the rung; screening rungs also take fewer warm-up and minimum calls. */
function rungOverrides(cfg: RunConfig, tune: TuneConfig, duration: number, final: boolean): string[] {
  const out = [`benchmark_duration=${duration}`];
  // The base config's key may be absent (users' primary configs need not carry it): add it then.
  if (final) out.push(`${cfg.repetitions === undefined ? '+' : ''}repetitions=${finalRepetitions(tune)}`);
  else if ((cfg.repetitions ?? 1) !== 1) out.push('repetitions=1');
  if (!final)
    out.push(
      `warmup_runs=${Math.min(cfg.warmup_runs, tune.screen_warmup_runs)}`,
      `scenario.min_iterations=${tune.screen_min_iterations}`,
    );
  return out;
}

function trialKey(overrides: readonly string[]): string {
  return [...overrides].sort().join(' ');
}

function earlierTrials(dir: string): Map<string, Trial> {
  const file = join(dir, TUNE_JSON);
  const out = new Map<string, Trial>();
  if (!existsSync(file)) return out;
  for (const t of (JSON.parse(readFileSync(file, 'utf8')) as { trials?: Trial[] }).trials ?? [])
    out.set(trialKey(t.overrides), t);
  return out;
}

function earlierKept(t: Trial, earlier: Map<string, Trial>): boolean {
  const before = earlier.get(trialKey(t.overrides));
  return before !== undefined && before.status === 'ok' && before.job === t.job;
}

function makeTrial(
  job: number,
  rung: number,
  candidate: number,
  duration: number,
  status: string,
  dir: string,
  overrides: readonly string[],
  result: RunResult,
  tune: TuneConfig,
  wallS: number,
  error: string | null,
): Trial {
  const a = result.aggregate;
  return {
    job,
    rung,
    candidate,
    duration_s: duration,
    repetitions: result.repetition_summary?.used.length ?? 1,
    status,
    dir,
    overrides,
    score: objectiveScore(result, tune.objective),
    latency_mean_ms: a?.latency_mean_ms ?? null,
    budget_latency_ms: budgetLatencyMs(result, tune.latency_stat),
    budget_supported: budgetSupported(result, tune.latency_stat),
    throughput_samples_per_s: a?.throughput_samples_per_s ?? null,
    wall_s: wallS,
    error,
  };
}

/**
 * Final-rung survivors first, by their final figures; then the others by the rung they reached
 * and, within it, by how far behind the winner they were in that same rung (runs of the same
 * length and warm-up), failures last. Every row's figures are from its own last rung, which the
 * row names: a screening figure is never ranked against a final one.
 */
function rank(
  space: TuneSpace,
  best: Map<number, Trial>,
  dropped: Map<number, string>,
  rungs: readonly Rung[],
  tune: TuneConfig,
  trials: readonly Trial[],
): RankRow[] {
  const finalRung = rungs.find((r) => r.final);
  const order = new Map<number, number>((finalRung?.survivors ?? []).map((id, k) => [id, k]));
  const winner = finalRung && finalRung.survivors.length > 0 ? finalRung.survivors[0]! : null;
  // The winner's figure in each rung, the yardstick of that rung's other figures.
  const winnerScore = new Map<number, number>();
  for (const t of trials)
    if (t.candidate === winner && t.status === 'ok' && t.score !== null) winnerScore.set(t.rung, t.score);
  const vsWinner = (t: Trial): number | null => {
    const w = winnerScore.get(t.rung);
    return w === undefined || t.score === null ? null : -behind(t.score, w, tune.objective);
  };
  const rows = [...best.entries()].map(([id, t]) => ({ id, t }));
  // Setups over the budget come after every setup within it, failures last.
  const tier = (id: number, t: Trial): number =>
    t.score === null ? 2 : (dropped.get(id) ?? '').includes('max_latency_ms') ? 1 : 0;
  rows.sort((x, y) => {
    const ox = order.get(x.id) ?? Infinity;
    const oy = order.get(y.id) ?? Infinity;
    if (ox !== oy) return ox - oy;
    if (tier(x.id, x.t) !== tier(y.id, y.t)) return tier(x.id, x.t) - tier(y.id, y.t);
    if (x.t.rung !== y.t.rung) return y.t.rung - x.t.rung;
    const vx = vsWinner(x.t);
    const vy = vsWinner(y.t);
    if (vx !== null && vy !== null && vx !== vy) return vy - vx;
    if (x.t.score === null || y.t.score === null) return (x.t.score === null ? 1 : 0) - (y.t.score === null ? 1 : 0);
    return tune.objective === 'latency' ? x.t.score - y.t.score : y.t.score - x.t.score;
  });
  return rows.map(({ id, t }, k) => ({
    rank: k + 1,
    candidate: id,
    label: space.candidates[id]!.label,
    rung: t.rung,
    duration_s: t.duration_s,
    repetitions: t.repetitions ?? 1,
    final: t.final ?? rungs.some((r) => r.rung === t.rung && r.final),
    budget_supported: t.budget_supported ?? true,
    score: t.score,
    latency_mean_ms: t.latency_mean_ms,
    budget_latency_ms: t.budget_latency_ms,
    throughput_samples_per_s: t.throughput_samples_per_s,
    vs_winner: vsWinner(t),
    dropped: dropped.get(id) ?? (t.status === 'interrupted' ? 'interrupted' : null),
    job: t.job,
    overrides: space.candidates[id]!.overrides,
  }));
}

function rankRecord(r: RankRow, stat: TuneConfig['latency_stat']): Record<string, unknown> {
  const round = (x: number | null): number | string => (x === null ? '' : Math.round(x * 1000) / 1000);
  return {
    rank: r.rank,
    setup: r.label,
    rung: r.rung + 1,
    duration_s: r.duration_s,
    repetitions: r.repetitions,
    latency_mean_ms: round(r.latency_mean_ms),
    // A percentile the calls do not support is left empty, as in the runs' own CSVs.
    [`latency_${stat}_ms`]: r.budget_supported ? round(r.budget_latency_ms) : '',
    throughput_samples_per_s: round(r.throughput_samples_per_s),
    vs_winner: round(r.vs_winner),
    dropped: r.dropped ?? '',
    job: r.job,
    overrides: r.overrides.join(' '),
  };
}

/** Whether an override only restates the base config's value (launcher.use_smt=false...), to keep the command short. */
function restatesBase(override: string, base: unknown): boolean {
  const o = parseOverride(override);
  const current = getPath(base, o.keyOrGroup);
  return current.found && o.value?.kind === 'element' && elementText(current.value) === elementText(o.value.value);
}
