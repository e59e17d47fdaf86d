/**
 * Feeds for a BERT-like model, built from what the model declares: each input is recognised by its
 * name (input_ids, attention_mask, token_type_ids, position_ids and their common aliases) and fed
 * with the integer type it declares. Token ids are drawn from the vocabulary with the run's seed
 * (never one repeated token, which some kernels would treat differently); the mask is all ones but
 * for a padded tail (scenario.padding); token types are zeros; positions count up from 0.
 */
import { ModelError } from './errors.js';
import { Rng } from '../util/rng.js';

export interface InputSpec {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

export type InputRole = 'input_ids' | 'attention_mask' | 'token_type_ids' | 'position_ids';

export interface Feed {
  readonly name: string;
  readonly role: InputRole;
  readonly type: 'int64' | 'int32';
  readonly dims: readonly [number, number];
  readonly data: BigInt64Array | Int32Array;
}

const ROLES: ReadonlyArray<readonly [InputRole, RegExp]> = [
  ['input_ids', /^(input_ids|input|ids|tokens)$/i],
  ['attention_mask', /^(attention_mask|input_mask|mask)$/i],
  ['token_type_ids', /^(token_type_ids|segment_ids|token_types?)$/i],
  ['position_ids', /^(position_ids|positions)$/i],
];

export function roleOf(name: string): InputRole | null {
  return ROLES.find(([, re]) => re.test(name))?.[0] ?? null;
}

/**
 * When the vocabulary is unknown (a user file whose graph does not show its embedding table), ids
 * are drawn below this: every BERT-like vocabulary has at least this many tokens.
 */
export const UNKNOWN_VOCABULARY_IDS = 1000;

/** Ids from the upper part of the vocabulary skip the special tokens packed at the start of BERT vocabularies. */
function tokenRange(vocabSize: number | null): [number, number] {
  const size = vocabSize ?? UNKNOWN_VOCABULARY_IDS;
  const low = size > 2000 ? 1000 : Math.min(5, size - 1);
  return [low, size];
}

/** What bench feeds, for messages about inputs it cannot. */
export const FEEDABLE =
  'bench feeds input_ids, attention_mask, token_type_ids, position_ids (int32/int64, shape [batch, sequence]) and their usual aliases';

/** The first input bench cannot feed (by its name, type or rank), or null when it can feed them all. */
export function unfeedableInput(specs: readonly InputSpec[]): InputSpec | null {
  return (
    specs.find(
      (spec) =>
        roleOf(spec.name) === null ||
        (spec.type !== 'int64' && spec.type !== 'int32') ||
        (spec.shape.length !== 0 && spec.shape.length !== 2),
    ) ?? null
  );
}

/** `'pixel_values' (float32 [batch, 3, 224, 224])`. */
export function describeInput(spec: InputSpec): string {
  return `'${spec.name}' (${spec.type}${spec.shape.length > 0 ? ` [${spec.shape.join(', ')}]` : ''})`;
}

export interface FeedOptions {
  readonly batchSize: number;
  readonly sequenceLength: number;
  /** Token ids are drawn below this; null when unknown (then below UNKNOWN_VOCABULARY_IDS). */
  readonly vocabSize: number | null;
  readonly seed: number;
  /**
   * Padding at the end of every sequence (scenario.padding): this many last tokens get mask 0 and the
   * pad token, as a tokenizer pads a shorter text; the other tokens are the same as without padding.
   */
  readonly paddedTokens?: number;
  /** The pad token written there (RoBERTa's positions depend on it); 0, BERT's [PAD], when unknown. */
  readonly padTokenId?: number | null;
  /**
   * Real text (inputs.text, src/inputs/): the ids and attention mask of every row, [batch x
   * sequence] flat, fed instead of drawn ones (token types stay zeros, positions count up).
   */
  readonly tokens?: { readonly ids: readonly number[]; readonly mask: readonly number[] };
}

/**
 * The padded tail of a sequence of `sequenceLength` tokens for scenario.padding = `fraction`: at least one real token
 * stays.
 */
export function paddedTail(fraction: number, sequenceLength: number): number {
  return Math.min(Math.floor(fraction * sequenceLength), sequenceLength - 1);
}

export function buildFeeds(specs: readonly InputSpec[], opts: FeedOptions): Feed[] {
  const { batchSize: b, sequenceLength: s } = opts;
  const rng = new Rng(opts.seed);
  const bad = unfeedableInput(specs);
  if (bad) throw new ModelError(`The model has an input ${describeInput(bad)} that bench cannot feed: ${FEEDABLE}`);
  const padded = opts.paddedTokens ?? 0;
  if ((padded > 0 || opts.tokens?.mask.includes(0)) && !specs.some((spec) => roleOf(spec.name) === 'attention_mask')) {
    throw new ModelError(
      `${opts.tokens ? 'inputs.text' : 'scenario.padding'}: the model has no attention mask input (${specs.map((spec) => spec.name).join(', ')}), so padding cannot be masked; use ${opts.tokens ? 'a sequence_length no text is shorter than' : 'scenario.padding=0'}`,
    );
  }
  const padId = opts.padTokenId ?? 0;
  const tokens = opts.tokens;
  if (tokens && (tokens.ids.length !== b * s || tokens.mask.length !== b * s))
    throw new ModelError(`the text inputs hold ${tokens.ids.length} tokens, not batch ${b} x sequence ${s}`);
  if (tokens && opts.vocabSize !== null) {
    const top = tokens.ids.reduce((m, id) => (id > m ? id : m), 0);
    if (top >= opts.vocabSize)
      throw new ModelError(
        `inputs.tokenizer: the texts have token id ${top}, and the model's vocabulary has ${opts.vocabSize} tokens: pass this model's own tokenizer (inputs.tokenizer=PATH to its tokenizer.json)`,
      );
  }
  const isPadding = (i: number): boolean => i % s >= s - padded;
  return specs.map((spec) => {
    // unfeedableInput has checked the name and the type.
    const role = roleOf(spec.name)!;
    const type = spec.type as Feed['type'];
    const [fixedBatch, fixedSeq] = spec.shape;
    if (
      (typeof fixedBatch === 'number' && fixedBatch > 0 && fixedBatch !== b) ||
      (typeof fixedSeq === 'number' && fixedSeq > 0 && fixedSeq !== s)
    ) {
      throw new ModelError(
        `The model's input '${spec.name}' has the fixed shape [${spec.shape.join(', ')}]: set batch_size=${String(fixedBatch)} sequence_length=${String(fixedSeq)}`,
      );
    }
    const values = new Array<number>(b * s);
    const [low, high] = tokenRange(opts.vocabSize);
    for (let i = 0; i < b * s; i++) {
      switch (role) {
        case 'input_ids': {
          if (tokens) {
            values[i] = tokens.ids[i]!;
            break;
          }
          // Drawn for padding too, so that the real tokens do not depend on how many are padded.
          const id = low + rng.int(high - low);
          values[i] = isPadding(i) ? padId : id;
          break;
        }
        case 'attention_mask':
          values[i] = tokens ? tokens.mask[i]! : isPadding(i) ? 0 : 1;
          break;
        case 'token_type_ids':
          values[i] = 0;
          break;
        case 'position_ids':
          values[i] = i % s;
          break;
      }
    }
    const data = type === 'int64' ? BigInt64Array.from(values, (v) => BigInt(v)) : Int32Array.from(values);
    return { name: spec.name, role, type, dims: [b, s] as const, data };
  });
}
