/**
 * What `npm pack` publishes: bench runs from the package alone (bin, the built dist, configs, the
 * PyTorch runtime script, docs, the license), and nothing of the repository's workings (sources,
 * tests, outputs, CI). The name is the package's own (`bench` is taken on the registry; checked
 * once by hand, as the tests run offline), the license file matches package.json.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

describe('the published package', () => {
  it('holds what bench needs to run, and nothing of the repository', () => {
    // --ignore-scripts: packing must not run prepare (a build) beside the other tests.
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [pack] = JSON.parse(r.stdout) as { name: string; files: { path: string }[] }[];
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      name: string;
      license: string;
      bin: Record<string, string>;
    };
    expect(pack!.name).toBe(pkg.name);
    expect(pkg.name).not.toBe('bench');
    const files = pack!.files.map((f) => f.path);
    for (const needed of [
      'LICENSE',
      'README.md',
      'package.json',
      pkg.bin.bench!,
      'dist/cli/main.js',
      'dist/run/child.js',
      'dist/backends/pytorch/runtime.py',
      'configs/config.yaml',
      'configs/hydra/launcher/slurm.yaml',
      'docs/fleets.md',
      'schema/results.schema.json',
    ])
      expect(files, needed).toContain(needed);
    for (const prefix of ['src/', 'test/', 'outputs/', 'multirun/', '.ci/', 'node_modules/', 'scripts/'])
      expect(
        files.filter((f) => f.startsWith(prefix)),
        prefix,
      ).toEqual([]);
    expect(pkg.license).toBe('Apache-2.0');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0, January 2004/);
  });
});
