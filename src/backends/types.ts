/**
 * What a runtime must offer the scenarios: load once (inputs included), run one forward, say what
 * it is. Everything a scenario times goes through `run()`.
 */
export interface LoadTimings {
  /** Model file resolution or synthesis, in ms (0 when cached or not applicable). */
  readonly prepare_ms: number;
  /** Session creation (graph load and optimization), in ms. */
  readonly session_ms: number;
}

export interface Backend {
  readonly name: string;
  load(): Promise<LoadTimings>;
  /** One forward over the prepared inputs. */
  run(): Promise<void>;
  /** Facts for results.json: versions, thread counts, model provenance. */
  describe(): Record<string, unknown>;
  dispose(): Promise<void>;
}

/** What a backend gets to build itself: the run's settings plus the instance's share of the machine. */
export interface BackendRequest {
  readonly batchSize: number;
  readonly sequenceLength: number;
  /** Intra-op threads: `backend.num_threads`, else the cores given to the instance. */
  readonly threads: number;
  readonly seed: number;
  readonly instanceIndex: number;
  /** Which repetition of the run (1-based; absent: 1). Only a simulated backend uses it. */
  readonly repetition?: number;
  /** Tokens at the end of every sequence fed as padding (scenario.padding); 0 or absent: none. */
  readonly paddedTokens?: number;
  /** The run directory, for files a backend may save (e.g. the optimized graph). */
  readonly outputDir?: string;
}
