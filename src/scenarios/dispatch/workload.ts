/**
 * The workload of the dispatch scenario: request lengths drawn from a distribution (a mix, a
 * lognormal, or a file of recorded lengths) and their arrivals: open loop (Poisson, at a target
 * rate) or closed loop (N clients, each sending its next request when the last one completes). The
 * same scenario, duration and seed always give the same lengths and arrival times.
 *
 * Open-loop arrivals are a Poisson process conditioned on its count: for N = rate x T arrivals in a
 * window of T seconds, the gaps are N + 1 seeded exponential draws scaled to sum to T, i.e. the
 * arrival times are N sorted uniforms on [0, T] (the order statistics a Poisson process gives
 * given N(T) = N). Locally the gaps stay exponential (CV 1); over the run the offered rate is the
 * target exactly, so what the 2% acceptance bound measures is the scheduler, not sampling noise
 * (an unconditioned process over N arrivals misses its rate by about 1/sqrt(N): 3% at N = 1000).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../../config/errors.js';
import type { DispatchScenarioConfig } from '../../config/schema.js';
import { Rng } from '../../util/rng.js';
import { makeRouter, type Router } from './router.js';

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

// ---------------------------------------------------------------------------------------------
// Lengths

export type LengthSpec = DispatchScenarioConfig['lengths'];

/** Reads a file of lengths: integers separated by spaces, commas or newlines; `#` starts a comment. */
export function readLengthFile(path: string): number[] {
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (err) {
    throw new ConfigError(
      `scenario.lengths.file=${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const lengths: number[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    for (const token of line
      .replace(/#.*/, '')
      .split(/[\s,]+/)
      .filter((t) => t !== '')) {
      const n = Number(token);
      if (!Number.isInteger(n) || n < 1) {
        throw new ConfigError(
          `scenario.lengths.file=${path}: line ${i + 1}: ${JSON.stringify(token)} is not a positive integer length`,
        );
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
 * (a recorded trace replays as recorded); dataset: the texts' token lengths, drawn at random.
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
        if (!fileLengths || fileLengths.length === 0)
          throw new ConfigError('scenario.lengths.distribution=file needs scenario.lengths.file');
        let i = 0;
        this.next = () => fileLengths[i++ % fileLengths.length]!;
        break;
      }
      case 'dataset': {
        // The texts' lengths, drawn at random (with replacement): the empirical distribution of a
        // real corpus, a stream as long as the run needs and a different one for each seed.
        if (!fileLengths || fileLengths.length === 0)
          throw new ConfigError('scenario.lengths.distribution=dataset needs inputs.text');
        this.next = () => fileLengths[Math.floor(uniform(rng) * fileLengths.length)]!;
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

/**
 * At most this many times the rate x duration arrivals to fill the classes: a rare class must not turn a 5 s run into
 * an hour.
 */
export const MAX_CLASS_SIZING_FACTOR = 10;

/**
 * The open loop's request count for `requests: null`: rate x duration (`nominal`), or more, the
 * fewest n whose first n lengths (the seeded stream every setup replays) give every class that
 * occurs at all at least `minPerClass` requests, at most MAX_CLASS_SIZING_FACTOR x nominal.
 */
export function requestsForClasses(
  lengths: LengthStream,
  router: Router,
  nominal: number,
  minPerClass: number,
): number {
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
export function buildWorkload(
  s: DispatchScenarioConfig,
  durationS: number,
  seed: number,
  fileLengths: readonly number[] | null = null,
): Workload {
  const lengths = new LengthStream(s.lengths, seed, fileLengths);
  if (s.arrival.mode === 'closed') {
    return { mode: 'closed', clients: s.arrival.clients, requests: s.requests, durationMs: durationS * 1000, lengths };
  }
  const rate = s.arrival.rate_per_s;
  const nominal = Math.max(1, Math.round(rate * durationS));
  const count = s.requests ?? requestsForClasses(lengths, makeRouter(s.pools), nominal, s.min_requests_per_class ?? 0);
  const windowMs = (count / rate) * 1000;
  return {
    mode: 'open',
    ratePerS: rate,
    arrivalsMs: conditionedPoissonArrivalsMs(count, windowMs, seed),
    windowMs,
    lengths,
  };
}

/** Lengths the run is known to start with: all of an open-loop run's, the first few thousand otherwise. */
export function previewLengths(w: Workload, limit = 2000): number[] {
  const n = w.mode === 'open' ? w.arrivalsMs.length : Math.min(limit, w.requests ?? limit);
  return w.lengths.take(n);
}

/** Up to `count` distinct lengths spread over the sorted distinct values (the smallest and largest included). */
export function spreadLengths(lengths: readonly number[], count: number): number[] {
  const distinct = [...new Set(lengths)].sort((a, b) => a - b);
  if (distinct.length <= count) return distinct;
  if (count === 1) return [distinct.at(-1)!];
  const picked = Array.from(
    { length: count },
    (_, i) => distinct[Math.round((i * (distinct.length - 1)) / (count - 1))]!,
  );
  return [...new Set(picked)];
}
