/**
 * The backend of one planned instance, as every scenario's worker builds it from its init message:
 * the instance's threads and index, how many instances run alongside it, the repetition, seed and
 * output folder.
 */
import { createBackend } from '../backends/registry.js';
import type { Backend } from '../backends/types.js';
import type { InitMessage } from '../launcher/protocol.js';

export function instanceBackend(init: InitMessage): Backend {
  const { config: cfg, instance, model, outputDir, repetition, alongside } = init;
  return createBackend(
    cfg,
    {
      threads: instance.threads,
      instanceIndex: instance.index,
      instances: alongside,
      repetition,
      seed: cfg.seed,
      outputDir,
    },
    model,
  );
}
