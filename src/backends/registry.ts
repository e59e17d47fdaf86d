/**
 * The backends, by `backend.name`: a new one is a folder and a line here. Each entry builds the
 * backend for one instance, says whether it runs a model file (which the parent then resolves,
 * synthesizes or downloads before any instance starts) and whether its latencies are simulated, and
 * may check, before any run directory exists, that its runtime is there and the model is one it
 * can run.
 */
import type { BackendConfig, RunConfig } from '../config/schema.js';
import { architectureOf, flopShape, type KnownArchitecture } from '../models/arch.js';
import { locateLocalModel, resolveModel, type ResolvedModel } from '../models/resolve.js';
import { MockBackend } from './mock/index.js';
import { OnnxRuntimeBackend } from './onnxruntime/index.js';
import { PYTHON_ENV, PyTorchBackend } from './pytorch/index.js';
import { blasWarnings, findTorch } from './pytorch/python.js';
import type { Backend, BackendRequest } from './types.js';

/** What a backend's checks found: facts for the environment block, variables for its children. */
export interface Preflight {
  /** Under `runtime` in the environment block of every result (e.g. torch's version and BLAS). */
  readonly runtime: Readonly<Record<string, unknown>> | null;
  readonly childEnv: Readonly<Record<string, string>>;
  /** What the run should say about the runtime it found (e.g. a BLAS build that will slow it down). */
  readonly warnings: readonly string[];
  /** The model's architecture where the checks already read it (a PyTorch folder's config.json). */
  readonly arch?: KnownArchitecture | null;
}

interface BackendEntry<C extends BackendConfig> {
  readonly needsModelFile: boolean;
  /** Latencies drawn from a model of the machine, not measured: no GEMM peak is probed for them. */
  readonly simulated: boolean;
  /** Checks made in the parent before a run directory is claimed; throws a UserError naming the key. */
  preflight(options: C, cfg: RunConfig): Promise<Preflight>;
  /** The model the instances run, resolved once in the parent. */
  resolveModel(options: C, cfg: RunConfig): Promise<ResolvedModel>;
  create(options: C, cfg: RunConfig, req: BackendRequest, model: ResolvedModel | null): Backend;
}

type Registry = { readonly [K in BackendConfig['name']]: BackendEntry<Extract<BackendConfig, { name: K }>> };

/** A model file the user names must exist and be ONNX, before anything is written. */
const onnxPreflight = async (_options: unknown, cfg: RunConfig): Promise<Preflight> => {
  if (cfg.model.path !== null) locateLocalModel(cfg.model.path, cfg.model.file);
  return { runtime: null, childEnv: {}, warnings: [] };
};
const onnxModel = (_options: unknown, cfg: RunConfig): Promise<ResolvedModel> => resolveModel(cfg.model, cfg.seed);

const BACKENDS: Registry = {
  onnxruntime: {
    needsModelFile: true,
    simulated: false,
    preflight: onnxPreflight,
    resolveModel: onnxModel,
    create: (options, _cfg, req, model) => {
      if (!model) throw new Error('backend=onnxruntime needs a resolved model');
      return new OnnxRuntimeBackend(options, model, req);
    },
  },
  pytorch: {
    needsModelFile: true,
    simulated: false,
    preflight: async (options, cfg) => {
      const torch = findTorch(options.python);
      // Loaded when needed: the weight export pulls in the ONNX reader, which children never need.
      const { checkTorchModel } = await import('./pytorch/model.js');
      const arch = checkTorchModel(cfg, torch);
      return {
        arch,
        runtime: { name: 'pytorch', ...torch },
        childEnv: { [PYTHON_ENV]: torch.python },
        warnings: blasWarnings(torch),
      };
    },
    resolveModel: async (_options, cfg) => (await import('./pytorch/model.js')).resolveTorchModel(cfg),
    create: (options, cfg, req, model) => {
      if (!model) throw new Error('backend=pytorch needs a resolved model');
      return new PyTorchBackend(options, model, req, cfg.model.quantization?.per_channel ?? false);
    },
  },
  // The mock needs no file; it reads the architecture from the config (or from a resolved model that shows its FLOP
  // count's fields).
  mock: {
    needsModelFile: false,
    simulated: true,
    preflight: onnxPreflight,
    resolveModel: onnxModel,
    create: (options, cfg, req, model) =>
      new MockBackend(options, (model ? flopShape(model.arch) : null) ?? architectureOf(cfg.model), req),
  },
};

function entryOf(cfg: RunConfig): BackendEntry<BackendConfig> {
  return BACKENDS[cfg.backend.name] as BackendEntry<BackendConfig>;
}

export function createBackend(cfg: RunConfig, req: BackendRequest, model: ResolvedModel | null): Backend {
  return entryOf(cfg).create(cfg.backend, cfg, req, model);
}

/** Whether the backend runs a model file (and so needs it resolved, synthesized or downloaded first). */
export function needsModelFile(cfg: RunConfig): boolean {
  return entryOf(cfg).needsModelFile;
}

/** Whether the backend's latencies are simulated (the mock), so the machine's ceiling means nothing to them. */
export function isSimulated(cfg: RunConfig): boolean {
  return entryOf(cfg).simulated;
}

/** The backend's checks, before a run directory is claimed. */
export function preflightBackend(cfg: RunConfig): Promise<Preflight> {
  return entryOf(cfg).preflight(cfg.backend, cfg);
}

/** The model the backend runs, resolved (synthesized, exported, downloaded) once in the parent. */
export function resolveBackendModel(cfg: RunConfig): Promise<ResolvedModel> {
  return entryOf(cfg).resolveModel(cfg.backend, cfg);
}
