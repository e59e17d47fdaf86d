/**
 * The model PyTorch runs, resolved in the parent before any instance starts:
 * - a preset: the same synthesized graph ONNX Runtime runs (always its fp32 weights; int8 is torch's
 *   own dynamic quantization, done in the runtime), its initializers exported to safetensors;
 * - `model.path`: a local Hugging Face folder with config.json and model.safetensors (or
 *   pytorch_model.bin) of a BERT, RoBERTa or DistilBERT model.
 * ONNX files and hub downloads are ONNX Runtime's: refused here with what would work.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import type { RunConfig } from '../../config/schema.js';
import type { TorchFacts } from './python.js';
import type { KnownArchitecture, ModelArchitecture } from '../../models/arch.js';
import { ModelError } from '../../models/errors.js';
import { architectureFromHfConfig, resolveModel, type ResolvedModel } from '../../models/resolve.js';
import { completeArchitecture } from './index.js';
import { exportedWeights, folderWeights, safetensorsProblem } from './weights.js';

const FOLDER =
  'a Hugging Face folder with config.json and model.safetensors (or pytorch_model.bin) of a bert, roberta or distilbert model';

/**
 * What bench assumes where a config.json is silent about a field the encoder needs: BertConfig's and
 * DistilBertConfig's defaults, and for RoBERTa the values of roberta-base's own config.json (514
 * positions, one token type, eps 1e-5), which RobertaConfig's class defaults (BERT's) do not match.
 * The sizes (vocabulary, hidden, layers, heads, intermediate) have no default: a folder must say them.
 */
const HF_DEFAULTS: Record<ModelArchitecture['model_type'], Partial<ModelArchitecture>> = {
  bert: {
    type_vocab_size: 2,
    max_position_embeddings: 512,
    hidden_act: 'gelu',
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
  },
  roberta: {
    type_vocab_size: 1,
    max_position_embeddings: 514,
    hidden_act: 'gelu',
    layer_norm_eps: 1e-5,
    pad_token_id: 1,
  },
  distilbert: {
    type_vocab_size: 0,
    max_position_embeddings: 512,
    hidden_act: 'gelu',
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
  },
};

/** A local folder PyTorch can run: its weights file and architecture; a ModelError that says what is wrong. */
export function checkTorchFolder(path: string): { folder: string; weights: string; arch: KnownArchitecture } {
  const folder = resolve(path);
  if (!existsSync(folder))
    throw new ModelError(`model.path: ${folder} does not exist; backend=pytorch needs ${FOLDER}`);
  if (!statSync(folder).isDirectory()) {
    const onnx = extname(folder) === '.onnx';
    throw new ModelError(
      `model.path: ${folder} is ${onnx ? 'an ONNX file, which backend=onnxruntime runs' : 'a file'}; backend=pytorch needs ${FOLDER}`,
    );
  }
  const configFile = `${folder}/config.json`;
  const weights = folderWeights(folder);
  if (!existsSync(configFile) || weights === null) {
    throw new ModelError(
      `model.path: ${folder} has no ${!existsSync(configFile) ? 'config.json' : 'model.safetensors or pytorch_model.bin'}; backend=pytorch needs ${FOLDER}`,
    );
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ModelError(`model.path: cannot read ${configFile}: ${(err as Error).message}`);
  }
  const found = architectureFromHfConfig(json);
  if (found.model_type === null) {
    throw new ModelError(
      `model.path: ${configFile} says model_type=${JSON.stringify(json.model_type)}; backend=pytorch builds bert, roberta and distilbert encoders`,
    );
  }
  // What the encoder would otherwise build differently from the checkpoint, silently.
  const unsupported: [key: string, value: unknown, builds: string][] = [
    [found.model_type === 'distilbert' ? 'activation' : 'hidden_act', undefined, 'gelu'],
    ['position_embedding_type', undefined, 'absolute'],
  ];
  for (const [key, , builds] of unsupported) {
    const value = json[key];
    if (value !== undefined && value !== builds) {
      throw new ModelError(
        `model.path: ${configFile} says ${key}=${JSON.stringify(value)}; backend=pytorch builds the encoder with ${key}=${JSON.stringify(builds)} only: use backend=onnxruntime with an ONNX export of this model`,
      );
    }
  }
  if (weights.endsWith('.safetensors')) {
    const problem = safetensorsProblem(weights);
    if (problem !== null) throw new ModelError(`model.path: ${weights} ${problem}`);
  }
  const defaults = HF_DEFAULTS[found.model_type];
  const arch = Object.fromEntries(
    Object.entries(found).map(([k, v]) => [k, v ?? defaults[k as keyof ModelArchitecture] ?? null]),
  ) as unknown as KnownArchitecture;
  return { folder, weights, arch };
}

/**
 * `model.quantization` as ONNX Runtime's quantizer reads it, and what torch's dynamic quantization
 * (every nn.Linear, qint8 weights) can honour: `per_channel` either way, the rest only as is.
 */
const TORCH_QUANTIZATION = {
  weight_type: 'int8',
  reduce_range: false,
  op_types: ['MatMul', 'Gemm', 'Attention'],
  exclude_nodes: [],
  operators: 'com.microsoft',
  preoptimize: false,
} as const;

/**
 * Checks made before a run directory exists: the model is one PyTorch can run, with the int8
 * settings it can honour on a torch that can quantize. Returns the architecture when it is known
 * now (a folder's), so the caller can check the sequence lengths against its positions.
 */
export function checkTorchModel(
  cfg: RunConfig,
  torch: Pick<TorchFacts, 'quantized_engines' | 'torch_version'>,
): ModelArchitecture | null {
  const m = cfg.model;
  if (m.dtype === 'int8') {
    if (torch.quantized_engines.filter((e) => e !== 'none').length === 0) {
      throw new ModelError(
        `model.dtype=int8: this torch (${torch.torch_version}) has no quantized engine; use model.dtype=fp32 or a torch built with fbgemm or onednn`,
      );
    }
    const q = m.quantization;
    if (q) {
      for (const [key, accepted] of Object.entries(TORCH_QUANTIZATION)) {
        const value = q[key as keyof typeof q];
        if (JSON.stringify(value) !== JSON.stringify(accepted)) {
          throw new ModelError(
            `model.quantization.${key}=${JSON.stringify(value)}: backend=pytorch quantizes every nn.Linear to qint8 (torch's dynamic quantization) and honours only per_channel; remove the override or use backend=onnxruntime`,
          );
        }
      }
    }
  }
  if (m.file !== null)
    throw new ModelError(
      `model.file=${m.file}: it names an ONNX file, and backend=pytorch reads a folder's safetensors (model.path); remove it, or use backend=onnxruntime`,
    );
  if (m.path !== null) {
    const { arch } = checkTorchFolder(m.path);
    return completeArchitecture(m.name, arch);
  }
  if (m.source === 'hub') {
    throw new ModelError(
      `model.source=hub: backend=pytorch does not download models; download ${m.id ?? 'the model'}'s config.json and model.safetensors into a folder and set model.path=FOLDER, or use backend=onnxruntime`,
    );
  }
  return null;
}

export async function resolveTorchModel(cfg: RunConfig): Promise<ResolvedModel> {
  const m = cfg.model;
  if (m.path !== null) {
    const { weights, arch } = checkTorchFolder(m.path);
    return {
      name: m.name,
      file: weights,
      source: 'file',
      weights: `from the model folder${m.dtype === 'int8' ? ", int8 (torch's dynamic quantization)" : ''}`,
      arch,
      arch_source: 'config.json',
      arch_note: null,
      size_mb: statSync(weights).size / 2 ** 20,
      cached: false,
      prepare_ms: 0,
      dtype: m.dtype,
    };
  }
  const graph = await resolveModel({ ...m, dtype: 'fp32' }, cfg.seed);
  const exported = exportedWeights(graph.file, completeArchitecture(graph.name, graph.arch));
  return {
    ...graph,
    file: exported.file,
    // The graph's initializers, exported: the values ONNX Runtime runs.
    weights: `${graph.weights}, as in the ONNX graph${m.dtype === 'int8' ? ", int8 (torch's dynamic quantization)" : ''}`,
    size_mb: exported.sizeMb,
    cached: graph.cached && exported.ms === 0,
    prepare_ms: graph.prepare_ms + exported.ms,
    dtype: m.dtype,
  };
}
