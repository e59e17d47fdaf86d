/**
 * The backends, by `backend.name`: a new one is a folder and a line here. Each entry builds the
 * backend for one instance and says whether it runs a model file (which the parent then resolves,
 * synthesizes or downloads before any instance starts).
 */
import type { BackendConfig, RunConfig } from '../config/schema.js';
import { architectureOf, flopShape } from '../models/arch.js';
import type { ResolvedModel } from '../models/resolve.js';
import { MockBackend } from './mock/index.js';
import { OnnxRuntimeBackend } from './onnxruntime/index.js';
import type { Backend, BackendRequest } from './types.js';

interface BackendEntry<C extends BackendConfig> {
  readonly needsModelFile: boolean;
  /** Latencies drawn from a model of the machine, not measured: no GEMM peak is probed for them. */
  readonly simulated: boolean;
  create(options: C, cfg: RunConfig, req: BackendRequest, model: ResolvedModel | null): Backend;
}

type Registry = { readonly [K in BackendConfig['name']]: BackendEntry<Extract<BackendConfig, { name: K }>> };

const BACKENDS: Registry = {
  onnxruntime: {
    needsModelFile: true,
    simulated: false,
    create: (options, _cfg, req, model) => {
      if (!model) throw new Error('backend=onnxruntime needs a resolved model');
      return new OnnxRuntimeBackend(options, model, req);
    },
  },
  // The mock needs no file; it reads the architecture from the config (or from a resolved model that shows its FLOP
  // count's fields).
  mock: {
    needsModelFile: false,
    simulated: true,
    create: (options, cfg, req, model) =>
      new MockBackend(options, (model ? flopShape(model.arch) : null) ?? architectureOf(cfg.model), req),
  },
};

export function createBackend(cfg: RunConfig, req: BackendRequest, model: ResolvedModel | null): Backend {
  const entry = BACKENDS[cfg.backend.name] as BackendEntry<BackendConfig>;
  return entry.create(cfg.backend, cfg, req, model);
}

/** Whether the backend runs a model file (and so needs it resolved, synthesized or downloaded first). */
export function needsModelFile(cfg: RunConfig): boolean {
  return BACKENDS[cfg.backend.name].needsModelFile;
}

/** Whether the backend's latencies are simulated (the mock), so the machine's ceiling means nothing to them. */
export function isSimulated(cfg: RunConfig): boolean {
  return BACKENDS[cfg.backend.name].simulated;
}
