/**
 * int8 dynamic quantization: the weight arithmetic, the graph rewrite as ONNX Runtime loads and runs
 * it, its accuracy against fp32 on the tiny preset, user files, and the int8 cache.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

import type { ModelConfig } from '../../src/config/schema.js';
import type { ModelArchitecture } from '../../src/models/arch.js';
import { buildFeeds } from '../../src/models/inputs.js';
import { attr, countOpTypes, decodeModel, GraphBuilder } from '../../src/models/onnx-builder.js';
import {
  DEFAULT_QUANTIZATION,
  quantizationRange,
  quantizeModel,
  quantizeWeight,
  type QuantizationSettings,
} from '../../src/models/quantize.js';
import { preoptimize, quantizeFile } from '../../src/models/quantize-file.js';
import { resolveModel } from '../../src/models/resolve.js';
import { synthesizeModel } from '../../src/models/synthesize.js';
import { BERT_TINY } from '../fixtures/models.js';

const workDir = mkdtempSync(join(tmpdir(), 'bench-quantize-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const tinyFp32 = synthesizeModel(BERT_TINY, { seed: 42, opset: 12 });
const SEQUENCE = 32;

async function session(model: Uint8Array | string): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  };
  return typeof model === 'string'
    ? ort.InferenceSession.create(model, options)
    : ort.InferenceSession.create(model, options);
}

/** Seeded feeds for batch 2; the second row is right-padded (mask 0 on its last quarter). */
function feeds(
  s: ort.InferenceSession,
  vocab: number,
): { feeds: Record<string, ort.Tensor>; valid: (b: number, t: number) => boolean } {
  const specs = s.inputMetadata.map((m) => ({
    name: m.name,
    type: m.isTensor ? m.type : 'non-tensor',
    shape: m.isTensor ? m.shape : [],
  }));
  const padFrom = (SEQUENCE * 3) / 4;
  const valid = (b: number, t: number): boolean => b === 0 || t < padFrom;
  const out: Record<string, ort.Tensor> = {};
  for (const f of buildFeeds(specs, { batchSize: 2, sequenceLength: SEQUENCE, vocabSize: vocab, seed: 7 })) {
    const data = f.data.slice();
    if (f.role === 'attention_mask')
      for (let t = padFrom; t < SEQUENCE; t++) data[SEQUENCE + t] = typeof data[0] === 'bigint' ? 0n : 0;
    out[f.name] = new ort.Tensor(f.type, data, [...f.dims]);
  }
  return { feeds: out, valid };
}

/** Lowest per-token cosine similarity between two [batch, sequence, hidden] outputs, over valid tokens. */
function minTokenCosine(
  a: Float32Array,
  b: Float32Array,
  hidden: number,
  valid: (b: number, t: number) => boolean,
): number {
  let min = 1;
  for (let token = 0; token < a.length / hidden; token++) {
    if (!valid(Math.floor(token / SEQUENCE), token % SEQUENCE)) continue;
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let h = 0; h < hidden; h++) {
      const x = a[token * hidden + h]!;
      const y = b[token * hidden + h]!;
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    min = Math.min(min, dot / Math.sqrt(na * nb));
  }
  return min;
}

async function outputOf(
  model: Uint8Array | string,
  vocab: number,
): Promise<{ out: Float32Array; valid: (b: number, t: number) => boolean; names: [string[], string[]] }> {
  const s = await session(model);
  const f = feeds(s, vocab);
  const result = await s.run(f.feeds);
  const names: [string[], string[]] = [[...s.inputNames], [...s.outputNames]];
  await s.release();
  return { out: result[s.outputNames[0]!]!.data as Float32Array, valid: f.valid, names };
}

/**
 * The output of `fp32` quantized with `settings` and then every int8 weight of a matrix product set
 * to 0 (biases, norms and the embedding tables kept, int8 ones too when `settings` quantize Gather).
 * With random N(0, 0.02) weights the residual stream dominates a small model's output, so even this
 * graph is within cosine 0.99 of fp32; the encoder's contribution (output minus this) is what tells
 * a faithful quantization from a broken one.
 */
async function zeroWeightOutput(
  fp32: Uint8Array,
  vocab: number,
  settings: QuantizationSettings = DEFAULT_QUANTIZATION,
): Promise<Float32Array> {
  const model = decodeModel(quantizeModel(fp32, settings).bytes);
  const products = new Set(['DynamicQuantizeMatMul', 'MatMulInteger', 'MatMulIntegerToFloat', 'QAttention']);
  const weights = new Set(
    (model.graph?.node ?? []).filter((n) => products.has(n.opType ?? '')).flatMap((n) => n.input ?? []),
  );
  let zeroed = 0;
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataType === onnxProto.onnx.TensorProto.DataType.INT8 && t.rawData && weights.has(t.name ?? '')) {
      t.rawData = new Uint8Array(t.rawData.length);
      zeroed++;
    }
  }
  expect(zeroed).toBeGreaterThan(0);
  return (await outputOf(onnxProto.onnx.ModelProto.encode(model).finish(), vocab)).out;
}

/**
 * Per-token cosines of int8 against fp32: of the outputs, and of the encoder's contribution (each
 * minus the zero-weight output of its own graph: the same one, unless int8 embeddings make them differ).
 */
function accuracy(
  int8: Float32Array,
  fp32: Float32Array,
  baseline: { readonly int8: Float32Array; readonly fp32: Float32Array },
  hidden: number,
  valid: (b: number, t: number) => boolean,
): { cosine: number; contribution: number; control: number } {
  const minus = (x: Float32Array, base: Float32Array): Float32Array => x.map((v, i) => v - base[i]!);
  return {
    cosine: minTokenCosine(int8, fp32, hidden, valid),
    contribution: minTokenCosine(minus(int8, baseline.int8), minus(fp32, baseline.fp32), hidden, valid),
    control: minTokenCosine(baseline.fp32, fp32, hidden, valid),
  };
}

describe('settings', () => {
  it("the presets' shared YAML and the code defaults agree (the CLI and a config without the block use the latter)", () => {
    const yamlFile = join(import.meta.dirname, '..', '..', 'configs', 'model', 'quantization', 'dynamic.yaml');
    expect(parseYaml(readFileSync(yamlFile, 'utf8'))).toEqual(DEFAULT_QUANTIZATION);
  });
});

describe('weight quantization (quant_utils arithmetic)', () => {
  const w = Float32Array.from([-0.5, 0.25, 0.1, 1.0, -0.02, 0.0]); // [3 rows, 2 cols]

  it('int8 is symmetric: zero point 0, the largest magnitude maps to 127', () => {
    const q = quantizeWeight(w, 3, 2, { type: 'int8', perChannel: false, reduceRange: false });
    expect(q.zeroPoint[0]).toBe(0);
    expect(q.scale[0]).toBeCloseTo(1 / 127, 9);
    expect(Array.from(q.data)).toEqual([-64, 32, 13, 127, -3, 0]);
  });

  it('per channel gives each output column its own scale', () => {
    const q = quantizeWeight(w, 3, 2, { type: 'int8', perChannel: true, reduceRange: false });
    expect(q.scale).toHaveLength(2);
    expect(q.scale[0]).toBeCloseTo(0.5 / 127, 9);
    expect(q.scale[1]).toBeCloseTo(1 / 127, 9);
    expect(q.data[0]).toBe(-127);
  });

  it('uint8 is asymmetric over a range that includes 0; reduce_range uses 7 bits', () => {
    const q = quantizeWeight(w, 3, 2, { type: 'uint8', perChannel: false, reduceRange: false });
    expect(q.scale[0]).toBeCloseTo(1.5 / 255, 9);
    expect(q.zeroPoint[0]).toBe(85); // rint(0.5 / (1.5 / 255))
    expect(q.data[q.data.length - 1]).toBe(85); // 0.0 is exact
    expect(quantizationRange('uint8', true)).toEqual({ qmin: 0, qmax: 127 });
    expect(quantizationRange('int8', true)).toEqual({ qmin: -64, qmax: 64 });
  });

  it('rounds half to even and reconstructs every weight within half a step', () => {
    const halves = Float32Array.from([0.5, 1.5, 2.5, -2.5, 127]);
    expect(
      Array.from(quantizeWeight(halves, 1, 5, { type: 'int8', perChannel: false, reduceRange: false }).data),
    ).toEqual([0, 2, 2, -2, 127]);
    const many = Float32Array.from({ length: 400 }, (_, i) => Math.sin(i * 0.37) * 0.05);
    for (const type of ['int8', 'uint8'] as const) {
      const q = quantizeWeight(many, 20, 20, { type, perChannel: true, reduceRange: false });
      for (let i = 0; i < many.length; i++) {
        const c = i % 20;
        const back = (q.data[i]! - q.zeroPoint[c]!) * q.scale[c]!;
        expect(Math.abs(back - many[i]!)).toBeLessThanOrEqual(q.scale[c]! / 2 + 1e-9);
      }
    }
  });
});

describe('int8 bert-tiny against fp32', () => {
  const variants: [string, QuantizationSettings][] = [
    ['default: DynamicQuantizeMatMul on the graph as exported', DEFAULT_QUANTIZATION],
    ['pre-optimized: QAttention + DynamicQuantizeMatMul', { ...DEFAULT_QUANTIZATION, preoptimize: true }],
    [
      'pre-optimized, per channel, uint8 weights',
      { ...DEFAULT_QUANTIZATION, preoptimize: true, per_channel: true, weight_type: 'uint8' },
    ],
    ['standard ops (MatMulInteger)', { ...DEFAULT_QUANTIZATION, operators: 'onnx' }],
  ];
  let fp32: Awaited<ReturnType<typeof outputOf>>;
  let preoptimized: Uint8Array;
  let baseline: Float32Array;

  it.each(variants)('%s: loads in ORT, cosine >= 0.99 per token', async (_label, settings) => {
    fp32 ??= await outputOf(tinyFp32, BERT_TINY.vocab_size);
    preoptimized ??= await preoptimize(tinyFp32);
    baseline ??= await zeroWeightOutput(tinyFp32, BERT_TINY.vocab_size);
    const { bytes, report } = quantizeModel(settings.preoptimize ? preoptimized : tinyFp32, settings);
    // Every linear layer is quantized: 4 projections + 2 feed-forward per layer (Q, K, V inside QAttention).
    const layers = BERT_TINY.num_hidden_layers;
    expect(report.quantized).toEqual(
      settings.preoptimize ? { Attention: layers, MatMul: 3 * layers } : { MatMul: 6 * layers },
    );
    if (!settings.preoptimize) {
      // Only the activation x activation products (scores, context) stay fp32.
      expect(report.skipped.map((s) => s.reason)).toEqual(
        Array(2 * layers).fill('weight input is not a constant (an initializer)'),
      );
    }
    const int8 = await outputOf(bytes, BERT_TINY.vocab_size);
    expect(int8.names).toEqual(fp32.names);
    const { cosine, contribution, control } = accuracy(
      int8.out,
      fp32.out,
      { int8: baseline, fp32: baseline },
      BERT_TINY.hidden_size,
      fp32.valid,
    );
    console.log(
      `bert-tiny int8 (${_label}): min per-token cosine vs fp32 ${cosine.toFixed(7)} (1 - ${(1 - cosine).toExponential(1)}); ` +
        `of the encoder's contribution ${contribution.toFixed(5)}; zero weights (control) ${control.toFixed(5)}`,
    );
    expect(cosine).toBeGreaterThanOrEqual(0.99);
    expect(contribution).toBeGreaterThanOrEqual(0.99);
    // It did change the numbers: a rewrite that quantized nothing would also pass the cosine test.
    expect(int8.out.some((v, i) => v !== fp32.out[i])).toBe(true);
  });

  it('keeps attention fused when pre-optimized: QAttention and no unfused softmax', async () => {
    preoptimized ??= await preoptimize(tinyFp32);
    const counts = Object.fromEntries(
      countOpTypes(decodeModel(quantizeModel(preoptimized, { ...DEFAULT_QUANTIZATION, preoptimize: true }).bytes)),
    );
    expect(counts).toMatchObject({ QAttention: 2, DynamicQuantizeMatMul: 6, EmbedLayerNormalization: 1 });
    expect(counts.Softmax).toBeUndefined();
    expect(counts.Attention).toBeUndefined();
  });

  it('leaves excluded nodes and op types not asked for in fp32', () => {
    const { report } = quantizeModel(tinyFp32, {
      ...DEFAULT_QUANTIZATION,
      op_types: ['MatMul'],
      exclude_nodes: ['/bert/encoder/layer.0/intermediate/dense/MatMul'],
    });
    expect(report.quantized).toEqual({ MatMul: 11 });
    expect(report.skipped).toContainEqual({
      node: '/bert/encoder/layer.0/intermediate/dense/MatMul',
      op_type: 'MatMul',
      reason: 'excluded (exclude_nodes)',
    });
  });
});

describe('user-style fp32 files', () => {
  const arch: ModelArchitecture = {
    ...BERT_TINY,
    model_type: 'distilbert',
    vocab_size: 3000,
    num_hidden_layers: 1,
    type_vocab_size: 0,
  };
  const userFile = join(workDir, 'user-distilbert.onnx');
  const userBytes = synthesizeModel(arch, { seed: 3, opset: 14 });
  writeFileSync(userFile, userBytes);
  let baseline: Float32Array;

  /**
   * Cosine >= 0.99 per token, of the outputs and of the encoder's contribution: the zero-weight
   * control passes the first (docs/performance.md has the figure) and fails the second (its contribution is nothing).
   */
  async function expectFaithful(
    label: string,
    int8: Awaited<ReturnType<typeof outputOf>>,
    fp32: Awaited<ReturnType<typeof outputOf>>,
    settings: QuantizationSettings = DEFAULT_QUANTIZATION,
  ): Promise<void> {
    baseline ??= await zeroWeightOutput(userBytes, arch.vocab_size);
    // int8 embedding tables (Gather) move the residual stream itself: the int8 graph's contribution is over its own.
    const own = settings.op_types.includes('Gather')
      ? await zeroWeightOutput(userBytes, arch.vocab_size, settings)
      : baseline;
    const { cosine, contribution, control } = accuracy(
      int8.out,
      fp32.out,
      { int8: own, fp32: baseline },
      arch.hidden_size,
      fp32.valid,
    );
    console.log(
      `user file int8 (${label}): min per-token cosine vs fp32 ${cosine.toFixed(7)}; of the encoder's contribution ${contribution.toFixed(5)}; zero weights (control) ${control.toFixed(5)}`,
    );
    expect(cosine).toBeGreaterThanOrEqual(0.99);
    expect(contribution).toBeGreaterThanOrEqual(0.99);
    expect(int8.out.some((v, i) => v !== fp32.out[i])).toBe(true);
  }

  it.each([false, true])(
    'quantizes a file on disk, keeping its input and output names (preoptimize=%s)',
    async (pre) => {
      const out = join(workDir, `user-int8-${pre}.onnx`);
      const made = await quantizeFile(userFile, out, { ...DEFAULT_QUANTIZATION, preoptimize: pre });
      expect(made.report.nodes_quantized).toBeGreaterThanOrEqual(6);
      const fp32 = await outputOf(userFile, arch.vocab_size);
      const int8 = await outputOf(out, arch.vocab_size);
      expect(int8.names).toEqual([['input_ids', 'attention_mask'], ['last_hidden_state']]);
      expect(int8.names).toEqual(fp32.names);
      await expectFaithful(`preoptimize=${pre}`, int8, fp32);
    },
  );

  it('the contribution check fails a rewrite that loses the feed-forward layers, which the output cosine alone passes', async () => {
    const model = decodeModel(quantizeModel(userBytes, DEFAULT_QUANTIZATION).bytes);
    let zeroed = 0;
    for (const t of model.graph?.initializer ?? []) {
      // The feed-forward weights are the int8 tables with the intermediate size in their shape.
      if (
        t.dataType === onnxProto.onnx.TensorProto.DataType.INT8 &&
        t.rawData &&
        (t.dims ?? []).map(Number).includes(arch.intermediate_size)
      ) {
        t.rawData = new Uint8Array(t.rawData.length);
        zeroed++;
      }
    }
    expect(zeroed).toBe(2 * arch.num_hidden_layers);
    const fp32 = await outputOf(userFile, arch.vocab_size);
    const broken = await outputOf(onnxProto.onnx.ModelProto.encode(model).finish(), arch.vocab_size);
    baseline ??= await zeroWeightOutput(userBytes, arch.vocab_size);
    const { cosine, contribution } = accuracy(
      broken.out,
      fp32.out,
      { int8: baseline, fp32: baseline },
      arch.hidden_size,
      fp32.valid,
    );
    console.log(
      `user file, feed-forward weights lost: min per-token cosine vs fp32 ${cosine.toFixed(5)}; of the encoder's contribution ${contribution.toFixed(5)}`,
    );
    expect(cosine).toBeGreaterThanOrEqual(0.99);
    expect(contribution).toBeLessThan(0.99);
  });

  it('quantizes embedding tables when asked (Gather), which shrinks the file about 4x', async () => {
    const out = join(workDir, 'user-int8-gather.onnx');
    const settings: QuantizationSettings = { ...DEFAULT_QUANTIZATION, op_types: ['MatMul', 'Gather'] };
    const made = await quantizeFile(userFile, out, settings);
    expect(made.report.quantized.Gather).toBe(2); // word and position tables
    expect(made.size_bytes_out).toBeLessThan(made.size_bytes_in / 3);
    const fp32 = await outputOf(userFile, arch.vocab_size);
    const int8 = await outputOf(out, arch.vocab_size);
    await expectFaithful('Gather too', int8, fp32, settings);
  });

  it('model.dtype=int8 with model.path caches the quantized file and reuses it', async () => {
    const cfg: ModelConfig = {
      name: 'mine',
      source: 'file',
      path: userFile,
      id: null,
      revision: 'main',
      file: null,
      opset: 14,
      dtype: 'int8',
      quantization: {
        ...DEFAULT_QUANTIZATION,
        op_types: [...DEFAULT_QUANTIZATION.op_types],
        exclude_nodes: [],
        per_channel: true,
      },
      ...arch,
    };
    const env = { BENCH_CACHE_DIR: join(workDir, 'cache') };
    const first = await resolveModel(cfg, 1, env);
    expect(first).toMatchObject({ source: 'file', dtype: 'int8', cached: false });
    expect(first.file.startsWith(join(workDir, 'cache', 'models', 'user-distilbert-int8-'))).toBe(true);
    expect(first.quantization).toMatchObject({ per_channel: true, weight_type: 'int8', source_file: userFile });
    const second = await resolveModel(cfg, 1, env);
    expect(second).toMatchObject({ file: first.file, cached: true, quantization: first.quantization });
    // Other settings, another file.
    const third = await resolveModel({ ...cfg, quantization: { ...cfg.quantization!, per_channel: false } }, 1, env);
    expect(third.file).not.toBe(first.file);
  });

  it('Gemm (transB, alpha, beta, bias) becomes an integer product, in both operator sets', async () => {
    const g = new GraphBuilder('gemm');
    g.addInput('x', 'float32', ['batch', 16]);
    const w = Float32Array.from({ length: 8 * 16 }, (_, i) => Math.cos(i * 0.7) * 0.1); // [N=8, K=16], transB
    g.addInitializer('w', w, [8, 16]);
    g.addInitializer(
      'c',
      Float32Array.from({ length: 8 }, (_, i) => i * 0.01),
      [8],
    );
    g.addNode('Gemm', ['x', 'w', 'c'], {
      name: 'fc',
      outputs: ['y'],
      attributes: { transB: attr.int(1), alpha: attr.float(0.5), beta: attr.float(2) },
    });
    g.addOutput('y', 'float32', ['batch', 8]);
    const fp32 = g.serialize(13);
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 3 * 16 }, (_, i) => Math.sin(i)),
      [3, 16],
    );
    const run = async (bytes: Uint8Array): Promise<Float32Array> => {
      const s = await session(bytes);
      const y = (await s.run({ x })).y!.data as Float32Array;
      await s.release();
      return y;
    };
    const expected = await run(fp32);
    for (const operators of ['com.microsoft', 'onnx'] as const) {
      const { bytes, report } = quantizeModel(fp32, { ...DEFAULT_QUANTIZATION, operators });
      expect(report.quantized).toEqual({ Gemm: 1 });
      const got = await run(bytes);
      for (let i = 0; i < expected.length; i++) expect(got[i]).toBeCloseTo(expected[i]!, 2);
    }
  });

  it('refuses what is not a model, and op types that cannot be quantized', () => {
    expect(() => quantizeModel(new Uint8Array([1, 2, 3, 4]), DEFAULT_QUANTIZATION)).toThrow(/not an ONNX model/);
    expect(() =>
      quantizeModel(tinyFp32, { ...DEFAULT_QUANTIZATION, op_types: ['LayerNormalization' as 'MatMul'] }),
    ).toThrow(/op_types: "LayerNormalization" cannot be quantized/);
    expect(statSync(userFile).size).toBeGreaterThan(0);
    expect(readFileSync(userFile)[0]).toBe(0x08);
  });
});
