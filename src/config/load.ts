/**
 * The config layer's front door: open the search path, compose for a job, resolve and validate.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compose, type Composition } from './compose.js';
import { ConfigError } from './errors.js';
import { fillRuntime, HYDRA_DEFAULTS, taskConfig } from './hydra.js';
import { escapeInterpolations, resolveAll, type ResolveContext } from './interpolate.js';
import { parseOverride, type Override } from './grammar.js';
import { ConfigRepository } from './repository.js';
import { parseYaml } from './yaml.js';
import { validateRunConfig, type RunConfig } from './schema.js';
import { flatten, getPath, isTree, MISSING, type Tree } from '../util/tree.js';
import { onnxruntimeVersion } from '../util/versions.js';

/** The `configs/` folder shipped with bench. */
export const PACKAGE_CONFIG_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'configs');

export interface ConfigSource {
  /** The primary config folder (`-cp`), bench's own `configs/` by default. */
  readonly configDir: string;
  /** Folders added with `-cd`: their options join the groups; the primary folder wins on a tie. */
  readonly extraDirs: readonly string[];
  readonly configName: string;
}

/**
 * The search path: the primary folder, then the `-cd` folders, then bench's own `configs/` when
 * `-cp` replaced it. bench's groups play the part of a Hydra app's structured configs (or Hydra's
 * own `hydra/` groups): always there, last, so a primary config of one's own can build on them
 * (`defaults: [config, _self_, override model: bert-tiny]`) and its own files win on a tie.
 */
export function openRepository(src: ConfigSource): ConfigRepository {
  const own = resolve(src.configDir) === resolve(PACKAGE_CONFIG_DIR);
  return new ConfigRepository([
    { provider: own ? 'bench' : 'main', path: resolve(src.configDir) },
    ...src.extraDirs.map((d) => ({ provider: 'command-line', path: resolve(d) })),
    ...(own ? [] : [{ provider: 'bench', path: resolve(PACKAGE_CONFIG_DIR) }]),
  ]);
}

export interface JobIdentity {
  readonly num: number;
  readonly id: string;
}

export function composeJob(
  repo: ConfigRepository,
  src: ConfigSource,
  overrides: readonly Override[],
  opts: { master?: boolean; job?: JobIdentity; version: string },
): Composition {
  const comp = compose(repo, {
    configName: src.configName,
    overrides,
    master: opts.master ?? false,
    hydraDefaults: HYDRA_DEFAULTS,
  });
  refuseIgnoredHydraKeys(comp.config);
  fillRuntime(comp, {
    version: opts.version,
    versions: { bench: opts.version, node: process.versions.node, onnxruntime_node: onnxruntimeVersion() },
    argv: process.argv.slice(2),
    cwd: process.cwd(),
    configName: src.configName,
    configSources: repo.searchPath,
    ...(opts.job ? { job: opts.job } : {}),
  });
  return comp;
}

/**
 * Hydra keys bench has no behaviour for are refused when set, rather than accepted and ignored:
 * `hydra.job.chdir` (bench never changes the working directory: paths in the config resolve from
 * where bench started; `${hydra:runtime.output_dir}` names the run's folder) and `hydra.verbose`
 * (bench has no loggers to make verbose).
 */
function refuseIgnoredHydraKeys(config: Tree): void {
  const job = getPath(config, 'hydra.job.chdir');
  if (job.found && job.value !== false && job.value !== null) {
    throw new ConfigError(
      `hydra.job.chdir=${String(job.value)}: bench does not change the working directory (paths in the config resolve from where bench started); use \${hydra:runtime.output_dir} for the run's folder, and remove the override`,
    );
  }
  const verbose = getPath(config, 'hydra.verbose');
  if (verbose.found && verbose.value !== false && verbose.value !== null) {
    throw new ConfigError(
      `hydra.verbose=${JSON.stringify(verbose.value)}: bench has no loggers to make verbose; remove the override`,
    );
  }
}

export function resolveContext(): ResolveContext {
  return { env: process.env };
}

/**
 * A user's file is called by its file (or folder) name and a hub model by its id, not by the preset
 * whose fields fill the rest of `model`; null when the model is the preset's, or when `model.name`
 * was set to something other than the chosen preset's name.
 */
function userModelLabel(config: Tree, resolved: Tree): string | null {
  const raw = config.model;
  const model = resolved.model;
  const hydra = config.hydra;
  const runtime = isTree(hydra) ? hydra.runtime : undefined;
  const choices = isTree(runtime) ? runtime.choices : undefined;
  const preset = isTree(choices) ? choices.model : undefined;
  if (!isTree(raw) || !isTree(model) || typeof preset !== 'string' || raw.name !== preset) return null;
  if (typeof model.path === 'string' && model.path !== '') return basename(resolve(model.path));
  if (model.source === 'hub' && typeof model.id === 'string' && model.id !== '') return model.id;
  return null;
}

/** Every key whose value is still `???`. */
export function missingKeys(node: unknown, prefix = ''): string[] {
  if (node === MISSING) return [prefix];
  if (Array.isArray(node)) return node.flatMap((v, i) => missingKeys(v, prefix === '' ? String(i) : `${prefix}.${i}`));
  if (isTree(node))
    return Object.entries(node).flatMap(([k, v]) => missingKeys(v, prefix === '' ? k : `${prefix}.${k}`));
  return [];
}

/** The task config with every interpolation resolved, checked against the schema. */
export function resolveTask(config: Tree): { resolved: Tree; runConfig: RunConfig } {
  // Only the task's keys: the hydra node holds values a run may lack (a single run's job.num).
  let resolved = resolveAll(config, resolveContext(), taskConfig(config)) as Tree;
  const label = userModelLabel(config, resolved);
  if (label !== null) {
    // Resolved again, so that interpolations of ${model.name} see the label too.
    const relabelled = { ...config, model: { ...(config.model as Tree), name: escapeInterpolations(label) } };
    resolved = resolveAll(relabelled, resolveContext(), taskConfig(relabelled)) as Tree;
  }
  const missing = missingKeys(resolved);
  if (missing.length > 0) {
    throw new ConfigError(
      `Invalid config:\n${missing.map((k) => `  ${k}: missing mandatory value (???); set it with ${k}=VALUE`).join('\n')}`,
    );
  }
  try {
    return { resolved, runConfig: validateRunConfig(resolved, taskConfig(config)) };
  } catch (err) {
    const hint = err instanceof ConfigError ? notBuiltOnBench(config) : null;
    if (hint !== null) throw new ConfigError(`${(err as Error).message}\n${hint}`);
    throw err;
  }
}

/**
 * A primary config of one's own that lacks keys bench's `config.yaml` sets fails validation with
 * a list of them; the way out is to build on bench's config rather than set them all.
 */
function notBuiltOnBench(config: Tree): string | null {
  const name = getPath(config, 'hydra.job.config_name').value;
  if (typeof name !== 'string') return null;
  const own = parseYaml(readFileSync(join(PACKAGE_CONFIG_DIR, 'config.yaml'), 'utf8'), 'config.yaml').content;
  if (!isTree(own)) return null;
  const missing = Object.keys(own).filter((k) => k !== 'defaults' && !(k in config));
  // A key the command line deleted (~seed) is missing for that reason, not for the primary config's.
  const task = getPath(config, 'hydra.overrides.task').value;
  const deleted = (Array.isArray(task) ? task : [])
    .filter((line): line is string => typeof line === 'string' && line.startsWith('~'))
    .map((line) => parseOverride(line).keyOrGroup);
  const removed = missing.filter((k) => deleted.includes(k));
  if (removed.length > 0)
    return `${removed.map((k) => `~${k}`).join(' ')} deleted ${removed.length === 1 ? 'a key' : 'keys'} bench needs: drop the override, or set ${removed.map((k) => `${k}=VALUE`).join(' ')}`;
  const lacking = missing;
  if (lacking.length === 0) return null;
  if (name === 'config')
    return [
      `The primary config 'config' (a config.yaml of your own) lacks keys bench's own config sets (${lacking.join(', ')}),`,
      "and it shadows bench's config.yaml, so it cannot build on it: rename it (e.g. ci.yaml), put `- config` first in",
      'its defaults list, and pass -cn ci (docs/configuration.md, "Your own configs")',
    ].join('\n');
  return [
    `The primary config '${name}' lacks keys bench's own config sets (${lacking.join(', ')}).`,
    `Build on it: put \`- config\` first in the defaults list of ${name}.yaml, e.g.`,
    '  defaults:',
    '    - config',
    '    - _self_',
    '    - override model: bert-tiny',
    '(docs/configuration.md, "Your own configs")',
  ].join('\n');
}

let canonicalKeys: readonly string[] | null = null;

/**
 * The dotted keys of bench's own config with every option of its groups (backend, scenario,
 * launcher, model), in config order: the CSVs' `config.*` columns, the same whichever option a run
 * chose, so CSVs of an ONNX Runtime run and a PyTorch or mock run line up (a key a run lacks is
 * an empty cell). Keys of a config of one's own come after them.
 */
export function canonicalConfigKeys(): readonly string[] {
  if (canonicalKeys !== null) return canonicalKeys;
  const src: ConfigSource = { configDir: PACKAGE_CONFIG_DIR, extraDirs: [], configName: 'config' };
  const repo = openRepository(src);
  const keysOf = (overrides: Override[]): string[] => {
    try {
      const comp = compose(repo, { configName: 'config', overrides, master: false, hydraDefaults: HYDRA_DEFAULTS });
      return Object.keys(flatten(taskConfig(comp.config)));
    } catch {
      return [];
    }
  };
  const lists = [keysOf([])];
  for (const group of ['backend', 'scenario', 'launcher', 'model'])
    for (const option of repo.listOptions(group)) lists.push(keysOf([parseOverride(`${group}=${option}`)]));
  canonicalKeys = orderedUnion(lists);
  return canonicalKeys;
}

/**
 * Every key of the lists once, the first list's in its order; a key new to the union goes after
 * the last key of the same parent already there (so a backend's keys follow the default
 * backend's), else after the key before it in its own list.
 */
export function orderedUnion(lists: readonly (readonly string[])[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const list of lists) {
    let previous: string | null = null;
    for (const key of list) {
      if (!seen.has(key)) {
        const parent = key.includes('.') ? key.slice(0, key.lastIndexOf('.') + 1) : null;
        let at = parent === null ? -1 : out.findLastIndex((k) => k.startsWith(parent));
        if (at < 0) at = previous === null ? -1 : out.indexOf(previous);
        out.splice(at + 1, 0, key);
        seen.add(key);
      }
      previous = key;
    }
  }
  return out;
}
