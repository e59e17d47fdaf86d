/**
 * The dispatch section of results.json and the rows of dispatch.csv.
 */
import type { Interference } from '../../stats/interference.js';
import type { RequestRecord } from './dispatcher.js';
import { isSupported, type LatencySummary, type PercentileName } from '../../stats/summary.js';
import { GAIN_PERCENTILES, type ClassStats, type Gain, type SetupStats } from './stats.js';

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
  /** The allocator its process had mapped (launcher.malloc); absent in older files. */
  readonly allocator?: string;
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
    /**
     * Open loop: the window the arrivals are spread over; closed loop: how long clients issue (null with a fixed
     * count).
     */
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
  const cell = (l: LatencySummary, name: PercentileName, x: number): number | '' =>
    isSupported(l, name) ? round4(x) : '';
  for (const s of [report.dispatched, report.baseline]) {
    if (!s) continue;
    const entries: [string, string, ClassStats][] = [
      ['all', 'any', s.overall],
      ...Object.entries(s.per_class).map(([n, c]): [string, string, ClassStats] => [
        n,
        report.workload.classes[n]?.range ?? '',
        c,
      ]),
    ];
    for (const [name, range, c] of entries) {
      const gains: Record<string, number | ''> = {};
      if (g) {
        const point = name === 'all' ? g : g.per_class[name];
        const iv = name === 'all' ? g.intervals : g.intervals?.per_class[name];
        for (const [key, pname] of GAIN_PERCENTILES) {
          const shown =
            s.setup === 'dispatched' &&
            point !== undefined &&
            isSupported(c.latency, pname) &&
            (!g.intervals || iv?.[key] !== null);
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

/**
 * Words for the lengths of a dispatch workload, from results.json's `dispatch.workload.lengths`:
 * `mix 32:60% 128:30% 384:10%`, `lognormal median 64 sigma 0.8 in [8, 512]`, `file F`, `dataset F`.
 */
export function describeLengths(lengths: Readonly<Record<string, unknown>>): string {
  const l = lengths as {
    distribution?: unknown;
    mix?: unknown;
    lognormal?: unknown;
    file?: unknown;
    dataset?: unknown;
  };
  const mix = Array.isArray(l.mix)
    ? l.mix.filter((p): p is [unknown, unknown] => Array.isArray(p) && p.length === 2)
    : [];
  const total = mix.reduce((sum, [, x]) => sum + Number(x), 0);
  if (mix.length > 0 && total > 0)
    return `mix ${mix.map(([n, x]) => `${String(n)}:${Math.round((100 * Number(x)) / total)}%`).join(' ')}`;
  if (l.lognormal !== null && typeof l.lognormal === 'object') {
    const ln = l.lognormal as Record<string, unknown>;
    return `lognormal median ${String(ln.median)} sigma ${String(ln.sigma)} in [${String(ln.min)}, ${String(ln.max)}]`;
  }
  if (typeof l.dataset === 'string') return `dataset ${l.dataset}`;
  if (typeof l.file === 'string') return `file ${l.file}`;
  return typeof l.distribution === 'string' ? l.distribution : '';
}
