/**
 * backend=pytorch: the same weights give the same outputs in PyTorch (eager and TorchScript) as in
 * ONNX Runtime, and the CLI runs it as it runs ORT: one instance, two pinned instances, dispatch, a
 * Hugging Face folder, and every bad input refused before a run directory exists. Needs a Python
 * with torch (Debian: python3-torch); without one the tests are skipped and say why.
 */
import * as ort from 'onnxruntime-node';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PyTorchBackend, type PyTorchOptions } from '../../src/backends/pytorch/index.js';
import { findTorch, type TorchFacts } from '../../src/backends/pytorch/python.js';
import { exportedWeights } from '../../src/backends/pytorch/weights.js';
import type { ModelArchitecture } from '../../src/models/arch.js';
import type { ResolvedModel } from '../../src/models/resolve.js';
import { synthesizeModel } from '../../src/models/synthesize.js';
import { bench, isAlive } from '../helpers.js';

let torch: TorchFacts | null = null;
let why = '';
try {
  torch = findTorch(null);
} catch (err) {
  why = (err as Error).message;
}
if (!torch) console.warn(`PyTorch tests skipped: ${why}`);

const ROOT = join(import.meta.dirname, '..', '..');
const CACHE = mkdtempSync(join(tmpdir(), 'bench-torch-cache-'));
const ENV = { BENCH_CACHE_DIR: CACHE };
const QUICK = ['backend=pytorch', 'model=bert-tiny', 'benchmark_duration=0.3', 'warmup_runs=2'];

const base = {
  vocab_size: 300,
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 64,
  max_position_embeddings: 40,
  hidden_act: 'gelu',
  layer_norm_eps: 1e-12,
} as const;
const ARCHS: Record<string, ModelArchitecture> = {
  bert: { ...base, model_type: 'bert', type_vocab_size: 2, pad_token_id: 0 },
  roberta: { ...base, model_type: 'roberta', type_vocab_size: 1, pad_token_id: 1, layer_norm_eps: 1e-5 },
  distilbert: { ...base, model_type: 'distilbert', type_vocab_size: 0, pad_token_id: 0 },
};

const EAGER: PyTorchOptions = {
  mode: 'eager',
  grad: 'inference_mode',
  num_interop_threads: 1,
  optimize_for_inference: true,
  python: null,
};

/** A synthesized graph on disk and its weights exported for torch, as the parent resolves them. */
function tinyModel(arch: ModelArchitecture, seed = 7): { onnx: string; model: ResolvedModel } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-torch-model-'));
  const onnx = join(dir, `${arch.model_type}.onnx`);
  writeFileSync(onnx, synthesizeModel(arch, { seed, opset: 12 }));
  const w = exportedWeights(onnx, arch, ENV);
  const model: ResolvedModel = {
    name: `tiny-${arch.model_type}`,
    file: w.file,
    source: 'synthetic',
    weights: 'random (synthesized)',
    arch,
    arch_source: 'preset',
    arch_note: null,
    size_mb: w.sizeMb,
    cached: false,
    prepare_ms: w.ms,
  };
  return { onnx, model };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

const req = { threads: 1, instanceIndex: 0, instances: 1, seed: 1 };

describe.skipIf(!torch)('PyTorch against ONNX Runtime on the same weights', () => {
  const backends: PyTorchBackend[] = [];
  afterAll(async () => {
    for (const b of backends) await b.dispose();
  });

  it.each(Object.keys(ARCHS))(
    '%s: eager and TorchScript give ORT last hidden state within 1e-5, padding included',
    async (kind) => {
      const arch = ARCHS[kind]!;
      const { onnx, model } = tinyModel(arch);
      const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
      for (const mode of ['eager', 'torchscript'] as const) {
        const backend = new PyTorchBackend({ ...EAGER, mode }, model, req);
        backends.push(backend);
        await backend.load();
        for (const shape of [
          { batchSize: 2, sequenceLength: 12, seed: 3 },
          { batchSize: 1, sequenceLength: 20, seed: 4, paddedTokens: 5 },
        ]) {
          const prepared = await backend.prepare(shape);
          const feeds = (prepared as unknown as { inputs: { name: string; data: BigInt64Array; dims: number[] }[] })
            .inputs;
          const expected = await session.run(
            Object.fromEntries(feeds.map((f) => [f.name, new ort.Tensor('int64', f.data, f.dims)])),
          );
          const got = await backend.lastHiddenState(prepared);
          const want = expected.last_hidden_state!.data as Float32Array;
          expect(got.dims).toEqual([shape.batchSize, shape.sequenceLength, arch.hidden_size]);
          const diff = maxAbsDiff(got.data, want);
          console.log(`${kind} ${mode} ${shape.batchSize}x${shape.sequenceLength}: max |torch - ORT| = ${diff}`);
          expect(diff).toBeLessThan(1e-5);
        }
        // The timed call is timed in Python, around the forward alone.
        const timing = await backend.run(await backend.prepare({ batchSize: 1, sequenceLength: 8, seed: 1 }));
        expect(timing.runtimeMs).toBeGreaterThan(0);
      }
      await session.release();
    },
    60_000,
  );

  it('a traced module runs shapes other than the one it was traced on, and the runtime exits on dispose', async () => {
    const { model } = tinyModel(ARCHS.bert!);
    const backend = new PyTorchBackend({ ...EAGER, mode: 'torchscript' }, model, req);
    await backend.load();
    const pid = backend.processIds()[0]!;
    expect(isAlive(pid)).toBe(true);
    const loop = await backend.loop(await backend.prepare({ batchSize: 3, sequenceLength: 33, seed: 2 }), {
      durationMs: 50,
      minCalls: 7,
    });
    expect(loop.latenciesMs.length).toBeGreaterThanOrEqual(7);
    expect(loop.windowMs).toBeGreaterThanOrEqual(loop.latenciesMs.reduce((s, x) => s + x, 0));
    expect(backend.describe()).toMatchObject({ name: 'pytorch', mode: 'torchscript', threads: 1 });
    await backend.dispose();
    expect(isAlive(pid)).toBe(false);
  }, 60_000);
});

interface Result {
  status: string;
  environment: { runtime?: { name: string; torch_version: string; blas_libraries: string[] } };
  backend: {
    name: string;
    mode: string;
    version: string;
    thread_env: Record<string, string>;
    runtime: Record<string, unknown>;
    model: { source: string };
  };
  instances: { cpus: number[] | null; threads: number; peak_rss_mb: number }[];
  process_ids: number[];
  aggregate: { throughput_samples_per_s: number } | null;
  warnings: string[];
}

const runDir = (cwd: string): string => {
  const day = join(cwd, 'outputs', readdirSync(join(cwd, 'outputs'))[0]!);
  return join(day, readdirSync(day)[0]!);
};
const result = (cwd: string): Result => JSON.parse(readFileSync(join(runDir(cwd), 'results.json'), 'utf8')) as Result;

describe.skipIf(!torch)('bench backend=pytorch', () => {
  let cores = 0;
  beforeAll(() => {
    cores = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  });

  it('runs bert-tiny and prints the same block as an ORT run, torch facts in the environment', () => {
    const r = bench(QUICK, { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/backend pytorch \S+ \(eager, inference_mode\)/);
    for (const line of ['latency   mean', 'throughput', 'results   ']) expect(r.stdout).toContain(line);
    const res = result(r.cwd);
    expect(res.status).toBe('ok');
    expect(res.backend).toMatchObject({ name: 'pytorch', mode: 'eager', version: torch!.torch_version });
    expect(res.backend.thread_env.OMP_NUM_THREADS).toBe(String(res.instances[0]!.threads));
    expect(res.environment.runtime).toMatchObject({ name: 'pytorch', torch_version: torch!.torch_version });
    // The Python runtime's memory counts: a torch process alone is well over 100 MB.
    expect(res.instances[0]!.peak_rss_mb).toBeGreaterThan(150);
  }, 120_000);

  it('pins two torch instances like ORT ones and aggregates them', () => {
    if (cores < 2) return console.warn('two-instance PyTorch test skipped: fewer than 2 CPUs');
    const r = bench([...QUICK, 'launcher.num_instances=2'], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    const res = result(r.cwd);
    expect(res.instances.map((i) => i.cpus)).toEqual([[0], [1]]);
    expect(res.instances.map((i) => i.threads)).toEqual([1, 1]);
    expect(new Set(res.process_ids).size).toBe(2);
    expect(res.aggregate!.throughput_samples_per_s).toBeGreaterThan(0);
  }, 120_000);

  it('runs TorchScript, int8 and the dispatch scenario', () => {
    for (const extra of [
      ['backend.mode=torchscript'],
      ['model.dtype=int8', 'model.quantization.per_channel=true'],
      ['+experiment=smart-dispatch', 'benchmark_duration=1', 'scenario.min_requests_per_class=0'],
    ]) {
      const r = bench([...QUICK, ...extra], { env: ENV });
      expect(r.code, `${extra.join(' ')}: ${r.stderr}`).toBe(0);
      const res = result(r.cwd);
      expect(res.status).toBe('ok');
      if (extra.includes('model.dtype=int8')) {
        expect(res.backend.runtime).toMatchObject({ dtype: 'int8', per_channel: true });
        expect(r.stdout).toContain("int8 (torch's dynamic quantization)");
      }
    }
  }, 180_000);

  it('the Python runtime dies with the process that started it, even mid-window', async () => {
    // A Node process (an instance's child) starts the runtime, enters a long timed window, and is
    // killed: SIGKILL leaves it no chance to clean up.
    const { model } = tinyModel(ARCHS.bert!, 5);
    const script = `
      import { PyTorchBackend } from ${JSON.stringify(join(ROOT, 'dist', 'backends', 'pytorch', 'index.js'))};
      const b = new PyTorchBackend(${JSON.stringify(EAGER)}, ${JSON.stringify(model)}, ${JSON.stringify(req)});
      await b.load();
      const inputs = await b.prepare({ batchSize: 1, sequenceLength: 8, seed: 1 });
      const window = b.loop(inputs, { durationMs: 60_000, minCalls: 1 });
      console.log(b.processIds()[0]);
      await window;
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
      child.once('exit', (code) => reject(new Error(`the node process exited first (${String(code)})`)));
    });
    // Inside the window: the runtime has the request and is busy (not waiting on its stdin).
    await new Promise((r) => setTimeout(r, 1500));
    expect(isAlive(pid)).toBe(true);
    child.kill('SIGKILL');
    const deadline = Date.now() + 5000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(isAlive(pid)).toBe(false);
  }, 60_000);

  it('runs a Hugging Face folder with model.safetensors and config.json', () => {
    const arch = ARCHS.roberta!;
    const { model } = tinyModel(arch, 11);
    const folder = mkdtempSync(join(tmpdir(), 'hf-roberta-'));
    writeFileSync(join(folder, 'model.safetensors'), readFileSync(model.file));
    writeFileSync(join(folder, 'config.json'), JSON.stringify({ ...arch, architectures: ['RobertaModel'] }));
    const r = bench(['backend=pytorch', `model.path=${folder}`, 'sequence_length=16', 'benchmark_duration=0.3'], {
      env: ENV,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(result(r.cwd).backend.model.source).toBe('file');
  }, 120_000);
});

describe.skipIf(!torch)('bad input for backend=pytorch: one line naming the key and the fix, no run directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-torch-bad-'));
  // A Python that cannot see torch: site-packages switched off.
  const noTorch = join(dir, 'python-without-torch');
  writeFileSync(noTorch, `#!/bin/sh\nexec ${torch?.python ?? '/usr/bin/python3'} -S "$@"\n`);
  chmodSync(noTorch, 0o755);
  const onnxFile = join(dir, 'm.onnx');
  writeFileSync(onnxFile, synthesizeModel(ARCHS.bert!, { seed: 1, opset: 12 }));
  const xlnet = join(dir, 'xlnet');
  mkdirSync(xlnet);
  writeFileSync(join(xlnet, 'config.json'), JSON.stringify({ model_type: 'xlnet' }));
  writeFileSync(join(xlnet, 'model.safetensors'), Buffer.alloc(16));
  /** A BERT folder whose config.json is `config` and whose weights file is `weights`. */
  const folder = (name: string, config: Record<string, unknown>, weights: Buffer | null): string => {
    const f = join(dir, name);
    mkdirSync(f);
    writeFileSync(join(f, 'config.json'), JSON.stringify({ ...ARCHS.bert, ...config }));
    if (weights) writeFileSync(join(f, 'model.safetensors'), weights);
    return f;
  };
  const good = torch ? readFileSync(tinyModel(ARCHS.bert!, 3).model.file) : Buffer.alloc(0);
  const relu = folder('relu', { hidden_act: 'relu' }, good);
  const relative = folder('relative', { position_embedding_type: 'relative_key' }, good);
  const truncated = folder('truncated', {}, good.subarray(0, good.length - 100));
  const garbage = folder('garbage', {}, Buffer.from('not a safetensors file, just some bytes'));
  const lfs = folder(
    'lfs',
    {},
    Buffer.from('version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 440473133\n'),
  );
  const longer = folder('longer', {}, good);
  const named = folder('named', {}, good);

  it.each<[string, string[], string]>([
    [
      'a missing python',
      ['backend.python=/nonexistent/python3'],
      'backend.python=/nonexistent/python3: /nonexistent/python3: not found',
    ],
    ['a python without torch', [`backend.python=${noTorch}`], 'apt-get install python3-torch'],
    ['an unknown mode', ['backend.mode=jit'], 'backend.mode: expected one of eager, torchscript, got "jit"'],
    ['an ONNX file', [`model.path=${onnxFile}`], 'is an ONNX file, which backend=onnxruntime runs'],
    [
      'a model type torch cannot build',
      [`model.path=${xlnet}`],
      'backend=pytorch builds bert, roberta and distilbert encoders',
    ],
    ['a hub model', ['model.source=hub', 'model.id=x/y'], 'backend=pytorch does not download models'],
    [
      'an ONNX file named in a folder',
      [`model.path=${named}`, 'model.file=onnx/model.onnx'],
      'model.file=onnx/model.onnx: it names an ONNX file',
    ],
    ['an activation the encoder does not build', [`model.path=${relu}`], 'says hidden_act="relu"; backend=pytorch'],
    [
      'relative position embeddings',
      [`model.path=${relative}`],
      'says position_embedding_type="relative_key"; backend=pytorch',
    ],
    ['a truncated safetensors file', [`model.path=${truncated}`], 'is truncated'],
    ['a file that is not safetensors', [`model.path=${garbage}`], 'model.path: '],
    ['a Git LFS pointer', [`model.path=${lfs}`], 'is a Git LFS pointer, not the weights: fetch them (git lfs pull)'],
    [
      'a sequence longer than the folder model has positions',
      [`model.path=${longer}`, 'sequence_length=64'],
      'sequence_length: 64 is longer than',
    ],
    [
      'an ONNX Runtime quantization setting',
      ['model.dtype=int8', 'model.quantization.op_types=[MatMul]'],
      'model.quantization.op_types=["MatMul"]: backend=pytorch quantizes every nn.Linear',
    ],
    [
      'uint8 weights',
      ['model.dtype=int8', 'model.quantization.weight_type=uint8'],
      'model.quantization.weight_type="uint8"',
    ],
  ])(
    '%s',
    (_name, args, message) => {
      const r = bench(['backend=pytorch', 'model=bert-tiny', ...args], { env: ENV });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toMatch(/Traceback|\n\s+at /);
      expect(existsSync(join(r.cwd, 'outputs'))).toBe(false);
    },
    60_000,
  );
});
