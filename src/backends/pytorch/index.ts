/**
 * PyTorch (eager or TorchScript) in a Python process of its own, one per instance: runtime.py,
 * started on load() from inside the instance's pinned child, so it runs on the instance's CPUs and
 * memory nodes (a binding holds for every process started under it). bench talks to it in JSON
 * lines over its stdin and stdout; each forward is timed in Python, around the module call alone
 * (ForwardTiming), and the round trip around it is reported apart. Intra-op threads are set
 * explicitly (torch.set_num_threads) and so are OMP_NUM_THREADS, MKL_NUM_THREADS and
 * OPENBLAS_NUM_THREADS, as the study's launcher sets them per instance.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildFeeds, type Feed, type InputSpec } from '../../models/inputs.js';
import { ModelError } from '../../models/errors.js';
import { hasTokenTypes, type KnownArchitecture, type ModelArchitecture } from '../../models/arch.js';
import type { ResolvedModel } from '../../models/resolve.js';
import { describeInputs, describeModel } from '../describe.js';
import type {
  Backend,
  BackendRequest,
  ForwardTiming,
  InputShape,
  LoadTimings,
  PreparedInputs,
  TimedLoop,
} from '../types.js';
import { BackendError, findTorch } from './python.js';

/** The runtime script, beside this module (the build copies it into dist/). */
export const RUNTIME_SCRIPT = fileURLToPath(new URL('./runtime.py', import.meta.url));

/** The environment variable through which the parent hands its children the interpreter it checked. */
export const PYTHON_ENV = 'BENCH_TORCH_PYTHON';

const STDERR_TAIL_CHARS = 4000;

export interface PyTorchOptions {
  readonly mode: 'eager' | 'torchscript';
  readonly grad: 'inference_mode' | 'no_grad';
  readonly num_interop_threads: number;
  readonly optimize_for_inference: boolean;
  readonly python: string | null;
}

interface TorchInputs extends PreparedInputs {
  readonly id: number;
  readonly inputs: readonly Feed[];
}

/** The round trip to the Python process beyond the forward itself, over the calls made one by one (run). */
interface RoundTrip {
  calls: number;
  totalUs: number;
  maxUs: number;
}

export class PyTorchBackend implements Backend {
  readonly name = 'pytorch';
  private proc: ChildProcessWithoutNullStreams | null = null;
  private stderrTail = '';
  private buffered = '';
  private readonly waiting: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  private exited: Error | null = null;
  private readonly prepared: TorchInputs[] = [];
  private facts: Record<string, unknown> = {};
  private python = '';
  private readonly roundTrip: RoundTrip = { calls: 0, totalUs: 0, maxUs: 0 };
  private readonly arch: ModelArchitecture;

  constructor(
    private readonly opts: PyTorchOptions,
    private readonly model: ResolvedModel,
    private readonly req: BackendRequest,
    /** int8 only: one scale per output channel (model.quantization.per_channel). */
    private readonly perChannel = false,
  ) {
    this.arch = completeArchitecture(model.name, model.arch);
  }

  /** The variables that size the thread pools of torch and of the BLAS under it. */
  threadEnv(): Record<string, string> {
    const n = String(this.req.threads);
    return { OMP_NUM_THREADS: n, MKL_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n };
  }

  async load(): Promise<LoadTimings> {
    this.python = process.env[PYTHON_ENV] ?? findTorch(this.opts.python).python;
    const t0 = performance.now();
    const proc = spawn(this.python, ['-u', RUNTIME_SCRIPT], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...this.threadEnv() },
    });
    this.proc = proc;
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => this.onData(chunk));
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
    });
    // Writes to a process that died fail on its pipe; the close handler has the reason.
    proc.stdin.on('error', () => {});
    proc.on('error', (err) => this.fail(new BackendError(`cannot start ${this.python}: ${err.message}`)));
    // 'close', not 'exit': by then stderr is drained, so its tail holds the last words.
    proc.on('close', (code, signal) => {
      const how = signal !== null ? `on signal ${signal}` : `with code ${String(code)}`;
      const hint =
        signal === 'SIGKILL'
          ? ' (killed: out of memory? see dmesg)'
          : signal !== null
            ? ' (a crash in torch: its stack is in the stderr tail)'
            : '';
      const tail = this.stderrTail.trim().split('\n').slice(-5).join(' | ');
      this.fail(
        new BackendError(`the PyTorch runtime (${this.python}) exited ${how}${hint}${tail ? `: ${tail}` : ''}`),
      );
    });
    const reply = await this.request({
      op: 'load',
      threads: this.req.threads,
      interop_threads: this.opts.num_interop_threads,
      mode: this.opts.mode,
      grad: this.opts.grad,
      optimize: this.opts.optimize_for_inference,
      dtype: this.model.dtype ?? 'fp32',
      per_channel: this.perChannel,
      arch: this.arch,
      weights: this.model.file,
    });
    this.facts = reply.facts as Record<string, unknown>;
    return { prepare_ms: this.model.prepare_ms, session_ms: performance.now() - t0 };
  }

  async prepare(shape: InputShape): Promise<PreparedInputs> {
    const names = hasTokenTypes(this.arch)
      ? ['input_ids', 'attention_mask', 'token_type_ids']
      : ['input_ids', 'attention_mask'];
    const specs: InputSpec[] = names.map((name) => ({
      name,
      type: 'int64',
      shape: ['batch', 'sequence'],
    }));
    const inputs = buildFeeds(specs, {
      batchSize: shape.batchSize,
      sequenceLength: shape.sequenceLength,
      vocabSize: this.arch.vocab_size,
      seed: shape.seed,
      paddedTokens: shape.paddedTokens ?? 0,
      padTokenId: this.arch.pad_token_id,
      ...(shape.tokens ? { tokens: shape.tokens } : {}),
    });
    const id = this.prepared.length;
    await this.request({
      op: 'prepare',
      id,
      inputs: Object.fromEntries(inputs.map((f) => [f.name, { dims: f.dims, data: Array.from(f.data, Number) }])),
    });
    const prepared: TorchInputs = { shape, id, inputs };
    this.prepared.push(prepared);
    return prepared;
  }

  async run(inputs: PreparedInputs): Promise<ForwardTiming> {
    const t0 = process.hrtime.bigint();
    const reply = await this.request({ op: 'run', id: (inputs as TorchInputs).id });
    const wallUs = Number(process.hrtime.bigint() - t0) / 1e3;
    const runtimeMs = (reply.ns as number) / 1e6;
    const overUs = Math.max(0, wallUs - runtimeMs * 1e3);
    this.roundTrip.calls++;
    this.roundTrip.totalUs += overUs;
    this.roundTrip.maxUs = Math.max(this.roundTrip.maxUs, overUs);
    return { runtimeMs };
  }

  async loop(inputs: PreparedInputs, until: { durationMs: number; minCalls: number }): Promise<TimedLoop> {
    const reply = await this.request({
      op: 'loop',
      id: (inputs as TorchInputs).id,
      duration_ns: Math.round(until.durationMs * 1e6),
      min_calls: until.minCalls,
    });
    return {
      latenciesMs: (reply.ns as number[]).map((ns) => ns / 1e6),
      windowMs: (reply.window_ns as number) / 1e6,
      windowEpochMs: (reply.start_epoch_ns as number) / 1e6,
    };
  }

  /** The last hidden state for `inputs`, [batch, sequence, hidden] row-major (the agreement tests). */
  async lastHiddenState(inputs: PreparedInputs): Promise<{ dims: number[]; data: Float32Array }> {
    const reply = await this.request({ op: 'output', id: (inputs as TorchInputs).id });
    const bytes = Buffer.from(reply.data as string, 'base64');
    const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return { dims: reply.dims as number[], data };
  }

  processIds(): readonly number[] {
    return this.proc?.pid !== undefined && !this.exited ? [this.proc.pid] : [];
  }

  async externalPeakRssMb(): Promise<number> {
    if (!this.proc || this.exited) return 0;
    return (await this.request({ op: 'stats' })).peak_rss_mb as number;
  }

  describe(): Record<string, unknown> {
    const rt = this.roundTrip;
    return {
      name: this.name,
      version: this.facts.torch_version ?? null,
      python: this.python,
      mode: this.opts.mode,
      grad: this.opts.grad,
      optimize_for_inference: this.opts.mode === 'torchscript' ? this.opts.optimize_for_inference : null,
      threads: this.req.threads,
      interop_threads: this.opts.num_interop_threads,
      thread_env: this.threadEnv(),
      runtime: this.facts,
      // What the Python round trip added to each call made one by one (the cold call, warm-ups,
      // dispatch requests) beyond the forward timed in Python; the latency loop runs inside Python
      // and has none. This instance's (the backend block describes instance 0).
      round_trip: {
        calls: rt.calls,
        mean_us: rt.calls > 0 ? Number((rt.totalUs / rt.calls).toFixed(1)) : null,
        max_us: rt.calls > 0 ? Number(rt.maxUs.toFixed(1)) : null,
      },
      ...describeInputs(this.prepared),
      model: describeModel(this.model, {
        quantization:
          (this.model.dtype ?? 'fp32') === 'int8'
            ? {
                method: `torch dynamic quantization (nn.Linear, qint8, ${this.perChannel ? 'per channel' : 'per tensor'})`,
                engine: this.facts.quantized_engine ?? null,
              }
            : null,
      }),
    };
  }

  async dispose(): Promise<void> {
    const proc = this.proc;
    if (!proc || this.exited || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('close', () => resolve()));
    proc.stdin.end(`${JSON.stringify({ op: 'exit' })}\n`);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      this.waiting.shift()?.resolve(line);
    }
  }

  private fail(err: Error): void {
    if (this.exited) return;
    this.exited = err;
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  private async request(msg: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.exited) throw this.exited;
    if (!this.proc) throw new Error('the PyTorch runtime is not started: load() first');
    const line = new Promise<string>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.proc.stdin.write(`${JSON.stringify(msg)}\n`);
    const reply = JSON.parse(await line) as Record<string, unknown>;
    if (typeof reply.error === 'string') {
      // The model or settings the user gave: said plainly; anything else is bench's or torch's bug.
      if (reply.user === true) throw new ModelError(`PyTorch cannot run ${this.model.name}: ${reply.error}`);
      throw new Error(`the PyTorch runtime failed (${String(msg.op)}): ${reply.error}`);
    }
    return reply;
  }
}

/** The architecture with every field the module needs; a user folder's config.json must give them. */
export function completeArchitecture(name: string, a: KnownArchitecture): ModelArchitecture {
  const missing = (Object.keys(a) as (keyof KnownArchitecture)[]).filter((k) => a[k] === null);
  if (missing.length > 0) {
    throw new ModelError(
      `backend=pytorch builds the encoder from its config, and ${name}'s does not give ${missing.join(', ')}; add them to its config.json`,
    );
  }
  if (a.hidden_size! % a.num_attention_heads! !== 0) {
    throw new ModelError(
      `${name}: hidden_size ${a.hidden_size} is not a multiple of num_attention_heads ${a.num_attention_heads}; attention needs equal heads: fix the config`,
    );
  }
  return a as ModelArchitecture;
}
