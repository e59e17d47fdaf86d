/**
 * `bench compare A B`: rows of two result sets matched on their configuration, with a verdict each.
 *
 * Matching rule. Two rows match when every config key present on both sides has the same value,
 * except the keys that legitimately differ between two machines' (or two days') runs of the same
 * experiment without changing what is measured:
 * - `experiment_name`: a label;
 * - `seed`: it seeds the synthesized weights and the token ids, and the time of dense fp32 inference
 *   does not depend on their values (the claim the README makes for synthesized models);
 * - `benchmark_duration`, `scenario.min_iterations`, `scenario.min_requests_per_class`: how many
 *   calls (requests) are timed, i.e. the sample size, which the statistical test takes into account;
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
 * Verdicts (see src/stats/compare.ts for the formulas): with raw latencies on both sides, the
 * Mann-Whitney U test on the pooled calls of all instances, and the ratio of medians B/A with a
 * seeded bootstrap interval; otherwise Welch's t-test on the means (the aggregate mean, i.e. the
 * worst instance's, with the pooled std and count) and the ratio of means with a delta-method
 * interval; with no spread in the input (a summary CSV has none), only the ratio of means, and no
 * verdict. A difference is significant when p < alpha and the interval of the ratio excludes 1.
 * Throughput (summed over instances) is compared as a plain ratio beside it.
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
import { getPath } from '../config/tree.js';
import { bootstrapMedianRatio, DEFAULT_BOOTSTRAP_SEED, DEFAULT_RESAMPLES, mannWhitneyU, welchRatio } from '../stats/compare.js';
import { mean, percentile, sampleStd } from '../stats/summary.js';
import type { LatencyMeasure, ResultRow, ResultSet } from './load.js';

export const DEFAULT_IGNORED_KEYS: readonly string[] = [
  'experiment_name',
  'seed',
  'benchmark_duration',
  'scenario.min_iterations',
  'scenario.min_requests_per_class',
  'topology.file',
  'launcher.start_timeout_s',
  'launcher.run_timeout_s',
  'backend.save_optimized_model',
  'backend.cache_optimized_graph',
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

export type Verdict = 'faster' | 'slower' | 'no significant difference' | 'unknown';
export type Statistic = 'mann-whitney-u' | 'welch' | 'none';

export interface CompareOptions {
  /** Extra keys (or dotted prefixes) left out of matching, on top of DEFAULT_IGNORED_KEYS. */
  readonly ignore?: readonly string[];
  /** Significance level of the tests (0.05). */
  readonly alpha?: number;
  /** Confidence level of the ratio intervals (0.95). */
  readonly confidence?: number;
  readonly resamples?: number;
  readonly seed?: number;
}

export interface SideFigures {
  readonly source: string;
  readonly job: number | null;
  /** Median of the pooled calls (Mann-Whitney rows) or the aggregate mean (Welch / no-spread rows). */
  readonly latency_ms: number;
  /** Spread shown next to a mean (sample std); null for medians. */
  readonly latency_std_ms: number | null;
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
  readonly center: 'median' | 'mean';
  /** Latency ratio B / A (below 1: B is faster) with its interval. */
  readonly ratio: number;
  readonly ratio_lo: number | null;
  readonly ratio_hi: number | null;
  readonly p_value: number | null;
  /** Mann-Whitney rows: probability that a random call of B is faster than one of A. */
  readonly prob_b_faster: number | null;
  readonly verdict: Verdict;
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

function comparable(r: ResultRow): boolean {
  return r.status === 'ok' && (r.latencies_ms !== null || r.latency_mean_ms !== null);
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

/** Pooled median (raw) or aggregate mean, with the spread and count used by the test. */
function side(r: ResultRow, center: 'median' | 'mean'): SideFigures {
  const raw = r.latencies_ms;
  const latency = center === 'median' && raw ? percentile([...raw].sort((x, y) => x - y), 0.5) : (r.latency_mean_ms ?? (raw ? mean(raw) : NaN));
  return {
    source: r.source,
    job: r.job,
    latency_ms: latency,
    latency_std_ms: center === 'mean' ? (r.latency_std_ms ?? (raw ? sampleStd(raw) : null)) : null,
    calls: raw?.length ?? r.latency_count,
    instances: r.instances,
    throughput_samples_per_s: r.throughput_samples_per_s,
  };
}

function verdictOf(ratio: number, lo: number | null, hi: number | null, p: number | null, alpha: number): Verdict {
  if (p === null || lo === null || hi === null || !Number.isFinite(p) || !Number.isFinite(lo) || !Number.isFinite(hi)) return 'unknown';
  if (p < alpha && hi < 1 && ratio < 1) return 'faster';
  if (p < alpha && lo > 1 && ratio > 1) return 'slower';
  return 'no significant difference';
}

export function compareRows(a: ResultRow, b: ResultRow, setup: Record<string, string>, opts: Required<Omit<CompareOptions, 'ignore'>>): MatchedRow {
  const throughputRatio =
    a.throughput_samples_per_s && b.throughput_samples_per_s !== null ? b.throughput_samples_per_s / a.throughput_samples_per_s : null;
  if (a.latencies_ms && b.latencies_ms) {
    const mw = mannWhitneyU(a.latencies_ms, b.latencies_ms);
    const ci = bootstrapMedianRatio(a.latencies_ms, b.latencies_ms, { resamples: opts.resamples, seed: opts.seed, confidence: opts.confidence });
    return {
      setup,
      a: side(a, 'median'),
      b: side(b, 'median'),
      latency_measure: a.latency_measure,
      statistic: 'mann-whitney-u',
      center: 'median',
      ratio: ci.ratio,
      ratio_lo: ci.lo,
      ratio_hi: ci.hi,
      p_value: mw.p_value,
      prob_b_faster: mw.prob_b_faster,
      verdict: verdictOf(ci.ratio, ci.lo, ci.hi, mw.p_value, opts.alpha),
      throughput_ratio: throughputRatio,
    };
  }
  const sa = side(a, 'mean');
  const sb = side(b, 'mean');
  const ratio = sb.latency_ms / sa.latency_ms;
  if (sa.latency_std_ms !== null && sb.latency_std_ms !== null && sa.calls !== null && sb.calls !== null && sa.calls >= 2 && sb.calls >= 2) {
    const w = welchRatio(
      { mean: sa.latency_ms, std: sa.latency_std_ms, n: sa.calls },
      { mean: sb.latency_ms, std: sb.latency_std_ms, n: sb.calls },
      opts.confidence,
    );
    return {
      setup,
      a: sa,
      b: sb,
      latency_measure: a.latency_measure,
      statistic: 'welch',
      center: 'mean',
      ratio: w.ratio,
      ratio_lo: w.lo,
      ratio_hi: w.hi,
      p_value: w.p_value,
      prob_b_faster: null,
      verdict: verdictOf(w.ratio, w.lo, w.hi, w.p_value, opts.alpha),
      throughput_ratio: throughputRatio,
    };
  }
  return {
    setup,
    a: sa,
    b: sb,
    latency_measure: a.latency_measure,
    statistic: 'none',
    center: 'mean',
    ratio,
    ratio_lo: null,
    ratio_hi: null,
    p_value: null,
    prob_b_faster: null,
    verdict: 'unknown',
    throughput_ratio: throughputRatio,
  };
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
  const env = values[0]!;
  const mixed = ENVIRONMENT_FIELDS.filter(([k]) => values.some((v) => v[k] !== env[k])).map(([, label]) => label);
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
  };
  const ignored = [...new Set([...DEFAULT_IGNORED_KEYS, ...(options.ignore ?? [])])];
  const notes: string[] = [];
  const skipped: SkippedRow[] = [];
  const usable = (set: ResultSet, name: 'A' | 'B'): ResultRow[] =>
    set.rows.filter((r) => {
      if (comparable(r)) return true;
      skipped.push({ side: name, source: r.source, status: r.status, reason: r.error?.split('\n')[0] ?? 'no latency figures' });
      return false;
    });
  const rowsA = usable(setA, 'A');
  const rowsB = usable(setB, 'B');
  for (const w of setA.warnings) notes.push(`A: ${w}`);
  for (const w of setB.warnings) notes.push(`B: ${w}`);

  const keysA = keysOf(rowsA);
  const keysB = keysOf(rowsB);
  const keys = [...keysA].filter((k) => keysB.has(k) && !isIgnored(k, ignored)).sort();
  const onlyA = [...keysA].filter((k) => !keysB.has(k) && !isIgnored(k, ignored));
  const onlyB = [...keysB].filter((k) => !keysA.has(k) && !isIgnored(k, ignored));
  if (onlyA.length > 0) notes.push(`config keys only in A, not used for matching: ${onlyA.join(', ')}`);
  if (onlyB.length > 0) notes.push(`config keys only in B, not used for matching: ${onlyB.join(', ')}`);
  if (rowsA.length > 0 && rowsB.length > 0 && keys.length === 0) notes.push('no config keys in common: every row matches every other, paired in order');

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
      notes.push(`${countA.get(k) ?? 0} row(s) of A and ${groupsB.get(k)?.length ?? 0} of B share ${label}: paired in job order`);
    }
    const partner = partners?.shift();
    if (partner && partner.latency_measure !== r.latency_measure) {
      const what = (m: LatencyMeasure): string => MEASURE_WORDS[m];
      const reason = `A has ${what(r.latency_measure)}, B ${what(partner.latency_measure)}: not the same measure`;
      skipped.push({ side: 'A', source: r.source, status: r.status, reason }, { side: 'B', source: partner.source, status: partner.status, reason });
    } else if (partner) matched.push(compareRows(r, partner, setupOf(r, varying), opts));
    else leftoverA.push(r);
  }
  const leftoverB = [...groupsB.values()].flat();
  // Keep B's leftovers in input order.
  leftoverB.sort((x, y) => rowsB.indexOf(x) - rowsB.indexOf(y));

  const closest = (r: ResultRow, others: readonly ResultRow[]): [string, string, string][] => {
    let best: [string, string, string][] | null = null;
    for (const o of others) {
      const diff = keys.filter((k) => canonical(r.config[k]) !== canonical(o.config[k])).map((k): [string, string, string] => [k, canonical(r.config[k]), canonical(o.config[k])]);
      if (best === null || diff.length < best.length) best = diff;
    }
    return best ?? [];
  };
  const unmatched: UnmatchedRow[] = [
    ...leftoverA.map((r): UnmatchedRow => ({ side: 'A', source: r.source, job: r.job, setup: setupOf(r, varying), closest_differs: closest(r, rowsB) })),
    ...leftoverB.map((r): UnmatchedRow => ({ side: 'B', source: r.source, job: r.job, setup: setupOf(r, varying), closest_differs: closest(r, rowsA) })),
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
  if (matched.some((m) => m.statistic === 'none')) {
    notes.push('some rows come from a CSV without latency_std_ms and a call count: only the ratio of means is shown; compare the run or sweep directories (raw latencies) for a verdict');
  }

  const envA = environmentOf(rowsA);
  const envB = environmentOf(rowsB);
  if (envA.mixed.length > 0) notes.push(`A mixes environments (rows differ in ${envA.mixed.join(', ')}); the first row's is shown`);
  if (envB.mixed.length > 0) notes.push(`B mixes environments (rows differ in ${envB.mixed.join(', ')}); the first row's is shown`);
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
    notes.push(`environment unknown for ${missing} (a CSV has no environment block): machine differences cannot be shown`);
  }

  return {
    a: describe(setA),
    b: describe(setB),
    alpha: opts.alpha,
    confidence: opts.confidence,
    resamples: opts.resamples,
    bootstrap_seed: opts.seed,
    ignored_keys: ignored,
    varying_keys: varying,
    environment: { known: envA.env !== null && envB.env !== null, differences, same },
    matched,
    unmatched,
    skipped,
    notes,
  };
}

/** Parses `5%`, `5` (percent) or `0.05%`: the fraction by which a row may be slower. */
export function parseThreshold(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*%?\s*$/.exec(text);
  return m ? Number(m[1]) / 100 : null;
}

/** Matched rows significantly slower in B by more than `threshold` (a fraction: 0.05 = 5%). */
export function regressions(cmp: Comparison, threshold: number): MatchedRow[] {
  return cmp.matched.filter((m) => m.verdict === 'slower' && m.ratio > 1 + threshold);
}
