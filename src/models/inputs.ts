/**
 * Feeds for a BERT-like model, built from what the model declares: each input is recognised by its
 * name (input_ids, attention_mask, token_type_ids, position_ids and their common aliases) and fed
 * with the integer type it declares. Token ids are drawn from the vocabulary with the run's seed
 * (never one repeated token, which some kernels would treat differently); the mask is all ones;
 * token types are zeros; positions count up from 0.
 */
import { ModelError } from './errors.js';
import { Rng } from './rng.js';

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

/** Ids from the upper part of the vocabulary skip the special tokens packed at the start of BERT vocabularies. */
function tokenRange(vocabSize: number): [number, number] {
  const low = vocabSize > 2000 ? 1000 : Math.min(5, vocabSize - 1);
  return [low, vocabSize];
}

export function buildFeeds(specs: readonly InputSpec[], opts: { batchSize: number; sequenceLength: number; vocabSize: number; seed: number }): Feed[] {
  const { batchSize: b, sequenceLength: s } = opts;
  const rng = new Rng(opts.seed);
  return specs.map((spec) => {
    const role = roleOf(spec.name);
    if (role === null) {
      throw new ModelError(
        `The model has an input '${spec.name}' that bench cannot feed: it feeds input_ids, attention_mask, token_type_ids and position_ids (and their usual aliases)`,
      );
    }
    if (spec.type !== 'int64' && spec.type !== 'int32') {
      throw new ModelError(`The model's input '${spec.name}' is ${spec.type}; bench feeds token inputs as int64 or int32`);
    }
    if (spec.shape.length !== 0 && spec.shape.length !== 2) {
      throw new ModelError(`The model's input '${spec.name}' has shape [${spec.shape.join(', ')}]; bench feeds [batch, sequence]`);
    }
    const [fixedBatch, fixedSeq] = spec.shape;
    if ((typeof fixedBatch === 'number' && fixedBatch > 0 && fixedBatch !== b) || (typeof fixedSeq === 'number' && fixedSeq > 0 && fixedSeq !== s)) {
      throw new ModelError(
        `The model's input '${spec.name}' has the fixed shape [${spec.shape.join(', ')}]: set batch_size=${String(fixedBatch)} sequence_length=${String(fixedSeq)}`,
      );
    }
    const values = new Array<number>(b * s);
    const [low, high] = tokenRange(opts.vocabSize);
    for (let i = 0; i < b * s; i++) {
      switch (role) {
        case 'input_ids':
          values[i] = low + rng.int(high - low);
          break;
        case 'attention_mask':
          values[i] = 1;
          break;
        case 'token_type_ids':
          values[i] = 0;
          break;
        case 'position_ids':
          values[i] = i % s;
          break;
      }
    }
    const data = spec.type === 'int64' ? BigInt64Array.from(values, (v) => BigInt(v)) : Int32Array.from(values);
    return { name: spec.name, role, type: spec.type, dims: [b, s] as const, data };
  });
}
