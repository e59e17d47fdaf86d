/**
 * ONNX Runtime end to end through the built CLI, on tiny synthesized models.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { architectureOf } from '../../src/models/resolve.js';
import { synthesizeModel } from '../../src/models/synthesize.js';
import { miniModelConfig } from '../fixtures/models.js';

const TINY_ARCH = architectureOf(miniModelConfig({ vocab_size: 500 }));
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'bench.js');
const CACHE = mkdtempSync(join(tmpdir(), 'bench-cache-'));
const QUICK = ['backend=onnxruntime', 'benchmark_duration=0.2', 'warmup_runs=2', 'scenario.min_iterations=5'];

function bench(args: string[]): { code: number | null; stdout: string; stderr: string; cwd: string } {
  const cwd = mkdtempSync(join(tmpdir(), 'bench-ort-'));
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, BENCH_CACHE_DIR: CACHE },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, cwd };
}

interface Result {
  status: string;
  config: { batch_size: number; sequence_length: number };
  backend: {
    name: string;
    threads: number;
    inputs: { name: string; type: string }[];
    model: { weights: string; source: string; cached: boolean };
  };
  instances: { latency: { p50_ms: number }; load_prepare_ms: number }[];
  environment: Record<string, unknown>;
}

const readResult = (dir: string): Result => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Result;
const runDir = (cwd: string): string => {
  const day = join(cwd, 'outputs', readdirSync(join(cwd, 'outputs'))[0]!);
  return join(day, readdirSync(day)[0]!);
};

describe('onnxruntime backend', () => {
  it('sweeps bert-tiny over batch and sequence: 4 results whose latency grows with the work', () => {
    const r = bench(['model=bert-tiny', '-m', 'sequence_length=32,128', 'batch_size=1,4', ...QUICK]);
    expect(r.code, r.stderr).toBe(0);
    const sweep = join(r.cwd, 'multirun', readdirSync(join(r.cwd, 'multirun'))[0]!);
    const root = join(sweep, readdirSync(sweep)[0]!);
    const results = ['0', '1', '2', '3'].map((j) => readResult(join(root, j)));
    expect(results.map((x) => x.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(results.map((x) => [x.config.sequence_length, x.config.batch_size])).toEqual([
      [32, 1],
      [32, 4],
      [128, 1],
      [128, 4],
    ]);
    const p50 = results.map((x) => x.instances[0]!.latency.p50_ms);
    // 1x32 < 4x32 (4x the tokens) and 1x128 < 4x128; 32 -> 128 tokens per sequence costs more too.
    expect(p50[0]).toBeLessThan(p50[1]!);
    expect(p50[2]).toBeLessThan(p50[3]!);
    expect(p50[0]).toBeLessThan(p50[2]!);
    expect(results[0]!.backend.model).toMatchObject({ weights: 'random (synthesized)', source: 'synthetic' });
    // The first job synthesized the model; the others found it in the cache.
    expect(results.slice(1).every((x) => x.backend.model.cached)).toBe(true);
    expect(results[0]!.environment).toMatchObject({ onnxruntime_node_version: '1.30.0' });
    expect(results[0]!.environment.topology).toMatchObject({ sockets: 1 });
  });

  it('scenario.padding feeds a masked tail, recorded with the run; a whole-sequence padding is refused', () => {
    const r = bench(['model=bert-tiny', 'sequence_length=32', 'scenario.padding=0.25', ...QUICK]);
    expect(r.code, r.stderr).toBe(0);
    const result = readResult(runDir(r.cwd)) as Result & {
      config: { scenario: { padding: number } };
      backend: { padded_tokens: number };
    };
    expect(result.config.scenario.padding).toBe(0.25);
    expect(result.backend.padded_tokens).toBe(8);
    const refused = bench(['model=bert-tiny', 'scenario.padding=1', ...QUICK]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('scenario.padding: expected a fraction in [0, 1), got 1');
  });

  it('optimizes a graph once: the first run writes it to the cache, the next loads it, and both compute the same', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'bench-graph-cache-'));
    const run = (): Result & { backend: { optimized_graph_cache: { status: string; file: string } } } => {
      const cwd = mkdtempSync(join(tmpdir(), 'bench-ort-'));
      const r = spawnSync(process.execPath, [BIN, 'model=bert-tiny', 'sequence_length=16', ...QUICK], {
        cwd,
        encoding: 'utf8',
        env: { ...process.env, BENCH_CACHE_DIR: cache },
      });
      expect(r.status, r.stderr).toBe(0);
      return readResult(runDir(cwd)) as never;
    };
    const first = run();
    expect(first.backend.optimized_graph_cache.status).toBe('written');
    const second = run();
    expect(second.backend.optimized_graph_cache).toEqual({ ...first.backend.optimized_graph_cache, status: 'hit' });
    // The cached graph is the graph ORT optimizes: same fused nodes, same outputs to the bit.
    const ort = await import('onnxruntime-node');
    const original = await ort.InferenceSession.create((first.backend.model as unknown as { file: string }).file, {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 1,
    });
    const cached = await ort.InferenceSession.create(first.backend.optimized_graph_cache.file, {
      graphOptimizationLevel: 'disabled',
      intraOpNumThreads: 1,
    });
    const ids = BigInt64Array.from({ length: 16 }, (_, i) => BigInt(100 + i * 37));
    const feeds = (names: readonly string[]) =>
      Object.fromEntries(
        names.map((n) => [
          n,
          new ort.Tensor(
            'int64',
            n === 'input_ids' ? ids : n === 'attention_mask' ? new BigInt64Array(16).fill(1n) : new BigInt64Array(16),
            [1, 16],
          ),
        ]),
      );
    const a = (await original.run(feeds(original.inputNames)))[original.outputNames[0]!]!.data as Float32Array;
    const b = (await cached.run(feeds(cached.inputNames)))[cached.outputNames[0]!]!.data as Float32Array;
    expect(Array.from(b)).toEqual(Array.from(a));
    // A cached graph that does not load is removed and the session made from the model.
    writeFileSync(first.backend.optimized_graph_cache.file, 'not a graph');
    const third = run();
    expect(third.backend.optimized_graph_cache.status).toBe('failed');
    expect(third.status).toBe('ok');
    expect(run().backend.optimized_graph_cache.status).toBe('hit');
  });

  it('discovers the inputs of a user model file (DistilBERT has no token_type_ids) and saves the optimized graph', () => {
    const model = miniModelConfig({
      name: 'distil-mini',
      source: 'file',
      model_type: 'distilbert',
      vocab_size: 500,
      type_vocab_size: 0,
    });
    const dir = mkdtempSync(join(tmpdir(), 'user model; $(touch pwned) '));
    const file = join(dir, 'my model.onnx');
    writeFileSync(file, synthesizeModel(architectureOf(model), { seed: 9, opset: 12 }));
    const r = bench([`model.path='${file}'`, 'sequence_length=16', 'backend.save_optimized_model=true', ...QUICK]);
    expect(r.code, r.stderr).toBe(0);
    const out = runDir(r.cwd);
    const result = readResult(out);
    expect(result.backend.inputs.map((i) => i.name)).toEqual(['input_ids', 'attention_mask']);
    expect(result.backend.model).toMatchObject({ source: 'file', weights: 'from the model file' });
    expect(existsSync(join(out, 'optimized-0.onnx'))).toBe(true);
    expect(existsSync(join(r.cwd, 'pwned'))).toBe(false);
  });

  it.each<[string, (d: string) => string, string, boolean]>([
    ['a missing model file', (d) => join(d, 'missing.onnx'), 'does not exist', false],
    [
      'a file that is not ONNX',
      (d) => {
        const f = join(d, 'x.onnx');
        writeFileSync(f, '{"not": "onnx at all, json"}');
        return f;
      },
      'is not an ONNX model',
      false,
    ],
    [
      'a corrupt ONNX file',
      (d) => {
        const f = join(d, 'bad.onnx');
        writeFileSync(f, Buffer.concat([Buffer.from([0x08, 0x08]), Buffer.alloc(64, 0xff)]));
        return f;
      },
      'is corrupt or not an ONNX model',
      true,
    ],
    [
      'a truncated ONNX file',
      (d) => {
        const f = join(d, 'cut.onnx');
        writeFileSync(f, synthesizeModel(TINY_ARCH, { seed: 1, opset: 12 }).subarray(0, 5000));
        return f;
      },
      'is corrupt or not an ONNX model',
      true,
    ],
    [
      'an ONNX file whose graph ORT refuses',
      (d) => {
        const f = join(d, 'noop.onnx');
        writeFileSync(
          f,
          Buffer.from([0x08, 0x08, 0x12, 0x04, 0x62, 0x61, 0x64, 0x21, 0x3a, 0x00, 0x42, 0x02, 0x10, 0x0c, 0x00, 0x00]),
        );
        return f;
      },
      'ONNX Runtime cannot load',
      true,
    ],
  ])('fails clearly on %s, exit 1; a run directory only once the run started', (_name, make, message, started) => {
    const d = mkdtempSync(join(tmpdir(), 'bad-'));
    const r = bench([`model.path=${make(d)}`, ...QUICK]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    // A missing or non-ONNX file is caught before a run directory is claimed; what only reading
    // the model reveals is found during the run, which is then recorded as errored.
    if (started) expect(readResult(runDir(r.cwd)).status).toBe('errored');
    else expect(existsSync(join(r.cwd, 'outputs'))).toBe(false);
  });
});
