/**
 * ONNX Runtime through onnxruntime-node: the one place bench runs ORT inference (the GEMM probe,
 * peak.ts, and the int8 rewrite's pre-optimization, models/quantize-file.ts, create sessions of
 * their own for what they measure or rewrite). Intra-op threads are always set explicitly (to the
 * cores given to the instance unless `backend.num_threads` says otherwise): left at 0, ORT sizes its
 * pool to every physical core of the host and pins it there, ignoring OMP_NUM_THREADS and the
 * cpuset. The model's inputs are dynamic in batch and sequence, so one session serves every shape;
 * the feeds of each are built once, on prepare().
 */
import * as ort from 'onnxruntime-node';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { summarizeTrace, traceFile } from './profile.js';
import { cacheRoot } from '../../models/cache.js';
import { buildFeeds, type Feed, type InputSpec } from '../../models/inputs.js';
import { describeInputs, describeModel } from '../describe.js';
import { ModelError } from '../../models/errors.js';
import type { ResolvedModel } from '../../models/resolve.js';
import type {
  Backend,
  BackendRequest,
  ForwardTiming,
  InputShape,
  LoadTimings,
  PreparedInputs,
  ProfileSummary,
} from '../types.js';

/** Feeds of one shape, as ORT tensors, and what they hold (for describe()). */
interface OrtInputs extends PreparedInputs {
  readonly feeds: Record<string, ort.Tensor>;
  readonly inputs: readonly Feed[];
}

export interface OnnxRuntimeOptions {
  readonly num_interop_threads: number;
  readonly execution_mode: 'sequential' | 'parallel';
  readonly graph_optimization_level: 'disabled' | 'basic' | 'extended' | 'all';
  readonly enable_cpu_mem_arena: boolean;
  readonly enable_mem_pattern: boolean;
  readonly session_config: Readonly<Record<string, string | number | boolean>>;
  readonly save_optimized_model: boolean;
  readonly cache_optimized_graph: boolean;
  readonly profile?: boolean;
  readonly profile_calls?: number;
}

/** What the optimized-graph cache did for this session. */
type GraphCache =
  | { readonly status: 'off' }
  | { readonly status: 'hit' | 'written' | 'failed'; readonly file: string; readonly note?: string };

export const ORT_VERSION = ort.env.versions.node ?? ort.env.versions.common;

export class OnnxRuntimeBackend implements Backend {
  readonly name = 'onnxruntime';
  private session: ort.InferenceSession | null = null;
  private specs: InputSpec[] = [];
  private readonly prepared: OrtInputs[] = [];
  private optimizedModelPath: string | null = null;
  private graphCache: GraphCache = { status: 'off' };
  /** backend.profile: the trace's file prefix, the calls made so far, whether the profiler ended. */
  private readonly profilePrefix: string | null;
  private calls = 0;
  private profileEnded = false;

  constructor(
    private readonly opts: OnnxRuntimeOptions,
    private readonly model: ResolvedModel,
    private readonly req: BackendRequest,
  ) {
    this.profilePrefix =
      opts.profile && req.outputDir
        ? join(req.outputDir, 'profile', `instance-${req.instanceIndex}-rep${req.repetition ?? 1}`)
        : null;
  }

  sessionOptions(
    level: OnnxRuntimeOptions['graph_optimization_level'] = this.opts.graph_optimization_level,
    saveTo: string | null = null,
  ): ort.InferenceSession.SessionOptions {
    const extra: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.opts.session_config))
      extra[k] = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
    return {
      executionProviders: ['cpu'],
      intraOpNumThreads: this.req.threads,
      interOpNumThreads: this.opts.num_interop_threads,
      executionMode: this.opts.execution_mode,
      graphOptimizationLevel: level,
      enableCpuMemArena: this.opts.enable_cpu_mem_arena,
      enableMemPattern: this.opts.enable_mem_pattern,
      ...(saveTo ? { optimizedModelFilePath: saveTo } : {}),
      ...(this.profilePrefix ? { enableProfiling: true, profileFilePrefix: this.profilePrefix } : {}),
      ...(Object.keys(extra).length > 0 ? { extra } : {}),
    };
  }

  async load(): Promise<LoadTimings> {
    const model = this.model;
    if (this.opts.save_optimized_model && this.req.outputDir) {
      this.optimizedModelPath = join(this.req.outputDir, `optimized-${this.req.instanceIndex ?? 0}.onnx`);
    }
    if (this.profilePrefix) mkdirSync(dirname(this.profilePrefix), { recursive: true });
    const t1 = performance.now();
    try {
      this.session = await this.createSession();
    } catch (err) {
      throw new ModelError(`ONNX Runtime cannot load ${model.file}: ${(err as Error).message.split('\n')[0]}`);
    }
    const sessionMs = performance.now() - t1;
    this.specs = this.session.inputMetadata.map((m) =>
      m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name, type: 'non-tensor', shape: [] },
    );
    return { prepare_ms: model.prepare_ms, session_ms: sessionMs };
  }

  async prepare(shape: InputShape): Promise<PreparedInputs> {
    if (!this.session) throw new Error('prepare() before load()');
    const inputs = buildFeeds(this.specs, {
      batchSize: shape.batchSize,
      sequenceLength: shape.sequenceLength,
      vocabSize: this.model.arch.vocab_size,
      seed: shape.seed,
      paddedTokens: shape.paddedTokens ?? 0,
      padTokenId: this.model.arch.pad_token_id,
      ...(shape.tokens ? { tokens: shape.tokens } : {}),
    });
    const prepared: OrtInputs = {
      shape,
      inputs,
      feeds: Object.fromEntries(inputs.map((f) => [f.name, new ort.Tensor(f.type, f.data, [...f.dims])])),
    };
    this.prepared.push(prepared);
    return prepared;
  }

  /**
   * `backend.cache_optimized_graph`: ORT's graph optimizations are done once per model, ORT version,
   * level and CPU, the optimized graph saved in the cache, and later sessions load that graph with
   * optimizations off (ORT's "offline" mode). The same graph is run either way, its session made
   * faster (docs/performance.md, "The optimized-graph cache"). A cached graph that fails to load is
   * removed and the session made from the original model.
   */
  private async createSession(): Promise<ort.InferenceSession> {
    const file = this.model.file;
    const level = this.opts.graph_optimization_level;
    const copyOut = this.optimizedModelPath;
    if (!this.opts.cache_optimized_graph || level === 'disabled') {
      this.graphCache = { status: 'off' };
      return ort.InferenceSession.create(file, this.sessionOptions(level, copyOut));
    }
    const cached = optimizedGraphPath(file, level);
    if (existsSync(cached)) {
      try {
        const session = await ort.InferenceSession.create(cached, this.sessionOptions('disabled'));
        if (copyOut) copyFileSync(cached, copyOut);
        this.graphCache = { status: 'hit', file: cached };
        return session;
      } catch (err) {
        rmSync(cached, { force: true });
        this.graphCache = {
          status: 'failed',
          file: cached,
          note: `the cached graph did not load and was removed: ${(err as Error).message.split('\n')[0]}`,
        };
      }
    }
    // Save the optimized graph beside its final name, then rename it in: instances optimizing at once never read half a
    // file.
    const tmp = `${cached}.${process.pid}.tmp`;
    try {
      mkdirSync(join(cacheRoot(), 'optimized'), { recursive: true });
      // ORT warns that a level-all graph may be CPU-specific: the cache key has the CPU in it.
      const session = await ort.InferenceSession.create(file, {
        ...this.sessionOptions(level, tmp),
        logSeverityLevel: 3,
      });
      renameSync(tmp, cached);
      if (copyOut) copyFileSync(cached, copyOut);
      if (this.graphCache.status !== 'failed') this.graphCache = { status: 'written', file: cached };
      return session;
    } catch (err) {
      rmSync(tmp, { force: true });
      // Caching is an optimization: without it (e.g. a model too big to save inline) the run goes on.
      this.graphCache = {
        status: 'failed',
        file: cached,
        note: `not cached: ${(err as Error).message.split('\n')[0]}`,
      };
      return ort.InferenceSession.create(file, this.sessionOptions(level, copyOut));
    }
  }

  async run(inputs: PreparedInputs): Promise<ForwardTiming | void> {
    if (!this.profilePrefix || this.profileEnded) {
      await this.session!.run((inputs as OrtInputs).feeds);
      return;
    }
    // Profiling: the forward is timed alone, so that ending the profiler (ORT writes the trace
    // then) after the last call it keeps is not part of that call's latency.
    const t0 = process.hrtime.bigint();
    await this.session!.run((inputs as OrtInputs).feeds);
    const runtimeMs = Number(process.hrtime.bigint() - t0) / 1e6;
    if (++this.calls >= (this.req.untimedCalls ?? 0) + (this.opts.profile_calls ?? 100)) this.endProfiler();
    return { runtimeMs };
  }

  private endProfiler(): void {
    this.profileEnded = true;
    this.session?.endProfiling();
  }

  profile(): ProfileSummary | null {
    if (!this.profilePrefix) return null;
    if (!this.profileEnded) this.endProfiler();
    const file = traceFile(this.profilePrefix);
    // The trace named relative to the run folder, which may move (results from another machine).
    return file === null
      ? null
      : { ...summarizeTrace(file, this.req.untimedCalls ?? 0), file: relative(this.req.outputDir!, file) };
  }

  describe(): Record<string, unknown> {
    const m = this.model;
    return {
      name: this.name,
      version: ORT_VERSION,
      threads: this.req.threads,
      interop_threads: this.opts.num_interop_threads,
      execution_mode: this.opts.execution_mode,
      graph_optimization_level: this.opts.graph_optimization_level,
      session_config: this.opts.session_config,
      optimized_model: this.optimizedModelPath,
      optimized_graph_cache: this.graphCache,
      ...describeInputs(this.prepared),
      // The quantization settings and what the rewrite did, so fp32 and int8 results can be told apart and compared.
      model: describeModel(m, { quantization: m.quantization ?? null }),
    };
  }

  async dispose(): Promise<void> {
    await this.session?.release();
    this.session = null;
  }
}

/** Where the optimized graph of `file` at `level` is cached: keyed by the file, ORT's version and the CPU. */
export function optimizedGraphPath(file: string, level: string): string {
  const st = statSync(file);
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const cpu = ['model name', 'flags', 'Features']
    .map((k) => cpuinfo.split('\n').find((l) => l.startsWith(k)) ?? '')
    .join('\n');
  const key = createHash('sha256')
    .update(JSON.stringify({ file, size: st.size, mtime: st.mtimeMs, ort: ORT_VERSION, level, cpu }))
    .digest('hex')
    .slice(0, 16);
  return join(cacheRoot(), 'optimized', `${basename(file, '.onnx')}-${level}-${key}.onnx`);
}
