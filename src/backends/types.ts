/**
 * What a runtime must offer the scenarios, as optimum-benchmark's backends do (`load`,
 * `prepare_inputs`, `forward`): load once, build the inputs of a shape once (untimed), run one
 * forward over given inputs (what a scenario times), say what it is. A scenario that feeds many
 * shapes (dispatch: one request length after another) prepares each once and keeps it; one session
 * serves them all. A new backend is a folder and a line in registry.ts.
 */
export interface LoadTimings {
  /** Model file resolution or synthesis, in ms (0 when cached or not applicable). */
  readonly prepare_ms: number;
  /** Session creation (graph load and optimization), in ms. */
  readonly session_ms: number;
}

/** The shape of one forward's inputs. */
export interface InputShape {
  readonly batchSize: number;
  /** Tokens per sequence, special tokens included. */
  readonly sequenceLength: number;
  /** Tokens at the end of every sequence fed as padding (scenario.padding); 0 or absent: none. */
  readonly paddedTokens?: number;
  /** Seeds the token ids. */
  readonly seed: number;
  /** Real text (inputs.text): the rows' ids and mask, fed instead of seeded ids (models/inputs.ts). */
  readonly tokens?: { readonly ids: readonly number[]; readonly mask: readonly number[] };
}

/** Inputs a backend prepared for one shape; only that backend reads what else they hold. */
export interface PreparedInputs {
  readonly shape: InputShape;
}

/**
 * A forward as the runtime timed it itself, for a backend whose runtime is another process (a
 * Python child): scenarios record this instead of their own clock, which would also count the
 * round trip to that process (the backend reports the round trip in describe()).
 */
export interface ForwardTiming {
  /** The forward alone, measured in the runtime's process with its monotonic clock. */
  readonly runtimeMs: number;
}

/** A timed window the runtime ran itself (Backend.loop). */
export interface TimedLoop {
  /** Each call, timed around the forward alone. */
  readonly latenciesMs: number[];
  /** First call's start to last call's end. */
  readonly windowMs: number;
  /** When the window began, in ms since the epoch (to line instances up). */
  readonly windowEpochMs: number;
}

export interface Backend {
  readonly name: string;
  load(): Promise<LoadTimings>;
  /** The inputs of one forward of `shape`, built once; after load(). */
  prepare(shape: InputShape): Promise<PreparedInputs>;
  /** One forward over inputs this backend prepared; an out-of-process runtime says how long it took. */
  run(inputs: PreparedInputs): Promise<ForwardTiming | void>;
  /**
   * A runtime in another process runs the latency scenario's timed window itself: calls over `inputs`
   * until both `durationMs` and `minCalls` are reached, as the scenario's own loop does, so no
   * round trip to it falls inside the window. Absent: the scenario calls run() in a loop.
   */
  loop?(inputs: PreparedInputs, until: { readonly durationMs: number; readonly minCalls: number }): Promise<TimedLoop>;
  /** Facts for results.json: versions, thread counts, model provenance, the inputs prepared. */
  describe(): Record<string, unknown>;
  /** The operator profile of the timed calls (backend.profile=true), ending the profiler; null when off. */
  profile?(): ProfileSummary | null;
  /** Peak resident memory, in MiB, of the processes the backend runs besides this one (none: absent). */
  externalPeakRssMb?(): Promise<number>;
  /** The processes the backend runs besides this one (a Python runtime): their CPU time is the instance's. */
  processIds?(): readonly number[];
  dispose(): Promise<void>;
}

/** What a backend gets to build itself: the instance's share of the machine and where it runs. */
export interface BackendRequest {
  /** Intra-op threads: `backend.num_threads`, else the cores given to the instance. */
  readonly threads: number;
  readonly instanceIndex: number;
  /** Instances running side by side (a simulated backend slows down with them). */
  readonly instances: number;
  /** Which repetition of the run (1-based; absent: 1). Only a simulated backend uses it. */
  readonly repetition?: number;
  /** The run's seed (a simulated backend draws its latencies from it). */
  readonly seed: number;
  /** The run directory, for files a backend may save (e.g. the optimized graph). */
  readonly outputDir?: string;
  /** Calls before the timed window (the cold call and the warm-up): a profile leaves them out. */
  readonly untimedCalls?: number;
}

/** An operator type's (or a node's) part of a profile (backend.profile=true). */
export interface OperatorShare {
  readonly op: string;
  readonly ms: number;
  /** Of all node kernel time in the profiled calls, 0..1. */
  readonly share: number;
  /** Kernel calls (nodes x profiled calls). */
  readonly count: number;
}

export interface ProfileSummary {
  /** The trace, ORT's JSON (chrome://tracing, Perfetto). */
  readonly file: string;
  /** Timed calls in the trace. */
  readonly calls: number;
  /** Sum of the calls' ORT-side run time, and of their nodes' kernel time, ms. */
  readonly run_ms: number;
  readonly kernel_ms: number;
  /** Per operator type, largest first. */
  readonly by_op: readonly OperatorShare[];
  /** The ten nodes with the most kernel time. */
  readonly top_nodes: readonly (OperatorShare & { readonly node: string })[];
}
