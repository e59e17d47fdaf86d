import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import type { ModelArchitecture } from '../../src/models/arch.js';
import { hasTokenTypes } from '../../src/models/arch.js';
import type { ModelInputs } from '../support/reference.js';
import { erf, referenceForward } from '../support/reference.js';
import { Rng } from '../../src/util/rng.js';
import { synthesizeModel } from '../../src/models/synthesize.js';
import { BERT_TINY } from '../fixtures/models.js';

// Small vocabularies keep synthesis fast; 4 heads of 8 exercise a non-square sqrt(head_size).
const DISTILBERT_TINY: ModelArchitecture = {
  ...BERT_TINY,
  model_type: 'distilbert',
  vocab_size: 1000,
  hidden_size: 32,
  num_attention_heads: 4,
  intermediate_size: 64,
  type_vocab_size: 0,
};
const ROBERTA_TINY: ModelArchitecture = {
  ...BERT_TINY,
  model_type: 'roberta',
  vocab_size: 1000,
  max_position_embeddings: 514,
  type_vocab_size: 1,
  layer_norm_eps: 1e-5,
  pad_token_id: 1,
};

const BATCH = 2;
const SEQUENCE = 16;
const PADDED_TAIL = 5; // the second row ends in this many padding tokens
// Two measures, both held to TOLERANCE:
// - normalized max error: max |ort - reference| / max |reference| over the whole output. The output
//   is LayerNorm'ed, so max |reference| is O(1) and this bounds the absolute error on that scale;
// - element-wise relative error: max |ort - reference| / |reference| over the elements with
//   |reference| >= RELATIVE_FLOOR. Below the floor a relative error measures float32's absolute
//   rounding (~1e-7) against a value near zero, not the graph; those elements are held to an
//   absolute error below TOLERANCE * RELATIVE_FLOOR instead, so no element goes unchecked. With
//   LayerNorm'ed outputs of about unit scale the floor leaves out roughly 1% of the elements.
const TOLERANCE = 1e-4;
const RELATIVE_FLOOR = 1e-2;

function randomInputs(arch: ModelArchitecture, seed: number, padded: boolean): ModelInputs {
  const rng = new Rng(seed);
  const tokens = BATCH * SEQUENCE;
  const inputIds = new BigInt64Array(tokens);
  const attentionMask = new BigInt64Array(tokens);
  const tokenTypeIds = new BigInt64Array(tokens);
  for (let t = 0; t < tokens; t++) {
    const isPadding = padded && t >= tokens - PADDED_TAIL;
    // Padding positions hold the pad token, as a tokenizer writes them (RoBERTa's positions depend on it).
    inputIds[t] = BigInt(
      isPadding ? arch.pad_token_id : arch.pad_token_id + 1 + rng.int(arch.vocab_size - arch.pad_token_id - 1),
    );
    attentionMask[t] = isPadding ? 0n : 1n;
    tokenTypeIds[t] = BigInt(hasTokenTypes(arch) ? rng.int(arch.type_vocab_size) : 0);
  }
  return {
    batch: BATCH,
    sequence: SEQUENCE,
    inputIds,
    attentionMask,
    ...(hasTokenTypes(arch) ? { tokenTypeIds } : {}),
  };
}

async function runOrt(model: Uint8Array, arch: ModelArchitecture, inputs: ModelInputs): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  try {
    const dims = [inputs.batch, inputs.sequence];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', inputs.inputIds, dims),
      attention_mask: new ort.Tensor('int64', inputs.attentionMask, dims),
    };
    if (hasTokenTypes(arch) && inputs.tokenTypeIds) {
      feeds.token_type_ids = new ort.Tensor('int64', inputs.tokenTypeIds, dims);
    }
    const result = await session.run(feeds);
    const output = result.last_hidden_state;
    expect(output?.dims).toEqual([inputs.batch, inputs.sequence, arch.hidden_size]);
    return output!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function normalizedMaxError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let maxDiff = 0;
  let maxExpected = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
    maxExpected = Math.max(maxExpected, Math.abs(expected[i]!));
  }
  return maxDiff / maxExpected;
}

/**
 * Element-wise relative error over |reference| >= floor, the largest absolute error below it, and how many were below.
 */
function relativeError(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  floor: number,
): { maxRelative: number; maxAbsoluteBelowFloor: number; belowFloor: number } {
  expect(actual.length).toBe(expected.length);
  let maxRelative = 0;
  let maxAbsoluteBelowFloor = 0;
  let belowFloor = 0;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    const ref = Math.abs(expected[i]!);
    if (ref >= floor) maxRelative = Math.max(maxRelative, diff / ref);
    else {
      belowFloor++;
      maxAbsoluteBelowFloor = Math.max(maxAbsoluteBelowFloor, diff);
    }
  }
  return { maxRelative, maxAbsoluteBelowFloor, belowFloor };
}

describe('synthesized model vs float64 reference', () => {
  const cases = [
    { label: 'bert-tiny', arch: BERT_TINY },
    { label: 'distilbert-tiny', arch: DISTILBERT_TINY },
    { label: 'roberta-tiny', arch: ROBERTA_TINY },
  ];
  // Opset 12: decomposed LayerNorm, Unsqueeze axes attribute, fully fused for BERT.
  // Opset 17: LayerNormalization op, Unsqueeze axes input, no Attention fusion.
  for (const { label, arch } of cases) {
    for (const opset of [12, 17]) {
      it(`${label} at opset ${opset} matches within ${TOLERANCE}, normalized and element-wise relative (|reference| >= ${RELATIVE_FLOOR})`, async () => {
        const model = synthesizeModel(arch, { seed: 7, opset });
        const inputs = randomInputs(arch, 11, true);
        const expected = referenceForward(model, arch, inputs);
        const actual = await runOrt(model, arch, inputs);
        const error = normalizedMaxError(actual, expected);
        const rel = relativeError(actual, expected, RELATIVE_FLOOR);
        console.log(
          `${label} opset ${opset}: normalized max error ${error.toExponential(2)}; max relative error ${rel.maxRelative.toExponential(2)} ` +
            `over ${expected.length - rel.belowFloor}/${expected.length} elements with |reference| >= ${RELATIVE_FLOOR}, max absolute error below it ${rel.maxAbsoluteBelowFloor.toExponential(2)}`,
        );
        expect(error).toBeLessThan(TOLERANCE);
        expect(rel.maxRelative).toBeLessThan(TOLERANCE);
        expect(rel.maxAbsoluteBelowFloor).toBeLessThan(TOLERANCE * RELATIVE_FLOOR);
        // The floor leaves out a few elements, not the comparison.
        expect(rel.belowFloor).toBeLessThan(expected.length * 0.05);
      });
    }
  }

  it('the padding mask changes the unpadded outputs by more than 10x the tolerance', () => {
    // Guards the comparison above: were the mask ignored on one side, it would show. With N(0, 0.02)
    // weights attention is nearly uniform, so masking 5 of 16 keys moves the outputs by ~6e-3.
    const model = synthesizeModel(BERT_TINY, { seed: 7, opset: 12 });
    const padded = randomInputs(BERT_TINY, 11, true);
    const unmasked = { ...padded, attentionMask: new BigInt64Array(BATCH * SEQUENCE).fill(1n) };
    const firstToken = BATCH * SEQUENCE - SEQUENCE; // second row, unpadded part
    const lastToken = BATCH * SEQUENCE - PADDED_TAIL;
    const slice = (output: Float64Array): Float64Array =>
      output.subarray(firstToken * BERT_TINY.hidden_size, lastToken * BERT_TINY.hidden_size);
    const change = normalizedMaxError(
      slice(referenceForward(model, BERT_TINY, unmasked)),
      slice(referenceForward(model, BERT_TINY, padded)),
    );
    expect(change).toBeGreaterThan(10 * TOLERANCE);
  });
});

describe('erf', () => {
  it('matches tabulated values to 5e-14', () => {
    const table: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [2.5, 0.999593047982555],
      [2.9, 0.9999589021219005],
      [2.99, 0.9999764743969194],
      [3, 0.9999779095030014],
      [3.5, 0.9999992569016276],
      [5, 0.9999999999984626],
    ];
    for (const [x, value] of table) {
      expect(Math.abs(erf(x) - value)).toBeLessThan(5e-14);
      expect(Math.abs(erf(-x) + value)).toBeLessThan(5e-14);
    }
  });
});
