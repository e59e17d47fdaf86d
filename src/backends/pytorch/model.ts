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
import type { KnownArchitecture, ModelArchitecture } from '../../models/arch.js';
import { ModelError } from '../../models/errors.js';
import { architectureFromHfConfig, resolveModel, type ResolvedModel } from '../../models/resolve.js';
import { completeArchitecture } from './index.js';
import { exportedWeights, folderWeights } from './weights.js';

const FOLDER =
  'a Hugging Face folder with config.json and model.safetensors (or pytorch_model.bin) of a bert, roberta or distilbert model';

/**
 * What the Hugging Face config classes assume where a config.json is silent (BertConfig,
 * RobertaConfig as the checkpoints use it, DistilBertConfig, whose LayerNorms use eps 1e-12).
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
  const defaults = HF_DEFAULTS[found.model_type];
  const arch = Object.fromEntries(
    Object.entries(found).map(([k, v]) => [k, v ?? defaults[k as keyof ModelArchitecture] ?? null]),
  ) as unknown as KnownArchitecture;
  return { folder, weights, arch };
}

/** Checks made before a run directory exists: the model is one PyTorch can run. */
export function checkTorchModel(cfg: RunConfig): void {
  const m = cfg.model;
  if (m.path !== null) {
    const { arch } = checkTorchFolder(m.path);
    completeArchitecture(m.name, arch);
    return;
  }
  if (m.source === 'hub') {
    throw new ModelError(
      `model.source=hub: backend=pytorch does not download models; download ${m.id ?? 'the model'}'s config.json and model.safetensors into a folder and set model.path=FOLDER, or use backend=onnxruntime`,
    );
  }
}

export async function resolveTorchModel(cfg: RunConfig): Promise<ResolvedModel> {
  const m = cfg.model;
  if (m.path !== null) {
    const { weights, arch } = checkTorchFolder(m.path);
    return {
      name: m.name,
      file: weights,
      source: 'file',
      weights: 'from the model folder',
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
    weights: `${graph.weights}, as in the ONNX graph`,
    size_mb: exported.sizeMb,
    cached: graph.cached && exported.ms === 0,
    prepare_ms: graph.prepare_ms + exported.ms,
    dtype: m.dtype,
  };
}
