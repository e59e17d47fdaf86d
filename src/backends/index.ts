import type { RunConfig } from '../config/schema.js';
import { MockBackend } from './mock.js';
import type { Backend, BackendRequest } from './types.js';

export function createBackend(cfg: RunConfig, req: BackendRequest): Backend {
  const b = cfg.backend;
  switch (b.name) {
    case 'mock':
      return new MockBackend(b, cfg.model, req);
    case 'onnxruntime':
      throw new Error('backend=onnxruntime is not available yet: use backend=mock');
  }
}
