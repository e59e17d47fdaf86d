/**
 * int8 from the command line: `bench quantize`, and a run with model.dtype=int8, with the built
 * `bench` command (run `npm run build` first), each in a fresh folder and cache.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../../src/models/onnx-builder.js';
import { synthesizeModel } from '../../src/models/synthesize.js';
import { architectureOf } from '../../src/models/resolve.js';
import { miniModelConfig } from '../fixtures/models.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'bench.js');
const dir = mkdtempSync(join(tmpdir(), 'bench-cli-quantize-'));
const env = { ...process.env, NO_COLOR: '1', BENCH_CACHE_DIR: join(dir, 'cache') };

function bench(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const fp32File = join(dir, 'tiny.onnx');
writeFileSync(fp32File, synthesizeModel(architectureOf(miniModelConfig({ vocab_size: 500 })), { seed: 1, opset: 12 }));

const ioNames = (file: string): [string[], string[]] => {
  const g = decodeModel(readFileSync(file)).graph!;
  return [g.input!.map((i) => i.name!), g.output!.map((o) => o.name!)];
};

describe('bench quantize', () => {
  it('writes the int8 model and says what it did in one line', () => {
    const out = join(dir, 'tiny-int8.onnx');
    const r = bench(['quantize', fp32File, out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    // Q, K, V, output, 2 feed-forward; the two activation x activation products stay fp32.
    expect(r.stdout).toMatch(
      /^bench quantize: 6 nodes quantized \(MatMul 6\), 2 left fp32 · [\d.]+ MB -> [\d.]+ MB · .*tiny-int8\.onnx in [\d.]+ s\n$/,
    );
    expect(ioNames(out)).toEqual(ioNames(fp32File));
  });

  it('takes the model.quantization knobs as flags; --format json gives the full report', () => {
    const out = join(dir, 'tiny-int8-raw.onnx');
    const r = bench([
      'quantize',
      fp32File,
      out,
      '--operators',
      'onnx',
      '--per-channel',
      '--weight-type',
      'uint8',
      '--format',
      'json',
    ]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      settings: Record<string, unknown>;
      report: { quantized: Record<string, number>; op_counts: Record<string, number> };
    };
    expect(report.settings).toMatchObject({
      preoptimize: false,
      operators: 'onnx',
      per_channel: true,
      weight_type: 'uint8',
    });
    expect(report.report.quantized).toEqual({ MatMul: 6 });
    expect(report.report.op_counts.MatMulInteger).toBe(6);
    const fused = bench(['quantize', fp32File, join(dir, 'tiny-int8-fused.onnx'), '--preoptimize']);
    expect(fused.code).toBe(0);
    expect(fused.stdout).toContain('4 nodes quantized (Attention 1, MatMul 3), 0 left fp32');
  });

  it('names the bad argument: exit 1 for a file, 2 for a command line it cannot read', () => {
    const missing = bench(['quantize', join(dir, 'nope.onnx'), join(dir, 'o.onnx')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^bench quantize: INPUT: .*nope\.onnx does not exist/);

    const text = join(dir, 'notes.onnx');
    writeFileSync(text, 'these are not the weights you are looking for');
    const notOnnx = bench(['quantize', text, join(dir, 'o.onnx')]);
    expect(notOnnx.code).toBe(1);
    expect(notOnnx.stderr).toMatch(/^bench quantize: INPUT: .*notes\.onnx is not an ONNX model/);

    const locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    const unwritable = bench(['quantize', fp32File, join(dir, 'no-such-folder', 'o.onnx')]);
    expect(unwritable.code).toBe(1);
    expect(unwritable.stderr).toMatch(
      /^bench quantize: OUTPUT: cannot write .*o\.onnx: folder .*no-such-folder does not exist/,
    );
    if (process.getuid?.() !== 0) {
      // root writes anywhere, so the permission case only means something for other users.
      const denied = bench(['quantize', fp32File, join(locked, 'o.onnx')]);
      expect(denied.code).toBe(1);
      expect(denied.stderr).toMatch(/OUTPUT: cannot write .*not writable/);
    }

    const usage = bench(['quantize', fp32File]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('expected INPUT.onnx and OUTPUT.onnx');
    const badFlag = bench(['quantize', fp32File, join(dir, 'o.onnx'), '--op-types', 'MatMul,LayerNormalization']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('--op-types: "LayerNormalization" cannot be quantized');
    const oldFlag = bench(['quantize', fp32File, join(dir, 'o.onnx'), '--json']);
    expect(oldFlag.code).toBe(2);
    expect(oldFlag.stderr).toContain('--json is now --format json');
    expect(existsSync(join(dir, 'o.onnx'))).toBe(false);
    expect(bench(['quantize', '--help']).stdout).toContain('Usage: bench quantize INPUT.onnx OUTPUT.onnx');
  });
});

describe('model.dtype=int8', () => {
  it('--cfg job shows the quantization settings', () => {
    const r = bench(['--cfg', 'job', 'model.dtype=int8', 'model.quantization.per_channel=true']);
    expect(r.code).toBe(0);
    const model = (parse(r.stdout) as { model: { dtype: string; quantization: Record<string, unknown> } }).model;
    expect(model.dtype).toBe('int8');
    expect(model.quantization).toMatchObject({
      weight_type: 'int8',
      per_channel: true,
      op_types: ['MatMul', 'Gemm', 'Attention'],
      preoptimize: false,
    });
  });

  it('rejects a bad setting with the key path', () => {
    const r = bench(['model=bert-tiny', 'model.dtype=int8', 'model.quantization.weight_type=int4', 'backend=mock']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('model.quantization.weight_type: expected one of int8, uint8, got "int4"');
  });

  it('runs end to end; results.json records the dtype and the quantization settings', () => {
    const run = join(dir, 'run');
    const r = bench(['model=bert-tiny', 'model.dtype=int8', 'benchmark_duration=0.2', `hydra.run.dir=${run}`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('int8 (dynamic quantization)');
    const results = JSON.parse(readFileSync(join(run, 'results.json'), 'utf8')) as {
      config: { model: { dtype: string; quantization: Record<string, unknown> } };
      backend: { model: { dtype: string; file: string; quantization: Record<string, unknown> } };
    };
    expect(results.config.model.dtype).toBe('int8');
    expect(results.config.model.quantization).toMatchObject({ weight_type: 'int8', per_channel: false });
    expect(results.backend.model.dtype).toBe('int8');
    expect(results.backend.model.file).toMatch(/bert-tiny-opset12-seed42-int8-[0-9a-f]{16}\.onnx$/);
    expect(results.backend.model.quantization).toMatchObject({
      weight_type: 'int8',
      quantized: { MatMul: 12 },
      nodes_skipped: 4,
    });
  });
  it('a user file that is already int8 is measured as int8: no fp32 GEMM peak is its ceiling', () => {
    const int8File = join(dir, 'user-int8.onnx');
    expect(bench(['quantize', fp32File, int8File]).code).toBe(0);
    const run = join(dir, 'user-run');
    const r = bench([`model.path=${int8File}`, 'sequence_length=32', 'benchmark_duration=0.2', `hydra.run.dir=${run}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('GEMM peak (');
    const results = JSON.parse(readFileSync(join(run, 'results.json'), 'utf8')) as {
      backend: { model: { dtype: string; int8_ops: string[] } };
      efficiency: { omitted?: string };
    };
    expect(results.backend.model).toMatchObject({ dtype: 'int8', int8_ops: ['DynamicQuantizeMatMul'] });
    expect(results.efficiency.omitted).toContain('the model file multiplies in int8 (DynamicQuantizeMatMul)');
  });
});
