// Synthesizes the fp32 ONNX graph that torch.onnx.export gives for a Hugging Face BERT, RoBERTa or
// DistilBERT encoder, with seeded random weights instead of trained ones.
//
// The point is that ONNX Runtime's in-session transformer fusions (EmbedLayerNormalization,
// Attention, SkipLayerNormalization, BiasGelu) see the same patterns as in an exported model, so a
// benchmark of the synthetic model runs the same kernels. Those matchers are exact (ONNX Runtime's
// onnxruntime/core/optimizer/attention_fusion*.{h,cc}; docs/models.md), which
// fixes several details below: the input order of Adds, one Transpose (0,2,3,1) for K, division by
// exactly sqrt(head_size), mask constants 1.0 and -10000, and Unsqueeze with an `axes` attribute.
// Where the export computes a reshape target with Shape/Gather/Concat, this graph uses the
// constant that ONNX Runtime's reshape fusion folds it into ([0, 0, heads, head_size]).

import type { ModelArchitecture } from './arch.js';
import { hasTokenTypes, headSize, validateArchitecture } from './arch.js';
import type { Attribute } from './onnx-builder.js';
import { attr, GraphBuilder } from './onnx-builder.js';
import { Rng } from '../util/rng.js';

export const MIN_OPSET = 11;
export const MAX_OPSET = 18;
export const DEFAULT_OPSET = 12;

export interface SynthesisOptions {
  seed: number;
  opset: number;
}

export const INPUT_IDS = 'input_ids';
export const ATTENTION_MASK = 'attention_mask';
export const TOKEN_TYPE_IDS = 'token_type_ids';
export const LAST_HIDDEN_STATE = 'last_hidden_state';

/** Names of the model's inputs, in graph order. */
export function inputNames(arch: ModelArchitecture): string[] {
  return hasTokenTypes(arch) ? [INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS] : [INPUT_IDS, ATTENTION_MASK];
}

// BERT's initializer_range: weights are N(0, 0.02^2). Biases, LayerNorm beta and gamma - 1 are drawn
// from the same distribution rather than set to 0 (Hugging Face's init) so that a test against the
// reference forward pass detects a wrongly wired bias or LayerNorm parameter too.
const INIT_STD = 0.02;
// Additive mask value of BERT's get_extended_attention_mask; the Attention fusion requires it.
const ADDITIVE_MASK_VALUE = -10000;
// torch.finfo(torch.float32).min: DistilBERT's masked_fill value.
export const FLOAT32_LOWEST = -3.4028234663852886e38;
// float32(sqrt(2)) as torch exports it in the erf form of GELU.
const SQRT2_FLOAT32 = 1.4142135381698608;

const FLOAT = 1; // TensorProto.DataType.FLOAT, the `to` of Cast
const INT64 = 7; // TensorProto.DataType.INT64

// ---- Parameter names (Hugging Face state_dict names, with the task-model prefix) ----

/** A dense layer's module and parameters. The weight is stored [in, out] (MatMul's B), the
 * transpose of the torch Linear weight; a LayerNorm's weight is gamma and its bias beta. */
export interface ModuleNames {
  module: string;
  weight: string;
  bias: string;
}

export interface LayerNames {
  query: ModuleNames;
  key: ModuleNames;
  value: ModuleNames;
  /** Module that holds the head reshapes, score and context MatMuls and the softmax. */
  selfAttention: string;
  attentionOutput: ModuleNames;
  /** Module of the residual Add before attentionNorm. */
  attentionResidual: string;
  attentionNorm: ModuleNames;
  intermediate: ModuleNames;
  /** Module of the GELU. */
  activation: string;
  output: ModuleNames;
  /** Module of the residual Add before outputNorm. */
  outputResidual: string;
  outputNorm: ModuleNames;
}

export interface ParameterNames {
  /** Module of the embedding sums and the position-id computation. */
  embeddings: string;
  wordEmbeddings: string;
  positionEmbeddings: string;
  /** Absent for distilbert. */
  tokenTypeEmbeddings: string | undefined;
  embeddingNorm: ModuleNames;
  /** Module that computes the attention mask shared by all layers. */
  maskModule: string;
  layers: LayerNames[];
}

function moduleNames(module: string): ModuleNames {
  return { module, weight: `${module}.weight`, bias: `${module}.bias` };
}

export function parameterNames(arch: ModelArchitecture): ParameterNames {
  const layers: LayerNames[] = [];
  if (arch.model_type === 'distilbert') {
    for (let i = 0; i < arch.num_hidden_layers; i++) {
      const base = `distilbert.transformer.layer.${i}`;
      layers.push({
        query: moduleNames(`${base}.attention.q_lin`),
        key: moduleNames(`${base}.attention.k_lin`),
        value: moduleNames(`${base}.attention.v_lin`),
        selfAttention: `${base}.attention`,
        attentionOutput: moduleNames(`${base}.attention.out_lin`),
        attentionResidual: base,
        attentionNorm: moduleNames(`${base}.sa_layer_norm`),
        intermediate: moduleNames(`${base}.ffn.lin1`),
        activation: `${base}.ffn.activation`,
        output: moduleNames(`${base}.ffn.lin2`),
        outputResidual: base,
        outputNorm: moduleNames(`${base}.output_layer_norm`),
      });
    }
    return {
      embeddings: 'distilbert.embeddings',
      wordEmbeddings: 'distilbert.embeddings.word_embeddings.weight',
      positionEmbeddings: 'distilbert.embeddings.position_embeddings.weight',
      tokenTypeEmbeddings: undefined,
      embeddingNorm: moduleNames('distilbert.embeddings.LayerNorm'),
      maskModule: 'distilbert.transformer',
      layers,
    };
  }
  const prefix = arch.model_type;
  for (let i = 0; i < arch.num_hidden_layers; i++) {
    const base = `${prefix}.encoder.layer.${i}`;
    layers.push({
      query: moduleNames(`${base}.attention.self.query`),
      key: moduleNames(`${base}.attention.self.key`),
      value: moduleNames(`${base}.attention.self.value`),
      selfAttention: `${base}.attention.self`,
      attentionOutput: moduleNames(`${base}.attention.output.dense`),
      attentionResidual: `${base}.attention.output`,
      attentionNorm: moduleNames(`${base}.attention.output.LayerNorm`),
      intermediate: moduleNames(`${base}.intermediate.dense`),
      activation: `${base}.intermediate.intermediate_act_fn`,
      output: moduleNames(`${base}.output.dense`),
      outputResidual: `${base}.output`,
      outputNorm: moduleNames(`${base}.output.LayerNorm`),
    });
  }
  return {
    embeddings: `${prefix}.embeddings`,
    wordEmbeddings: `${prefix}.embeddings.word_embeddings.weight`,
    positionEmbeddings: `${prefix}.embeddings.position_embeddings.weight`,
    tokenTypeEmbeddings: `${prefix}.embeddings.token_type_embeddings.weight`,
    embeddingNorm: moduleNames(`${prefix}.embeddings.LayerNorm`),
    maskModule: prefix,
    layers,
  };
}

// ---- Graph ----

export function synthesizeModel(arch: ModelArchitecture, opts: SynthesisOptions): Uint8Array {
  return buildGraph(arch, opts).serialize(opts.opset);
}

/**
 * The same bytes as synthesizeModel, streamed into an open file as the weights are drawn: a
 * base-size model never sits in memory whole. Returns the number of bytes written.
 */
export function synthesizeModelTo(fd: number, arch: ModelArchitecture, opts: SynthesisOptions): number {
  return buildGraph(arch, opts).writeTo(fd, opts.opset);
}

function buildGraph(arch: ModelArchitecture, opts: SynthesisOptions): GraphBuilder {
  validateArchitecture(arch);
  if (!Number.isInteger(opts.opset) || opts.opset < MIN_OPSET || opts.opset > MAX_OPSET) {
    throw new RangeError(`opset must be an integer in [${MIN_OPSET}, ${MAX_OPSET}], got ${opts.opset}`);
  }
  const names = parameterNames(arch);
  const encoder = new EncoderGraph(arch, opts.opset, new Rng(opts.seed));
  const { graph } = encoder;
  for (const input of inputNames(arch)) {
    graph.addInput(input, 'int64', ['batch', 'sequence']);
  }

  let hidden = encoder.embeddings(names);
  const mask = arch.model_type === 'distilbert' ? encoder.maskedFillMask(names) : encoder.additiveMask(names);
  names.layers.forEach((layer, index) => {
    const isLast = index === names.layers.length - 1;
    hidden = encoder.layer(hidden, layer, mask, isLast ? LAST_HIDDEN_STATE : undefined);
  });
  graph.addOutput(LAST_HIDDEN_STATE, 'float32', ['batch', 'sequence', arch.hidden_size]);
  return graph;
}

/** torch's node-name scope for a module: 'bert.encoder.layer.0.output' -> '/bert/encoder/layer.0/output'. */
function scopeOf(module: string): string {
  return `/${module.replace(/\.(?!\d)/g, '/')}`;
}

class EncoderGraph {
  readonly graph: GraphBuilder;
  private readonly constantNames = new Set<string>();
  private readonly nodeNameCounts = new Map<string, number>();
  private readonly hidden: number;
  private readonly heads: number;
  private readonly headSize: number;
  private readonly isDistilbert: boolean;

  constructor(
    private readonly arch: ModelArchitecture,
    private readonly opset: number,
    private readonly rng: Rng,
  ) {
    this.graph = new GraphBuilder(`${arch.model_type}_encoder`);
    this.hidden = arch.hidden_size;
    this.heads = arch.num_attention_heads;
    this.headSize = headSize(arch);
    this.isDistilbert = arch.model_type === 'distilbert';
  }

  /** Word + position (+ token type) embeddings, summed as (word + position) + token_type, then LayerNorm. */
  embeddings(names: ParameterNames): string {
    const scope = scopeOf(names.embeddings);
    const wordTable = this.parameter(names.wordEmbeddings, [this.arch.vocab_size, this.hidden], 'normal');
    const words = this.op(`${scope}/word_embeddings`, 'Gather', [wordTable, INPUT_IDS]);
    const positionIds = this.arch.model_type === 'roberta' ? this.robertaPositionIds(scope) : this.positionIds(scope);
    const positionTable = this.parameter(
      names.positionEmbeddings,
      [this.arch.max_position_embeddings, this.hidden],
      'normal',
    );
    const positions = this.op(`${scope}/position_embeddings`, 'Gather', [positionTable, positionIds]);
    let sum = this.op(scope, 'Add', [words, positions]);
    if (names.tokenTypeEmbeddings !== undefined) {
      const typeTable = this.parameter(names.tokenTypeEmbeddings, [this.arch.type_vocab_size, this.hidden], 'normal');
      const types = this.op(`${scope}/token_type_embeddings`, 'Gather', [typeTable, TOKEN_TYPE_IDS]);
      sum = this.op(scope, 'Add', [sum, types]);
    }
    return this.layerNorm(sum, names.embeddingNorm);
  }

  /** Positions 0..S-1 for every row, as Shape -> Gather(1) -> Range -> Unsqueeze -> Expand: one of
   * the position subgraphs that EmbedLayerNormalization fusion recognises. */
  private positionIds(scope: string): string {
    const shape = this.op(scope, 'Shape', [INPUT_IDS]);
    const sequenceLength = this.op(scope, 'Gather', [shape, this.int64Scalar(1)], { axis: attr.int(0) });
    const range = this.op(scope, 'Range', [this.int64Scalar(0), sequenceLength, this.int64Scalar(1)]);
    return this.op(scope, 'Expand', [this.unsqueeze(scope, range, [0]), shape]);
  }

  /** RoBERTa's create_position_ids_from_input_ids: non-pad tokens are numbered from pad_token_id + 1
   * by a running count, pad tokens get pad_token_id. */
  private robertaPositionIds(scope: string): string {
    const pad = this.int64Scalar(this.arch.pad_token_id);
    const isPad = this.op(scope, 'Equal', [INPUT_IDS, pad]);
    const isToken = this.op(scope, 'Cast', [this.op(scope, 'Not', [isPad])], { to: attr.int(INT64) });
    const counts = this.op(scope, 'CumSum', [isToken, this.int64Scalar(1)]);
    return this.op(scope, 'Add', [this.op(scope, 'Mul', [counts, isToken]), pad]);
  }

  /** BERT's extended mask (1 - mask[:, None, None, :]) * -10000, added to the attention scores. */
  additiveMask(names: ParameterNames): string {
    const scope = scopeOf(names.maskModule);
    const expanded = this.unsqueeze(scope, this.unsqueeze(scope, ATTENTION_MASK, [1]), [2]);
    const asFloat = this.op(scope, 'Cast', [expanded], { to: attr.int(FLOAT) });
    const inverted = this.op(scope, 'Sub', [this.floatScalar(1), asFloat]);
    return this.op(scope, 'Mul', [inverted, this.floatScalar(ADDITIVE_MASK_VALUE)]);
  }

  /** DistilBERT's (mask == 0).view(batch, 1, 1, S): true where the scores are masked_fill'ed. */
  maskedFillMask(names: ParameterNames): string {
    const scope = scopeOf(names.maskModule);
    const isPad = this.op(scope, 'Equal', [ATTENTION_MASK, this.int64Scalar(0)]);
    return this.op(scope, 'Reshape', [isPad, this.int64Vector([0, 1, 1, -1])]);
  }

  layer(input: string, names: LayerNames, mask: string, outputName: string | undefined): string {
    const scope = scopeOf(names.selfAttention);
    // DistilBERT's view(bs, -1, heads, head_size) gives -1 for the sequence; BERT's
    // view(size()[:-1] + (heads, head_size)) keeps the input's dim, which is 0 in a Reshape shape.
    const sequenceDim = this.isDistilbert ? -1 : 0;
    const splitShape = this.int64Vector([0, sequenceDim, this.heads, this.headSize]);
    const mergeShape = this.int64Vector([0, sequenceDim, this.hidden]);
    const splitHeads = (x: string, perm: number[]): string =>
      this.op(scope, 'Transpose', [this.op(scope, 'Reshape', [x, splitShape])], { perm: attr.ints(perm) });

    const query = splitHeads(this.linear(input, names.query, this.hidden, this.hidden), [0, 2, 1, 3]);
    // K goes straight to [batch, heads, head_size, S] with one Transpose, as the fusion requires; the
    // export's permute(0, 2, 1, 3) then transpose(-1, -2) compose to the same permutation.
    const keyT = splitHeads(this.linear(input, names.key, this.hidden, this.hidden), [0, 2, 3, 1]);
    const value = splitHeads(this.linear(input, names.value, this.hidden, this.hidden), [0, 2, 1, 3]);

    const sqrtHeadSize = this.floatScalar(Math.sqrt(this.headSize));
    let maskedScores: string;
    if (this.isDistilbert) {
      // DistilBERT scales Q before the product and masks with masked_fill(finfo.min).
      const scaledQuery = this.op(scope, 'Div', [query, sqrtHeadSize]);
      const scores = this.op(scope, 'MatMul', [scaledQuery, keyT]);
      maskedScores = this.op(scope, 'Where', [mask, this.floatScalar(FLOAT32_LOWEST), scores]);
    } else {
      const scores = this.op(scope, 'Div', [this.op(scope, 'MatMul', [query, keyT]), sqrtHeadSize]);
      maskedScores = this.op(scope, 'Add', [scores, mask]);
    }
    // axis=3 rather than -1: the fusion compares the attribute with 3.
    const probs = this.op(scope, 'Softmax', [maskedScores], { axis: attr.int(3) });
    const context = this.op(scope, 'MatMul', [probs, value]);
    const merged = this.op(scope, 'Reshape', [
      this.op(scope, 'Transpose', [context], { perm: attr.ints([0, 2, 1, 3]) }),
      mergeShape,
    ]);

    const attended = this.linear(merged, names.attentionOutput, this.hidden, this.hidden);
    const attentionOut = this.layerNorm(
      this.op(scopeOf(names.attentionResidual), 'Add', [attended, input]),
      names.attentionNorm,
    );
    const intermediate = this.gelu(
      this.linear(attentionOut, names.intermediate, this.hidden, this.arch.intermediate_size),
      scopeOf(names.activation),
    );
    const output = this.linear(intermediate, names.output, this.arch.intermediate_size, this.hidden);
    return this.layerNorm(
      this.op(scopeOf(names.outputResidual), 'Add', [output, attentionOut]),
      names.outputNorm,
      outputName,
    );
  }

  /** x @ W + b with the MatMul output as the Add's first input, as the fusions expect. */
  private linear(x: string, names: ModuleNames, inFeatures: number, outFeatures: number): string {
    const weight = this.parameter(names.weight, [inFeatures, outFeatures], 'normal');
    const bias = this.parameter(names.bias, [outFeatures], 'normal');
    const scope = scopeOf(names.module);
    return this.op(scope, 'Add', [this.op(scope, 'MatMul', [x, weight]), bias]);
  }

  /** LayerNorm over the last axis: one op from opset 17, else decomposed as torch exports it. */
  private layerNorm(x: string, names: ModuleNames, outputName?: string): string {
    const scope = scopeOf(names.module);
    const gamma = this.parameter(names.weight, [this.hidden], 'gamma');
    const beta = this.parameter(names.bias, [this.hidden], 'normal');
    if (this.opset >= 17) {
      return this.op(
        scope,
        'LayerNormalization',
        [x, gamma, beta],
        {
          axis: attr.int(-1),
          epsilon: attr.float(this.arch.layer_norm_eps),
        },
        outputName,
      );
    }
    const lastAxis = { axes: attr.ints([-1]), keepdims: attr.int(1) };
    const centered = this.op(scope, 'Sub', [x, this.op(scope, 'ReduceMean', [x], lastAxis)]);
    const variance = this.op(scope, 'ReduceMean', [this.op(scope, 'Pow', [centered, this.floatScalar(2)])], lastAxis);
    const std = this.op(scope, 'Sqrt', [this.op(scope, 'Add', [variance, this.floatScalar(this.arch.layer_norm_eps)])]);
    const normalized = this.op(scope, 'Div', [centered, std]);
    return this.op(scope, 'Add', [this.op(scope, 'Mul', [normalized, gamma]), beta], undefined, outputName);
  }

  /** Erf GELU as torch exports it: x * (erf(x / sqrt 2) + 1) * 0.5. */
  private gelu(x: string, scope: string): string {
    const erf = this.op(scope, 'Erf', [this.op(scope, 'Div', [x, this.floatScalar(SQRT2_FLOAT32)])]);
    const scaled = this.op(scope, 'Mul', [x, this.op(scope, 'Add', [erf, this.floatScalar(1)])]);
    return this.op(scope, 'Mul', [scaled, this.floatScalar(0.5)]);
  }

  /** Unsqueeze: `axes` is an attribute before opset 13 and an input from 13 on. */
  private unsqueeze(scope: string, x: string, axes: number[]): string {
    if (this.opset < 13) {
      return this.op(scope, 'Unsqueeze', [x], { axes: attr.ints(axes) });
    }
    return this.op(scope, 'Unsqueeze', [x, this.int64Vector(axes)]);
  }

  /** Adds a node named `<scope>/<OpType>[_<n>]` (torch's scheme) and returns its output. */
  private op(
    scope: string,
    opType: string,
    inputs: string[],
    attributes?: Record<string, Attribute>,
    outputName?: string,
  ): string {
    const base = `${scope}/${opType}`;
    const count = this.nodeNameCounts.get(base) ?? 0;
    this.nodeNameCounts.set(base, count + 1);
    const name = count === 0 ? base : `${base}_${count}`;
    const [output] = this.graph.addNode(opType, inputs, {
      name,
      ...(attributes ? { attributes } : {}),
      ...(outputName ? { outputs: [outputName] } : {}),
    });
    return output!;
  }

  /** Weights are drawn when the model is written, in initializer order: the same stream as drawing them here. */
  private parameter(name: string, dims: number[], init: 'normal' | 'gamma'): string {
    const mean = init === 'gamma' ? 1 : 0;
    const rng = this.rng;
    return this.graph.addInitializer(
      name,
      {
        length: dims.reduce((a, b) => a * b, 1),
        fill: (chunk: Float32Array) => void rng.fillNormal(chunk, mean, INIT_STD),
      },
      dims,
    );
  }

  private floatScalar(value: number): string {
    return this.constant(`const_float_${Math.fround(value)}`, () => new Float32Array([value]), []);
  }

  private int64Scalar(value: number): string {
    return this.constant(`const_int64_${value}`, () => new BigInt64Array([BigInt(value)]), []);
  }

  private int64Vector(values: number[]): string {
    return this.constant(`const_int64_[${values.join(',')}]`, () => BigInt64Array.from(values, BigInt), [
      values.length,
    ]);
  }

  /** One shared initializer per distinct constant. */
  private constant(name: string, data: () => Float32Array | BigInt64Array, dims: number[]): string {
    if (!this.constantNames.has(name)) {
      this.graph.addInitializer(name, data(), dims);
      this.constantNames.add(name);
    }
    return name;
  }
}
