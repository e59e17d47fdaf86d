/**
 * The child side of the dispatch scenario: one pinned instance that serves single requests of
 * varying length. It loads one session (one intra-op thread pool, sized to its cores), builds the
 * feeds of each length once and keeps them, warms up on the lengths it will see, says ready, then
 * answers every `request` with a `done` carrying the service time, measured with the monotonic
 * clock around the forward alone. Never prints, never reads argv.
 */
import { getEachMessage, sendMessage } from 'execa';
import * as ort from 'onnxruntime-node';
import { createBackend } from '../backends/index.js';
import { OnnxRuntimeBackend } from '../backends/onnxruntime.js';
import type { Backend } from '../backends/types.js';
import type { RunConfig } from '../config/schema.js';
import { ModelError } from '../models/errors.js';
import { buildFeeds, type InputSpec } from '../models/inputs.js';
import type { ResolvedModel } from '../models/resolve.js';
import { interference, sampleCpus, type CpuSample } from '../stats/interference.js';
import { currentAffinity } from './instance.js';
import type { ParentMessage, ServedReport } from './protocol.js';

type ServeInit = Extract<ParentMessage, { type: 'serve' }>;

/** Runs one forward of a batch-1 request of `length` tokens; resolves with its service time in ms. */
export interface LengthRunner {
  load(): Promise<{ prepare_ms: number; session_ms: number }>;
  run(length: number): Promise<number>;
  describe(): Record<string, unknown>;
  dispose(): Promise<void>;
}

const nowNs = (): bigint => process.hrtime.bigint();

/**
 * ONNX Runtime: the model's inputs are dynamic in batch and sequence, so one session serves every
 * length; only the feeds differ, and they are built on first use and cached. (A session per length
 * would mean a thread pool per length, all on the same cores.)
 */
class OrtLengthRunner implements LengthRunner {
  private readonly options: OnnxRuntimeBackend;
  private session: ort.InferenceSession | null = null;
  private specs: InputSpec[] = [];
  private readonly feeds = new Map<number, Record<string, ort.Tensor>>();

  constructor(
    cfg: RunConfig,
    private readonly model: ResolvedModel,
    private readonly threads: number,
    private readonly seed: number,
    index: number,
  ) {
    if (cfg.backend.name !== 'onnxruntime') throw new Error('OrtLengthRunner needs backend=onnxruntime');
    // The backend object supplies the session options and the description, so both match a latency run's.
    this.options = new OnnxRuntimeBackend(cfg.backend, model, { batchSize: 1, sequenceLength: 1, threads, seed, instanceIndex: index });
  }

  async load(): Promise<{ prepare_ms: number; session_ms: number }> {
    const t0 = performance.now();
    try {
      this.session = await ort.InferenceSession.create(this.model.file, this.options.sessionOptions());
    } catch (err) {
      throw new ModelError(`ONNX Runtime cannot load ${this.model.file}: ${(err as Error).message.split('\n')[0]}`);
    }
    const sessionMs = performance.now() - t0;
    this.specs = this.session.inputMetadata.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name, type: 'non-tensor', shape: [] }));
    return { prepare_ms: this.model.prepare_ms, session_ms: sessionMs };
  }

  private feedsFor(length: number): Record<string, ort.Tensor> {
    let f = this.feeds.get(length);
    if (!f) {
      const built = buildFeeds(this.specs, { batchSize: 1, sequenceLength: length, vocabSize: this.model.arch.vocab_size, seed: this.seed + length });
      f = Object.fromEntries(built.map((x) => [x.name, new ort.Tensor(x.type, x.data, [...x.dims])]));
      this.feeds.set(length, f);
    }
    return f;
  }

  async run(length: number): Promise<number> {
    const feeds = this.feedsFor(length);
    const t0 = nowNs();
    await this.session!.run(feeds);
    return Number(nowNs() - t0) / 1e6;
  }

  describe(): Record<string, unknown> {
    return { ...this.options.describe(), inputs: this.specs.map((s) => ({ name: s.name, type: s.type, dims: ['batch (1)', 'request length'] })) };
  }

  async dispose(): Promise<void> {
    await this.session?.release();
    this.session = null;
  }
}

/** The mock: one seeded latency source per length, whose mean follows that length's FLOPs (or latency_ms). */
class MockLengthRunner implements LengthRunner {
  private readonly backends = new Map<number, Backend>();

  constructor(
    private readonly cfg: RunConfig,
    private readonly threads: number,
    private readonly seed: number,
    private readonly index: number,
  ) {}

  async load(): Promise<{ prepare_ms: number; session_ms: number }> {
    return { prepare_ms: 0, session_ms: 0 };
  }

  async run(length: number): Promise<number> {
    let b = this.backends.get(length);
    if (!b) {
      b = createBackend(this.cfg, { batchSize: 1, sequenceLength: length, threads: this.threads, seed: this.seed + length, instanceIndex: this.index }, null);
      await b.load();
      this.backends.set(length, b);
    }
    const t0 = nowNs();
    await b.run();
    return Number(nowNs() - t0) / 1e6;
  }

  describe(): Record<string, unknown> {
    const any = [...this.backends.values()][0];
    const d = any?.describe() ?? { name: 'mock' };
    delete d.mean_latency_ms;
    return { ...d, mean_latency_ms_by_length: Object.fromEntries([...this.backends].map(([l, b]) => [l, b.describe().mean_latency_ms])) };
  }

  async dispose(): Promise<void> {
    for (const b of this.backends.values()) await b.dispose();
  }
}

export function createLengthRunner(cfg: RunConfig, model: ResolvedModel | null, threads: number, seed: number, index: number): LengthRunner {
  if (cfg.backend.name === 'mock') return new MockLengthRunner(cfg, threads, seed, index);
  if (!model) throw new Error('backend=onnxruntime needs a resolved model');
  return new OrtLengthRunner(cfg, model, threads, seed, index);
}

/** Serve mode, after the `serve` message: returns once the parent says stop and the report is sent. */
export async function serveRequests(init: ServeInit): Promise<void> {
  const { config, instance, model } = init;
  const runner = createLengthRunner(config, model, instance.threads, config.seed + 1000 * instance.index, instance.index);
  try {
    const load = await runner.load();
    const lengths = init.warmup_lengths.length > 0 ? init.warmup_lengths : [1];
    const firstInferenceMs = await runner.run(lengths[0]!);
    let warmupCalls = 0;
    for (const l of lengths) {
      for (let i = 0; i < Math.max(1, config.warmup_runs); i++, warmupCalls++) await runner.run(l);
    }
    await sendMessage({ type: 'ready', pid: process.pid });
    // As a latency instance does over its timed window (stats/interference.ts): the kernel's busy
    // time on our CPUs against our own CPU time, here from the first request to `stop`.
    const cpus = currentAffinity();
    let window: { readonly start: CpuSample; readonly startMs: number } | null = null;
    for await (const raw of getEachMessage()) {
      const msg = raw as ParentMessage;
      if (msg.type === 'request') {
        if (window === null && cpus && cpus.length > 0) {
          const start = sampleCpus(cpus);
          if (start) window = { start, startMs: performance.now() };
        }
        const serviceMs = await runner.run(msg.length);
        await sendMessage({ type: 'done', id: msg.id, service_ms: serviceMs });
      } else if (msg.type === 'stop') {
        const end = window && cpus ? sampleCpus(cpus) : null;
        const report: ServedReport = {
          index: instance.index,
          cpus,
          threads: instance.threads,
          load_prepare_ms: load.prepare_ms,
          load_session_ms: load.session_ms,
          first_inference_ms: firstInferenceMs,
          warmup_calls: warmupCalls,
          // maxRSS is in KiB on Linux.
          peak_rss_mb: process.resourceUsage().maxRSS / 1024,
          backend: runner.describe(),
          interference: window && end && cpus ? interference(cpus, window.start, end, performance.now() - window.startMs) : null,
        };
        await sendMessage({ type: 'served', report });
        break;
      }
    }
  } finally {
    await runner.dispose();
  }
}
