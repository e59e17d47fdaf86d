import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';

import type { ModelArchitecture } from '../../src/models/arch.js';
import { countOpTypes, decodeModel } from '../../src/models/onnx-builder.js';
import { synthesizeModel } from '../../src/models/synthesize.js';
import { BERT_TINY } from '../fixtures/models.js';

const workDir = mkdtempSync(join(tmpdir(), 'bench-fusion-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** Op-type counts of the graph ONNX Runtime runs after its level-'all' optimizations. */
async function optimizedOpCounts(arch: ModelArchitecture, opset: number): Promise<Record<string, number>> {
  const optimizedPath = join(workDir, `${arch.model_type}-opset${opset}.onnx`);
  const session = await ort.InferenceSession.create(synthesizeModel(arch, { seed: 1, opset }), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: optimizedPath,
    // Errors only: ORT warns that a level-'all' model it saves may be specific to this CPU.
    logSeverityLevel: 3,
  });
  await session.release();
  const counts = Object.fromEntries(countOpTypes(decodeModel(readFileSync(optimizedPath))));
  console.log(`${arch.model_type} opset ${opset} optimized:`, JSON.stringify(counts));
  return counts;
}

describe('ONNX Runtime transformer fusions on the synthesized graph', () => {
  it('fuse bert fully at opset 12', async () => {
    const layers = BERT_TINY.num_hidden_layers;
    const counts = await optimizedOpCounts(BERT_TINY, 12);
    expect(counts).toMatchObject({
      EmbedLayerNormalization: 1,
      Attention: layers,
      SkipLayerNormalization: 2 * layers,
      BiasGelu: layers,
    });
    // Nothing of the unfused attention or LayerNorm is left.
    for (const opType of ['Softmax', 'LayerNormalization', 'ReduceMean', 'Transpose', 'Erf']) {
      expect(counts[opType]).toBeUndefined();
    }
  });

  it('leave attention unfused at opset 14, where the mask Unsqueeze takes axes as an input', async () => {
    const counts = await optimizedOpCounts(BERT_TINY, 14);
    expect(counts.Attention).toBeUndefined();
    expect(counts.EmbedLayerNormalization).toBeUndefined();
    expect(counts.BiasGelu).toBe(BERT_TINY.num_hidden_layers);
  });

  it('fuse roberta attention but not its embeddings (positions come from a cumulative sum)', async () => {
    const roberta: ModelArchitecture = {
      ...BERT_TINY,
      model_type: 'roberta',
      vocab_size: 1000,
      max_position_embeddings: 514,
      type_vocab_size: 1,
      pad_token_id: 1,
    };
    const counts = await optimizedOpCounts(roberta, 12);
    expect(counts.Attention).toBe(roberta.num_hidden_layers);
    expect(counts.EmbedLayerNormalization).toBeUndefined();
  });
});
