/**
 * The folder layering written in docs/architecture.md holds for every import of src/, so the rule
 * cannot drift from the code; and the check does catch an import that goes up a layer.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLayers, importsOf, layersFromDoc, readSources } from './layers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const layers = layersFromDoc(readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8'));

describe('the layering of src/', () => {
  it('docs/architecture.md places every folder of src/, util at the bottom and cli at the top', () => {
    const folders = execFileSync('git', ['ls-files', 'src'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f.split('/').length > 2)
      .map((f) => f.split('/')[1]!);
    for (const folder of new Set(folders))
      expect(layers.has(folder), `src/${folder}/ in docs/architecture.md`).toBe(true);
    expect(layers.get('util')).toBe(0);
    expect(Math.max(...layers.values())).toBe(layers.get('cli'));
  });

  it('no file of src/ imports a folder of a higher layer', () => {
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'src'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(50);
    expect(checkLayers(readSources(ROOT, files), layers)).toEqual([]);
  });

  it('the check catches an import that goes up a layer, and a folder no layer places', () => {
    const files = new Map([
      ['src/util/atomic.ts', "import { main } from '../cli/main.js';\nexport const x = 1;"],
      ['src/backends/registry.ts', "import type { Plan } from '../launcher/plan.js';"],
      ['src/models/resolve.ts', "const m = await import('../results/write.js');"],
      ['src/cli/main.ts', "import { x } from '../util/atomic.js';"],
      ['src/newfolder/a.ts', "import { x } from '../util/atomic.js';"],
    ]);
    const found = checkLayers(files, layers);
    expect(found.map((v) => `${v.file} ${v.imports}`)).toEqual([
      'src/util/atomic.ts ../cli/main.js',
      'src/backends/registry.ts ../launcher/plan.js',
      'src/models/resolve.ts ../results/write.js',
      'src/newfolder/a.ts ',
    ]);
    expect(found[0]!.message).toBe(`util (layer 0) imports cli (layer ${layers.get('cli')}), a higher layer`);
  });

  it('reads static, re-exported and dynamic imports', () => {
    expect(
      importsOf(
        "import a from './a.js';\nexport * from '../b.js';\nconst c = await import('../c.js');\nimport './d.js';\nimport x from 'node:fs';",
      ),
    ).toEqual(['./a.js', '../b.js', '../c.js', './d.js']);
  });
});
