/**
 * A user's model is described by itself, not by the preset whose fields fill the config: its
 * architecture from its config.json or its graph's weights (so the FLOP count, and with it the
 * compute efficiency, is the model's own, or omitted with the reason), its name from its file,
 * folder or hub id, and inputs bench cannot feed refused in the parent, naming model.path.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';

import { parseOverride } from '../../src/config/grammar.js';
import { composeJob, openRepository, PACKAGE_CONFIG_DIR, resolveTask } from '../../src/config/load.js';
import { forwardFlops, type ModelArchitecture } from '../../src/models/arch.js';
import { GraphBuilder } from '../../src/models/onnx-builder.js';
import { architectureFromGraph, int8Operators, outlineOnnx } from '../../src/models/onnx-scan.js';
import { DEFAULT_QUANTIZATION, quantizeModel } from '../../src/models/quantize.js';
import { preoptimize } from '../../src/models/quantize-file.js';
import { resolveModel } from '../../src/models/resolve.js';
import { synthesizeModel } from '../../src/models/synthesize.js';
import { BERT_TINY, miniModelConfig } from '../fixtures/models.js';
import { bench, freshDir, onlyEntry } from '../helpers.js';

const workDir = freshDir('bench-user-model-');
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const save = (name: string, bytes: Uint8Array): string => {
  const file = join(workDir, name);
  writeFileSync(file, bytes);
  return file;
};

const graphArch = (file: string) => architectureFromGraph(outlineOnnx(file));

/** What the graph shows of `arch`: everything the FLOP count needs, and the embedding tables' rows. */
const shown = (arch: ModelArchitecture) => ({
  vocab_size: arch.vocab_size,
  hidden_size: arch.hidden_size,
  num_hidden_layers: arch.num_hidden_layers,
  intermediate_size: arch.intermediate_size,
  max_position_embeddings: arch.max_position_embeddings,
});

/** input_ids -> Gather(table) only: an embedding without any encoder layer after it. */
function embeddingOnly(): Uint8Array {
  const g = new GraphBuilder('embedding-only');
  g.addInput('input_ids', 'int64', ['batch', 'sequence']);
  g.addInitializer(
    'words',
    Float32Array.from({ length: 100 * 16 }, (_, i) => Math.sin(i) * 0.02),
    [100, 16],
  );
  g.addNode('Gather', ['words', 'input_ids'], { name: 'embed', outputs: ['hidden'] });
  g.addOutput('hidden', 'float32', ['batch', 'sequence', 16]);
  return g.serialize(13);
}

describe('the architecture read from the graph (no config.json)', () => {
  const tiny = synthesizeModel(BERT_TINY, { seed: 42, opset: 12 });

  it.each<[string, ModelArchitecture, number]>([
    ['bert-tiny, opset 12', BERT_TINY, 12],
    ['bert-tiny, opset 14', BERT_TINY, 14],
    [
      'a distilbert (no token types)',
      { ...BERT_TINY, model_type: 'distilbert', num_hidden_layers: 3, intermediate_size: 96, type_vocab_size: 0 },
      14,
    ],
    [
      'a roberta (positions from a cumulative sum)',
      {
        ...BERT_TINY,
        model_type: 'roberta',
        vocab_size: 500,
        max_position_embeddings: 130,
        pad_token_id: 1,
        type_vocab_size: 1,
      },
      12,
    ],
  ])('%s: vocabulary, hidden, layers, intermediate and positions are the synthesized ones', (name, arch, opset) => {
    const got = graphArch(save(`${name.replace(/\W+/g, '-')}.onnx`, synthesizeModel(arch, { seed: 1, opset })));
    expect(got.note).toBeNull();
    expect(got.arch).toMatchObject(shown(arch));
    // Not in the weights: left unknown rather than guessed.
    expect(got.arch).toMatchObject({ num_attention_heads: null, model_type: null, layer_norm_eps: null });
    expect(got.arch.type_vocab_size).toBe(arch.model_type === 'distilbert' ? null : arch.type_vocab_size);
  });

  it('reads the graph ONNX Runtime optimized (EmbedLayerNormalization, Attention with packed Q/K/V weights)', async () => {
    const optimized = join(workDir, 'tiny-optimized.onnx');
    const s = await ort.InferenceSession.create(tiny, {
      graphOptimizationLevel: 'all',
      optimizedModelFilePath: optimized,
      intraOpNumThreads: 1,
      logSeverityLevel: 3,
    });
    await s.release();
    expect(readFileSync(optimized).includes(Buffer.from('EmbedLayerNormalization'))).toBe(true);
    const got = graphArch(optimized);
    expect(got.note).toBeNull();
    expect(got.arch).toMatchObject(shown(BERT_TINY));
  });

  it('reads int8 files: DynamicQuantizeMatMul weights, and QAttention after pre-optimization', async () => {
    const plain = graphArch(save('tiny-int8.onnx', quantizeModel(tiny, DEFAULT_QUANTIZATION).bytes));
    expect(plain.arch).toMatchObject(shown(BERT_TINY));
    const fused = quantizeModel(await preoptimize(tiny), { ...DEFAULT_QUANTIZATION, preoptimize: true }).bytes;
    expect(Buffer.from(fused).includes(Buffer.from('QAttention'))).toBe(true);
    expect(graphArch(save('tiny-int8-qattention.onnx', fused)).arch).toMatchObject(shown(BERT_TINY));
  });

  it('tells an int8 graph by its integer multiplies: dynamic (DynamicQuantizeMatMul) and static QDQ', () => {
    expect(int8Operators(outlineOnnx(save('int8-ops.onnx', quantizeModel(tiny, DEFAULT_QUANTIZATION).bytes)))).toEqual([
      'DynamicQuantizeMatMul',
    ]);
    expect(int8Operators(outlineOnnx(save('fp32-ops.onnx', tiny)))).toEqual([]);
    // QDQ: DequantizeLinear of a weight feeding a plain MatMul.
    const g = new GraphBuilder('qdq');
    g.addInput('x', 'float32', [1, 4]);
    g.addInitializer('w_scale', new Float32Array([0.1]), []);
    g.addInitializer('w_q', new Int32Array(16), [4, 4]);
    g.addNode('DequantizeLinear', ['w_q', 'w_scale'], { name: 'dq', outputs: ['w'] });
    g.addNode('MatMul', ['x', 'w'], { name: 'mm', outputs: ['y'] });
    g.addOutput('y', 'float32', [1, 4]);
    expect(int8Operators(outlineOnnx(save('qdq.onnx', g.serialize(13))))).toEqual(['MatMul (QDQ)']);
  });

  it('says what it cannot read instead of guessing', () => {
    const got = graphArch(save('embedding-only.onnx', embeddingOnly()));
    expect(got.arch).toMatchObject({
      vocab_size: 100,
      hidden_size: 16,
      num_hidden_layers: null,
      intermediate_size: null,
    });
    expect(got.note).toContain('no feed-forward weights of the hidden size 16');
  });

  it('lists the graph inputs a caller feeds, with types and shapes, and not the initializers', () => {
    const file = save('tiny-inputs.onnx', tiny);
    expect(outlineOnnx(file).inputs).toEqual([
      { name: 'input_ids', type: 'int64', shape: ['batch', 'sequence'] },
      { name: 'attention_mask', type: 'int64', shape: ['batch', 'sequence'] },
      { name: 'token_type_ids', type: 'int64', shape: ['batch', 'sequence'] },
    ]);
  });
});

describe('resolving a user model', () => {
  const cacheEnv = { BENCH_CACHE_DIR: join(workDir, 'cache') };

  it("a bare file gets the graph's architecture, not the preset's", async () => {
    const file = save('u.onnx', synthesizeModel(BERT_TINY, { seed: 42, opset: 12 }));
    // The config's fields are bert-base-cased's, as when a user gives only model.path.
    const m = await resolveModel(
      miniModelConfig({
        path: file,
        vocab_size: 28996,
        hidden_size: 768,
        num_hidden_layers: 12,
        intermediate_size: 3072,
      }),
      1,
      cacheEnv,
    );
    expect(m).toMatchObject({ arch_source: 'graph', arch_note: null });
    expect(m.arch).toMatchObject(shown(BERT_TINY));
  });

  it('config.json fields come first; the graph fills what it leaves out', async () => {
    const folder = join(workDir, 'hf-folder');
    mkdirSync(join(folder, 'onnx'), { recursive: true });
    writeFileSync(join(folder, 'onnx', 'model.onnx'), synthesizeModel(BERT_TINY, { seed: 42, opset: 12 }));
    writeFileSync(
      join(folder, 'config.json'),
      JSON.stringify({ model_type: 'bert', hidden_size: 64, num_attention_heads: 2 }),
    );
    const m = await resolveModel(miniModelConfig({ path: folder }), 1, cacheEnv);
    expect(m).toMatchObject({ arch_source: 'config.json + graph', arch_note: null });
    expect(m.arch).toMatchObject({ ...shown(BERT_TINY), model_type: 'bert', num_attention_heads: 2 });
  });

  it('model.file picks another ONNX file of a folder; it stays inside the folder and needs a folder', async () => {
    const folder = join(workDir, 'hf-folder-files');
    mkdirSync(join(folder, 'onnx'), { recursive: true });
    writeFileSync(join(folder, 'onnx', 'model.onnx'), synthesizeModel(BERT_TINY, { seed: 42, opset: 12 }));
    const small = { ...BERT_TINY, intermediate_size: 40 };
    writeFileSync(join(folder, 'onnx', 'model_small.onnx'), synthesizeModel(small, { seed: 42, opset: 12 }));
    const m = await resolveModel(miniModelConfig({ path: folder, file: 'onnx/model_small.onnx' }), 1, cacheEnv);
    expect(m.file).toBe(join(folder, 'onnx', 'model_small.onnx'));
    expect(m.arch.intermediate_size).toBe(40);
    await expect(resolveModel(miniModelConfig({ path: folder, file: 'onnx/nope.onnx' }), 1, cacheEnv)).rejects.toThrow(
      'model.file=onnx/nope.onnx: ',
    );
    await expect(resolveModel(miniModelConfig({ path: folder, file: '../../x.onnx' }), 1, cacheEnv)).rejects.toThrow(
      'leads outside',
    );
    await expect(
      resolveModel(miniModelConfig({ path: join(folder, 'onnx', 'model.onnx'), file: 'model.onnx' }), 1, cacheEnv),
    ).rejects.toThrow('model.file=model.onnx: model.path is a file already');
  });

  it('says why the FLOP count is unknown when neither says', async () => {
    const file = save('embedding-only-model.onnx', embeddingOnly());
    const m = await resolveModel(miniModelConfig({ path: file }), 1, cacheEnv);
    expect(m.arch.num_hidden_layers).toBeNull();
    expect(m.arch_note).toMatch(
      /^num_hidden_layers and intermediate_size: not readable from the graph \(the graph has no feed-forward weights .*\), and there is no config\.json/,
    );
  });

  it('refuses a model with an input bench cannot feed, naming model.path, the file and the input', async () => {
    const g = new GraphBuilder('image');
    g.addInput('pixel_values', 'float32', ['batch', 3, 224, 224]);
    g.addNode('Identity', ['pixel_values'], { name: 'id', outputs: ['out'] });
    g.addOutput('out', 'float32', ['batch', 3, 224, 224]);
    const file = save('vision.onnx', g.serialize(13));
    await expect(resolveModel(miniModelConfig({ path: file }), 1, cacheEnv)).rejects.toThrow(
      `model.path: ${file} has an input 'pixel_values' (float32 [batch, 3, 224, 224]) that bench cannot feed: bench feeds input_ids, attention_mask, token_type_ids, position_ids (int32/int64`,
    );
  });
});

describe('names: a user file by its file or folder name, a hub model by its id', () => {
  const nameOf = (overrides: string[]): string => {
    const src = { configDir: PACKAGE_CONFIG_DIR, extraDirs: [], configName: 'config' };
    return resolveTask(composeJob(openRepository(src), src, overrides.map(parseOverride), { version: 'test' }).config)
      .runConfig.model.name;
  };

  it.each<[string[], string]>([
    [[], 'bert-base-cased'],
    [['model=bert-tiny'], 'bert-tiny'],
    [['model.path=/models/u.onnx'], 'u.onnx'],
    [['model=bert-tiny', 'model.path=/models/exported/'], 'exported'],
    [['model.source=hub', 'model.id=Xenova/roberta-base'], 'Xenova/roberta-base'],
    // A name the user gave is kept.
    [['model.path=/models/u.onnx', 'model.name=mine'], 'mine'],
  ])('%j -> %s', (overrides, name) => {
    expect(nameOf(overrides)).toBe(name);
  });

  it("the preset's sequence limit does not apply to a user model (its own is checked once it is read)", () => {
    expect(() => nameOf(['model=bert-tiny', 'sequence_length=1024'])).toThrow('longer than bert-tiny allows');
    expect(nameOf(['model=bert-tiny', 'sequence_length=1024', 'model.path=/models/long.onnx'])).toBe('long.onnx');
  });
});

describe('bench with a synthesized bert-tiny saved to disk and run as a user file', () => {
  const env = { BENCH_CACHE_DIR: join(workDir, 'cli-cache') };
  const QUICK = [
    'backend=onnxruntime',
    'benchmark_duration=0.2',
    'warmup_runs=1',
    'scenario.min_iterations=3',
    'sequence_length=32',
    'backend.num_threads=1',
  ];
  const dir = join(workDir, 'cli');
  mkdirSync(join(dir, 'tiny-folder', 'onnx'), { recursive: true });
  const file = join(dir, 'u.onnx');
  writeFileSync(file, synthesizeModel(BERT_TINY, { seed: 42, opset: 12 }));
  copyFileSync(file, join(dir, 'tiny-folder', 'onnx', 'model.onnx'));
  writeFileSync(join(dir, 'tiny-folder', 'config.json'), JSON.stringify({ ...BERT_TINY, model_type: 'bert' }));
  const flops = forwardFlops(BERT_TINY, 1, 32);

  interface Result {
    config: { model: { name: string } };
    backend: { model: { name: string; architecture: Record<string, unknown>; architecture_source: string } };
    efficiency: { flops_per_forward?: number; omitted?: string } | null;
  }
  const run = (args: string[]) => {
    const r = bench([...args, ...QUICK], { env });
    const result = JSON.parse(
      readFileSync(join(onlyEntry(onlyEntry(join(r.cwd, 'outputs'))), 'results.json'), 'utf8'),
    ) as Result;
    return { ...r, result };
  };

  it("is named by its file and reports bert-tiny's FLOPs", () => {
    const r = run([`model.path=${file}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('bench: u.onnx · weights from the model file');
    expect(r.stdout).not.toContain('bert-base-cased');
    expect(r.result.config.model.name).toBe('u.onnx');
    expect(r.result.backend.model).toMatchObject({
      name: 'u.onnx',
      architecture_source: 'graph',
      architecture: shown(BERT_TINY),
    });
    expect(r.result.efficiency?.flops_per_forward).toBe(flops);
  });

  it('a Hugging Face folder is named by the folder; its config.json gives the architecture', () => {
    const r = run([`model.path=${join(dir, 'tiny-folder')}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('bench: tiny-folder · weights from the model file');
    expect(r.result.config.model.name).toBe('tiny-folder');
    expect(r.result.backend.model).toMatchObject({
      architecture_source: 'config.json',
      architecture: { ...BERT_TINY },
    });
    expect(r.result.efficiency?.flops_per_forward).toBe(flops);
  });

  it('omits the compute figure, with the reason, when the architecture cannot be read', () => {
    const r = run([`model.path=${save('no-encoder.onnx', embeddingOnly())}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /compute {4}not given: the FLOPs of no-encoder\.onnx are unknown: num_hidden_layers and intermediate_size: not readable from the graph/,
    );
    expect(r.stdout).not.toContain('GFLOP/s');
    expect(r.result.efficiency?.omitted).toContain('no feed-forward weights');
  });

  it('checks the sequence length against the positions the file has', () => {
    const r = bench([`model.path=${file}`, ...QUICK, 'sequence_length=600'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'sequence_length: 600 is longer than u.onnx allows (512 positions): use sequence_length<=512',
    );
  });
});
