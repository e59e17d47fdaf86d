// Float64 forward pass of a synthesized encoder in plain TypeScript, with the weights read back from
// the ONNX bytes. It follows the Hugging Face modules, not the graph, so a test that compares it with
// ONNX Runtime checks the graph. Written for clarity; only tiny models are fast enough.

import type { ModelArchitecture } from '../../src/models/arch.js';
import { hasTokenTypes, headSize } from '../../src/models/arch.js';
import { decodeModel, floatInitializers } from '../../src/models/onnx-builder.js';
import type { ModuleNames } from '../../src/models/synthesize.js';
import { FLOAT32_LOWEST, parameterNames } from '../../src/models/synthesize.js';

export interface ModelInputs {
  batch: number;
  sequence: number;
  /** [batch, sequence], row-major, as fed to ONNX Runtime. */
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  /** Required for bert and roberta, ignored for distilbert. */
  tokenTypeIds?: BigInt64Array;
}

/** last_hidden_state, [batch, sequence, hidden] row-major. */
export function referenceForward(model: Uint8Array, arch: ModelArchitecture, inputs: ModelInputs): Float64Array {
  const weights = floatInitializers(decodeModel(model));
  const names = parameterNames(arch);
  const { batch, sequence } = inputs;
  const hidden = arch.hidden_size;
  const tokens = batch * sequence;
  for (const [what, values] of [
    ['input_ids', inputs.inputIds],
    ['attention_mask', inputs.attentionMask],
  ] as const) {
    if (values.length !== tokens) throw new RangeError(`${what} has ${values.length} values, expected ${tokens}`);
  }
  const get = (name: string): Float32Array => {
    const tensor = weights.get(name);
    if (!tensor) throw new Error(`model has no float initializer ${name}`);
    return tensor.data;
  };
  const ids = checkedIds(inputs.inputIds, arch.vocab_size, 'input_ids');
  const mask = Array.from(inputs.attentionMask, Number);

  // Embeddings: (word + position) + token type, then LayerNorm.
  const positions = checkedIds(
    arch.model_type === 'roberta'
      ? robertaPositions(ids, batch, sequence, arch.pad_token_id)
      : ids.map((_, i) => i % sequence),
    arch.max_position_embeddings,
    'position ids',
  );
  const rows: { table: Float32Array; ids: number[] }[] = [
    { table: get(names.wordEmbeddings), ids },
    { table: get(names.positionEmbeddings), ids: positions },
  ];
  if (hasTokenTypes(arch)) {
    if (!inputs.tokenTypeIds || names.tokenTypeEmbeddings === undefined) {
      throw new Error(`${arch.model_type} needs token_type_ids`);
    }
    rows.push({
      table: get(names.tokenTypeEmbeddings),
      ids: checkedIds(inputs.tokenTypeIds, arch.type_vocab_size, 'token_type_ids'),
    });
  }
  let x: Float64Array = new Float64Array(tokens * hidden);
  for (const { table, ids: rowIds } of rows) {
    for (let t = 0; t < tokens; t++) {
      for (let j = 0; j < hidden; j++) x[t * hidden + j]! += table[rowIds[t]! * hidden + j]!;
    }
  }
  const layerNorm = (input: Float64Array, norm: ModuleNames): Float64Array =>
    layerNormRows(input, hidden, get(norm.weight), get(norm.bias), arch.layer_norm_eps);
  const linear = (input: Float64Array, dense: ModuleNames, inFeatures: number, outFeatures: number): Float64Array =>
    linearRows(input, inFeatures, outFeatures, get(dense.weight), get(dense.bias));
  x = layerNorm(x, names.embeddingNorm);

  const heads = arch.num_attention_heads;
  const size = headSize(arch);
  const scale = 1 / Math.sqrt(size);
  for (const layer of names.layers) {
    const q = linear(x, layer.query, hidden, hidden);
    const k = linear(x, layer.key, hidden, hidden);
    const v = linear(x, layer.value, hidden, hidden);
    const context = new Float64Array(tokens * hidden);
    const scores = new Float64Array(sequence);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < sequence; i++) {
          const qRow = (b * sequence + i) * hidden + h * size;
          for (let j = 0; j < sequence; j++) {
            const kRow = (b * sequence + j) * hidden + h * size;
            let dot = 0;
            for (let d = 0; d < size; d++) dot += q[qRow + d]! * k[kRow + d]!;
            const keep = mask[b * sequence + j] !== 0;
            // BERT and RoBERTa add (1 - mask) * -10000; DistilBERT overwrites with finfo(float32).min.
            if (arch.model_type === 'distilbert') {
              scores[j] = keep ? dot * scale : FLOAT32_LOWEST;
            } else {
              scores[j] = dot * scale + (keep ? 0 : -10000);
            }
          }
          softmaxInPlace(scores);
          for (let j = 0; j < sequence; j++) {
            const vRow = (b * sequence + j) * hidden + h * size;
            for (let d = 0; d < size; d++) context[qRow + d]! += scores[j]! * v[vRow + d]!;
          }
        }
      }
    }
    const attended = layerNorm(addInto(linear(context, layer.attentionOutput, hidden, hidden), x), layer.attentionNorm);
    const intermediate = linear(attended, layer.intermediate, hidden, arch.intermediate_size).map(gelu);
    x = layerNorm(
      addInto(linear(intermediate, layer.output, arch.intermediate_size, hidden), attended),
      layer.outputNorm,
    );
  }
  return x;
}

function checkedIds(values: ArrayLike<number | bigint>, limit: number, what: string): number[] {
  const ids = Array.from(values, Number);
  const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= limit);
  if (bad !== undefined) throw new RangeError(`${what}: ${bad} is outside [0, ${limit})`);
  return ids;
}

/** RoBERTa numbers non-pad tokens from pad + 1 by a running count; pad tokens get pad. */
function robertaPositions(ids: number[], batch: number, sequence: number, pad: number): number[] {
  const positions: number[] = [];
  for (let b = 0; b < batch; b++) {
    let count = 0;
    for (let s = 0; s < sequence; s++) {
      const isToken = ids[b * sequence + s] !== pad;
      if (isToken) count++;
      positions.push(isToken ? pad + count : pad);
    }
  }
  return positions;
}

function linearRows(
  input: Float64Array,
  inFeatures: number,
  outFeatures: number,
  weight: Float32Array,
  bias: Float32Array,
): Float64Array {
  const rows = input.length / inFeatures;
  const out = new Float64Array(rows * outFeatures);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outFeatures; o++) {
      // weight is [in, out] (MatMul's B).
      let sum = bias[o]!;
      for (let i = 0; i < inFeatures; i++) sum += input[r * inFeatures + i]! * weight[i * outFeatures + o]!;
      out[r * outFeatures + o] = sum;
    }
  }
  return out;
}

function layerNormRows(
  input: Float64Array,
  width: number,
  gamma: Float32Array,
  beta: Float32Array,
  eps: number,
): Float64Array {
  const out = new Float64Array(input.length);
  for (let start = 0; start < input.length; start += width) {
    let mean = 0;
    for (let j = 0; j < width; j++) mean += input[start + j]!;
    mean /= width;
    let variance = 0;
    for (let j = 0; j < width; j++) variance += (input[start + j]! - mean) ** 2;
    variance /= width;
    const inverseStd = 1 / Math.sqrt(variance + eps);
    for (let j = 0; j < width; j++) {
      out[start + j] = (input[start + j]! - mean) * inverseStd * gamma[j]! + beta[j]!;
    }
  }
  return out;
}

function addInto(target: Float64Array, other: Float64Array): Float64Array {
  for (let i = 0; i < target.length; i++) target[i]! += other[i]!;
  return target;
}

function softmaxInPlace(values: Float64Array): void {
  const max = Math.max(...values);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    values[i] = Math.exp(values[i]! - max);
    sum += values[i]!;
  }
  for (let i = 0; i < values.length; i++) values[i]! /= sum;
}

function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/**
 * Error function with absolute error below 5e-14: the Maclaurin series for |x| < 3 (its largest
 * term, ~170 at x = 3, costs about 2 of 16 digits to cancellation), else erfc's continued fraction.
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-ax * ax) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), evaluated
  // bottom-up; 60 levels are ample for x >= 3.
  let fraction = ax;
  for (let n = 60; n >= 1; n--) fraction = ax + n / 2 / fraction;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / fraction;
  return Math.sign(x) * (1 - erfc);
}
