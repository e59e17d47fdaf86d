import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/config/schema.js';
import { resolveModel, synthesisKey, architectureOf } from '../../src/models/resolve.js';
import { miniModelConfig } from '../fixtures/models.js';

const TINY: ModelConfig = miniModelConfig();

const env = (): NodeJS.ProcessEnv => ({ BENCH_CACHE_DIR: mkdtempSync(join(tmpdir(), 'bench-cache-')) });

describe('model resolution', () => {
  it('synthesizes once, then reuses the cached file', async () => {
    const e = env();
    const first = await resolveModel(TINY, 1, e);
    expect(first).toMatchObject({ source: 'synthetic', weights: 'random (synthesized)', cached: false });
    const second = await resolveModel(TINY, 1, e);
    expect(second.cached).toBe(true);
    expect(second.file).toBe(first.file);
    expect(second.prepare_ms).toBe(0);
  });

  it('keys the cache on everything that changes the bytes', () => {
    const arch = architectureOf(TINY);
    const key = synthesisKey(arch, 12, 'fp32', 1);
    expect(synthesisKey(arch, 12, 'fp32', 2)).not.toBe(key);
    expect(synthesisKey(arch, 14, 'fp32', 1)).not.toBe(key);
    expect(synthesisKey({ ...arch, hidden_size: 64 }, 12, 'fp32', 1)).not.toBe(key);
    expect(synthesisKey(arch, 12, 'fp32', 1)).toBe(key);
  });

  it('reads a local Hugging Face folder: config.json sets the architecture', async () => {
    const e = env();
    const synthesized = await resolveModel(TINY, 1, e);
    const folder = mkdtempSync(join(tmpdir(), 'hf-folder-'));
    mkdirSync(join(folder, 'onnx'));
    copyFileSync(synthesized.file, join(folder, 'onnx', 'model.onnx'));
    writeFileSync(
      join(folder, 'config.json'),
      JSON.stringify({ model_type: 'bert', vocab_size: 1000, hidden_size: 32, max_position_embeddings: 64 }),
    );
    const m = await resolveModel({ ...TINY, name: 'mine', path: folder, vocab_size: 5 }, 1, e);
    expect(m).toMatchObject({ source: 'file', file: join(folder, 'onnx', 'model.onnx') });
    expect(m.arch.vocab_size).toBe(1000);
  });

  it.each<[string, (dir: string) => string, string]>([
    ['a missing file', (d) => join(d, 'nope.onnx'), 'does not exist'],
    [
      'a file that is not ONNX',
      (d) => {
        const f = join(d, 'model.onnx');
        writeFileSync(f, 'this is not a protobuf at all, just text');
        return f;
      },
      'is not an ONNX model',
    ],
    [
      'an empty file',
      (d) => {
        const f = join(d, 'empty.onnx');
        writeFileSync(f, '');
        return f;
      },
      'is not an ONNX model',
    ],
    ['a folder without an ONNX file', (d) => d, 'is a folder without onnx/model.onnx or model.onnx'],
  ])('refuses %s with a message naming model.path', async (_name, make, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'bad-model-'));
    await expect(resolveModel({ ...TINY, path: make(dir) }, 1, env())).rejects.toThrow(message);
    await expect(resolveModel({ ...TINY, path: make(dir) }, 1, env())).rejects.toThrow('model.path');
  });

  it('asks for model.path with source=file and model.id with source=hub', async () => {
    await expect(resolveModel({ ...TINY, source: 'file' }, 1, env())).rejects.toThrow(
      'model.path: required with model.source=file',
    );
    await expect(resolveModel({ ...TINY, source: 'hub' }, 1, env())).rejects.toThrow(
      'model.id: required with model.source=hub',
    );
  });
});
