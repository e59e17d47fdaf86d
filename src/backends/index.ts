import type { RunConfig } from '../config/schema.js';
import { architectureOf, flopShape } from '../models/arch.js';
import type { ResolvedModel } from '../models/resolve.js';
import { MockBackend } from './mock.js';
import { OnnxRuntimeBackend } from './onnxruntime.js';
import type { Backend, BackendRequest } from './types.js';

/**
 * `model` is the resolved model file; the mock needs none and reads the architecture from the
 * config (or from a resolved model that shows its FLOP count's fields).
 */
export function createBackend(cfg: RunConfig, req: BackendRequest, model: ResolvedModel | null): Backend {
  const b = cfg.backend;
  switch (b.name) {
    case 'mock':
      return new MockBackend(b, (model ? flopShape(model.arch) : null) ?? architectureOf(cfg.model), req, cfg.launcher.num_instances);
    case 'onnxruntime':
      if (!model) throw new Error('backend=onnxruntime needs a resolved model');
      return new OnnxRuntimeBackend(b, model, req);
  }
}

/** Whether the backend runs a model file (and so needs it resolved, synthesized or downloaded first). */
export function needsModelFile(cfg: RunConfig): boolean {
  return cfg.backend.name !== 'mock';
}
