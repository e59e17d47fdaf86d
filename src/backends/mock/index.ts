/**
 * A stand-in runtime. Each call blocks for a latency drawn from a seeded lognormal whose mean is
 * `latency_ms`, or else follows the model's forward FLOPs (mockMeanLatencyMs): so latencies
 * grow with batch, sequence and model size as real ones do, and a sweep over the mock has the shape
 * of a real sweep. It blocks the thread (as a real forward does) rather than yielding to timers, so
 * sub-millisecond latencies are honoured.
 */
import { forwardFlops, type FlopShape } from '../../models/arch.js';
import { Rng } from '../../util/rng.js';
import type { Backend, BackendRequest, InputShape, LoadTimings, PreparedInputs } from '../types.js';

export interface MockOptions {
  readonly latency_ms: number | null;
  readonly gflops_per_thread: number;
  readonly cv: number;
  readonly run_cv?: number;
  readonly serial_fraction: number;
  readonly contention: number;
  readonly call_overhead_ms: number;
}

/**
 * The mock's mean latency of one call, a known function of the setup (so `bench tune` can be tested
 * against a known optimum): a fixed call cost plus FLOPs at an Amdahl speed-up over `threads`,
 * slowed by `contention` for every other instance running beside it.
 */
export function mockMeanLatencyMs(opts: MockOptions, flops: number, threads: number, instances: number): number {
  if (opts.latency_ms !== null) return opts.latency_ms;
  const speedup = 1 / (opts.serial_fraction + (1 - opts.serial_fraction) / threads);
  const computeMs = (flops / (opts.gflops_per_thread * 1e9 * speedup)) * 1e3;
  return (opts.call_overhead_ms + computeMs) * (1 + opts.contention * (instances - 1));
}

const REPETITION_STREAM = 100;
const RUN_FACTOR_STREAM = 200;

/** Independent streams from one seed (any integer) and a stream number. */
const streamSeed = (seed: number, stream: number): number => (seed >>> 0) + stream * 4294967296;

/**
 * The factor a repetition's latencies are scaled by: lognormal with mean 1 and coefficient of
 * variation `runCv`, seeded by the run's seed and the repetition (the same for every instance of
 * it, as a machine state would be); exactly 1 when runCv is 0.
 */
export function runFactor(runCv: number, runSeed: number, repetition: number): number {
  if (runCv === 0) return 1;
  const sigma = Math.sqrt(Math.log(1 + runCv ** 2));
  return Math.exp(sigma * new Rng(streamSeed(runSeed, RUN_FACTOR_STREAM + repetition)).normal() - sigma ** 2 / 2);
}

/** One shape's mean latency and its lognormal's location. */
interface MockInputs extends PreparedInputs {
  readonly meanMs: number;
  readonly mu: number;
}

export class MockBackend implements Backend {
  readonly name = 'mock';
  private readonly rng: Rng;
  /** This repetition's run-to-run factor (1 without backend.run_cv). */
  private readonly factor: number;
  private readonly sigma: number;
  private readonly prepared: MockInputs[] = [];
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));

  constructor(
    private readonly opts: MockOptions,
    private readonly arch: FlopShape,
    private readonly req: BackendRequest,
  ) {
    const repetition = req.repetition ?? 1;
    const seed = req.seed + req.instanceIndex;
    // Repetition 1 draws what a run drew before repetitions existed; each later one its own stream.
    this.rng = new Rng(repetition === 1 ? seed : streamSeed(seed, REPETITION_STREAM + repetition));
    // The factor is the run's (its seed, not the instance's): shared by the instances of a repetition.
    this.factor = runFactor(opts.run_cv ?? 0, req.seed, repetition);
    // Lognormal with mean m and coefficient of variation cv: sigma^2 = ln(1 + cv^2), mu = ln m - sigma^2 / 2.
    this.sigma = Math.sqrt(Math.log(1 + opts.cv ** 2));
  }

  async load(): Promise<LoadTimings> {
    return { prepare_ms: 0, session_ms: 0 };
  }

  async prepare(shape: InputShape): Promise<PreparedInputs> {
    const meanMs =
      mockMeanLatencyMs(
        this.opts,
        forwardFlops(this.arch, shape.batchSize, shape.sequenceLength),
        this.req.threads,
        this.req.instances,
      ) * this.factor;
    const prepared: MockInputs = { shape, meanMs, mu: Math.log(meanMs) - this.sigma ** 2 / 2 };
    this.prepared.push(prepared);
    return prepared;
  }

  async run(inputs: PreparedInputs): Promise<void> {
    const latencyMs = Math.exp((inputs as MockInputs).mu + this.sigma * this.rng.normal());
    const until = performance.now() + latencyMs;
    // Sleep for all but the last millisecond, then spin: Atomics.wait is only millisecond-accurate.
    const coarseMs = latencyMs - 1;
    if (coarseMs >= 1) Atomics.wait(this.sleeper, 0, 0, coarseMs);
    while (performance.now() < until) {
      // spin
    }
  }

  describe(): Record<string, unknown> {
    const means = this.prepared.map((p) => p.meanMs);
    return {
      name: this.name,
      note: 'mock backend: latencies are simulated, not measured inference',
      threads: this.req.threads,
      // One shape (a latency run): its mean; several (a dispatch run): the mean of each request length.
      ...(this.prepared.length <= 1
        ? { mean_latency_ms: means[0] ?? null }
        : {
            mean_latency_ms_by_length: Object.fromEntries(this.prepared.map((p) => [p.shape.sequenceLength, p.meanMs])),
          }),
      cv: this.opts.cv,
      ...(this.opts.run_cv ? { run_cv: this.opts.run_cv, repetition: this.req.repetition ?? 1 } : {}),
    };
  }

  async dispose(): Promise<void> {}
}
