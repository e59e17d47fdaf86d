/**
 * ONNX Runtime through onnxruntime-node. Intra-op threads are always set explicitly (to the cores
 * given to the instance unless `backend.num_threads` says otherwise): left at 0, ORT sizes its pool
 * to every physical core of the host and pins it there, ignoring OMP_NUM_THREADS and the cpuset.
 */
import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { buildFeeds, type Feed, type InputSpec } from '../models/inputs.js';
import { ModelError } from '../models/errors.js';
import type { ResolvedModel } from '../models/resolve.js';
import type { Backend, BackendRequest, LoadTimings } from './types.js';

export interface OnnxRuntimeOptions {
  readonly num_interop_threads: number;
  readonly execution_mode: 'sequential' | 'parallel';
  readonly graph_optimization_level: 'disabled' | 'basic' | 'extended' | 'all';
  readonly enable_cpu_mem_arena: boolean;
  readonly enable_mem_pattern: boolean;
  readonly session_config: Readonly<Record<string, string | number | boolean>>;
  readonly save_optimized_model: boolean;
}

export const ORT_VERSION = ort.env.versions.node ?? ort.env.versions.common;

export class OnnxRuntimeBackend implements Backend {
  readonly name = 'onnxruntime';
  private session: ort.InferenceSession | null = null;
  private feeds: Record<string, ort.Tensor> = {};
  private inputs: Feed[] = [];
  private optimizedModelPath: string | null = null;

  constructor(
    private readonly opts: OnnxRuntimeOptions,
    private readonly model: ResolvedModel,
    private readonly req: BackendRequest,
  ) {}

  sessionOptions(): ort.InferenceSession.SessionOptions {
    const extra: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.opts.session_config)) extra[k] = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
    return {
      executionProviders: ['cpu'],
      intraOpNumThreads: this.req.threads,
      interOpNumThreads: this.opts.num_interop_threads,
      executionMode: this.opts.execution_mode,
      graphOptimizationLevel: this.opts.graph_optimization_level,
      enableCpuMemArena: this.opts.enable_cpu_mem_arena,
      enableMemPattern: this.opts.enable_mem_pattern,
      ...(this.optimizedModelPath ? { optimizedModelFilePath: this.optimizedModelPath } : {}),
      ...(Object.keys(extra).length > 0 ? { extra } : {}),
    };
  }

  async load(): Promise<LoadTimings> {
    const model = this.model;
    if (this.opts.save_optimized_model && this.req.outputDir) {
      this.optimizedModelPath = join(this.req.outputDir, `optimized-${this.req.instanceIndex ?? 0}.onnx`);
    }
    const t1 = performance.now();
    try {
      this.session = await ort.InferenceSession.create(model.file, this.sessionOptions());
    } catch (err) {
      throw new ModelError(`ONNX Runtime cannot load ${model.file}: ${(err as Error).message.split('\n')[0]}`);
    }
    const sessionMs = performance.now() - t1;
    const specs: InputSpec[] = this.session.inputMetadata.map((m) =>
      m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name, type: 'non-tensor', shape: [] },
    );
    this.inputs = buildFeeds(specs, {
      batchSize: this.req.batchSize,
      sequenceLength: this.req.sequenceLength,
      vocabSize: model.arch.vocab_size,
      seed: this.req.seed,
    });
    this.feeds = Object.fromEntries(this.inputs.map((f) => [f.name, new ort.Tensor(f.type, f.data, [...f.dims])]));
    return { prepare_ms: model.prepare_ms, session_ms: sessionMs };
  }

  async run(): Promise<void> {
    await this.session!.run(this.feeds);
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
      inputs: this.inputs.map((f) => ({ name: f.name, role: f.role, type: f.type, dims: f.dims })),
      model: {
        file: m.file,
        source: m.source,
        weights: m.weights,
        size_mb: Number(m.size_mb.toFixed(1)),
        cached: m.cached,
        architecture: m.arch,
        dtype: m.dtype ?? 'fp32',
        // Settings and what the rewrite did, so fp32 and int8 results can be told apart and compared.
        quantization: m.quantization ?? null,
      },
    };
  }

  async dispose(): Promise<void> {
    await this.session?.release();
    this.session = null;
  }
}
