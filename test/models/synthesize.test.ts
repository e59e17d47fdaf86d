import { createHash } from 'node:crypto';

import type { onnx } from 'onnx-proto';
import { describe, expect, it } from 'vitest';

import type { ModelArchitecture } from '../../src/models/arch.js';
import { countParameters, forwardFlops } from '../../src/models/arch.js';
import { countOpTypes, decodeModel, floatInitializers, int64ToNumber } from '../../src/models/onnx-builder.js';
import { inputNames, parameterNames, synthesizeModel, synthesizeModelTo } from '../../src/models/synthesize.js';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BERT_BASE_CASED: ModelArchitecture = {
  model_type: 'bert',
  vocab_size: 28996,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  hidden_act: 'gelu',
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
};
const DISTILBERT_BASE_UNCASED: ModelArchitecture = {
  ...BERT_BASE_CASED,
  model_type: 'distilbert',
  vocab_size: 30522,
  num_hidden_layers: 6,
  type_vocab_size: 0,
};
const ROBERTA_BASE: ModelArchitecture = {
  ...BERT_BASE_CASED,
  model_type: 'roberta',
  vocab_size: 50265,
  max_position_embeddings: 514,
  type_vocab_size: 1,
  layer_norm_eps: 1e-5,
  pad_token_id: 1,
};
// Small enough to synthesize in milliseconds.
const TINY: ModelArchitecture = {
  ...BERT_BASE_CASED,
  vocab_size: 500,
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 64,
  max_position_embeddings: 64,
};
const TINY_ARCHS: ModelArchitecture[] = [
  TINY,
  { ...TINY, model_type: 'distilbert', type_vocab_size: 0 },
  { ...TINY, model_type: 'roberta', type_vocab_size: 1, pad_token_id: 1 },
];

describe('synthesizeModel', () => {
  it('is deterministic: same architecture, seed and opset give identical bytes', () => {
    const first = synthesizeModel(TINY, { seed: 42, opset: 12 });
    const second = synthesizeModel(TINY, { seed: 42, opset: 12 });
    expect(Buffer.from(first).equals(Buffer.from(second))).toBe(true);
  });

  it('pins the bytes for a seed, so any change to the graph or the weights is deliberate', () => {
    const digest = createHash('sha256')
      .update(synthesizeModel(TINY, { seed: 42, opset: 12 }))
      .digest('hex');
    expect(digest).toMatchInlineSnapshot(`"79d1d005241b31b9f47998017aeb7eedf94a8767e58f6b1172cbcaf7eb59dc1b"`);
  });

  it.each<[string, Partial<ModelArchitecture>, number]>([
    ['bert', {}, 12],
    ['bert, opset 14', {}, 14],
    ['distilbert', { model_type: 'distilbert', type_vocab_size: 0 }, 12],
    ['roberta', { model_type: 'roberta', pad_token_id: 1 }, 12],
    // An embedding table of 40000 x 32 = 1.28 M floats: more than one 1 M-element write chunk.
    ['bert with a vocabulary spanning two write chunks', { vocab_size: 40_000 }, 12],
  ])('streamed to a file (%s), it writes exactly the in-memory bytes', (_, change, opset) => {
    const arch = { ...TINY, ...change } as ModelArchitecture;
    const file = join(mkdtempSync(join(tmpdir(), 'synth-')), 'model.onnx');
    const fd = openSync(file, 'w');
    const written = synthesizeModelTo(fd, arch, { seed: 7, opset });
    closeSync(fd);
    const onDisk = readFileSync(file);
    const inMemory = Buffer.from(synthesizeModel(arch, { seed: 7, opset }));
    expect(written).toBe(inMemory.length);
    expect(onDisk.equals(inMemory)).toBe(true);
  });

  it('draws different weights for a different seed, with the same graph', () => {
    const first = decodeModel(synthesizeModel(TINY, { seed: 42, opset: 12 }));
    const second = decodeModel(synthesizeModel(TINY, { seed: 43, opset: 12 }));
    const weightsOf = (model: typeof first) =>
      floatInitializers(model).get('bert.encoder.layer.0.attention.self.query.weight')?.data;
    expect(weightsOf(first)).not.toEqual(weightsOf(second));
    expect(first.graph?.node?.map((node) => node.opType)).toEqual(second.graph?.node?.map((node) => node.opType));
  });

  it('draws weights with mean ~0 and standard deviation ~0.02', () => {
    const weights = floatInitializers(decodeModel(synthesizeModel(TINY, { seed: 1, opset: 12 })));
    const data = weights.get('bert.embeddings.word_embeddings.weight')?.data ?? new Float32Array();
    const mean = data.reduce((sum, x) => sum + x, 0) / data.length;
    const std = Math.sqrt(data.reduce((sum, x) => sum + (x - mean) ** 2, 0) / data.length);
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(std).toBeCloseTo(0.02, 3);
  });

  it('declares the Hugging Face inputs and output with symbolic batch and sequence', () => {
    for (const arch of TINY_ARCHS) {
      const graph = decodeModel(synthesizeModel(arch, { seed: 1, opset: 12 })).graph;
      const dimsOf = (info: onnx.IValueInfoProto) =>
        info.type?.tensorType?.shape?.dim?.map((dim) => dim.dimParam || int64ToNumber(dim.dimValue ?? 0));
      expect(graph?.input?.map((input) => input.name)).toEqual(inputNames(arch));
      for (const input of graph?.input ?? []) {
        expect(input.type?.tensorType?.elemType).toBe(7); // INT64
        expect(dimsOf(input)).toEqual(['batch', 'sequence']);
      }
      expect(graph?.output?.map((output) => output.name)).toEqual(['last_hidden_state']);
      expect(dimsOf(graph!.output![0]!)).toEqual(['batch', 'sequence', arch.hidden_size]);
    }
    expect(inputNames(TINY_ARCHS[1]!)).toEqual(['input_ids', 'attention_mask']);
  });

  it('writes producer "bench" and the requested opset', () => {
    const model = decodeModel(synthesizeModel(TINY, { seed: 1, opset: 14 }));
    expect(model.producerName).toBe('bench');
    expect(model.opsetImport.map((entry) => [entry.domain, int64ToNumber(entry.version ?? 0)])).toEqual([['', 14]]);
  });

  it('gives Unsqueeze an axes attribute before opset 13 and an axes input from 13', () => {
    const unsqueezes = (opset: number) =>
      (decodeModel(synthesizeModel(TINY, { seed: 1, opset })).graph?.node ?? []).filter(
        (node) => node.opType === 'Unsqueeze',
      );
    for (const node of unsqueezes(12)) {
      expect(node.input).toHaveLength(1);
      expect(node.attribute?.map((attribute) => attribute.name)).toEqual(['axes']);
    }
    for (const node of unsqueezes(13)) {
      expect(node.input).toHaveLength(2);
      expect(node.attribute).toHaveLength(0);
    }
  });

  it('decomposes LayerNorm up to opset 16 and uses LayerNormalization from 17', () => {
    const ops = (opset: number) => countOpTypes(decodeModel(synthesizeModel(TINY, { seed: 1, opset })));
    const layerNorms = 1 + 2 * TINY.num_hidden_layers;
    expect(ops(16).get('ReduceMean')).toBe(2 * layerNorms);
    expect(ops(16).get('LayerNormalization')).toBeUndefined();
    expect(ops(17).get('LayerNormalization')).toBe(layerNorms);
    expect(ops(17).get('ReduceMean')).toBeUndefined();
  });

  it('names parameters as the Hugging Face state dict does', () => {
    const names = [...floatInitializers(decodeModel(synthesizeModel(TINY, { seed: 1, opset: 12 }))).keys()];
    expect(names).toContain('bert.embeddings.word_embeddings.weight');
    expect(names).toContain('bert.encoder.layer.0.attention.self.query.weight');
    expect(names).toContain('bert.encoder.layer.1.output.LayerNorm.bias');
  });

  it('holds exactly countParameters(arch) parameter values, all named by parameterNames', () => {
    for (const arch of TINY_ARCHS) {
      const weights = floatInitializers(decodeModel(synthesizeModel(arch, { seed: 1, opset: 12 })));
      const names = parameterNames(arch);
      const moduleParameters = names.layers.flatMap((layer) =>
        [
          layer.query,
          layer.key,
          layer.value,
          layer.attentionOutput,
          layer.attentionNorm,
          layer.intermediate,
          layer.output,
          layer.outputNorm,
        ].flatMap((module) => [module.weight, module.bias]),
      );
      const all = [
        names.wordEmbeddings,
        names.positionEmbeddings,
        ...(names.tokenTypeEmbeddings ? [names.tokenTypeEmbeddings] : []),
        names.embeddingNorm.weight,
        names.embeddingNorm.bias,
        ...moduleParameters,
      ];
      const total = all.reduce((sum, name) => {
        const tensor = weights.get(name);
        expect(tensor, name).toBeDefined();
        return sum + (tensor?.data.length ?? 0);
      }, 0);
      expect(total).toBe(countParameters(arch));
    }
  });

  it('rejects unsupported opsets and head counts that do not divide hidden_size', () => {
    expect(() => synthesizeModel(TINY, { seed: 1, opset: 10 })).toThrow(/opset/);
    expect(() => synthesizeModel(TINY, { seed: 1, opset: 19 })).toThrow(/opset/);
    expect(() => synthesizeModel({ ...TINY, num_attention_heads: 3 }, { seed: 1, opset: 12 })).toThrow(/divisible/);
  });
});

describe('countParameters', () => {
  it("counts bert-base-cased as 107,719,680: Hugging Face's 108,310,272 less the pooler", () => {
    const pooler = 768 * 768 + 768;
    expect(countParameters(BERT_BASE_CASED)).toBe(107_719_680);
    expect(countParameters(BERT_BASE_CASED) + pooler).toBe(108_310_272);
  });

  it('counts distilbert-base-uncased (no pooler in HF either) and roberta-base', () => {
    expect(countParameters(DISTILBERT_BASE_UNCASED)).toBe(66_362_880);
    expect(countParameters(ROBERTA_BASE) + 768 * 768 + 768).toBe(124_645_632);
  });
});

describe('forwardFlops', () => {
  it('counts 2 FLOPs per multiply-add of the dense layers and the attention products', () => {
    // 12 * (2 * 128 * (4 * 768^2 + 2 * 768 * 3072) + 4 * 128^2 * 768)
    expect(forwardFlops(BERT_BASE_CASED, 1, 128)).toBe(22_347_251_712);
    // Dense work is linear in the batch, attention quadratic in the sequence.
    expect(forwardFlops(BERT_BASE_CASED, 8, 128)).toBe(8 * forwardFlops(BERT_BASE_CASED, 1, 128));
    const attentionPerLayer = (s: number) => 4 * s * s * 768;
    expect(forwardFlops(BERT_BASE_CASED, 1, 512) - 4 * forwardFlops(BERT_BASE_CASED, 1, 128)).toBe(
      12 * (attentionPerLayer(512) - 4 * attentionPerLayer(128)),
    );
  });
});
