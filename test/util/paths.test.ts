/**
 * User strings that become file names stay inside their folder: a model's name in the cache, a
 * sweep's job subdirectory, a file a hub cache's ref names.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveModel } from '../../src/models/resolve.js';
import { fileSafeName, joinInside } from '../../src/util/paths.js';
import { miniModelConfig } from '../fixtures/models.js';

describe('file names from user strings', () => {
  it('fileSafeName keeps one harmless component', () => {
    expect(fileSafeName('bert-base-cased')).toBe('bert-base-cased');
    expect(fileSafeName('../../escaped')).toBe('_._.._escaped');
    expect(fileSafeName('a/b\\c d')).toBe('a_b_c_d');
    expect(fileSafeName('.hidden')).toBe('_hidden');
    expect(fileSafeName('')).toBe('_');
  });

  it('joinInside refuses a part that leads out, or onto the folder itself', () => {
    expect(joinInside('/x/y', 'k', 'a', 'b.json')).toBe('/x/y/a/b.json');
    expect(() => joinInside('/x/y', 'hydra.sweep.subdir', '../z')).toThrow(
      'hydra.sweep.subdir: "../z" leads outside /x/y; it must name a place inside it',
    );
    expect(() => joinInside('/x/y', 'k', 'a/../../z')).toThrow(/leads outside/);
    expect(() => joinInside('/x/y', 'k', '.')).toThrow(/leads outside/);
  });

  it('model.name=../../escaped synthesizes into the cache, not beside it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bench-escape-'));
    const cache = join(root, 'a', 'b', 'cache');
    const m = await resolveModel(miniModelConfig({ name: '../../escaped' }), 1, { BENCH_CACHE_DIR: cache });
    expect(dirname(m.file)).toBe(join(cache, 'models'));
    // Unguarded, the name would have put the file at a/b/escaped-...onnx, beside the cache.
    expect(readdirSync(join(root, 'a', 'b'))).toEqual(['cache']);
    expect(existsSync(join(root, 'escaped'))).toBe(false);
  });
});
