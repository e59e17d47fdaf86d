/**
 * Smart dispatching: a workload of single requests whose sequence lengths follow a distribution,
 * arriving open-loop (Poisson, at a target rate) or closed-loop (N clients, each sending its next
 * request when the last one completes); a router sends each request to the pool of its length
 * class; within a pool (and in the homogeneous baseline) a request goes to the instance with the
 * fewest outstanding requests. Pure apart from timers: the transport to the instances (pinned
 * children in src/launcher/serve.ts, fakes in tests) is injected.
 *
 * Timing, all on the parent's monotonic clock (performance.now), relative to the measured start:
 * - arrival: the scheduled arrival (open loop) or the moment a client sends (closed loop);
 * - start: the moment the request is handed to its instance; queueing delay = start - arrival;
 * - end: the moment its completion comes back; latency = end - arrival (so a late timer, the queue
 *   and the IPC round trip all count against the setup, as a client would see them);
 * - service: measured by the instance around session.run alone.
 *
 * Open-loop arrivals are a Poisson process conditioned on its count: for N = rate x T arrivals in a
 * window of T seconds, the gaps are N + 1 seeded exponential draws scaled to sum to T, i.e. the
 * arrival times are N sorted uniforms on [0, T] (the order statistics a Poisson process gives
 * given N(T) = N). Locally the gaps stay exponential (CV 1); over the run the offered rate is the
 * target exactly, so what the 2% acceptance bound measures is the scheduler, not sampling noise
 * (an unconditioned process over N arrivals misses its rate by about 1/sqrt(N): 3% at N = 1000).
 * Each arrival's absolute time is computed up front and waited for against the clock, so timer
 * lateness never accumulates into drift.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../config/errors.js';
import type { DispatchScenarioConfig } from '../config/schema.js';
import { Rng } from '../util/rng.js';
import type { Interference } from '../stats/interference.js';
import { percentileBootstrapInterval, percentilesOfCounts, type Interval } from '../stats/bootstrap.js';
import { isSupported, minSamplesFor, summarize, type LatencySummary, type PercentileName } from '../stats/summary.js';

const TWO_POW_32 = 4294967296;

/** Uniform in [0, 1). */
export function uniform(rng: Rng): number {
  return rng.nextUint32() / TWO_POW_32;
}

/** Exponential with mean 1 (inversion; 1 - U is in (0, 1], so the log is finite). */
export function exponential(rng: Rng): number {
  return -Math.log(1 - uniform(rng));
}

/** Independent streams from one run seed (any integer, negative included) and a stream number. */
export function streamSeed(seed: number, stream: number): number {
  return (seed >>> 0) + stream * TWO_POW_32;
}

const LENGTH_STREAM = 1;
const ARRIVAL_STREAM = 2;
/** The gains' bootstrap: one stream per setup. */
const BOOTSTRAP_STREAM_DISPATCHED = 3;
const BOOTSTRAP_STREAM_BASELINE = 4;

// ---------------------------------------------------------------------------------------------
// Lengths

export type LengthSpec = DispatchScenarioConfig['lengths'];

/** Reads a file of lengths: integers separated by spaces, commas or newlines; `#` starts a comment. */
export function readLengthFile(path: string): number[] {
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (err) {
    throw new ConfigError(`scenario.lengths.file=${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const lengths: number[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    for (const token of line.replace(/#.*/, '').split(/[\s,]+/).filter((t) => t !== '')) {
      const n = Number(token);
      if (!Number.isInteger(n) || n < 1) {
        throw new ConfigError(`scenario.lengths.file=${path}: line ${i + 1}: ${JSON.stringify(token)} is not a positive integer length`);
      }
      lengths.push(n);
    }
  });
  if (lengths.length === 0) throw new ConfigError(`scenario.lengths.file=${path}: the file holds no lengths`);
  return lengths;
}

/**
 * The sequence of request lengths, drawn on demand and remembered, so request k has the same
 * length in every setup of a run. mix: categorical over the pairs; lognormal: median x exp(sigma Z)
 * rounded, truncated to [min, max] by redrawing; file: the file's lengths in order, wrapping around
 * (a recorded trace replays as recorded).
 */
export class LengthStream {
  private readonly drawn: number[] = [];
  private readonly next: () => number;

  constructor(spec: LengthSpec, seed: number, fileLengths: readonly number[] | null = null) {
    const rng = new Rng(streamSeed(seed, LENGTH_STREAM));
    switch (spec.distribution) {
      case 'mix': {
        const pairs = spec.mix.filter(([, w]) => w > 0);
        const total = pairs.reduce((s, [, w]) => s + w, 0);
        let acc = 0;
        const cumulative = pairs.map(([l, w]) => [l, (acc += w / total)] as const);
        this.next = () => {
          const u = uniform(rng);
          return (cumulative.find(([, c]) => u < c) ?? cumulative.at(-1)!)[0];
        };
        break;
      }
      case 'lognormal': {
        const { median, sigma, min, max } = spec.lognormal;
        this.next = () => {
          // Redraw outside [min, max] (a truncated lognormal); after many misses the bounds are
          // far in the tails, and clamping the last draw is what is left.
          let l = 0;
          for (let tries = 0; tries < 1000; tries++) {
            l = Math.round(median * Math.exp(sigma * rng.normal()));
            if (l >= min && l <= max) return l;
          }
          return Math.min(max, Math.max(min, l));
        };
        break;
      }
      case 'file': {
        if (!fileLengths || fileLengths.length === 0) throw new ConfigError('scenario.lengths.distribution=file needs scenario.lengths.file');
        let i = 0;
        this.next = () => fileLengths[i++ % fileLengths.length]!;
        break;
      }
    }
  }

  at(k: number): number {
    while (this.drawn.length <= k) this.drawn.push(this.next());
    return this.drawn[k]!;
  }

  /** The first n lengths. */
  take(n: number): number[] {
    if (n > 0) this.at(n - 1);
    return this.drawn.slice(0, n);
  }
}

// ---------------------------------------------------------------------------------------------
// Arrivals

/** Plain Poisson arrivals: cumulative exponential gaps of mean 1000/rate ms (for comparison in tests). */
export function poissonArrivalsMs(ratePerS: number, count: number, seed: number): number[] {
  const rng = new Rng(streamSeed(seed, ARRIVAL_STREAM));
  const out: number[] = [];
  let t = 0;
  for (let i = 0; i < count; i++) out.push((t += (exponential(rng) * 1000) / ratePerS));
  return out;
}

/**
 * `count` Poisson arrivals conditioned on falling in [0, windowMs]: N + 1 exponential gaps scaled
 * to the window, so every gap keeps its exponential shape and the run offers count / window exactly.
 */
export function conditionedPoissonArrivalsMs(count: number, windowMs: number, seed: number): number[] {
  const rng = new Rng(streamSeed(seed, ARRIVAL_STREAM));
  const gaps = Array.from({ length: count + 1 }, () => exponential(rng));
  const total = gaps.reduce((s, g) => s + g, 0);
  const out: number[] = [];
  let acc = 0;
  for (let i = 0; i < count; i++) out.push(((acc += gaps[i]!) / total) * windowMs);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Workload

export type Workload =
  | {
      readonly mode: 'open';
      readonly ratePerS: number;
      /** Scheduled arrival of each request, ms from the start of the measured run. */
      readonly arrivalsMs: readonly number[];
      readonly windowMs: number;
      readonly lengths: LengthStream;
    }
  | {
      readonly mode: 'closed';
      readonly clients: number;
      /** Total requests, or null to stop issuing once `durationMs` has passed. */
      readonly requests: number | null;
      readonly durationMs: number;
      readonly lengths: LengthStream;
    };

/** At most this many times the rate x duration arrivals to fill the classes: a rare class must not turn a 5 s run into an hour. */
export const MAX_CLASS_SIZING_FACTOR = 10;

/**
 * The open loop's request count for `requests: null`: rate x duration (`nominal`), or more, the
 * fewest n whose first n lengths (the seeded stream every setup replays) give every class that
 * occurs at all at least `minPerClass` requests, at most MAX_CLASS_SIZING_FACTOR x nominal.
 */
export function requestsForClasses(lengths: LengthStream, router: Router, nominal: number, minPerClass: number): number {
  if (minPerClass <= 0) return nominal;
  const limit = nominal * MAX_CLASS_SIZING_FACTOR;
  const classes = lengths.take(limit).map((l) => router.classOf(l));
  const occurring = [...new Set(classes)].filter((c) => c >= 0);
  const counts = router.classes.map(() => 0);
  for (let n = 0; n < limit; n++) {
    const c = classes[n]!;
    if (c >= 0) counts[c]!++;
    if (n + 1 >= nominal && occurring.every((k) => counts[k]! >= minPerClass)) return n + 1;
  }
  return limit;
}

/** The same scenario, duration and seed always give the same lengths and arrival times. */
export function buildWorkload(s: DispatchScenarioConfig, durationS: number, seed: number, fileLengths: readonly number[] | null = null): Workload {
  const lengths = new LengthStream(s.lengths, seed, fileLengths);
  if (s.arrival.mode === 'closed') {
    return { mode: 'closed', clients: s.arrival.clients, requests: s.requests, durationMs: durationS * 1000, lengths };
  }
  const rate = s.arrival.rate_per_s;
  const nominal = Math.max(1, Math.round(rate * durationS));
  const count = s.requests ?? requestsForClasses(lengths, makeRouter(s.pools), nominal, s.min_requests_per_class ?? 0);
  const windowMs = (count / rate) * 1000;
  return { mode: 'open', ratePerS: rate, arrivalsMs: conditionedPoissonArrivalsMs(count, windowMs, seed), windowMs, lengths };
}

/** Lengths the run is known to start with: all of an open-loop run's, the first few thousand otherwise. */
export function previewLengths(w: Workload, limit = 2000): number[] {
  const n = w.mode === 'open' ? w.arrivalsMs.length : Math.min(limit, w.requests ?? limit);
  return w.lengths.take(n);
}

// ---------------------------------------------------------------------------------------------
// Router

export interface LengthClass {
  readonly name: string;
  /** Inclusive bounds in tokens; max null: no upper bound. */
  readonly min_length: number;
  readonly max_length: number | null;
}

export interface Router {
  /** Classes ordered by length, one per pool. */
  readonly classes: readonly LengthClass[];
  /** The class (index into `classes`) of a request of `length` tokens; -1 when no pool takes it. */
  classOf(length: number): number;
}

/** One class per pool, by ascending max_length; a request goes to the first pool whose max_length it fits. */
export function makeRouter(pools: readonly { readonly name: string; readonly max_length: number | null }[]): Router {
  const sorted = [...pools].sort((a, b) => (a.max_length ?? Infinity) - (b.max_length ?? Infinity));
  const classes = sorted.map((p, i): LengthClass => ({ name: p.name, min_length: i === 0 ? 1 : sorted[i - 1]!.max_length! + 1, max_length: p.max_length }));
  return {
    classes,
    classOf: (length) => classes.findIndex((c) => c.max_length === null || length <= c.max_length),
  };
}

export function describeClass(c: LengthClass): string {
  if (c.max_length === null) return c.min_length <= 1 ? 'any' : `>${c.min_length - 1}`;
  return c.min_length <= 1 ? `<=${c.max_length}` : `${c.min_length}-${c.max_length}`;
}

/** Refuses lengths no pool takes and lengths beyond the model, naming the key to change. */
export function checkLengths(lengths: readonly number[], router: Router, maxPositions: number, source: string): void {
  const longest = Math.max(...lengths);
  if (router.classOf(longest) < 0) {
    const top = router.classes.at(-1)!;
    throw new ConfigError(
      `scenario.pools: requests of ${longest} tokens (${source}) fit no pool; the longest pool, ${top.name}, stops at max_length ${top.max_length}: give it max_length: null`,
    );
  }
  if (longest > maxPositions) throw new ConfigError(`${source}: a request of ${longest} tokens is longer than the model allows (${maxPositions} positions)`);
}

// ---------------------------------------------------------------------------------------------
// The dispatcher

export interface RequestRecord {
  readonly id: number;
  readonly length: number;
  readonly pool: number;
  instance: number;
  readonly arrival_ms: number;
  /** When the parent actually took the arrival in (the timer's lateness shows here). */
  released_ms: number;
  start_ms: number;
  end_ms: number;
  service_ms: number;
}

/** How requests reach instances: the dispatcher calls submit, the transport calls back `complete`. */
export interface Transport {
  submit(instance: number, id: number, length: number): void;
}

export interface DispatchSetup {
  /** The pool of each instance (index = instance). */
  readonly poolOfInstance: readonly number[];
  /** The pool a request of `length` tokens goes to. */
  route(length: number): number;
}

export interface DispatchRun {
  readonly records: readonly RequestRecord[];
  /** Most requests waiting (not in service) at once, per pool and over all pools. */
  readonly max_queue_per_pool: readonly number[];
  readonly max_queue: number;
  /** Requests still outstanding (queued or in service) when the last one arrived (open loop). */
  readonly backlog_at_last_arrival: number;
}

export class DispatchTimeout extends Error {
  override readonly name = 'DispatchTimeout';
}

export class Dispatcher {
  private readonly records: RequestRecord[] = [];
  private readonly queues: number[][];
  private readonly busy: boolean[];
  private readonly outstanding: number[];
  private readonly poolInstances: number[][];
  private readonly queuedPerPool: number[];
  private readonly maxQueuePerPool: number[];
  private maxQueue = 0;
  private queued = 0;
  private completed = 0;
  private issued = 0;
  private backlogAtLastArrival = 0;
  private t0 = 0;
  private timer: NodeJS.Timeout | null = null;
  private settle: { resolve: (r: DispatchRun) => void; reject: (e: Error) => void } | null = null;
  private finished = false;

  constructor(
    private readonly workload: Workload,
    private readonly setup: DispatchSetup,
    private readonly transport: Transport,
    private readonly now: () => number = () => performance.now(),
  ) {
    const n = setup.poolOfInstance.length;
    const pools = Math.max(...setup.poolOfInstance) + 1;
    this.queues = Array.from({ length: n }, () => []);
    this.busy = Array.from({ length: n }, () => false);
    this.outstanding = Array.from({ length: n }, () => 0);
    this.poolInstances = Array.from({ length: pools }, (_, p) => setup.poolOfInstance.flatMap((q, i) => (q === p ? [i] : [])));
    this.queuedPerPool = Array.from({ length: pools }, () => 0);
    this.maxQueuePerPool = Array.from({ length: pools }, () => 0);
  }

  /** Runs the whole workload; rejects with DispatchTimeout after `deadlineMs` or with `fail`'s error. */
  run(deadlineMs: number): Promise<DispatchRun> {
    return new Promise<DispatchRun>((resolveRun, rejectRun) => {
      this.settle = { resolve: resolveRun, reject: rejectRun };
      const deadline = setTimeout(() => {
        const left = this.issued - this.completed;
        this.fail(new DispatchTimeout(`${this.completed} requests completed, ${left} still outstanding after ${(deadlineMs / 1000).toFixed(0)} s`));
      }, deadlineMs);
      const done = this.settle;
      this.settle = {
        resolve: (r) => {
          clearTimeout(deadline);
          done.resolve(r);
        },
        reject: (e) => {
          clearTimeout(deadline);
          done.reject(e);
        },
      };
      this.t0 = this.now();
      if (this.workload.mode === 'open') this.tick();
      else {
        const first = this.workload.requests === null ? this.workload.clients : Math.min(this.workload.clients, this.workload.requests);
        for (let c = 0; c < first; c++) this.arrive(this.clock(), this.clock());
        this.maybeFinish();
      }
    });
  }

  private clock(): number {
    return this.now() - this.t0;
  }

  /** Open loop: take in every arrival that is due, then sleep until the next one's absolute time. */
  private tick = (): void => {
    this.timer = null;
    if (this.finished || this.workload.mode !== 'open') return;
    const arrivals = this.workload.arrivalsMs;
    let t = this.clock();
    while (this.issued < arrivals.length && arrivals[this.issued]! <= t) {
      this.arrive(arrivals[this.issued]!, t);
      t = this.clock();
    }
    if (this.issued < arrivals.length) {
      this.timer = setTimeout(this.tick, Math.max(0, arrivals[this.issued]! - this.clock()));
    } else {
      this.backlogAtLastArrival = this.issued - this.completed;
    }
  };

  private arrive(arrivalMs: number, releasedMs: number): void {
    const id = this.issued++;
    const length = this.workload.lengths.at(id);
    const pool = this.setup.route(length);
    const candidates = this.poolInstances[pool];
    if (!candidates || candidates.length === 0) throw new Error(`request ${id} of ${length} tokens routed to pool ${pool}, which has no instance`);
    // Least outstanding first, ties to the lowest index: a length-blind balancer within the pool.
    let instance = candidates[0]!;
    for (const i of candidates) if (this.outstanding[i]! < this.outstanding[instance]!) instance = i;
    const rec: RequestRecord = { id, length, pool, instance, arrival_ms: arrivalMs, released_ms: releasedMs, start_ms: NaN, end_ms: NaN, service_ms: NaN };
    this.records.push(rec);
    this.outstanding[instance]!++;
    if (!this.busy[instance]) this.startService(instance, rec);
    else {
      this.queues[instance]!.push(id);
      this.queued++;
      this.queuedPerPool[pool]!++;
      this.maxQueue = Math.max(this.maxQueue, this.queued);
      this.maxQueuePerPool[pool] = Math.max(this.maxQueuePerPool[pool]!, this.queuedPerPool[pool]!);
    }
  }

  private startService(instance: number, rec: RequestRecord): void {
    this.busy[instance] = true;
    rec.start_ms = this.clock();
    this.transport.submit(instance, rec.id, rec.length);
  }

  /** The transport's callback: request `id` finished after `serviceMs` of compute. */
  complete(id: number, serviceMs: number): void {
    const rec = this.records[id];
    if (this.finished || !rec || !Number.isNaN(rec.end_ms)) return;
    rec.end_ms = this.clock();
    rec.service_ms = serviceMs;
    this.completed++;
    const instance = rec.instance;
    this.outstanding[instance]!--;
    this.busy[instance] = false;
    const next = this.queues[instance]!.shift();
    if (next !== undefined) {
      const queuedRec = this.records[next]!;
      this.queued--;
      this.queuedPerPool[queuedRec.pool]!--;
      this.startService(instance, queuedRec);
    }
    const w = this.workload;
    if (w.mode === 'closed') {
      const t = this.clock();
      const more = w.requests === null ? t < w.durationMs : this.issued < w.requests;
      if (more) this.arrive(t, t);
    }
    this.maybeFinish();
  }

  fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.settle?.reject(err);
  }

  private maybeFinish(): void {
    const w = this.workload;
    const allIssued = w.mode === 'open' ? this.issued === w.arrivalsMs.length : true;
    if (this.finished || !allIssued || this.completed < this.issued) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.settle?.resolve({
      records: this.records,
      max_queue_per_pool: this.maxQueuePerPool,
      max_queue: this.maxQueue,
      backlog_at_last_arrival: w.mode === 'open' ? this.backlogAtLastArrival : 0,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics

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
export function setupStats(run: DispatchRun, workload: Workload, router: Router, poolNames: readonly string[], poolInstances: readonly number[], label: string): SetupStats {
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
  const arrivalWindowS = workload.mode === 'open' ? Math.max(workload.windowMs, ...recs.map((r) => r.released_ms)) / 1000 : windowS;
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
const GAIN_PERCENTILES = [
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
  readonly per_class: Readonly<Record<string, { readonly latency_p50: number; readonly latency_p90?: number; readonly latency_p99: number }>>;
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
  const byLatency = recs.map((r) => ({ latency: r.end_ms - r.arrival_ms, cls: router.classOf(r.length) })).sort((x, y) => x.latency - y.latency);
  const classes = router.classes.map((_, c) => Int32Array.from(byLatency.flatMap((r, k) => (r.cls === c ? [k] : []))));
  const ends = recs.map((r) => r.end_ms).sort((x, y) => x - y);
  const first = (ends.at(-1) ?? 0) - windowMs;
  return { sorted: Float64Array.from(byLatency.map((r) => r.latency)), classes, gaps: Float64Array.from(ends, (e, k) => e - (k === 0 ? first : ends[k - 1]!)) };
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
    { stats: dispatched, data: resamplable(req.dispatched, req.router, dispatched.window_s * 1000), rng: new Rng(streamSeed(req.seed, BOOTSTRAP_STREAM_DISPATCHED)) },
    { stats: baseline, data: resamplable(req.baseline, req.router, baseline.window_s * 1000), rng: new Rng(streamSeed(req.seed, BOOTSTRAP_STREAM_BASELINE)) },
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
  const counts = setups.map(({ data }) => ({ overall: new Uint32Array(data.sorted.length), classes: data.classes.map((c) => new Uint32Array(c.length)) }));
  const figures = setups.map(() => ({ overall: [] as number[], classes: names.map(() => [] as number[]), requestsPerMs: NaN }));
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
        figures[s]!.classes[c] = members.length > 0 ? percentilesOfCounts(data.sorted, own, members, members.length, ps) : [];
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
    GAIN_PERCENTILES.forEach(([key, name], q) => (out[key] = supported(scope, name) ? percentileBootstrapInterval(gains[scope + 1]![q]!, GAIN_CONFIDENCE) : null));
    return out;
  };
  const perClass: Record<string, Record<LatencyGainKey, Interval | null>> = {};
  names.forEach((name, c) => {
    if ((dispatched.per_class[name]?.requests ?? 0) > 0 && (baseline.per_class[name]?.requests ?? 0) > 0) perClass[name] = interval(c);
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
    ...Object.entries(d.per_class).flatMap(([name, c]): [string, ClassStats, number][] => (c.requests > 0 ? [[name, c, report.workload.classes[name]?.share ?? 0]] : [])),
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
  const needs = GAIN_PERCENTILES.filter(([, name]) => parts.some((p) => p.startsWith(`${name} `))).map(([, name]) => `${minSamplesFor(name)} for ${name}`);
  return (
    `too few requests for ${parts.join(', ')}: a 95% interval needs ${needs.join(', ')} per class; withheld with their gains ` +
    `from the terminal and dispatch.csv, kept in results.json` +
    (advice.length > 0 ? `; for them run longer (${advice.join('; ')})` : '')
  );
}

/** Up to `count` distinct lengths spread over the sorted distinct values (the smallest and largest included). */
export function spreadLengths(lengths: readonly number[], count: number): number[] {
  const distinct = [...new Set(lengths)].sort((a, b) => a - b);
  if (distinct.length <= count) return distinct;
  if (count === 1) return [distinct.at(-1)!];
  const picked = Array.from({ length: count }, (_, i) => distinct[Math.round((i * (distinct.length - 1)) / (count - 1))]!);
  return [...new Set(picked)];
}

// ---------------------------------------------------------------------------------------------
// The report (results.json `dispatch`)

export interface ServedInstance {
  readonly index: number;
  readonly pool: string;
  /** Planned CPUs, and the affinity the kernel reported inside the child (null when unknown). */
  readonly planned_cpus: readonly number[];
  readonly cpus: readonly number[] | null;
  readonly memory_nodes: readonly number[];
  readonly threads: number;
  readonly requests: number;
  /** Service time over the setup's window. */
  readonly busy_fraction: number;
  readonly load_session_ms: number;
  readonly first_inference_ms: number;
  readonly warmup_calls: number;
  readonly peak_rss_mb: number;
  /** Other processes' CPU time on its CPUs while it served (absent in older files; null where unknown). */
  readonly interference?: Interference | null;
}

/** Every request, column by column (ms from the start of the setup's run). */
export interface RequestColumns {
  readonly length: readonly number[];
  readonly pool: readonly number[];
  readonly instance: readonly number[];
  /** Scheduled (open loop) or sent (closed loop). */
  readonly arrival_ms: readonly number[];
  /** When the parent actually took the arrival in. */
  readonly released_ms: readonly number[];
  readonly start_ms: readonly number[];
  readonly end_ms: readonly number[];
  readonly service_ms: readonly number[];
}

export interface SetupReport extends SetupStats {
  readonly setup: 'dispatched' | 'homogeneous';
  /** e.g. "small <=32: 1 x 1 core; large >32: 1 x 1 core". */
  readonly description: string;
  readonly instances: readonly ServedInstance[];
  readonly requests: RequestColumns;
}

export interface DispatchReport {
  readonly workload: {
    readonly mode: 'open' | 'closed';
    readonly requests: number;
    readonly offered_rate_per_s: number | null;
    readonly clients: number | null;
    /** Open loop: the window the arrivals are spread over; closed loop: how long clients issue (null with a fixed count). */
    readonly arrival_window_s: number | null;
    readonly seed: number;
    readonly lengths: Record<string, unknown>;
    /** Each class's length range and share of the requests. */
    readonly classes: Readonly<Record<string, { readonly range: string; readonly share: number }>>;
  };
  readonly pools: readonly {
    readonly name: string;
    readonly range: string;
    readonly max_length: number | null;
    readonly instances: number;
    readonly cores_per_instance: number;
    readonly cpus: readonly (readonly number[])[];
  }[];
  readonly dispatched: SetupReport;
  readonly baseline: SetupReport | null;
  /** Above 1, dispatching is better (latency: baseline / dispatched; throughput: dispatched / baseline). */
  readonly gain: Gain | null;
  readonly warnings: readonly string[];
}

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

export function requestColumns(records: readonly RequestRecord[]): RequestColumns {
  return {
    length: records.map((r) => r.length),
    pool: records.map((r) => r.pool),
    instance: records.map((r) => r.instance),
    arrival_ms: records.map((r) => round4(r.arrival_ms)),
    released_ms: records.map((r) => round4(r.released_ms)),
    start_ms: records.map((r) => round4(r.start_ms)),
    end_ms: records.map((r) => round4(r.end_ms)),
    service_ms: records.map((r) => round4(r.service_ms)),
  };
}

/**
 * dispatch.csv: one row per (setup, class), the class `all` first. A percentile the class's
 * requests do not support is an empty cell (results.json keeps it). The gains and their intervals
 * are the last columns of the dispatched setup's rows (empty where withheld, and on the baseline's).
 */
export function dispatchCsvRows(report: DispatchReport): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const g = report.gain;
  const cell = (l: LatencySummary, name: PercentileName, x: number): number | '' => (isSupported(l, name) ? round4(x) : '');
  for (const s of [report.dispatched, report.baseline]) {
    if (!s) continue;
    const entries: [string, string, ClassStats][] = [['all', 'any', s.overall], ...Object.entries(s.per_class).map(([n, c]): [string, string, ClassStats] => [n, report.workload.classes[n]?.range ?? '', c])];
    for (const [name, range, c] of entries) {
      const gains: Record<string, number | ''> = {};
      if (g) {
        const point = name === 'all' ? g : g.per_class[name];
        const iv = name === 'all' ? g.intervals : g.intervals?.per_class[name];
        for (const [key, pname] of GAIN_PERCENTILES) {
          const shown = s.setup === 'dispatched' && point !== undefined && isSupported(c.latency, pname) && (!g.intervals || iv?.[key] !== null);
          gains[`gain_${key}`] = shown ? round4(point[key] ?? NaN) : '';
          gains[`gain_${key}_lo`] = shown && iv?.[key] ? round4(iv[key].lo) : '';
          gains[`gain_${key}_hi`] = shown && iv?.[key] ? round4(iv[key].hi) : '';
        }
        const t = s.setup === 'dispatched' && c.requests > 0 ? g.intervals?.throughput : undefined;
        gains.gain_throughput = s.setup === 'dispatched' && c.requests > 0 ? round4(g.throughput) : '';
        gains.gain_throughput_lo = t ? round4(t.lo) : '';
        gains.gain_throughput_hi = t ? round4(t.hi) : '';
      }
      rows.push({
        setup: s.setup,
        class: name,
        length_range: range,
        requests: c.requests,
        tokens: c.tokens,
        latency_mean_ms: round4(c.latency.mean_ms),
        latency_p50_ms: cell(c.latency, 'p50', c.latency.p50_ms),
        latency_p90_ms: cell(c.latency, 'p90', c.latency.p90_ms),
        latency_p99_ms: cell(c.latency, 'p99', c.latency.p99_ms),
        latency_max_ms: round4(c.latency.max_ms),
        latency_std_ms: round4(c.latency.std_ms),
        queueing_p50_ms: cell(c.queueing, 'p50', c.queueing.p50_ms),
        queueing_p99_ms: cell(c.queueing, 'p99', c.queueing.p99_ms),
        service_mean_ms: round4(c.service.mean_ms),
        service_p50_ms: cell(c.service, 'p50', c.service.p50_ms),
        throughput_requests_per_s: round4(c.throughput_requests_per_s),
        throughput_tokens_per_s: round4(c.throughput_tokens_per_s),
        window_s: round4(s.window_s),
        ...gains,
      });
    }
  }
  return rows;
}
