/**
 * `bench compare A B`: rows of two result sets matched on their configuration, with a verdict each.
 *
 * Matching rule. Two rows match when every config key present on both sides has the same value,
 * except the keys that legitimately differ between two machines' (or two days') runs of the same
 * experiment without changing what is measured:
 * - `experiment_name`: a label;
 * - `seed`: it seeds the synthesized weights and the token ids, and the time of dense fp32 inference
 *   does not depend on their values (the claim docs/models.md makes for synthesized models);
 * - `benchmark_duration`, `scenario.min_iterations`, `scenario.min_requests_per_class`,
 *   `repetitions`: how much is measured, i.e. the sample size, which the verdict takes into account;
 * - `topology.file`: which machine description the plan was made for (the machine itself is
 *   compared in the environment block instead);
 * - `launcher.start_timeout_s`, `launcher.run_timeout_s`: watchdogs;
 * - `backend.save_optimized_model`, `backend.cache_optimized_graph`: write files, change nothing that is timed;
 * - `tune`: read by `bench tune` only, never by the run it configures;
 * - `hydra.*`: output paths and job bookkeeping (never part of a task config, but hand-made CSVs
 *   may carry them).
 * Everything else is matched, including `warmup_runs` (it changes the state that is measured),
 * `launcher.*` (the plan) and backend options such as the mock's `backend.gflops_per_thread`: a
 * config value like any other, so two simulated "machines" are compared with
 * `--ignore backend.gflops_per_thread`. `ignore` entries match a key or a dotted prefix of it
 * (`backend` ignores every `backend.*` key). Keys present on only one side (e.g. results written by
 * two bench versions) are not used for matching, and the comparison says so. Values are compared
 * in a canonical text form, so `1` from results.json matches `1` read back from a CSV. Rows that
 * share a configuration on one side (e.g. repeats with different seeds) are paired in job order.
 *
 * Verdicts. The unit of evidence is the repetition (config key `repetitions`): a fresh
 * measurement of the config, in new processes. The calls of one run are not independent samples of
 * what a repeat run gives (run-to-run differences dwarf the within-run error), so no test is ever
 * made over calls. Each repetition gives one figure, its median latency (the worst instance's; a
 * dispatch run's request latency); see src/stats/repetitions.ts for the formulas.
 * - Repetitions that other processes disturbed are left out when the side has a clean one; a side
 *   with only disturbed ones makes the row `inconclusive`, never a regression.
 * - With at least `minRepetitions` (3) usable repetitions on each side: Welch's t-test on the log
 *   figures, the ratio of geometric means B/A with its t-interval, and the p-values of all such
 *   rows adjusted for multiplicity (Holm by default: the chance that any row is called on noise
 *   stays below alpha; or Benjamini-Hochberg). Significant when the adjusted p < alpha.
 * - With fewer: no p-value. The ratio is shown with the within-run spread (a seeded percentile
 *   bootstrap over each repetition's calls, when the input has them), and B is called faster or
 *   slower only when the ratio is beyond the noise floor (`noiseFloor`, 10% by default: the
 *   run-to-run drift measured on the machines bench was built on, docs/performance.md) and the
 *   within-run interval excludes 1; otherwise `within noise`.
 * A regression past a threshold T is a `slower` row whose ratio exceeds 1 + T, or, without
 * repetitions, 1 + T + the noise floor. Throughput (summed over instances; the geometric mean over
 * repetitions) is compared as a plain ratio beside it.
 *
 * Dispatch runs (scenario=dispatch) are compared on their request latency: every request of the
 * dispatched setup, from arrival to completion (queueing included), all length classes pooled, and
 * their throughput in completed requests per second (load.ts puts these figures in the row; the
 * homogeneous baseline of each run is not part of the comparison). Each matched row carries the
 * measure its figures are of (`latency_measure`), and a pair whose sides measure different things
 * (a dispatch run from results.json against one from a CSV with service times only) is listed as
 * not comparable rather than compared.
 *
 * Pure: reads nothing, prints nothing.
 */
import { getPath } from '../util/tree.js';
import { cleanOrAll } from '../results/repetitions.js';
import { bootstrapRepetitionRatio, DEFAULT_BOOTSTRAP_SEED, DEFAULT_RESAMPLES } from '../stats/compare.js';
import {
  ADJUSTMENT_NAMES,
  adjustPValues,
  DEFAULT_NOISE_FLOOR,
  geometricMean,
  MIN_REPETITIONS,
  welchLogRatio,
  type Adjustment,
} from '../stats/repetitions.js';
import type { LatencyMeasure, RepetitionFigures, ResultRow, ResultSet } from './load.js';

export const DEFAULT_IGNORED_KEYS: readonly string[] = [
  'experiment_name',
  'seed',
  'benchmark_duration',
  'scenario.min_iterations',
  'scenario.min_requests_per_class',
  'repetitions',
  'topology.file',
  'launcher.start_timeout_s',
  'launcher.run_timeout_s',
  // Which interpreter ran torch (its version is compared as part of the environment).
  'backend.python',
  'backend.save_optimized_model',
  'backend.cache_optimized_graph',
  // How many calls ORT's profiler kept (whether it was on, backend.profile, is matched: a profiled
  // row meets only a profiled one, unless --allow-profiled).
  'backend.profile_calls',
  'tune',
  'hydra',
];

/** Environment fields shown when they differ, with the names a reader knows them by. */
export const ENVIRONMENT_FIELDS: readonly (readonly [key: string, label: string])[] = [
  ['cpu_model', 'CPU model'],
  ['cpu_flags', 'CPU flags'],
  ['topology.sockets', 'sockets'],
  ['topology.numa_nodes', 'NUMA nodes'],
  ['topology.physical_cores', 'physical cores'],
  ['topology.threads_per_core', 'threads per core'],
  ['logical_cpus', 'logical CPUs'],
  ['memory_gib', 'memory (GiB)'],
  ['onnxruntime_node_version', 'onnxruntime-node'],
  ['runtime.torch_version', 'torch'],
  ['runtime.blas_libraries', 'BLAS torch loaded'],
  ['bench_version', 'bench version'],
  ['bench_commit', 'bench commit'],
  ['node_version', 'Node.js'],
  ['transparent_hugepages', 'transparent huge pages'],
  ['cpu_governor', 'CPU governor'],
  ['os', 'kernel'],
  ['os_release', 'OS'],
  ['arch', 'arch'],
  ['hostname', 'hostname'],
];

/** What a latency figure measures, in words (for notes and reasons). */
export const MEASURE_WORDS: Readonly<Record<LatencyMeasure, string>> = {
  inference: 'inference latency',
  request: 'request latency (dispatch)',
  service: 'service time only (a dispatch run from a CSV without dispatch.csv)',
};

/**
 * faster / slower: significant (repetitions) or beyond the noise floor (fewer repetitions); `no
 * significant difference`: a test found none; `within noise`: too few repetitions for a test and
 * the change is within the noise floor; `inconclusive`: a side rests only on disturbed
 * repetitions; `unknown`: no figures to compare.
 */
export type Verdict = 'faster' | 'slower' | 'no significant difference' | 'within noise' | 'inconclusive' | 'unknown';
/** What the verdict rests on: a test over repetitions, or the noise floor (too few repetitions). */
export type Basis = 'repetitions' | 'noise-floor';
export type Statistic = 'welch-log-repetitions' | 'noise-floor' | 'none';

export { DEFAULT_NOISE_FLOOR, MIN_REPETITIONS };

export interface CompareOptions {
  /** Extra keys (or dotted prefixes) left out of matching, on top of DEFAULT_IGNORED_KEYS. */
  readonly ignore?: readonly string[];
  /** Significance level of the tests (0.05). */
  readonly alpha?: number;
  /** Confidence level of the ratio intervals (0.95). */
  readonly confidence?: number;
  readonly resamples?: number;
  readonly seed?: number;
  /** The change (a fraction) that separates faster/slower from `within noise` without repetitions. */
  readonly noiseFloor?: number;
  /** Multiplicity adjustment of the rows' p-values (holm). */
  readonly adjust?: Adjustment;
  /** Usable repetitions each side needs for a test (3). */
  readonly minRepetitions?: number;
}

export interface SideFigures {
  readonly source: string;
  readonly job: number | null;
  /** The centre of the repetitions used: the geometric mean of their median latencies (or means). */
  readonly latency_ms: number;
  /** Repetitions that measured ok, and those the verdict rests on (the clean ones, if any). */
  readonly repetitions: number;
  readonly used: number;
  /** Ok repetitions that were disturbed (left out when a clean one exists). */
  readonly disturbed: number;
  /** Standard deviation of the log figures of the used repetitions (about their CV); null below 2. */
  readonly repetition_log_std: number | null;
  /** Each ok repetition's figure (ms), in order, and whether the verdict used it. */
  readonly figures: readonly {
    readonly repetition: number;
    readonly latency_ms: number;
    readonly disturbed: boolean;
    readonly used: boolean;
  }[];
  /** Calls (or requests) behind the used repetitions' figures; null when unknown. */
  readonly calls: number | null;
  readonly instances: number | null;
  readonly throughput_samples_per_s: number | null;
}

export interface MatchedRow {
  /** The varying config keys' values, e.g. {sequence_length: 128}. */
  readonly setup: Readonly<Record<string, string>>;
  readonly a: SideFigures;
  readonly b: SideFigures;
  /** What the latencies compared are: one inference call, or a dispatch run's request latency (or service time). */
  readonly latency_measure: LatencyMeasure;
  readonly statistic: Statistic;
  readonly basis: Basis;
  /** Each repetition's figure: its median latency, or its mean where the input has no median. */
  readonly center: 'median' | 'mean';
  /** Latency ratio B / A (below 1: B is faster), of the sides' centres, with its interval. */
  readonly ratio: number;
  readonly ratio_lo: number | null;
  readonly ratio_hi: number | null;
  /** repetitions: the t-interval over repetitions; within-run: the bootstrap over calls (no verdict from it alone). */
  readonly interval: 'repetitions' | 'within-run' | null;
  readonly p_value: number | null;
  /** The p-value adjusted for the number of rows tested (see Comparison.adjustment). */
  readonly p_adjusted: number | null;
  readonly verdict: Verdict;
  /** Why the verdict is what it is when that is not a test's outcome (noise floor, disturbed data). */
  readonly reason: string | null;
  readonly throughput_ratio: number | null;
}

export interface UnmatchedRow {
  readonly side: 'A' | 'B';
  readonly source: string;
  readonly job: number | null;
  readonly setup: Readonly<Record<string, string>>;
  /** The keys in which the closest row of the other side differs: [key, this side's value, other's]. */
  readonly closest_differs: readonly (readonly [string, string, string])[];
}

export interface SkippedRow {
  readonly side: 'A' | 'B';
  readonly source: string;
  readonly status: string;
  readonly reason: string;
}

export interface EnvironmentDiff {
  readonly key: string;
  readonly label: string;
  readonly a: string;
  readonly b: string;
}

export interface SetDescription {
  readonly path: string;
  readonly kind: string;
  readonly rows: number;
}

export interface Comparison {
  readonly a: SetDescription;
  readonly b: SetDescription;
  readonly alpha: number;
  readonly confidence: number;
  readonly resamples: number;
  readonly bootstrap_seed: number;
  readonly noise_floor: number;
  readonly adjustment: Adjustment;
  readonly min_repetitions: number;
  /** Rows whose p-values were adjusted together. */
  readonly tested_rows: number;
  readonly ignored_keys: readonly string[];
  /** Config keys that differ between rows (the columns that tell matched rows apart). */
  readonly varying_keys: readonly string[];
  readonly environment: {
    readonly known: boolean;
    /** Fields that differ between A and B. */
    readonly differences: readonly EnvironmentDiff[];
    /** Fields that are the same, for the reader's orientation. */
    readonly same: readonly EnvironmentDiff[];
  };
  readonly matched: readonly MatchedRow[];
  readonly unmatched: readonly UnmatchedRow[];
  readonly skipped: readonly SkippedRow[];
  readonly notes: readonly string[];
}

/** Canonical text of a config value, so JSON values and CSV strings compare equal. */
export function canonical(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return String(Number(t));
    return v;
  }
  return JSON.stringify(v);
}

export function isIgnored(key: string, ignored: readonly string[]): boolean {
  return ignored.some((p) => key === p || key.startsWith(`${p}.`));
}

/** The repetitions of a row with a figure that measured ok. */
function okRepetitions(r: ResultRow): RepetitionFigures[] {
  return r.repetitions.filter((x) => x.status === 'ok' && figureOf(x) !== null);
}

function figureOf(x: RepetitionFigures): number | null {
  const f = x.latency_p50_ms ?? x.latency_mean_ms;
  return f !== null && f > 0 ? f : null;
}

/** A row can be compared when at least one of its repetitions measured ok. */
function comparable(r: ResultRow): boolean {
  return okRepetitions(r).length > 0;
}

function keysOf(rows: readonly ResultRow[]): Set<string> {
  const s = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.config)) s.add(k);
  return s;
}

function matchKey(r: ResultRow, keys: readonly string[]): string {
  return JSON.stringify(keys.map((k) => canonical(r.config[k])));
}

function setupOf(r: ResultRow, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [k, canonical(r.config[k])]));
}

/** The repetitions a side's verdict rests on: the clean ok ones, else every ok one (then disturbed only). */
function usedOf(r: ResultRow): { used: RepetitionFigures[]; ok: RepetitionFigures[]; disturbedOnly: boolean } {
  const ok = okRepetitions(r);
  return { ...cleanOrAll(ok), ok };
}

function side(r: ResultRow, u: ReturnType<typeof usedOf>): SideFigures {
  const figures = u.used.map((x) => figureOf(x)!);
  const logs = figures.map((f) => Math.log(f));
  const m = logs.reduce((s, x) => s + x, 0) / Math.max(logs.length, 1);
  const calls = u.used.every((x) => x.latencies_ms !== null)
    ? u.used.reduce((s, x) => s + x.latencies_ms!.length, 0)
    : u.used.length === 1
      ? r.latency_count
      : null;
  const throughputs = u.used.map((x) => x.throughput_samples_per_s).filter((t): t is number => t !== null && t > 0);
  return {
    source: r.source,
    job: r.job,
    latency_ms: geometricMean(figures),
    repetitions: u.ok.length,
    used: u.used.length,
    disturbed: u.ok.filter((x) => x.disturbed).length,
    repetition_log_std:
      logs.length >= 2 ? Math.sqrt(logs.reduce((s, x) => s + (x - m) ** 2, 0) / (logs.length - 1)) : null,
    figures: u.ok.map((x) => ({
      repetition: x.repetition,
      latency_ms: figureOf(x)!,
      disturbed: x.disturbed,
      used: u.used.includes(x),
    })),
    calls,
    instances: r.instances,
    throughput_samples_per_s:
      throughputs.length === u.used.length && throughputs.length > 0
        ? geometricMean(throughputs)
        : r.throughput_samples_per_s,
  };
}

type RowOptions = Required<Omit<CompareOptions, 'ignore' | 'adjust'>>;

/**
 * One matched pair, before the multiplicity adjustment: rows tested over repetitions get their
 * verdict in compareSets, once every row's p-value is known (`verdict` is provisional here).
 */
export function compareRows(a: ResultRow, b: ResultRow, setup: Record<string, string>, opts: RowOptions): MatchedRow {
  const ua = usedOf(a);
  const ub = usedOf(b);
  const sa = side(a, ua);
  const sb = side(b, ub);
  const center = [...ua.used, ...ub.used].every((x) => x.latency_p50_ms !== null) ? 'median' : 'mean';
  const ratio = sb.latency_ms / sa.latency_ms;
  const throughputRatio =
    sa.throughput_samples_per_s && sb.throughput_samples_per_s !== null
      ? sb.throughput_samples_per_s / sa.throughput_samples_per_s
      : null;
  const base = {
    setup,
    a: sa,
    b: sb,
    latency_measure: a.latency_measure,
    center,
    throughput_ratio: throughputRatio,
  } as const;
  const disturbed = [ua.disturbedOnly ? 'A' : null, ub.disturbedOnly ? 'B' : null].filter(Boolean).join(' and ');
  const inconclusive =
    disturbed === ''
      ? null
      : `${disturbed} rest${disturbed.length === 1 ? 's' : ''} only on disturbed repetitions (other processes used the CPUs): measure again on a quiet machine`;
  if (ua.used.length >= opts.minRepetitions && ub.used.length >= opts.minRepetitions) {
    const w = welchLogRatio(
      ua.used.map((x) => figureOf(x)!),
      ub.used.map((x) => figureOf(x)!),
      opts.confidence,
    );
    return {
      ...base,
      statistic: 'welch-log-repetitions',
      basis: 'repetitions',
      ratio: w.ratio,
      ratio_lo: Number.isFinite(w.lo) ? w.lo : null,
      ratio_hi: Number.isFinite(w.hi) ? w.hi : null,
      interval: 'repetitions',
      p_value: Number.isFinite(w.p_value) ? w.p_value : null,
      p_adjusted: null,
      verdict: inconclusive ? 'inconclusive' : 'no significant difference',
      reason: inconclusive,
    };
  }
  // Too few repetitions for a test: the within-run spread, and the noise floor decides.
  const withCalls = [...ua.used, ...ub.used].every((x) => x.latencies_ms !== null && x.latencies_ms.length > 0);
  const ci = withCalls
    ? bootstrapRepetitionRatio(
        ua.used.map((x) => x.latencies_ms!),
        ub.used.map((x) => x.latencies_ms!),
        { resamples: opts.resamples, seed: opts.seed, confidence: opts.confidence },
      )
    : null;
  const lo = ci && Number.isFinite(ci.lo) ? ci.lo : null;
  const hi = ci && Number.isFinite(ci.hi) ? ci.hi : null;
  const floor = opts.noiseFloor;
  const reps = `${ua.used.length === ub.used.length ? `${ua.used.length} repetition${ua.used.length === 1 ? '' : 's'} per side` : `${ua.used.length} and ${ub.used.length} repetitions`}`;
  let verdict: Verdict;
  let reason: string;
  if (inconclusive) {
    verdict = 'inconclusive';
    reason = inconclusive;
  } else if (ratio > 1 + floor && (lo === null || lo > 1)) {
    verdict = 'slower';
    reason = `beyond the ${pct(floor)} noise floor; no test with ${reps} (needs ${opts.minRepetitions})`;
  } else if (ratio < 1 / (1 + floor) && (hi === null || hi < 1)) {
    verdict = 'faster';
    reason = `beyond the ${pct(floor)} noise floor; no test with ${reps} (needs ${opts.minRepetitions})`;
  } else {
    verdict = 'within noise';
    reason = `${reps}: a verdict needs ${opts.minRepetitions} each (repetitions=${Math.max(opts.minRepetitions, 5)}); the change is within the ${pct(floor)} noise floor`;
  }
  return {
    ...base,
    statistic: 'noise-floor',
    basis: 'noise-floor',
    ratio,
    ratio_lo: lo,
    ratio_hi: hi,
    interval: ci ? 'within-run' : null,
    p_value: null,
    p_adjusted: null,
    verdict,
    reason,
  };
}

/** `10%`, `2.5%`. */
export const pct = (x: number): string => `${+(x * 100).toFixed(2)}%`;

/** The verdicts of the rows tested over repetitions, once their p-values are adjusted together. */
function settleTests(
  rows: readonly MatchedRow[],
  adjust: Adjustment,
  alpha: number,
): { rows: MatchedRow[]; tested: number } {
  const tested = rows
    .map((m, k) => ({ m, k }))
    .filter(({ m }) => m.basis === 'repetitions' && m.verdict !== 'inconclusive' && m.p_value !== null);
  const adjusted = adjustPValues(
    tested.map(({ m }) => m.p_value!),
    adjust,
  );
  const out = [...rows];
  tested.forEach(({ m, k }, t) => {
    const p = adjusted[t]!;
    const verdict: Verdict =
      p < alpha && m.ratio_hi !== null && m.ratio_hi < 1
        ? 'faster'
        : p < alpha && m.ratio_lo !== null && m.ratio_lo > 1
          ? 'slower'
          : 'no significant difference';
    // The interval is the row's own; a row significant alone but not among all those tested says so.
    const alone = verdict === 'no significant difference' && m.p_value! < alpha;
    const reason = alone
      ? `p = ${m.p_value!.toPrecision(2)} for this row alone, ${p.toPrecision(2)} after ${ADJUSTMENT_NAMES[adjust]} over the ${tested.length} rows tested; its interval is the row's own, not adjusted`
      : m.reason;
    out[k] = { ...m, p_adjusted: p, verdict, reason };
  });
  return { rows: out, tested: tested.length };
}

/** A dotted field of an environment block as text; lists (CPU flags) space-separated. */
export function environmentValue(env: Readonly<Record<string, unknown>>, key: string): string {
  const found = getPath(env, key);
  if (!found.found) return '';
  return Array.isArray(found.value) ? found.value.map(String).join(' ') : canonical(found.value);
}

function environmentOf(rows: readonly ResultRow[]): { env: Record<string, string> | null; mixed: string[] } {
  const envs = rows.map((r) => r.environment).filter((e): e is Readonly<Record<string, unknown>> => e !== null);
  if (envs.length === 0) return { env: null, mixed: [] };
  const values = envs.map((e) => Object.fromEntries(ENVIRONMENT_FIELDS.map(([k]) => [k, environmentValue(e, k)])));
  // A field only some rows have (torch's version, in a set that mixes ONNX Runtime and PyTorch runs)
  // is that of the rows that have it, and does not make the environments mixed.
  const env = Object.fromEntries(
    ENVIRONMENT_FIELDS.map(([k]) => [k, values.find((v) => v[k] !== '')?.[k] ?? values[0]![k]!]),
  );
  const mixed = ENVIRONMENT_FIELDS.filter(
    ([k]) => new Set(values.map((v) => v[k]).filter((x) => x !== '')).size > 1,
  ).map(([, label]) => label);
  return { env, mixed };
}

function describe(set: ResultSet): SetDescription {
  return { path: set.path, kind: set.kind, rows: set.rows.length };
}

export function compareSets(setA: ResultSet, setB: ResultSet, options: CompareOptions = {}): Comparison {
  const opts = {
    alpha: options.alpha ?? 0.05,
    confidence: options.confidence ?? 0.95,
    resamples: options.resamples ?? DEFAULT_RESAMPLES,
    seed: options.seed ?? DEFAULT_BOOTSTRAP_SEED,
    noiseFloor: options.noiseFloor ?? DEFAULT_NOISE_FLOOR,
    minRepetitions: options.minRepetitions ?? MIN_REPETITIONS,
  };
  const adjustment = options.adjust ?? 'holm';
  const ignored = [...new Set([...DEFAULT_IGNORED_KEYS, ...(options.ignore ?? [])])];
  const notes: string[] = [];
  const skipped: SkippedRow[] = [];
  const usable = (set: ResultSet, name: 'A' | 'B'): ResultRow[] =>
    set.rows.filter((r) => {
      if (comparable(r)) return true;
      skipped.push({
        side: name,
        source: r.source,
        status: r.status,
        reason: r.error?.split('\n')[0] ?? 'no latency figures',
      });
      return false;
    });
  // A row not ok as a whole may still hold repetitions that measured ok: compared on those.
  const partial = (rows: readonly ResultRow[], name: 'A' | 'B'): void => {
    for (const r of rows.filter((x) => x.status !== 'ok')) {
      notes.push(
        `${name}: ${r.source} is ${r.status}; compared on its ${okRepetitions(r).length} repetition(s) that measured ok`,
      );
    }
  };
  const rowsA = usable(setA, 'A');
  const rowsB = usable(setB, 'B');
  for (const w of setA.warnings) notes.push(`A: ${w}`);
  for (const w of setB.warnings) notes.push(`B: ${w}`);
  partial(rowsA, 'A');
  partial(rowsB, 'B');

  const keysA = keysOf(rowsA);
  const keysB = keysOf(rowsB);
  const keys = [...keysA].filter((k) => keysB.has(k) && !isIgnored(k, ignored)).sort();
  const onlyA = [...keysA].filter((k) => !keysB.has(k) && !isIgnored(k, ignored));
  const onlyB = [...keysB].filter((k) => !keysA.has(k) && !isIgnored(k, ignored));
  if (onlyA.length > 0) notes.push(`config keys only in A, not used for matching: ${onlyA.join(', ')}`);
  if (onlyB.length > 0) notes.push(`config keys only in B, not used for matching: ${onlyB.join(', ')}`);
  if (rowsA.length > 0 && rowsB.length > 0 && keys.length === 0)
    notes.push('no config keys in common: every row matches every other, paired in order');

  const all = [...rowsA, ...rowsB];
  const varying = keys.filter((k) => new Set(all.map((r) => canonical(r.config[k]))).size > 1);

  // Group by configuration, keeping input order; pair in order within a group.
  const groupsB = new Map<string, ResultRow[]>();
  for (const r of rowsB) {
    const k = matchKey(r, keys);
    groupsB.set(k, [...(groupsB.get(k) ?? []), r]);
  }
  const countA = new Map<string, number>();
  for (const r of rowsA) countA.set(matchKey(r, keys), (countA.get(matchKey(r, keys)) ?? 0) + 1);
  const matched: MatchedRow[] = [];
  const leftoverA: ResultRow[] = [];
  const sharedNoted = new Set<string>();
  for (const r of rowsA) {
    const k = matchKey(r, keys);
    const partners = groupsB.get(k);
    if (((countA.get(k) ?? 0) > 1 || (partners?.length ?? 0) > 1) && !sharedNoted.has(k)) {
      sharedNoted.add(k);
      const label = varying.map((v) => `${v}=${canonical(r.config[v])}`).join(' ') || 'the same configuration';
      notes.push(
        `${countA.get(k) ?? 0} row(s) of A and ${groupsB.get(k)?.length ?? 0} of B share ${label}: paired in job order`,
      );
    }
    const partner = partners?.shift();
    if (partner && partner.latency_measure !== r.latency_measure) {
      const what = (m: LatencyMeasure): string => MEASURE_WORDS[m];
      const reason = `A has ${what(r.latency_measure)}, B ${what(partner.latency_measure)}: not the same measure`;
      skipped.push(
        { side: 'A', source: r.source, status: r.status, reason },
        { side: 'B', source: partner.source, status: partner.status, reason },
      );
    } else if (partner) matched.push(compareRows(r, partner, setupOf(r, varying), opts));
    else leftoverA.push(r);
  }
  const leftoverB = [...groupsB.values()].flat();
  // Keep B's leftovers in input order.
  leftoverB.sort((x, y) => rowsB.indexOf(x) - rowsB.indexOf(y));

  const closest = (r: ResultRow, others: readonly ResultRow[]): [string, string, string][] => {
    let best: [string, string, string][] | null = null;
    for (const o of others) {
      const diff = keys
        .filter((k) => canonical(r.config[k]) !== canonical(o.config[k]))
        .map((k): [string, string, string] => [k, canonical(r.config[k]), canonical(o.config[k])]);
      if (best === null || diff.length < best.length) best = diff;
    }
    return best ?? [];
  };
  const unmatched: UnmatchedRow[] = [
    ...leftoverA.map((r): UnmatchedRow => ({
      side: 'A',
      source: r.source,
      job: r.job,
      setup: setupOf(r, varying),
      closest_differs: closest(r, rowsB),
    })),
    ...leftoverB.map((r): UnmatchedRow => ({
      side: 'B',
      source: r.source,
      job: r.job,
      setup: setupOf(r, varying),
      closest_differs: closest(r, rowsA),
    })),
  ];

  // When nothing (or little) matched, name the keys that keep rows apart, so the user can decide to --ignore them.
  if (unmatched.length > 0) {
    const counts = new Map<string, number>();
    for (const u of unmatched) for (const [k] of u.closest_differs) counts.set(k, (counts.get(k) ?? 0) + 1);
    const everywhere = [...counts].filter(([, n]) => n === unmatched.length).map(([k]) => k);
    if (everywhere.length > 0 && everywhere.length <= 3) {
      notes.push(
        `every unmatched row differs from its closest counterpart in ${everywhere.join(', ')}; ` +
          `if that does not change what you compare, add --ignore ${everywhere.join(',')}`,
      );
    }
  }
  const settled = settleTests(matched, adjustment, opts.alpha);
  const few = settled.rows.filter((m) => m.basis === 'noise-floor');
  if (few.length > 0) {
    notes.push(
      `${few.length === settled.rows.length ? 'every matched row has' : `${few.length} of ${settled.rows.length} matched rows have`} fewer than ${opts.minRepetitions} usable repetitions on a side: ` +
        `no test is made over the calls of one run (a repeat run differs by more than its calls do); faster/slower only beyond the ${pct(opts.noiseFloor)} noise floor. ` +
        `For a verdict, measure both sides with repetitions=5 (a sweep interleaves them)`,
    );
  }
  if (few.some((m) => m.interval === null && m.verdict !== 'inconclusive')) {
    notes.push(
      'some rows come from a CSV (no raw latencies): their within-run spread is unknown; compare the run or sweep directories for it',
    );
  }
  const inconclusive = settled.rows.filter((m) => m.verdict === 'inconclusive');
  if (inconclusive.length > 0)
    notes.push(
      `${inconclusive.length} row(s) rest only on disturbed repetitions on a side: inconclusive, never called a regression`,
    );

  const envA = environmentOf(rowsA);
  const envB = environmentOf(rowsB);
  if (envA.mixed.length > 0)
    notes.push(`A mixes environments (rows differ in ${envA.mixed.join(', ')}); the first row's is shown`);
  if (envB.mixed.length > 0)
    notes.push(`B mixes environments (rows differ in ${envB.mixed.join(', ')}); the first row's is shown`);
  const differences: EnvironmentDiff[] = [];
  const same: EnvironmentDiff[] = [];
  if (envA.env && envB.env) {
    for (const [key, label] of ENVIRONMENT_FIELDS) {
      const d = { key, label, a: envA.env[key] ?? '', b: envB.env[key] ?? '' };
      if (d.a === '' && d.b === '') continue;
      (d.a === d.b ? same : differences).push(d);
    }
  } else {
    const missing = [envA.env ? null : 'A', envB.env ? null : 'B'].filter(Boolean).join(' and ');
    notes.push(
      `environment unknown for ${missing} (a CSV has no environment block): machine differences cannot be shown`,
    );
  }

  return {
    a: describe(setA),
    b: describe(setB),
    alpha: opts.alpha,
    confidence: opts.confidence,
    resamples: opts.resamples,
    bootstrap_seed: opts.seed,
    noise_floor: opts.noiseFloor,
    adjustment,
    min_repetitions: opts.minRepetitions,
    tested_rows: settled.tested,
    ignored_keys: ignored,
    varying_keys: varying,
    environment: { known: envA.env !== null && envB.env !== null, differences, same },
    matched: settled.rows,
    unmatched,
    skipped,
    notes,
  };
}

/**
 * Parses `5%`, `5` (percent) or `0.05%`: the fraction by which a row may be slower. A bare number
 * below 1 (`0.05`) could mean 5% or 0.05%: refused (null), so that a fraction typed by habit is
 * never read as a hundredth of what was meant.
 */
export function parseThreshold(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(%?)\s*$/.exec(text);
  if (!m || (m[2] === '' && Number(m[1]) < 1 && Number(m[1]) !== 0)) return null;
  return Number(m[1]) / 100;
}

/**
 * Whether a row fails a `--fail-on-regression` threshold (a fraction: 0.05 = 5%): slower in B, by
 * more than the threshold when a test over repetitions says so, by more than the threshold plus the
 * noise floor when there are too few repetitions for a test.
 */
export function isRegression(m: MatchedRow, threshold: number, noiseFloor: number): boolean {
  if (m.verdict !== 'slower') return false;
  return m.ratio > 1 + threshold + (m.basis === 'noise-floor' ? noiseFloor : 0);
}

/** Matched rows that fail the threshold (see isRegression). */
export function regressions(cmp: Comparison, threshold: number): MatchedRow[] {
  return cmp.matched.filter((m) => isRegression(m, threshold, cmp.noise_floor));
}

/**
 * Rows that pass a threshold without clearing it: tested rows whose interval still reaches past
 * 1 + threshold, and rows without repetitions slower by more than the threshold but within the
 * noise floor. Not regressions, but not shown to be free of one either.
 */
export function unresolvedRows(cmp: Comparison, threshold: number): MatchedRow[] {
  return cmp.matched.filter(
    (m) =>
      !isRegression(m, threshold, cmp.noise_floor) &&
      m.verdict !== 'inconclusive' &&
      (m.basis === 'repetitions' ? m.ratio_hi !== null && m.ratio_hi > 1 + threshold : m.ratio > 1 + threshold),
  );
}

/** Matched rows that rest only on disturbed repetitions on a side. */
export function inconclusiveRows(cmp: Comparison): MatchedRow[] {
  return cmp.matched.filter((m) => m.verdict === 'inconclusive');
}
