/**
 * The folder layering of src/, as docs/architecture.md states it: a table of layers, each a list
 * of folders; a folder may import its own layer and those below, never one above. Test-only.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/** The layer of each folder, read from the "Layers" table of docs/architecture.md (`| 3 | backends |`). */
export function layersFromDoc(markdown: string): Map<string, number> {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Layers'));
  if (!section) throw new Error('docs/architecture.md has no "## Layers" section');
  const layers = new Map<string, number>();
  for (const line of section.split('\n')) {
    const m = /^\|\s*(\d+)\s*\|\s*([^|]+)\|/.exec(line);
    if (!m) continue;
    for (const folder of m[2]!.split(',').map((f) => f.trim().replace(/`/g, '')))
      if (folder !== '') layers.set(folder, Number(m[1]));
  }
  return layers;
}

/** The relative module specifiers a source file imports (static, re-exports, dynamic). */
export function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const re of [
    /\bfrom\s+'(\.{1,2}\/[^']+)'/g,
    /\bimport\s*\(\s*'(\.{1,2}\/[^']+)'\s*\)/g,
    /^\s*import\s+'(\.{1,2}\/[^']+)'/gm,
  ]) {
    for (const m of source.matchAll(re)) found.push(m[1]!);
  }
  return found;
}

export interface Violation {
  readonly file: string;
  readonly imports: string;
  readonly message: string;
}

/**
 * Every import between folders of src/ that goes up a layer, and every folder the table does not
 * place. `files` maps paths relative to the repository (src/...) to their text.
 */
export function checkLayers(files: ReadonlyMap<string, string>, layers: ReadonlyMap<string, number>): Violation[] {
  const folderOf = (path: string): string | null => {
    const parts = relative('src', path).split('/');
    return parts.length > 1 && parts[0] !== '..' ? parts[0]! : null;
  };
  const out: Violation[] = [];
  for (const [file, text] of files) {
    const from = folderOf(file);
    if (from === null) continue;
    const fromLayer = layers.get(from);
    if (fromLayer === undefined) {
      out.push({ file, imports: '', message: `src/${from}/ is in no layer of docs/architecture.md: place it there` });
      continue;
    }
    for (const spec of importsOf(text)) {
      const target = normalize(join(dirname(file), spec));
      const to = folderOf(target);
      if (to === null || to === from) continue;
      const toLayer = layers.get(to);
      if (toLayer === undefined) out.push({ file, imports: spec, message: `imports src/${to}/, which is in no layer` });
      else if (toLayer > fromLayer)
        out.push({
          file,
          imports: spec,
          message: `${from} (layer ${fromLayer}) imports ${to} (layer ${toLayer}), a higher layer`,
        });
    }
  }
  return out;
}

/** The repository's own src/ files. */
export function readSources(root: string, list: readonly string[]): Map<string, string> {
  return new Map(list.map((f) => [f, readFileSync(join(root, f), 'utf8')]));
}
