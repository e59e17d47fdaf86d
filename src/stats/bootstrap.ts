/**
 * Pieces of a percentile bootstrap (Efron & Tibshirani, An Introduction to the Bootstrap, 1993,
 * ch. 13): a resample of n values drawn with replacement is held as counts, how often each value of
 * the sorted original was drawn, so its type-7 percentiles come from one walk over the counts, with
 * no sort: O(n) per resample. The interval of a statistic is the (1 - c)/2 and (1 + c)/2 type-7
 * percentiles of its resampled values. Pure; the caller seeds the generator, so intervals repeat.
 */
import { percentile } from './summary.js';

/**
 * Type-7 percentiles (ps ascending) of the resample of m values in which value k was drawn
 * counts[k] times; `values` ascending, or read through `order` (ascending positions into values,
 * counts indexed like order) for a subset such as one class of requests.
 */
export function percentilesOfCounts(
  values: Float64Array,
  counts: Uint32Array,
  order: Int32Array | null,
  m: number,
  ps: readonly number[],
): number[] {
  // The 0-based ranks each percentile interpolates between: floor(h) and floor(h) + 1, h = (m - 1) p.
  const wanted: number[] = [];
  for (const p of ps) {
    const lo = Math.floor((m - 1) * p);
    wanted.push(lo, Math.min(lo + 1, m - 1));
  }
  // Visit the wanted ranks in ascending order (two percentiles may share or interleave ranks).
  const visit = wanted.map((_, i) => i).sort((x, y) => wanted[x]! - wanted[y]!);
  const got = new Float64Array(wanted.length);
  let q = 0;
  let seen = 0;
  for (let k = 0; k < counts.length && q < visit.length; k++) {
    const c = counts[k]!;
    if (c === 0) continue;
    seen += c;
    const v = values[order ? order[k]! : k]!;
    while (q < visit.length && wanted[visit[q]!]! < seen) got[visit[q++]!] = v;
  }
  return ps.map((p, i) => {
    const h = (m - 1) * p;
    const a = got[2 * i]!;
    return a + (h - Math.floor(h)) * (got[2 * i + 1]! - a);
  });
}

export interface Interval {
  readonly lo: number;
  readonly hi: number;
}

/** The percentile interval from a statistic's resampled values (NaNs, from degenerate resamples, left out). */
export function percentileBootstrapInterval(resampled: readonly number[], confidence: number): Interval | null {
  const finite = resampled.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return null;
  const tail = (1 - confidence) / 2;
  return { lo: percentile(finite, tail), hi: percentile(finite, 1 - tail) };
}
