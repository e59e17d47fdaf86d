/**
 * Quantization of ONNX files: the optional pre-optimization by ONNX Runtime, the rewrite of
 * quantize.ts, the atomic write; and the cache of int8 models that `model.dtype=int8` resolves to.
 *
 * Pre-optimization runs ORT's own fusions (level `extended`, the transformer fusions included) and
 * saves the fused graph, the way ORT's Python flow optimizes a transformer before quantize_dynamic:
 * the Attention fusion matches fp32 MatMul + Add nodes only, so quantizing the raw graph first would
 * leave attention unfused for good. Level `extended` (not `all`) keeps the saved graph free of
 * CPU-specific layouts.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { ModelError } from './errors.js';
import { quantizeModel, type QuantizationSettings, type QuantizeReport } from './quantize.js';
import type { ResolvedModel } from './resolve.js';

/** Bumped whenever the rewrite's output changes, so old cache entries are not reused. */
export const QUANTIZER_VERSION = 1;

/** onnxruntime-node, loaded only when needed (the fp32 path never pays for the import). Models use it
 * to transform a graph (pre-optimization) and to key the cache, never to run inference: that is the
 * onnxruntime backend's alone (docs/architecture.md). */
async function ort(): Promise<typeof import('onnxruntime-node')> {
  return import('onnxruntime-node');
}

export async function ortVersion(): Promise<string> {
  const o = await ort();
  return o.env.versions.node ?? o.env.versions.common;
}

/** The graph as ONNX Runtime fuses it at level `extended`, serialized. A path (rather than bytes)
 * lets ORT find weights stored as external data beside the model; the result holds them inline. */
export async function preoptimize(model: Uint8Array | string): Promise<Uint8Array> {
  const o = await ort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-preopt-'));
  const file = join(dir, 'optimized.onnx');
  try {
    const options = {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'extended',
      optimizedModelFilePath: file,
      // Errors only: warnings about the saved model are expected here.
      logSeverityLevel: 3,
    } as const;
    const session =
      typeof model === 'string'
        ? await o.InferenceSession.create(model, options)
        : await o.InferenceSession.create(model, options);
    await session.release();
    return readFileSync(file);
  } catch (err) {
    throw new ModelError(
      `ONNX Runtime cannot load the model to pre-optimize it: ${(err as Error).message.split('\n')[0]}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A failure of quantizeFile, saying which of its two files is at fault (so a CLI can name the argument). */
export class QuantizeFileError extends ModelError {
  constructor(
    readonly which: 'input' | 'output',
    message: string,
  ) {
    super(message);
  }
}

/** An ONNX model is a protobuf whose first field is ir_version (tag 0x08); anything else is not one. */
function looksLikeOnnx(bytes: Uint8Array): boolean {
  return bytes.length >= 16 && bytes[0] === 0x08;
}

export interface QuantizedFile {
  readonly report: QuantizeReport;
  /** Size of the input file (the fp32 model), whatever was pre-optimized in between. */
  readonly size_bytes_in: number;
  readonly size_bytes_out: number;
  readonly elapsed_ms: number;
}

/** Quantizes `input` into `output` (written atomically). Throws QuantizeFileError with the cause. */
export async function quantizeFile(
  input: string,
  output: string,
  settings: QuantizationSettings,
): Promise<QuantizedFile> {
  const t0 = performance.now();
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(input);
  } catch (err) {
    throw new QuantizeFileError('input', `cannot read ${input}: ${(err as Error).message}`);
  }
  if (!looksLikeOnnx(bytes)) {
    throw new QuantizeFileError(
      'input',
      `${input} is not an ONNX model (${bytes.length} bytes, does not start like a ModelProto); give an exported fp32 .onnx file`,
    );
  }
  const sizeIn = bytes.length;
  let quantized: Uint8Array;
  let report: QuantizeReport;
  try {
    if (settings.preoptimize) bytes = await preoptimize(input);
    ({ bytes: quantized, report } = quantizeModel(bytes, settings));
  } catch (err) {
    if (!(err instanceof ModelError)) throw err;
    throw new QuantizeFileError('input', `${input}: ${err.message}`);
  }
  try {
    writeFileAtomic(output, quantized);
  } catch (err) {
    throw new QuantizeFileError('output', `cannot write ${output}: ${(err as Error).message}`);
  }
  return { report, size_bytes_in: sizeIn, size_bytes_out: quantized.length, elapsed_ms: performance.now() - t0 };
}

/**
 * The cache key of a quantized model: the source's identity (a synthesized file's name holds its
 * synthesis key; a user's file is known by path, size and mtime), the settings, the quantizer's
 * version and, with pre-optimization, the ORT version whose fusions shaped the graph.
 */
export async function quantizationKey(source: string, settings: QuantizationSettings): Promise<string> {
  const st = statSync(source);
  const fields = {
    quantizer: QUANTIZER_VERSION,
    source: { path: source, size: st.size, mtime_ms: st.mtimeMs },
    settings: {
      ...settings,
      op_types: [...settings.op_types].sort(),
      exclude_nodes: [...settings.exclude_nodes].sort(),
    },
    ort: settings.preoptimize ? await ortVersion() : null,
  };
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 16);
}

/** What a result says about a quantized model: the settings and what the rewrite did. */
export interface QuantizationSummary extends QuantizationSettings {
  /** The fp32 file it was made from. */
  readonly source_file: string;
  /** Nodes rewritten by op type; null when a cached file has lost its report. */
  readonly quantized: Readonly<Record<string, number>> | null;
  readonly nodes_skipped: number | null;
}

/**
 * The int8 counterpart of a resolved fp32 model, from `cacheDir` or made there (with a `.json`
 * report beside it). The file name keeps the source's stem, e.g.
 * `bert-base-cased-opset12-seed42-int8-<key>.onnx`.
 */
export async function resolveQuantized(
  fp32: ResolvedModel,
  settings: QuantizationSettings,
  cacheDir: string,
): Promise<ResolvedModel> {
  const stem = basename(fp32.file, '.onnx')
    .replace(/-[0-9a-f]{16}$/, '')
    .replace('-fp32', '');
  const file = join(cacheDir, `${stem}-int8-${await quantizationKey(fp32.file, settings)}.onnx`);
  const reportFile = `${file}.json`;
  const summary = (report: QuantizeReport | null): QuantizationSummary => ({
    ...settings,
    source_file: fp32.file,
    quantized: report?.quantized ?? null,
    nodes_skipped: report?.skipped.length ?? null,
  });
  const base = { ...fp32, file, dtype: 'int8' as const, weights: `${fp32.weights}, int8 (dynamic quantization)` };
  if (existsSync(file)) {
    let report: QuantizeReport | null = null;
    try {
      report = JSON.parse(readFileSync(reportFile, 'utf8')) as QuantizeReport;
    } catch {
      // The report is informative only; the model file is what runs.
    }
    return {
      ...base,
      size_mb: statSync(file).size / 2 ** 20,
      cached: true,
      prepare_ms: fp32.prepare_ms,
      quantization: summary(report),
    };
  }
  try {
    mkdirSync(cacheDir, { recursive: true });
  } catch (err) {
    throw new ModelError(
      `Cannot create ${cacheDir} for the int8 model: ${(err as Error).message}. Set BENCH_CACHE_DIR to a writable folder`,
    );
  }
  let made: QuantizedFile;
  try {
    made = await quantizeFile(fp32.file, file, settings);
  } catch (err) {
    if (!(err instanceof ModelError)) throw err;
    throw new ModelError(
      `model.dtype=int8: cannot quantize the model: ${err.message}; set model.dtype=fp32, or change model.quantization`,
    );
  }
  try {
    writeFileAtomic(reportFile, `${JSON.stringify(made.report, null, 1)}\n`);
  } catch {
    // As above: without its report the cached model still runs.
  }
  return {
    ...base,
    size_mb: made.size_bytes_out / 2 ** 20,
    cached: false,
    prepare_ms: fp32.prepare_ms + made.elapsed_ms,
    quantization: summary(made.report),
  };
}
