/**
 * What a dispatch run measured: per length class, per pool and overall, for one setup; the gain of
 * the dispatched setup over the homogeneous one, with seeded bootstrap intervals over requests;
 * and the warning when a class has too few requests for the percentiles shown.
 */
import { percentileBootstrapInterval, percentilesOfCounts, type Interval } from '../../stats/bootstrap.js';
import {
  isSupported,
  minSamplesFor,
  summarize,
  type LatencySummary,
  type PercentileName,
} from '../../stats/summary.js';
import { Rng } from '../../util/rng.js';
import type { DispatchRun, RequestRecord } from './dispatcher.js';
import type { DispatchReport } from './report.js';
import type { Router } from './router.js';
import { streamSeed, type Workload } from './workload.js';

const BOOTSTRAP_STREAM_DISPATCHED = 3;
const BOOTSTRAP_STREAM_BASELINE = 4;

export interface ClassStats {
  readonly requests: number;
  readonly tokens: number;
  /** end - arrival */
  readonly latency: LatencySummary;
  /** start - arrival */
  readonly queueing: LatencySummary;
  /** session.run in the instance */
  readonly service: LatencySummary;
  /** Completed requests (tokens) over the measured window of the whole setup. */
  readonly throughput_requests_per_s: number;
  readonly throughput_tokens_per_s: number;
}

export interface PoolStats {
  readonly requests: number;
  readonly instances: number;
  /** Busy time over the window, averaged over the pool's instances. */
  readonly utilization: number;
  /** Arrivals to the pool x mean service time / instances: above 1 the pool cannot keep up. */
  readonly offered_load: number;
  readonly max_queue_length: number;
}

export interface SetupStats {
  /** From the first arrival to the last completion. */
  readonly window_s: number;
  readonly overall: ClassStats;
  readonly per_class: Readonly<Record<string, ClassStats>>;
  readonly per_pool: Readonly<Record<string, PoolStats>>;
  /** Arrivals actually taken in per second (open loop: over the arrival window, or until the last release if later). */
  readonly achieved_arrival_rate_per_s: number;
  /** How late the parent took arrivals in, against their schedule. */
  readonly release_lag_ms: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly max_queue_length: number;
  readonly backlog_at_last_arrival: number;
  readonly warnings: readonly string[];
}

function classStats(recs: readonly RequestRecord[], windowS: number): ClassStats {
  const tokens = recs.reduce((s, r) => s + r.length, 0);
  return {
    requests: recs.length,
    tokens,
    latency: summarize(recs.map((r) => r.end_ms - r.arrival_ms)),
    queueing: summarize(recs.map((r) => r.start_ms - r.arrival_ms)),
    service: summarize(recs.map((r) => r.service_ms)),
    throughput_requests_per_s: recs.length / windowS,
    throughput_tokens_per_s: tokens / windowS,
  };
}

/**
 * Per class (by length, whatever pool served it, so a baseline is split the same way), overall and
 * per pool. `poolNames` name the pools of this setup; `label` goes into warnings.
 */
export function setupStats(
  run: DispatchRun,
  workload: Workload,
  router: Router,
  poolNames: readonly string[],
  poolInstances: readonly number[],
  label: string,
): SetupStats {
  const recs = run.records;
  const first = workload.mode === 'open' ? Math.min(...recs.map((r) => r.arrival_ms)) : 0;
  const last = Math.max(...recs.map((r) => r.end_ms));
  const windowS = Math.max(last - first, 1e-6) / 1000;
  const perClass: Record<string, ClassStats> = {};
  router.classes.forEach((c, i) => {
    perClass[c.name] = classStats(
      recs.filter((r) => router.classOf(r.length) === i),
      windowS,
    );
  });
  const warnings: string[] = [];
  const arrivalWindowS =
    workload.mode === 'open' ? Math.max(workload.windowMs, ...recs.map((r) => r.released_ms)) / 1000 : windowS;
  const perPool: Record<string, PoolStats> = {};
  poolNames.forEach((name, p) => {
    const mine = recs.filter((r) => r.pool === p);
    const instances = poolInstances[p] ?? 1;
    const busyS = mine.reduce((s, r) => s + r.service_ms, 0) / 1000;
    const meanServiceS = mine.length > 0 ? busyS / mine.length : 0;
    const offered = ((mine.length / arrivalWindowS) * meanServiceS) / instances;
    perPool[name] = {
      requests: mine.length,
      instances,
      utilization: busyS / (windowS * instances),
      offered_load: offered,
      max_queue_length: run.max_queue_per_pool[p] ?? 0,
    };
    if (workload.mode === 'open' && offered >= 1) {
      warnings.push(
        `${label}: pool ${name} cannot keep up: offered load ${offered.toFixed(2)} (${(mine.length / arrivalWindowS).toFixed(1)} requests/s x ${(meanServiceS * 1000).toFixed(2)} ms ` +
          `over ${instances} instance${instances === 1 ? '' : 's'}); its queue reached ${run.max_queue_per_pool[p] ?? 0}: lower scenario.arrival.rate_per_s or give it more instances`,
      );
    }
  });
  const lags = recs.map((r) => r.released_ms - r.arrival_ms).sort((a, b) => a - b);
  const lagSummary = summarize(lags);
  const overall = classStats(recs, windowS);
  const achieved = workload.mode === 'open' ? recs.length / arrivalWindowS : recs.length / windowS;
  if (workload.mode === 'open' && overall.throughput_requests_per_s < 0.95 * achieved) {
    // Below the offered rate by more than the last few requests' drain: near or past saturation.
    const lastArrival = Math.max(...recs.map((r) => r.arrival_ms));
    warnings.push(
      `${label}: completed ${overall.throughput_requests_per_s.toFixed(1)} requests/s against ${achieved.toFixed(1)} offered: ` +
        `${run.backlog_at_last_arrival} requests were outstanding at the last arrival and took ${((last - lastArrival) / 1000).toFixed(2)} s to drain (max queue ${run.max_queue}); ` +
        'the pools are near or past saturation',
    );
  }
  return {
    window_s: windowS,
    overall,
    per_class: perClass,
    per_pool: perPool,
    achieved_arrival_rate_per_s: achieved,
    release_lag_ms: { p50: lagSummary.p50_ms, p99: lagSummary.p99_ms, max: lagSummary.max_ms },
    max_queue_length: run.max_queue,
    backlog_at_last_arrival: run.backlog_at_last_arrival,
    warnings,
  };
}

/** A latency gain's percentiles, as Gain and GainIntervals name them. */
export const GAIN_PERCENTILES = [
  ['latency_p50', 'p50', 0.5],
  ['latency_p90', 'p90', 0.9],
  ['latency_p99', 'p99', 0.99],
] as const satisfies readonly (readonly [string, PercentileName, number])[];

type LatencyGainKey = (typeof GAIN_PERCENTILES)[number][0];

export interface Gain {
  /** Baseline / dispatched: above 1, dispatching is faster. */
  readonly latency_p50: number;
  readonly latency_p90: number;
  readonly latency_p99: number;
  /** Dispatched / baseline: above 1, dispatching serves more. */
  readonly throughput: number;
  /** latency_p90 is absent in files written before it was added. */
  readonly per_class: Readonly<
    Record<string, { readonly latency_p50: number; readonly latency_p90?: number; readonly latency_p99: number }>
  >;
  /** Each gain's bootstrap interval; absent in files written before intervals were added. */
  readonly intervals?: GainIntervals;
}

/**
 * Percentile-bootstrap intervals of the gains. A latency gain's interval is null where the class's
 * requests do not support the percentile (stats/summary.ts): that gain is withheld, like the
 * percentile itself. A class's throughput gain equals the overall one (both setups serve the same
 * requests, each over its own window), so only the overall one has an interval.
 */
export interface GainIntervals {
  readonly confidence: number;
  readonly resamples: number;
  readonly seed: number;
  readonly method: string;
  readonly latency_p50: Interval | null;
  readonly latency_p90: Interval | null;
  readonly latency_p99: Interval | null;
  readonly throughput: Interval | null;
  readonly per_class: Readonly<Record<string, Readonly<Record<LatencyGainKey, Interval | null>>>>;
}

export const GAIN_RESAMPLES = 2000;
export const GAIN_CONFIDENCE = 0.95;

/** Each setup's requests, for the gains' intervals. */
export interface GainRequests {
  readonly dispatched: readonly RequestRecord[];
  readonly baseline: readonly RequestRecord[];
  readonly router: Router;
  /** The run's seed; each setup resamples from its own stream of it. */
  readonly seed: number;
  readonly resamples?: number;
}

/** Point gains, and with `requests` their intervals (see gainIntervals). */
export function gain(dispatched: SetupStats, baseline: SetupStats, requests?: GainRequests): Gain {
  const ratio = (a: number, b: number): number => (b > 0 ? a / b : NaN);
  const perClass: Record<string, { latency_p50: number; latency_p90: number; latency_p99: number }> = {};
  for (const [name, d] of Object.entries(dispatched.per_class)) {
    const b = baseline.per_class[name];
    if (!b || d.requests === 0 || b.requests === 0) continue;
    perClass[name] = {
      latency_p50: ratio(b.latency.p50_ms, d.latency.p50_ms),
      latency_p90: ratio(b.latency.p90_ms, d.latency.p90_ms),
      latency_p99: ratio(b.latency.p99_ms, d.latency.p99_ms),
    };
  }
  const d = dispatched.overall;
  const b = baseline.overall;
  return {
    latency_p50: ratio(b.latency.p50_ms, d.latency.p50_ms),
    latency_p90: ratio(b.latency.p90_ms, d.latency.p90_ms),
    latency_p99: ratio(b.latency.p99_ms, d.latency.p99_ms),
    throughput: ratio(d.throughput_requests_per_s, b.throughput_requests_per_s),
    per_class: perClass,
    ...(requests ? { intervals: gainIntervals(dispatched, baseline, requests) } : {}),
  };
}

/** One setup's requests laid out for resampling. */
interface Resamplable {
  /** Request latencies (end - arrival), ascending. */
  readonly sorted: Float64Array;
  /** Per class: the positions of its requests in `sorted`, ascending. */
  readonly classes: readonly Int32Array[];
  /** Inter-completion times: completions in order, the first from the window's start; they sum to the window. */
  readonly gaps: Float64Array;
}

function resamplable(recs: readonly RequestRecord[], router: Router, windowMs: number): Resamplable {
  const byLatency = recs
    .map((r) => ({ latency: r.end_ms - r.arrival_ms, cls: router.classOf(r.length) }))
    .sort((x, y) => x.latency - y.latency);
  const classes = router.classes.map((_, c) => Int32Array.from(byLatency.flatMap((r, k) => (r.cls === c ? [k] : []))));
  const ends = recs.map((r) => r.end_ms).sort((x, y) => x - y);
  const first = (ends.at(-1) ?? 0) - windowMs;
  return {
    sorted: Float64Array.from(byLatency.map((r) => r.latency)),
    classes,
    gaps: Float64Array.from(ends, (e, k) => e - (k === 0 ? first : ends[k - 1]!)),
  };
}

/**
 * Seeded percentile bootstrap over requests (Efron & Tibshirani 1993, ch. 13), each setup's
 * requests resampled independently of the other's, `resamples` times:
 * - latency: within each length class, as many requests as the class had, drawn with replacement
 *   (stratified by class: both setups serve the same lengths, so the class mix is not a difference
 *   between them and is held fixed); the overall resample is the classes' together. The gain of a
 *   percentile is its baseline / dispatched ratio in each pair of resamples.
 * - throughput: a setup's window is the sum of its inter-completion times (completions in order,
 *   the first counted from the window's start), resampled with replacement (a renewal
 *   approximation); throughput = requests / resampled window, the gain dispatched / baseline.
 * The interval is the 2.5th and 97.5th type-7 percentile of the resampled gains. Resampling each
 * setup on its own ignores that request k has the same length and arrival time in both, so the
 * intervals are, if anything, too wide. Requests of one setup are not independent either (a long
 * request delays those queued behind it), which the bootstrap does not see: read the interval as
 * the spread of sampling alone.
 */
export function gainIntervals(dispatched: SetupStats, baseline: SetupStats, req: GainRequests): GainIntervals {
  const resamples = req.resamples ?? GAIN_RESAMPLES;
  const ps = GAIN_PERCENTILES.map(([, , p]) => p);
  const names = req.router.classes.map((c) => c.name);
  const setups = [
    {
      stats: dispatched,
      data: resamplable(req.dispatched, req.router, dispatched.window_s * 1000),
      rng: new Rng(streamSeed(req.seed, BOOTSTRAP_STREAM_DISPATCHED)),
    },
    {
      stats: baseline,
      data: resamplable(req.baseline, req.router, baseline.window_s * 1000),
      rng: new Rng(streamSeed(req.seed, BOOTSTRAP_STREAM_BASELINE)),
    },
  ];
  // Which gains are backed by the samples: the percentile supported in both setups (scope -1: all requests).
  const supported = (scope: number, name: PercentileName): boolean =>
    setups.every(({ stats }) => {
      const c = scope < 0 ? stats.overall : stats.per_class[names[scope]!];
      return c !== undefined && c.requests > 0 && isSupported(c.latency, name);
    });
  // gains[scope + 1][percentile][resample]; throughput[resample].
  const gains = [-1, ...names.map((_, c) => c)].map(() => GAIN_PERCENTILES.map(() => new Array<number>(resamples)));
  const throughput = new Array<number>(resamples);
  const counts = setups.map(({ data }) => ({
    overall: new Uint32Array(data.sorted.length),
    classes: data.classes.map((c) => new Uint32Array(c.length)),
  }));
  const figures = setups.map(() => ({
    overall: [] as number[],
    classes: names.map(() => [] as number[]),
    requestsPerMs: NaN,
  }));
  for (let r = 0; r < resamples; r++) {
    setups.forEach(({ data, rng }, s) => {
      const n = data.sorted.length;
      const cnt = counts[s]!;
      cnt.overall.fill(0);
      data.classes.forEach((members, c) => {
        const own = cnt.classes[c]!;
        own.fill(0);
        for (let k = 0; k < members.length; k++) {
          const j = rng.int(members.length);
          own[j]!++;
          cnt.overall[members[j]!]!++;
        }
        figures[s]!.classes[c] =
          members.length > 0 ? percentilesOfCounts(data.sorted, own, members, members.length, ps) : [];
      });
      figures[s]!.overall = n > 0 ? percentilesOfCounts(data.sorted, cnt.overall, null, n, ps) : [];
      let windowMs = 0;
      for (let k = 0; k < n; k++) windowMs += data.gaps[rng.int(n)]!;
      figures[s]!.requestsPerMs = windowMs > 0 ? n / windowMs : NaN;
    });
    const [d, b] = figures as [(typeof figures)[number], (typeof figures)[number]];
    GAIN_PERCENTILES.forEach((_, q) => {
      gains[0]![q]![r] = (b.overall[q] ?? NaN) / (d.overall[q] ?? NaN);
      names.forEach((_name, c) => (gains[c + 1]![q]![r] = (b.classes[c]![q] ?? NaN) / (d.classes[c]![q] ?? NaN)));
    });
    throughput[r] = d.requestsPerMs / b.requestsPerMs;
  }
  const interval = (scope: number): Record<LatencyGainKey, Interval | null> => {
    const out = {} as Record<LatencyGainKey, Interval | null>;
    GAIN_PERCENTILES.forEach(
      ([key, name], q) =>
        (out[key] = supported(scope, name)
          ? percentileBootstrapInterval(gains[scope + 1]![q]!, GAIN_CONFIDENCE)
          : null),
    );
    return out;
  };
  const perClass: Record<string, Record<LatencyGainKey, Interval | null>> = {};
  names.forEach((name, c) => {
    if ((dispatched.per_class[name]?.requests ?? 0) > 0 && (baseline.per_class[name]?.requests ?? 0) > 0)
      perClass[name] = interval(c);
  });
  return {
    confidence: GAIN_CONFIDENCE,
    resamples,
    seed: req.seed,
    method: `percentile bootstrap over requests, each setup resampled on its own, latency stratified by length class (${resamples} resamples, seeded)`,
    ...interval(-1),
    throughput: percentileBootstrapInterval(throughput, GAIN_CONFIDENCE),
    per_class: perClass,
  };
}

/**
 * The run's warning when some request-latency percentiles (and so their gains) are withheld for
 * too few requests in a class (both setups serve the same requests, so the dispatched setup's
 * counts decide): which, what a 95% interval needs, and how many requests per setup would give
 * them, from the classes' shares of the lengths. Null when every printed percentile is supported.
 */
export function withheldDispatchWarning(report: DispatchReport): string | null {
  const d = report.dispatched;
  const scopes: [string, ClassStats, number][] = [
    ['all', d.overall, 1],
    ...Object.entries(d.per_class).flatMap(([name, c]): [string, ClassStats, number][] =>
      c.requests > 0 ? [[name, c, report.workload.classes[name]?.share ?? 0]] : [],
    ),
  ];
  const parts: string[] = [];
  const advice: string[] = [];
  for (const [, name] of GAIN_PERCENTILES) {
    const short = scopes.filter(([, c]) => !isSupported(c.latency, name));
    if (short.length === 0) continue;
    const k = minSamplesFor(name);
    parts.push(`${name} (${short.map(([scope]) => scope).join(', ')})`);
    // The requests per setup for k in every short class: k over the smallest share among them.
    const share = Math.min(...short.map(([, , x]) => x));
    if (!(share > 0)) continue;
    const n = Math.ceil(k / share);
    const rate = report.workload.offered_rate_per_s;
    advice.push(`${name}: ${rate ? `benchmark_duration=${Math.ceil(n / rate)} or ` : ''}scenario.requests=${n}`);
  }
  if (parts.length === 0) return null;
  const needs = GAIN_PERCENTILES.filter(([, name]) => parts.some((p) => p.startsWith(`${name} `))).map(
    ([, name]) => `${minSamplesFor(name)} for ${name}`,
  );
  return (
    `too few requests for ${parts.join(', ')}: a 95% interval needs ${needs.join(', ')} per class; withheld with their gains ` +
    `from the terminal and dispatch.csv, kept in results.json` +
    (advice.length > 0 ? `; for them run longer (${advice.join('; ')})` : '')
  );
}
