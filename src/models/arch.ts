// Architecture of a BERT-like encoder, with the field names of the Hugging Face config.json.
import type { ModelConfig } from '../config/schema.js';

export type ModelType = 'bert' | 'distilbert' | 'roberta';

export interface ModelArchitecture {
  model_type: ModelType;
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  max_position_embeddings: number;
  /** Ignored for distilbert, which has no token type embeddings. */
  type_vocab_size: number;
  hidden_act: 'gelu';
  layer_norm_eps: number;
  pad_token_id: number;
}

/**
 * An architecture as far as its source shows it: a field is null where neither the preset, the
 * model's config.json nor its graph says it (a user file's head count, for one, is not in its weights).
 */
export type KnownArchitecture = { readonly [K in keyof ModelArchitecture]: ModelArchitecture[K] | null };

/**
 * The fields the FLOP count needs. The head count is not one of them: the attention products cost
 * 2 * 2 * batch * S^2 * hidden per layer however the hidden size is split into heads.
 */
export type FlopShape = Pick<ModelArchitecture, 'hidden_size' | 'num_hidden_layers' | 'intermediate_size'>;

export const FLOP_FIELDS = ['hidden_size', 'num_hidden_layers', 'intermediate_size'] as const;

/** The FLOP count's fields of `arch`, or null when one of them is unknown. */
export function flopShape(arch: KnownArchitecture): FlopShape | null {
  const { hidden_size, num_hidden_layers, intermediate_size } = arch;
  if (hidden_size === null || num_hidden_layers === null || intermediate_size === null) return null;
  return { hidden_size, num_hidden_layers, intermediate_size };
}

/** Whether the model has a token type embedding table and a `token_type_ids` input. */
export function hasTokenTypes(arch: ModelArchitecture): boolean {
  return arch.model_type !== 'distilbert';
}

export function headSize(arch: ModelArchitecture): number {
  return arch.hidden_size / arch.num_attention_heads;
}

/** The sizes an architecture must give, each a positive integer. */
export const SIZE_FIELDS = [
  'vocab_size',
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'intermediate_size',
  'max_position_embeddings',
] as const;

/** Throws on shapes the synthesizer and the fused ONNX Runtime kernels cannot represent. */
export function validateArchitecture(arch: ModelArchitecture): void {
  for (const key of SIZE_FIELDS) {
    const value = arch[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new RangeError(`${key} must be a positive integer, got ${String(value)}`);
    }
  }
  if (arch.hidden_size % arch.num_attention_heads !== 0) {
    throw new RangeError(
      `hidden_size (${arch.hidden_size}) must be divisible by num_attention_heads (${arch.num_attention_heads})`,
    );
  }
  if (hasTokenTypes(arch) && (!Number.isInteger(arch.type_vocab_size) || arch.type_vocab_size <= 0)) {
    throw new RangeError(`type_vocab_size must be a positive integer for ${arch.model_type}`);
  }
  if (!(arch.layer_norm_eps > 0)) {
    throw new RangeError(`layer_norm_eps must be positive, got ${arch.layer_norm_eps}`);
  }
  if (!Number.isInteger(arch.pad_token_id) || arch.pad_token_id < 0 || arch.pad_token_id >= arch.vocab_size) {
    throw new RangeError(`pad_token_id must be a token id in [0, vocab_size), got ${arch.pad_token_id}`);
  }
}

/**
 * Number of trainable parameters of the encoder as synthesized: embeddings (word, position, token
 * type where the model has them, LayerNorm) and the layers. There is no pooler: Hugging Face's
 * BertModel/RobertaModel add hidden_size^2 + hidden_size for it (bert-base-cased: 108,310,272 with
 * the pooler, 107,719,680 without).
 */
export function countParameters(arch: ModelArchitecture): number {
  const h = arch.hidden_size;
  const i = arch.intermediate_size;
  const typeRows = hasTokenTypes(arch) ? arch.type_vocab_size : 0;
  const embeddings = (arch.vocab_size + arch.max_position_embeddings + typeRows) * h + 2 * h;
  const attention = 4 * (h * h + h) + 2 * h; // Q, K, V, output dense; LayerNorm
  const feedForward = h * i + i + i * h + h + 2 * h; // two dense layers; LayerNorm
  return embeddings + arch.num_hidden_layers * (attention + feedForward);
}

/**
 * Floating-point operations of one forward pass over `batch` sequences of `sequence` tokens,
 * counting a multiply-add as 2 FLOPs:
 *
 *   tokens = batch * sequence
 *   dense     = 2 * tokens * (4 * H^2 + 2 * H * I)        per layer (Q, K, V, output; FFN in and out)
 *   attention = 2 * 2 * batch * heads * S^2 * head_size   per layer (Q.K^T scores; probs.V context)
 *             = 4 * batch * S^2 * H
 *   total     = layers * (dense + attention)
 *
 * Not counted: embedding lookups, bias adds, LayerNorm, softmax, GELU, the attention mask and
 * residual adds: they are O(tokens * (H + I)) per layer, well under 1% of the total for bert-base.
 */
export function forwardFlops(arch: FlopShape, batch: number, sequence: number): number {
  const h = arch.hidden_size;
  const tokens = batch * sequence;
  const dense = 2 * tokens * (4 * h * h + 2 * h * arch.intermediate_size);
  const attention = 4 * batch * sequence * sequence * h;
  return arch.num_hidden_layers * (dense + attention);
}

/** The architecture fields of a `model` config. */
export function architectureOf(m: ModelConfig): ModelArchitecture {
  return {
    model_type: m.model_type,
    vocab_size: m.vocab_size,
    hidden_size: m.hidden_size,
    num_hidden_layers: m.num_hidden_layers,
    num_attention_heads: m.num_attention_heads,
    intermediate_size: m.intermediate_size,
    max_position_embeddings: m.max_position_embeddings,
    type_vocab_size: m.type_vocab_size,
    hidden_act: m.hidden_act,
    layer_norm_eps: m.layer_norm_eps,
    pad_token_id: m.pad_token_id,
  };
}
