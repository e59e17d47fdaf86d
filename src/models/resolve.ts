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
import { writeFileAtomicWith } from '../util/atomic.js';
import { fileSafeName, joinInside } from '../util/paths.js';
import { architectureOf, FLOP_FIELDS, SIZE_FIELDS, type KnownArchitecture, type ModelArchitecture } from './arch.js';
import { cacheRoot } from './cache.js';
import { ModelError } from './errors.js';
import { describeInput, FEEDABLE, unfeedableInput } from './inputs.js';
import { architectureFromGraph, int8Operators, outlineOnnx, type OnnxOutline } from './onnx-scan.js';
import { DEFAULT_QUANTIZATION } from './quantize.js';
import type { QuantizationSummary } from './quantize-file.js';

export interface ResolvedModel {
  /**
   * What results call the model: `model.name` (for a user or hub model, its file or folder name or its id unless set;
   * config/load.ts).
   */
  readonly name: string;
  readonly file: string;
  readonly source: 'synthetic' | 'file' | 'hub';
  /** What the weights are, said plainly in every result. */
  readonly weights: string;
  /**
   * The preset's architecture for a synthesized model; for a user or hub model, its config.json's
   * fields, the gaps filled from the graph's weights (architectureFromGraph), null where neither says.
   */
  readonly arch: KnownArchitecture;
  /** Where `arch` came from: 'preset', 'config.json', 'graph' or 'config.json + graph'. */
  readonly arch_source: string;
  /** Why a field the FLOP count needs is unknown (so no compute efficiency is given), or null. */
  readonly arch_note: string | null;
  readonly size_mb: number;
  /** Whether the file came from bench's cache (synthetic) or the Hugging Face cache (hub). */
  readonly cached: boolean;
  /** Time spent producing the file (synthesis or download), 0 when cached. */
  readonly prepare_ms: number;
  /** 'int8' for a quantized copy (model.dtype=int8); absent means fp32. */
  readonly dtype?: 'fp32' | 'int8';
  /** A hub model's repository, the revision asked for, the commit it resolved to, how each file was checked. */
  readonly hub?: {
    readonly id: string;
    readonly revision: string;
    readonly commit: string;
    readonly verified: Readonly<Record<string, string>>;
  };
  /** What the run must say about the model (a hub model synthesized from its config.json). */
  readonly warnings?: readonly string[];
  /** For a user or hub file that is already quantized: the int8 operators its graph holds. */
  readonly int8_ops?: readonly string[];
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

export async function resolveModel(
  m: ModelConfig,
  seed: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedModel> {
  const fp32 = await resolveFp32(m, seed, env);
  if (m.dtype !== 'int8') return fp32;
  // The int8 model is derived from the fp32 one (synthesized, user or hub) and cached beside it.
  // Loaded when needed (as are synthesis and hub downloads): a warm run need not import them.
  const { resolveQuantized } = await import('./quantize-file.js');
  return resolveQuantized(fp32, m.quantization ?? DEFAULT_QUANTIZATION, join(cacheRoot(env), 'models'));
}

async function resolveFp32(m: ModelConfig, seed: number, env: NodeJS.ProcessEnv): Promise<ResolvedModel> {
  if (m.path !== null) return resolveLocal(m, m.path);
  if (m.source === 'file')
    throw new ModelError(
      'model.path: required with model.source=file; set model.path=/path/to/model.onnx or to a Hugging Face folder',
    );
  if (m.source === 'hub') return resolveHub(m, seed, env);
  return resolveSynthetic(m, seed, env);
}

async function resolveSynthetic(m: ModelConfig, seed: number, env: NodeJS.ProcessEnv): Promise<ResolvedModel> {
  const arch = architectureOf(m);
  // The synthesizer writes fp32 whatever model.dtype says; int8 is derived from this file.
  const dtype = 'fp32';
  // model.name is the user's: one safe file-name component, so the file stays in the cache.
  const file = join(
    cacheRoot(env),
    'models',
    `${fileSafeName(m.name)}-${dtype}-opset${m.opset}-seed${seed}-${synthesisKey(arch, m.opset, dtype, seed)}.onnx`,
  );
  const base = {
    name: m.name,
    file,
    source: 'synthetic' as const,
    weights: 'random (synthesized)',
    arch,
    arch_source: 'preset',
    arch_note: null,
  };
  if (existsSync(file)) {
    return { ...base, size_mb: statSync(file).size / 2 ** 20, cached: true, prepare_ms: 0 };
  }
  const t0 = performance.now();
  try {
    mkdirSync(join(cacheRoot(env), 'models'), { recursive: true });
  } catch (err) {
    throw new ModelError(
      `Cannot write the synthesized model to ${file}: ${(err as Error).message}. Set BENCH_CACHE_DIR to a writable folder`,
    );
  }
  const { synthesizeModelTo } = await import('./synthesize.js');
  let size: number;
  try {
    // Streamed into a temporary file renamed into place, so instances synthesizing at once never
    // read half a file, and the weights never sit in memory whole.
    size = writeFileAtomicWith(file, (fd) => synthesizeModelTo(fd, arch, { seed, opset: m.opset }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== undefined)
      throw new ModelError(
        `Cannot write the synthesized model to ${file}: ${e.message}. Set BENCH_CACHE_DIR to a writable folder`,
      );
    throw new ModelError(`Cannot synthesize ${m.name}: ${e.message}`);
  }
  return { ...base, size_mb: size / 2 ** 20, cached: false, prepare_ms: performance.now() - t0 };
}

/** A Hugging Face config.json, mapped onto the fields bench uses; null where it does not say. */
export function architectureFromHfConfig(json: Record<string, unknown>): KnownArchitecture {
  const num = (k: string): number | null => (typeof json[k] === 'number' ? (json[k] as number) : null);
  const type = json.model_type;
  const distil = type === 'distilbert';
  const act = json[distil ? 'activation' : 'hidden_act'];
  return {
    model_type: type === 'distilbert' || type === 'roberta' || type === 'bert' ? type : null,
    vocab_size: num('vocab_size'),
    hidden_size: num(distil ? 'dim' : 'hidden_size'),
    num_hidden_layers: num(distil ? 'n_layers' : 'num_hidden_layers'),
    num_attention_heads: num(distil ? 'n_heads' : 'num_attention_heads'),
    intermediate_size: num(distil ? 'hidden_dim' : 'intermediate_size'),
    max_position_embeddings: num('max_position_embeddings'),
    type_vocab_size: distil ? 0 : num('type_vocab_size'),
    hidden_act: act === 'gelu' ? 'gelu' : null,
    layer_norm_eps: num('layer_norm_eps'),
    pad_token_id: num('pad_token_id'),
  };
}

/**
 * A user or hub model's architecture: config.json's fields where it has one, the graph's where it
 * does not (or says nothing), and why the FLOP count's fields are unknown when neither says them.
 */
export function userArchitecture(
  outline: OnnxOutline,
  config: Record<string, unknown> | null,
  configFile: string | null,
): Pick<ResolvedModel, 'arch' | 'arch_source' | 'arch_note'> {
  const graph = architectureFromGraph(outline);
  const fromConfig = config ? architectureFromHfConfig(config) : null;
  const arch = Object.fromEntries(
    Object.entries(graph.arch).map(([k, v]) => [k, fromConfig?.[k as keyof KnownArchitecture] ?? v]),
  ) as unknown as KnownArchitecture;
  const keys = Object.keys(arch) as (keyof KnownArchitecture)[];
  const usedGraph = keys.some((k) => graph.arch[k] !== null && (fromConfig?.[k] ?? null) === null);
  const arch_source = fromConfig === null ? 'graph' : usedGraph ? 'config.json + graph' : 'config.json';
  const missing = FLOP_FIELDS.filter((k) => arch[k] === null);
  const list = missing.length === 1 ? missing[0]! : `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)!}`;
  const why = graph.note ?? 'it does not show them';
  const arch_note =
    missing.length === 0
      ? null
      : configFile
        ? `${list}: neither ${configFile} nor the graph says (${why})`
        : `${list}: not readable from the graph (${why}), and there is no config.json (a Hugging Face folder, model.path=FOLDER, has one)`;
  return { arch, arch_source, arch_note };
}

const ONNX_CANDIDATES = ['onnx/model.onnx', 'model.onnx'];

/**
 * The ONNX file (and config.json, for a Hugging Face folder) that `model.path` names, checked to
 * exist and to start like an ONNX model: cheap, so a run checks it before it claims a directory.
 */
export function locateLocalModel(
  path: string,
  onnxFile: string | null = null,
): { file: string; configFile: string | null } {
  const full = resolve(path);
  if (!existsSync(full)) {
    throw new ModelError(
      `model.path: ${full} does not exist; give an .onnx file or a Hugging Face folder with config.json and onnx/model.onnx`,
    );
  }
  let file = full;
  let configFile: string | null = null;
  const folder = statSync(full).isDirectory();
  if (!folder && onnxFile !== null)
    throw new ModelError(
      `model.file=${onnxFile}: model.path is a file already (${full}); model.file names the ONNX file inside a folder or hub repository: remove it`,
    );
  if (folder) {
    const candidates = onnxFile === null ? ONNX_CANDIDATES : [onnxFile];
    const found = candidates
      .map((c) => joinInside(full, `model.path ${full}`, ...c.split('/')))
      .find((c) => existsSync(c));
    if (!found && onnxFile !== null)
      throw new ModelError(`model.file=${onnxFile}: ${full} has no such file; name an .onnx file inside the folder`);
    if (!found) {
      throw new ModelError(
        `model.path: ${full} is a folder without ${ONNX_CANDIDATES.join(' or ')}; export the model to ONNX first (e.g. optimum-cli export onnx)`,
      );
    }
    file = found;
    if (existsSync(join(full, 'config.json'))) configFile = join(full, 'config.json');
  }
  assertOnnx(file, 'model.path');
  return { file, configFile };
}

function resolveLocal(m: ModelConfig, path: string): ResolvedModel {
  const { file, configFile } = locateLocalModel(path, m.file);
  const outline = readOutline(file, 'model.path');
  return {
    name: m.name,
    file,
    source: 'file',
    weights: 'from the model file',
    ...userArchitecture(outline, configFile ? readJson(configFile) : null, configFile),
    ...graphDtype(outline),
    size_mb: statSync(file).size / 2 ** 20,
    cached: false,
    prepare_ms: 0,
  };
}

/**
 * The file's outline, checked in the parent before any instance starts: a model with an input bench
 * cannot feed (an image model's pixel_values, say) is refused here, naming the key and the file.
 */
function readOutline(file: string, key: string): OnnxOutline {
  let outline: OnnxOutline;
  try {
    outline = outlineOnnx(file);
  } catch (err) {
    throw new ModelError(`${key}: ${file} is corrupt or not an ONNX model (${(err as Error).message}); re-export it`);
  }
  const bad = unfeedableInput(outline.inputs);
  if (bad)
    throw new ModelError(`${key}: ${file} has an input ${describeInput(bad)} that bench cannot feed: ${FEEDABLE}`);
  return outline;
}

/** The ONNX files looked for in a hub repository when model.file names none, in this order (as in a folder). */
const HUB_ONNX = ONNX_CANDIDATES;

async function resolveHub(m: ModelConfig, seed: number, env: NodeJS.ProcessEnv): Promise<ResolvedModel> {
  if (m.id === null)
    throw new ModelError('model.id: required with model.source=hub, e.g. model.id=Xenova/bert-base-cased');
  const t0 = performance.now();
  const { downloadHubModel } = await import('./hub.js');
  // Without model.file: onnx/model.onnx, else model.onnx, one at a time (each may be large); a
  // repository with neither (PyTorch weights only) is measured on its architecture.
  let onnx = m.file ?? HUB_ONNX[0]!;
  let got = await downloadHubModel(m.id, {
    revision: m.revision,
    files: [
      { path: 'config.json', optional: m.file !== null },
      { path: onnx, optional: m.file === null },
    ],
    env,
  });
  if (m.file === null && got.files[onnx] === null) {
    onnx = HUB_ONNX[1]!;
    const root = await downloadHubModel(m.id, { revision: got.commit, files: [{ path: onnx, optional: true }], env });
    got = {
      ...root,
      cached: got.cached && root.cached,
      files: { ...got.files, ...root.files },
      verified: { ...got.verified, ...root.verified },
    };
  }
  const configFile = got.files['config.json'] ?? null;
  const hub = { id: m.id, revision: m.revision, commit: got.commit, verified: got.verified };
  const file = got.files[onnx] ?? null;
  if (file === null) return synthesizeFromHubConfig(m, seed, env, configFile!, hub);
  const key = `model.id=${m.id}`;
  assertOnnx(file, key);
  const outline = readOutline(file, key);
  return {
    name: m.name,
    file,
    source: 'hub',
    weights: `from the hub (${m.id}${m.revision !== 'main' ? `@${m.revision}` : ''}, ${onnx})`,
    ...userArchitecture(outline, configFile ? readJson(configFile) : null, configFile),
    ...graphDtype(outline),
    size_mb: statSync(file).size / 2 ** 20,
    cached: got.cached,
    prepare_ms: got.cached ? 0 : performance.now() - t0,
    hub,
  };
}

/**
 * A hub repository without an ONNX file (PyTorch or safetensors weights only): its config.json
 * gives the architecture, synthesized with seeded random weights, and the run says so. Latency
 * depends on the architecture, not on the weights' values; the outputs are not the model's.
 */
async function synthesizeFromHubConfig(
  m: ModelConfig,
  seed: number,
  env: NodeJS.ProcessEnv,
  configFile: string,
  hub: NonNullable<ResolvedModel['hub']>,
): Promise<ResolvedModel> {
  const fromConfig = architectureFromHfConfig(readJson(configFile));
  const required = ['model_type', ...SIZE_FIELDS, 'hidden_act'] as const;
  const missing = required.filter((k) => fromConfig[k] === null);
  if (missing.length > 0)
    throw new ModelError(
      `model.id=${hub.id}: the repository has no ${HUB_ONNX.join(' or ')}, and its config.json does not give ${missing.join(', ')} (a BERT, RoBERTa or DistilBERT with gelu) to synthesize it from; export it to ONNX (optimum-cli export onnx) and set model.path, or name its ONNX file with model.file`,
    );
  // Hugging Face's own defaults where config.json leaves them out.
  const roberta = fromConfig.model_type === 'roberta';
  const arch = {
    ...fromConfig,
    type_vocab_size: fromConfig.type_vocab_size ?? (roberta ? 1 : 2),
    layer_norm_eps: fromConfig.layer_norm_eps ?? 1e-12,
    pad_token_id: fromConfig.pad_token_id ?? (roberta ? 1 : 0),
  };
  const synthetic = await resolveSynthetic({ ...m, ...arch } as ModelConfig, seed, env);
  return {
    ...synthetic,
    weights: `random (synthesized from ${hub.id}'s config.json: the repository has no ONNX file)`,
    source: 'hub',
    arch_source: 'config.json',
    hub,
    warnings: [
      `model.id=${hub.id}: the repository has no ${HUB_ONNX.join(' or ')}; measured its architecture (config.json) with synthesized random weights: the latency is the architecture's, the outputs are not the model's (model.file names another ONNX file of the repository)`,
    ],
  };
}

/** A file that multiplies in int8 is an int8 model, whatever model.dtype says (that names bench's own rewrite). */
function graphDtype(outline: OnnxOutline): { dtype?: 'int8'; int8_ops?: string[] } {
  const ops = int8Operators(outline);
  return ops.length > 0 ? { dtype: 'int8', int8_ops: ops } : {};
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ModelError(`Cannot read ${file}: ${(err as Error).message}`);
  }
}

/** An ONNX model is a protobuf whose first field is ir_version (tag 0x08); anything else is not one. */
function assertOnnx(file: string, key: string): void {
  const size = statSync(file).size;
  const head = Buffer.alloc(1);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, 1, 0);
  } finally {
    closeSync(fd);
  }
  if (size < 16 || head[0] !== 0x08) {
    throw new ModelError(
      `${key}: ${file} is not an ONNX model (${size} bytes, does not start like a ModelProto); point it at an exported .onnx file`,
    );
  }
}
