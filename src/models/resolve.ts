/**
 * From a `model` config to an ONNX file on disk and the architecture that goes with it:
 * - synthetic: the graph is synthesized from the architecture fields with seeded weights and cached
 *   under a key made of every input that changes its bytes (a second run reuses the file);
 * - file: `model.path` is an .onnx file, or a local Hugging Face folder (config.json + onnx/model.onnx);
 * - hub: `model.id` is downloaded into the standard Hugging Face cache (HF_HOME, HF_ENDPOINT).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ModelConfig } from '../config/schema.js';
import { writeFileAtomicWith } from '../results/atomic.js';
import { architectureOf, type ModelArchitecture } from './arch.js';
import { cacheRoot } from './cache.js';
import { ModelError } from './errors.js';
import { outlineOnnx, vocabularySize, type OnnxOutline } from './onnx-scan.js';
import { DEFAULT_QUANTIZATION } from './quantize.js';
import type { QuantizationSummary } from './quantize-file.js';

export interface ResolvedModel {
  readonly file: string;
  readonly source: 'synthetic' | 'file' | 'hub';
  /** What the weights are, said plainly in every result. */
  readonly weights: string;
  readonly arch: ModelArchitecture;
  readonly size_mb: number;
  /** Whether the file came from bench's cache (synthetic) or the Hugging Face cache (hub). */
  readonly cached: boolean;
  /** Time spent producing the file (synthesis or download), 0 when cached. */
  readonly prepare_ms: number;
  /** 'int8' for a quantized copy (model.dtype=int8); absent means fp32. */
  readonly dtype?: 'fp32' | 'int8';
  /** The quantization settings and what the rewrite did, for int8. */
  readonly quantization?: QuantizationSummary;
}

/** Bumped whenever the synthesizer's output changes, so old cache entries are not reused. */
const SYNTHESIZER_VERSION = 1;

// In light modules of their own, so that a child process can use them without loading synthesis,
// quantization and hub downloads; re-exported here for the parent's callers.
export { cacheRoot } from './cache.js';
export { architectureOf } from './arch.js';

export function synthesisKey(arch: ModelArchitecture, opset: number, dtype: string, seed: number): string {
  const fields = { synthesizer: SYNTHESIZER_VERSION, arch, opset, dtype, seed };
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 16);
}

export async function resolveModel(m: ModelConfig, seed: number, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedModel> {
  const fp32 = await resolveFp32(m, seed, env);
  if (m.dtype !== 'int8') return fp32;
  // The int8 model is derived from the fp32 one (synthesized, user or hub) and cached beside it.
  // Loaded when needed (as are synthesis and hub downloads): a warm run need not import them.
  const { resolveQuantized } = await import('./quantize-file.js');
  return resolveQuantized(fp32, m.quantization ?? DEFAULT_QUANTIZATION, join(cacheRoot(env), 'models'));
}

async function resolveFp32(m: ModelConfig, seed: number, env: NodeJS.ProcessEnv): Promise<ResolvedModel> {
  if (m.path !== null) return resolveLocal(m, m.path);
  if (m.source === 'file') throw new ModelError('model.path: required with model.source=file; set model.path=/path/to/model.onnx or to a Hugging Face folder');
  if (m.source === 'hub') return resolveHub(m, env);
  return resolveSynthetic(m, seed, env);
}

async function resolveSynthetic(m: ModelConfig, seed: number, env: NodeJS.ProcessEnv): Promise<ResolvedModel> {
  const arch = architectureOf(m);
  // The synthesizer writes fp32 whatever model.dtype says; int8 is derived from this file.
  const dtype = 'fp32';
  const file = join(cacheRoot(env), 'models', `${m.name}-${dtype}-opset${m.opset}-seed${seed}-${synthesisKey(arch, m.opset, dtype, seed)}.onnx`);
  const base = { file, source: 'synthetic' as const, weights: 'random (synthesized)', arch };
  if (existsSync(file)) {
    return { ...base, size_mb: statSync(file).size / 2 ** 20, cached: true, prepare_ms: 0 };
  }
  const t0 = performance.now();
  try {
    mkdirSync(join(cacheRoot(env), 'models'), { recursive: true });
  } catch (err) {
    throw new ModelError(`Cannot write the synthesized model to ${file}: ${(err as Error).message}. Set BENCH_CACHE_DIR to a writable folder`);
  }
  const { synthesizeModelTo } = await import('./synthesize.js');
  let size: number;
  try {
    // Streamed into a temporary file renamed into place, so instances synthesizing at once never
    // read half a file, and the weights never sit in memory whole.
    size = writeFileAtomicWith(file, (fd) => synthesizeModelTo(fd, arch, { seed, opset: m.opset }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== undefined) throw new ModelError(`Cannot write the synthesized model to ${file}: ${e.message}. Set BENCH_CACHE_DIR to a writable folder`);
    throw new ModelError(`Cannot synthesize ${m.name}: ${e.message}`);
  }
  return { ...base, size_mb: size / 2 ** 20, cached: false, prepare_ms: performance.now() - t0 };
}

/** A Hugging Face folder's config.json, mapped onto the fields bench uses; the preset fills gaps. */
export function architectureFromHfConfig(json: Record<string, unknown>, fallback: ModelArchitecture): ModelArchitecture {
  const num = (k: string, d: number): number => (typeof json[k] === 'number' ? (json[k] as number) : d);
  const type = json.model_type;
  const distil = type === 'distilbert';
  return {
    model_type: type === 'distilbert' || type === 'roberta' || type === 'bert' ? type : fallback.model_type,
    vocab_size: num('vocab_size', fallback.vocab_size),
    hidden_size: num(distil ? 'dim' : 'hidden_size', fallback.hidden_size),
    num_hidden_layers: num(distil ? 'n_layers' : 'num_hidden_layers', fallback.num_hidden_layers),
    num_attention_heads: num(distil ? 'n_heads' : 'num_attention_heads', fallback.num_attention_heads),
    intermediate_size: num(distil ? 'hidden_dim' : 'intermediate_size', fallback.intermediate_size),
    max_position_embeddings: num('max_position_embeddings', fallback.max_position_embeddings),
    type_vocab_size: num('type_vocab_size', distil ? 0 : fallback.type_vocab_size),
    hidden_act: 'gelu',
    layer_norm_eps: num('layer_norm_eps', fallback.layer_norm_eps),
    pad_token_id: num('pad_token_id', fallback.pad_token_id),
  };
}

const ONNX_CANDIDATES = ['onnx/model.onnx', 'model.onnx'];

function resolveLocal(m: ModelConfig, path: string): ResolvedModel {
  const full = resolve(path);
  if (!existsSync(full)) {
    throw new ModelError(`model.path: ${full} does not exist; give an .onnx file or a Hugging Face folder with config.json and onnx/model.onnx`);
  }
  let file = full;
  let arch = architectureOf(m);
  if (statSync(full).isDirectory()) {
    const found = ONNX_CANDIDATES.map((c) => join(full, c)).find((c) => existsSync(c));
    if (!found) {
      throw new ModelError(`model.path: ${full} is a folder without ${ONNX_CANDIDATES.join(' or ')}; export the model to ONNX first (e.g. optimum-cli export onnx)`);
    }
    file = found;
    const configFile = join(full, 'config.json');
    if (existsSync(configFile)) arch = architectureFromHfConfig(readJson(configFile), arch);
  }
  assertOnnx(file);
  if (!statSync(full).isDirectory() || !existsSync(join(full, 'config.json'))) {
    // A bare .onnx file: the embedding table's rows are the vocabulary, whatever the preset says.
    let outline: OnnxOutline;
    try {
      outline = outlineOnnx(file);
    } catch (err) {
      throw new ModelError(`model.path: ${file} is corrupt or not an ONNX model (${(err as Error).message}); re-export it`);
    }
    const vocab = vocabularySize(outline, 'input_ids');
    if (vocab !== null) arch = { ...arch, vocab_size: vocab };
  }
  return { file, source: 'file', weights: 'from the model file', arch, size_mb: statSync(file).size / 2 ** 20, cached: false, prepare_ms: 0 };
}

async function resolveHub(m: ModelConfig, env: NodeJS.ProcessEnv): Promise<ResolvedModel> {
  if (m.id === null) throw new ModelError('model.id: required with model.source=hub, e.g. model.id=Xenova/bert-base-cased');
  const t0 = performance.now();
  const { downloadHubModel } = await import('./hub.js');
  const got = await downloadHubModel(m.id, { revision: 'main', files: ['config.json', 'onnx/model.onnx'], env, presetHint: m.name });
  const configFile = got.files['config.json'];
  const file = got.files['onnx/model.onnx']!;
  const arch = configFile ? architectureFromHfConfig(readJson(configFile), architectureOf(m)) : architectureOf(m);
  assertOnnx(file);
  return {
    file,
    source: 'hub',
    weights: `from the hub (${m.id})`,
    arch,
    size_mb: statSync(file).size / 2 ** 20,
    cached: got.cached,
    prepare_ms: got.cached ? 0 : performance.now() - t0,
  };
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ModelError(`Cannot read ${file}: ${(err as Error).message}`);
  }
}

/** An ONNX model is a protobuf whose first field is ir_version (tag 0x08); anything else is not one. */
function assertOnnx(file: string): void {
  const size = statSync(file).size;
  const head = Buffer.alloc(1);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, 1, 0);
  } finally {
    closeSync(fd);
  }
  if (size < 16 || head[0] !== 0x08) {
    throw new ModelError(`model.path: ${file} is not an ONNX model (${size} bytes, does not start like a ModelProto); point it at an exported .onnx file`);
  }
}
