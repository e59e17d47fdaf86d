/**
 * The weights PyTorch runs, written and checked in Node (no torch needed): a safetensors file bench
 * writes passes the header check, a cut or foreign one is named for what it is, and a cached export
 * that was cut short is exported again rather than reused.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportedWeights, safetensorsProblem, writeSafetensors } from '../../src/backends/pytorch/weights.js';
import { architectureOf } from '../../src/models/arch.js';
import { synthesizeModel } from '../../src/models/synthesize.js';
import { miniModelConfig } from '../fixtures/models.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-weights-'));

function written(name: string): string {
  const file = join(dir, name);
  const fd = openSync(file, 'w');
  const bytes = writeSafetensors(
    fd,
    [
      { name: 'a', dims: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
      { name: 'b', dims: [1], data: new Float32Array([7]) },
    ],
    { format: 'pt' },
  );
  closeSync(fd);
  expect(statSync(file).size).toBe(bytes);
  return file;
}

describe('safetensors files', () => {
  it('a file bench writes has an aligned header and passes the check', () => {
    const file = written('ok.safetensors');
    const bytes = readFileSync(file);
    const headerBytes = Number(bytes.readBigUInt64LE(0));
    expect((8 + headerBytes) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + headerBytes).toString('utf8')) as Record<string, unknown>;
    expect(header.a).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(header.b).toEqual({ dtype: 'F32', shape: [1], data_offsets: [24, 28] });
    expect(safetensorsProblem(file)).toBeNull();
  });

  it('names a cut file, a longer one, a Git LFS pointer, a foreign file and a tiny one', () => {
    const cut = written('cut.safetensors');
    truncateSync(cut, statSync(cut).size - 4);
    expect(safetensorsProblem(cut)).toMatch(/^is truncated \(\d+ bytes, its header needs \d+\): download it again$/);
    const longer = written('longer.safetensors');
    writeFileSync(longer, Buffer.concat([readFileSync(longer), Buffer.alloc(4)]));
    expect(safetensorsProblem(longer)).toBe('has 4 bytes past its last tensor: it is corrupt');
    const lfs = join(dir, 'lfs.safetensors');
    writeFileSync(lfs, 'version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 9\n');
    expect(safetensorsProblem(lfs)).toMatch(/Git LFS pointer/);
    const foreign = join(dir, 'foreign.safetensors');
    writeFileSync(foreign, Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{nope')]));
    expect(safetensorsProblem(foreign)).toMatch(/header that is not JSON/);
    const tiny = join(dir, 'tiny.safetensors');
    writeFileSync(tiny, Buffer.from([1, 2]));
    expect(safetensorsProblem(tiny)).toMatch(/too short/);
  });

  it('a cached export cut short is exported again, not reused', () => {
    const arch = architectureOf(miniModelConfig());
    const onnx = join(dir, 'm.onnx');
    writeFileSync(onnx, synthesizeModel(arch, { seed: 1, opset: 12 }));
    const env = { BENCH_CACHE_DIR: join(dir, 'cache') };
    const first = exportedWeights(onnx, arch, env);
    expect(first.ms).toBeGreaterThan(0);
    const size = statSync(first.file).size;
    expect(exportedWeights(onnx, arch, env).ms).toBe(0);
    truncateSync(first.file, size - 16);
    const again = exportedWeights(onnx, arch, env);
    expect(again.ms).toBeGreaterThan(0);
    expect(statSync(again.file).size).toBe(size);
  });
});
