/**
 * Real text inputs (inputs.text): the texts of a file, tokenized once in the bench process before
 * any instance starts (texts.ts reads them, tokenizer.ts finds the tokenizer). The latency scenario
 * feeds each instance the next batch_size texts, each truncated and padded to sequence_length as the
 * tokenizer's config says (fitToLength); the dispatch scenario draws its request lengths from the
 * texts' token lengths (scenario.lengths.distribution=dataset). Random ids stay the default.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../config/errors.js';
import type { RunConfig } from '../config/schema.js';
import { fileSha256, readTexts, type TextFile, type TextFormat } from './texts.js';
import { percentile } from '../stats/summary.js';
import {
  bundledTokenizer,
  explicitTokenizerFile,
  presetHasBundledVocab,
  tokenizerFileIn,
  tokenizerFromFile,
  type TextTokenizer,
  type TokenizerInfo,
} from './tokenizer.js';

export type { TokenizerInfo } from './tokenizer.js';

/** The texts, tokenized: what the scenarios feed from. */
export interface TextInputs {
  readonly file: string;
  readonly format: TextFormat;
  readonly column: string | null;
  /** The file holds more texts than inputs.max_texts let through. */
  readonly more: boolean;
  /** The file's sha256, so that two runs can tell they were fed the same texts. */
  readonly sha256: string;
  /** Texts read that gave no token (only characters the tokenizer drops): left out. */
  readonly empty: number;
  readonly tokenizer: TokenizerInfo;
  /** Each text's token ids, special tokens left out (fitToLength puts them back). */
  readonly contents: readonly (readonly number[])[];
}

/** One instance's batch, as flat [batch x sequence] rows. */
export interface TokenBatch {
  readonly ids: readonly number[];
  readonly mask: readonly number[];
}

/** What results.json says of the inputs of a run with inputs.text (`inputs`). */
export interface InputsSummary {
  readonly kind: 'text';
  readonly file: string;
  readonly format: TextFormat;
  readonly column: string | null;
  readonly texts: number;
  readonly more_in_file: boolean;
  readonly sha256: string;
  /** Texts left out because they gave no token. */
  readonly empty_texts: number;
  readonly tokenizer: TokenizerInfo;
  /** The texts' lengths in tokens, special tokens included, before any truncation. */
  readonly tokens: {
    readonly min: number;
    readonly median: number;
    readonly mean: number;
    readonly p90: number;
    readonly max: number;
  };
  /** The latency scenario: what each instance was fed. */
  readonly batches?: readonly FedBatch[];
}

export interface FedBatch {
  readonly instance: number;
  /** The texts fed (0-based, in file order; wrapping round when the file has fewer). */
  readonly first_text: number;
  readonly texts: number;
  readonly sequence_length: number;
  /** Tokens with attention mask 1, of batch x sequence_length. */
  readonly real_tokens: number;
  readonly padded_tokens: number;
  /** Texts longer than sequence_length, cut to it. */
  readonly truncated_texts: number;
}

/** A text's special tokens plus at least one token of it. */
export function minimumLength(t: TokenizerInfo): number {
  return t.prefix_ids.length + t.suffix_ids.length + 1;
}

/** A text's ids fitted to `length` tokens: truncated and padded on the sides the tokenizer's config names. */
export function fitToLength(
  t: TokenizerInfo,
  content: readonly number[],
  length: number,
): { ids: number[]; mask: number[]; truncated: boolean } {
  const room = length - t.prefix_ids.length - t.suffix_ids.length;
  if (room < 1)
    throw new ConfigError(
      `sequence_length=${length}: too short for the tokenizer's special tokens and one token of text: use sequence_length>=${minimumLength(t)}`,
    );
  const truncated = content.length > room;
  const kept = !truncated
    ? content
    : t.truncation_side === 'left'
      ? content.slice(content.length - room)
      : content.slice(0, room);
  const real = [...t.prefix_ids, ...kept, ...t.suffix_ids];
  const pads = new Array<number>(length - real.length).fill(t.pad_token_id);
  const ones = new Array<number>(real.length).fill(1);
  const zeros = new Array<number>(pads.length).fill(0);
  return t.padding_side === 'left'
    ? { ids: [...pads, ...real], mask: [...zeros, ...ones], truncated }
    : { ids: [...real, ...pads], mask: [...ones, ...zeros], truncated };
}

/** `batchSize` texts from `first` (wrapping round), each fitted to `length`. */
export function batchOf(
  inputs: TextInputs,
  first: number,
  batchSize: number,
  length: number,
): TokenBatch & { readonly truncated: number } {
  const ids: number[] = [];
  const mask: number[] = [];
  let truncated = 0;
  for (let k = 0; k < batchSize; k++) {
    const row = fitToLength(inputs.tokenizer, inputs.contents[(first + k) % inputs.contents.length]!, length);
    ids.push(...row.ids);
    mask.push(...row.mask);
    if (row.truncated) truncated++;
  }
  return { ids, mask, truncated };
}

/** The first text of each instance's batch: the run's batch is the first texts, split in instance order. */
export function batchStarts(batchSizes: readonly number[]): number[] {
  let next = 0;
  return batchSizes.map((b) => {
    const start = next;
    next += b;
    return start;
  });
}

/** What each instance of a latency run is fed. */
export function fedBatches(
  inputs: TextInputs,
  instances: readonly { readonly index: number; readonly batch_size: number }[],
  length: number,
): FedBatch[] {
  const starts = batchStarts(instances.map((i) => i.batch_size));
  return instances.map((inst, k) => {
    const b = batchOf(inputs, starts[k]!, inst.batch_size, length);
    const real = b.mask.reduce((s, m) => s + m, 0);
    return {
      instance: inst.index,
      first_text: starts[k]! % inputs.contents.length,
      texts: inst.batch_size,
      sequence_length: length,
      real_tokens: real,
      padded_tokens: b.mask.length - real,
      truncated_texts: b.truncated,
    };
  });
}

/** Each text's length in tokens with its special tokens, cut at `cap` (the tokenizer's or model's longest). */
export function tokenLengths(inputs: TextInputs, cap: number | null = null): number[] {
  const specials = inputs.tokenizer.prefix_ids.length + inputs.tokenizer.suffix_ids.length;
  return inputs.contents.map((c) => {
    const n = c.length + specials;
    return cap === null ? n : Math.min(n, cap);
  });
}

export function summarizeInputs(inputs: TextInputs, batches?: readonly FedBatch[]): InputsSummary {
  const lengths = tokenLengths(inputs).sort((a, b) => a - b);
  return {
    kind: 'text',
    file: inputs.file,
    format: inputs.format,
    column: inputs.column,
    texts: inputs.contents.length,
    more_in_file: inputs.more,
    sha256: inputs.sha256,
    empty_texts: inputs.empty,
    tokenizer: inputs.tokenizer,
    tokens: {
      min: lengths[0]!,
      median: percentile(lengths, 0.5),
      mean: lengths.reduce((s, n) => s + n, 0) / lengths.length,
      p90: percentile(lengths, 0.9),
      max: lengths.at(-1)!,
    },
    ...(batches ? { batches } : {}),
  };
}

/** The model's own tokenizer: a local folder's, a hub repository's, or the bundled vocabulary (uncased presets). */
async function modelTokenizer(cfg: RunConfig, env: NodeJS.ProcessEnv): Promise<TextTokenizer> {
  const m = cfg.model;
  if (m.path !== null) {
    const full = statSync(m.path, { throwIfNoEntry: false });
    // A folder (or its onnx/ folder), or a file in it or in its onnx/ folder.
    const dirs = full?.isDirectory() ? [m.path, dirname(m.path)] : [dirname(m.path), dirname(dirname(m.path))];
    for (const dir of dirs) {
      const file = tokenizerFileIn(dir);
      if (file !== null) return tokenizerFromFile(file, 'model folder', 'inputs.tokenizer', configPadId(dir));
    }
    throw new ConfigError(
      `inputs.text: no tokenizer.json or vocab.txt beside model.path=${m.path}: pass the model's tokenizer with inputs.tokenizer=PATH (its tokenizer.json)`,
    );
  }
  if (m.source === 'hub' && m.id !== null) return hubTokenizer(m.id, m.revision, env);
  if (presetHasBundledVocab(m)) {
    const t = await bundledTokenizer();
    return { ...t, info: { ...t.info, pad_token_id: m.pad_token_id } };
  }
  throw new ConfigError(
    `inputs.text: model=${m.name} is synthesized and bench ships no tokenizer for its vocabulary (${m.vocab_size} tokens, ${m.model_type}); pass the tokenizer of the model it stands for: inputs.tokenizer=PATH to its tokenizer.json (e.g. from the ${m.name} repository on the Hugging Face hub)`,
  );
}

/** A model folder's config.json pad_token_id (null when it has none). */
function configPadId(dir: string): number | null {
  try {
    const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { pad_token_id?: unknown };
    return typeof json.pad_token_id === 'number' ? json.pad_token_id : null;
  } catch {
    return null;
  }
}

/**
 * A hub model's tokenizer: tokenizer.json and tokenizer_config.json, else vocab.txt, fetched (or
 * found in the cache) at the model's revision, as the model is.
 */
async function hubTokenizer(id: string, revision: string, env: NodeJS.ProcessEnv): Promise<TextTokenizer> {
  const { downloadHubModel } = await import('../models/hub.js');
  const fetch = async (names: string[]) => {
    try {
      return await downloadHubModel(id, { revision, files: names.map((path) => ({ path, optional: true })), env });
    } catch (err) {
      throw new ConfigError(`inputs.text: ${(err as Error).message}; or pass the tokenizer with inputs.tokenizer=PATH`);
    }
  };
  let got = await fetch(['tokenizer.json', 'tokenizer_config.json', 'config.json']);
  let name = 'tokenizer.json';
  if (got.files['tokenizer.json'] === null) {
    got = await fetch(['vocab.txt', 'tokenizer_config.json', 'config.json']);
    name = 'vocab.txt';
  }
  const file = got.files[name] ?? null;
  if (file === null)
    throw new ConfigError(
      `inputs.text: model.id=${id} has no tokenizer.json or vocab.txt: pass a tokenizer with inputs.tokenizer=PATH`,
    );
  const t = await tokenizerFromFile(file, 'hub', 'inputs.tokenizer', configPadId(dirname(file)));
  return { ...t, info: { ...t.info, file: `${id}@${got.commit.slice(0, 12)}/${name}` } };
}

const memo = new Map<string, Promise<TextInputs>>();

/**
 * The texts of inputs.text, tokenized (null when inputs.text is null). Memoized per file (and its
 * size and mtime), column, limit and tokenizer, so a sweep's jobs tokenize once.
 */
export function prepareTextInputs(cfg: RunConfig, env: NodeJS.ProcessEnv = process.env): Promise<TextInputs> | null {
  const i = cfg.inputs;
  if (!i || i.text === null) return null;
  const st = statSync(i.text, { throwIfNoEntry: false });
  const key = JSON.stringify([
    i.text,
    st?.size,
    st?.mtimeMs,
    i.column,
    i.max_texts,
    i.tokenizer,
    cfg.model.path,
    cfg.model.source,
    cfg.model.id,
    cfg.model.revision,
    cfg.model.vocab_size,
    cfg.model.model_type,
    cfg.model.pad_token_id,
  ]);
  let p = memo.get(key);
  if (!p) {
    p = loadTextInputs(cfg, env);
    memo.set(key, p);
    p.catch(() => memo.delete(key));
  }
  return p;
}

async function loadTextInputs(cfg: RunConfig, env: NodeJS.ProcessEnv): Promise<TextInputs> {
  const i = cfg.inputs!;
  const file: TextFile = await readTexts(i.text!, i.column, i.max_texts);
  const tokenizer =
    i.tokenizer !== null
      ? await tokenizerFromFile(
          explicitTokenizerFile(i.tokenizer),
          'inputs.tokenizer',
          'inputs.tokenizer',
          cfg.model.pad_token_id,
        )
      : await modelTokenizer(cfg, env);
  // A text of nothing but what the tokenizer drops (control or zero-width characters) has no tokens: left out.
  const all = file.texts.map((text) => tokenizer.encode(text));
  const contents = all.filter((c) => c.length > 0);
  if (contents.length === 0)
    throw new ConfigError(
      `inputs.text=${i.text}: none of its ${all.length} texts gives a token with ${tokenizer.info.file}; check the file and inputs.column`,
    );
  const vocab = cfg.model.path === null && cfg.model.source === 'synthetic' ? cfg.model.vocab_size : null;
  if (vocab !== null) {
    let top = Math.max(0, ...tokenizer.info.prefix_ids, ...tokenizer.info.suffix_ids);
    for (const c of contents) for (const id of c) if (id > top) top = id;
    if (top >= vocab)
      throw new ConfigError(
        `inputs.tokenizer: ${tokenizer.info.file} gives token id ${top}, and model=${cfg.model.name} has ${vocab} tokens: pass the tokenizer of this model (same vocabulary)`,
      );
  }
  return {
    file: file.file,
    format: file.format,
    column: file.column,
    more: file.more,
    sha256: fileSha256(file.file),
    empty: all.length - contents.length,
    tokenizer: tokenizer.info,
    contents,
  };
}
