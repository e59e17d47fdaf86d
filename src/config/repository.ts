/**
 * The config search path: where primary configs and config-group options are found. Like Hydra,
 * the first source that has a config wins, and a group's options are listed across all sources.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { parseYaml } from './yaml.js';

export interface SearchPathEntry {
  readonly provider: string;
  readonly path: string;
}

export interface LoadedConfig {
  /** `config`, `model/bert-base-cased`: the path without the extension. */
  readonly configPath: string;
  readonly file: string;
  readonly packageHeader: string | null;
  /** The raw `defaults` list, or null when the file has none. */
  readonly defaults: readonly unknown[] | null;
  /** The file's content without `defaults`. */
  readonly content: Record<string, unknown>;
}

export class ConfigRepository {
  private readonly cache = new Map<string, LoadedConfig | null>();

  constructor(readonly searchPath: readonly SearchPathEntry[]) {
    for (const entry of searchPath) {
      if (!existsSync(entry.path) || !statSync(entry.path).isDirectory()) {
        throw new ConfigError(`Additional config directory '${resolve(entry.path)}' not found`);
      }
    }
  }

  groupExists(group: string): boolean {
    return group !== '' && this.searchPath.some((e) => isDir(join(e.path, group)));
  }

  /** Option names of a group, across every source, sorted. */
  listOptions(group: string): string[] {
    const names = new Set<string>();
    for (const e of this.searchPath) {
      const dir = join(e.path, group);
      if (!isDir(dir)) continue;
      for (const f of readdirSync(dir)) {
        if (f.endsWith('.yaml') && !isDir(join(dir, f))) names.add(f.slice(0, -'.yaml'.length));
      }
    }
    return [...names].sort();
  }

  /** Every config group (folders with YAML files inside), nested ones as `a/b`, sorted. */
  listGroups(): string[] {
    const groups = new Set<string>();
    const walk = (root: string, rel: string): void => {
      for (const f of readdirSync(join(root, rel))) {
        const sub = rel === '' ? f : `${rel}/${f}`;
        if (!isDir(join(root, sub))) continue;
        if (readdirSync(join(root, sub)).some((x) => x.endsWith('.yaml'))) groups.add(sub);
        walk(root, sub);
      }
    };
    for (const e of this.searchPath) walk(e.path, '');
    return [...groups].sort();
  }

  load(configPath: string): LoadedConfig | null {
    const cached = this.cache.get(configPath);
    if (cached !== undefined) return cached;
    let loaded: LoadedConfig | null = null;
    for (const e of this.searchPath) {
      const file = join(e.path, `${configPath}.yaml`);
      if (!existsSync(file)) continue;
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new ConfigError(`Cannot read config file ${file}: ${(err as Error).message}`);
      }
      const { content, packageHeader } = parseYaml(text, file);
      if (content !== null && (typeof content !== 'object' || Array.isArray(content))) {
        throw new ConfigError(
          `Config file ${file} must hold a mapping at the top level, got ${Array.isArray(content) ? 'a list' : typeof content}`,
        );
      }
      const { defaults, ...rest } = (content ?? {}) as Record<string, unknown>;
      if (defaults !== undefined && !Array.isArray(defaults)) {
        throw new ConfigError(`In ${file}: 'defaults' must be a list`);
      }
      loaded = { configPath, file, packageHeader, defaults: defaults ?? null, content: rest };
      break;
    }
    this.cache.set(configPath, loaded);
    return loaded;
  }

  describe(): string {
    return this.searchPath.map((e) => `\tprovider=${e.provider}, path=file://${resolve(e.path)}`).join('\n');
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
