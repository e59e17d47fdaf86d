/**
 * The latency scenario: load (timed once), one cold call (reported apart), `warmup_runs` untimed
 * calls, then — once the start signal comes, so that instances started together measure together —
 * timed calls until both `benchmark_duration` seconds and `min_iterations` calls are reached.
 *
 * Each call is timed with the monotonic high-resolution clock around `backend.run(inputs)` alone; the
 * inputs are prepared once, before the cold call, and are the same for every call. A runtime in
 * another process (PyTorch's Python child) runs the timed window itself (Backend.loop), so no round
 * trip to it falls inside the window, and times its own calls the same way.
 * Throughput divides the calls made by the wall time of the timed window as measured (first call's
 * start to last call's end), never by the configured duration.
 */
import type { Backend, InputShape, LoadTimings, PreparedInputs, TimedLoop } from '../../backends/types.js';
import { interference, sampleCpus, type Interference } from '../../stats/interference.js';
import { minSamplesFor, percentileLabel, unsupportedAcross } from '../../stats/summary.js';
import { nowNs, timedForward } from '../backend.js';
import type { InstanceResult } from '../types.js';

export interface LatencyOptions {
  /** The inputs every call feeds. */
  readonly shape: InputShape;
  readonly warmupRuns: number;
  readonly durationS: number;
  readonly minIterations: number;
  /** Resolves when the timed window may begin (the launcher's start barrier). */
  readonly startSignal?: () => Promise<void>;
  /** Stops the loop early (Ctrl-C in an in-process run); the loop then yields to the event loop
   * every 100 ms so that the signal handler gets to run. */
  readonly abort?: AbortSignal;
  /** The CPUs this instance may run on, to check that nothing else used them meanwhile. */
  readonly cpus?: readonly number[];
}

export class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

export interface LatencyMeasurement {
  readonly load: LoadTimings;
  readonly first_inference_ms: number;
  readonly warmup_runs: number;
  readonly iterations: number;
  /** Wall-clock start of the timed window (ms since the epoch), to line instances up. */
  readonly window_start_epoch_ms: number;
  readonly window_ms: number;
  readonly throughput_samples_per_s: number;
  readonly forwards_per_s: number;
  readonly latencies_ms: readonly number[];
  /** Other processes' CPU time on our CPUs during the window; null where /proc is not readable. */
  readonly interference: Interference | null;
}

const msBetween = (a: bigint, b: bigint): number => Number(b - a) / 1e6;

/** The timed window, one backend.run after the other, each timed around the call alone. */
async function timedLoop(backend: Backend, inputs: PreparedInputs, opts: LatencyOptions): Promise<TimedLoop> {
  const durationNs = BigInt(Math.round(opts.durationS * 1e9));
  const latenciesMs: number[] = [];
  // Sub-millisecond wall-clock time, comparable across the instances' processes.
  const windowEpochMs = performance.timeOrigin + performance.now();
  const windowStart = nowNs();
  let end = windowStart;
  let lastYield = windowStart;
  while (end - windowStart < durationNs || latenciesMs.length < opts.minIterations) {
    const call = await timedForward(backend, inputs);
    end = call.end;
    latenciesMs.push(call.ms);
    if (opts.abort && end - lastYield > 100_000_000n) {
      await new Promise((resolve) => setImmediate(resolve));
      if (opts.abort.aborted) throw new Interrupted('interrupted while measuring');
      lastYield = nowNs();
    }
  }
  return { latenciesMs, windowMs: msBetween(windowStart, end), windowEpochMs };
}

export async function measureLatency(backend: Backend, opts: LatencyOptions): Promise<LatencyMeasurement> {
  const load = await backend.load();
  const inputs = await backend.prepare(opts.shape);

  const firstInferenceMs = (await timedForward(backend, inputs)).ms;

  for (let i = 0; i < opts.warmupRuns; i++) {
    if (opts.abort?.aborted) throw new Interrupted('interrupted during warmup');
    await backend.run(inputs);
  }

  if (opts.startSignal) await opts.startSignal();

  const cpus = opts.cpus ?? [];
  const pids = backend.processIds?.() ?? [];
  const cpuStart = cpus.length > 0 ? sampleCpus(cpus, pids) : null;
  const sampledFrom = nowNs();
  // A backend that loops in its own process (PyTorch) cannot be interrupted mid-window: the window
  // ends (benchmark_duration at most), then the interruption is honoured.
  const {
    latenciesMs: latencies,
    windowMs,
    windowEpochMs,
  } = backend.loop
    ? await backend.loop(inputs, { durationMs: opts.durationS * 1e3, minCalls: opts.minIterations })
    : await timedLoop(backend, inputs, opts);
  if (opts.abort?.aborted) throw new Interrupted('interrupted while measuring');
  const cpuEnd = cpuStart ? sampleCpus(cpus, pids) : null;
  // The CPU time others took is weighed against the time between the two samples, which for a loop
  // run in another process includes its request and reply.
  const sampledMs = msBetween(sampledFrom, nowNs());
  const forwardsPerS = latencies.length / (windowMs / 1e3);
  return {
    load,
    first_inference_ms: firstInferenceMs,
    warmup_runs: opts.warmupRuns,
    iterations: latencies.length,
    window_start_epoch_ms: windowEpochMs,
    window_ms: windowMs,
    throughput_samples_per_s: forwardsPerS * opts.shape.batchSize,
    forwards_per_s: forwardsPerS,
    latencies_ms: latencies,
    interference: cpuStart && cpuEnd ? interference(cpus, cpuStart, cpuEnd, Math.max(windowMs, sampledMs)) : null,
  };
}

/**
 * The run's warning when its instances' calls do not support some percentiles (stats/summary.ts):
 * which, how many calls per instance a 95% interval needs, and how to get them: that many
 * scenario.min_iterations, which the loop honours exactly, or a benchmark_duration estimated from
 * the slowest instance's measured rate (10% over). Null when all are supported.
 */
export function withheldPercentilesWarning(instances: readonly InstanceResult[]): string | null {
  const ok = instances.filter((i) => i.status === 'ok');
  const withheld = unsupportedAcross(ok.map((i) => i.latency));
  // p99.9 needs thousands of calls and is shown only in the CSVs (an empty cell there says it all):
  // a warning on nearly every run would drown the ones that matter.
  if (ok.length === 0 || withheld.every((p) => p === 'p999')) return null;
  const counts = ok.map((i) => i.latency.count);
  const made =
    Math.min(...counts) === Math.max(...counts) ? `${counts[0]}` : `${Math.min(...counts)}-${Math.max(...counts)}`;
  const rate = Math.min(...ok.map((i) => i.forwards_per_s));
  const needs = withheld.map(minSamplesFor);
  const each = (values: readonly (string | number)[], unit = ''): string =>
    values.map((v, k) => `${v}${unit} (${percentileLabel(withheld[k]!)})`).join(', ');
  const seconds = needs.map((n) => Math.ceil((n / rate) * 1.1));
  return (
    `too few timed calls for ${withheld.map(percentileLabel).join(', ')} (${made} per instance; a 95% interval needs ${each(needs)}): ` +
    'withheld from the terminal and the CSVs, kept in results.json (unsupported_percentiles); for them set scenario.min_iterations to that count' +
    (rate > 0
      ? `, or benchmark_duration to about ${each(seconds, ' s')} at the measured ${rate.toFixed(1)} calls/s`
      : '')
  );
}
