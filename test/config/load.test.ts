/**
 * The CSVs' config columns: bench's config keys across every option of its groups.
 */
import { describe, expect, it } from 'vitest';
import { canonicalConfigKeys, orderedUnion } from '../../src/config/load.js';

describe('orderedUnion', () => {
  it("keeps the first list's order and puts a new key after its parent's last key", () => {
    expect(
      orderedUnion([
        ['backend.name', 'backend.threads', 'model.name'],
        ['backend.name', 'backend.cv', 'model.name', 'model.extra', 'seed'],
        ['top', 'backend.mode'],
      ]),
    ).toEqual([
      'top',
      'backend.name',
      'backend.threads',
      'backend.cv',
      'backend.mode',
      'model.name',
      'model.extra',
      'seed',
    ]);
  });
});

describe('canonicalConfigKeys', () => {
  it("holds every backend's, scenario's and launcher's keys, once each", () => {
    const keys = canonicalConfigKeys();
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of [
      'backend.graph_optimization_level',
      'backend.latency_ms',
      'backend.mode',
      'scenario.min_iterations',
      'launcher.binding',
      'model.quantization.per_channel',
      'batch_size',
    ])
      expect(keys).toContain(k);
    expect(keys.some((k) => k.startsWith('scenario.lengths'))).toBe(true);
  });
});
