/**
 * Composition: overrides are sorted into Defaults-List edits (the key names a config group) and
 * config-value edits; the Defaults List is resolved and merged; then value overrides are applied
 * in command-line order with the root closed ("struct mode"), so new keys need `+`.
 */
import { resolveDefaults, type DefaultsRequest, type GroupOverride, type ResolvedDefault } from './defaults.js';
import { ConfigError } from './errors.js';
import { type Override } from './grammar.js';
import { referencedNode } from './interpolate.js';
import type { ConfigRepository } from './repository.js';
import { toJson } from '../util/numbers.js';
import { pythonEquals, pythonTypeName } from '../util/python.js';
import {
  atPackage,
  deepClone,
  deletePath,
  getPath,
  isTree,
  merge,
  MergeError,
  mergeOwned,
  setPath,
  splitPath,
  type Tree,
} from '../util/tree.js';
import { didYouMean, optionsWithKey } from './suggest.js';

export interface Composition {
  /** The composed config, `hydra` node included, interpolations not yet resolved. */
  readonly config: Tree;
  readonly defaults: readonly ResolvedDefault[];
  readonly choices: Readonly<Record<string, string | string[] | null>>;
  /** The overrides as typed: the app's and those of `hydra.*` keys. */
  readonly taskOverrides: readonly string[];
  readonly hydraOverrides: readonly string[];
}

export interface ComposeOptions {
  readonly configName: string;
  readonly overrides: readonly Override[];
  /** Multirun's master composition leaves sweeps out and tolerates `???` group options. */
  readonly master?: boolean;
  /** The `hydra` node that every composition starts from (our `pkg://hydra.conf`). */
  readonly hydraDefaults: Tree;
}

export function isHydraOverride(o: Override): boolean {
  return o.keyOrGroup === 'hydra' || o.keyOrGroup.startsWith('hydra.') || o.keyOrGroup.startsWith('hydra/');
}

export function compose(repo: ConfigRepository, opts: ComposeOptions): Composition {
  const choices: GroupOverride[] = [];
  const appends: GroupOverride[] = [];
  const deletions: DefaultsRequest['deletions'][number][] = [];
  const valueOverrides: Override[] = [];

  for (const o of opts.overrides) {
    if (o.value?.kind === 'sweep') {
      if (opts.master) continue;
      if (o.value.sweepType === 'SIMPLE_CHOICE_SWEEP') {
        throw new ConfigError(
          `Ambiguous value for argument '${o.inputLine}'\n` +
            '1. To use it as a list, use key=[value1,value2]\n' +
            "2. To use it as string, quote the value: key='value1,value2'\n" +
            '3. To sweep over it, add --multirun to your command line\n' +
            `(a shell strips quotes it sees, so quote the whole argument: '${o.inputLine.replace(/=(.*)$/s, '="$1"')}')`,
        );
      }
      throw new ConfigError(`Sweep parameters '${o.inputLine}' requires --multirun`);
    }
    const isGroup = repo.groupExists(o.keyOrGroup) && !(o.value && isTree(o.value.value));
    if (!isGroup) {
      if (o.pkg !== null) {
        throw new ConfigError(
          `Override ${o.inputLine} looks like a config group override, but config group '${o.keyOrGroup}' does not exist.`,
        );
      }
      valueOverrides.push(o);
      continue;
    }
    const key = o.pkg === null ? o.keyOrGroup : `${o.keyOrGroup}@${o.pkg}`;
    const option = o.value === null ? undefined : groupOption(o);
    const entry = { key, group: o.keyOrGroup, pkg: o.pkg, option: option ?? null, inputLine: o.inputLine };
    if (o.type === 'delete') deletions.push({ ...entry, option });
    else if (o.type === 'forceAdd')
      throw new ConfigError(`force-add of config groups is not supported: '${o.inputLine}'`);
    else if (o.type === 'add') appends.push(entry);
    else choices.push(entry);
  }

  const resolved = resolveDefaults(repo, {
    primary: opts.configName,
    choices,
    appends,
    deletions,
    skipMissing: opts.master ?? false,
  });

  let config: unknown = { hydra: deepClone(opts.hydraDefaults) };
  for (const d of resolved.defaults) {
    if (d.isSelf && Object.keys(d.content).length === 0) continue;
    try {
      config = mergeConfig(config as Tree, atPackage(d.package, d.content));
    } catch (err) {
      if (!(err instanceof MergeError)) throw err;
      throw new ConfigError(
        `${err.message}\nIn ${d.configPath}: '${err.fullKey}' is a list in one config and a dict in the other; make them the same kind`,
      );
    }
  }
  const root = config as Tree;
  for (const o of valueOverrides) applyValueOverride(root, o, repo);

  // As typed, sweeps included: multirun.yaml keeps them, which is what `bench --resume` replays.
  const lines = opts.overrides;
  return {
    config: root,
    defaults: resolved.defaults,
    choices: resolved.choices,
    taskOverrides: lines.filter((o) => !isHydraOverride(o)).map((o) => o.inputLine),
    hydraOverrides: lines.filter(isHydraOverride).map((o) => o.inputLine),
  };
}

/**
 * One config merged onto the config composed so far, as OmegaConf.merge does it: a dict onto a key
 * that holds an interpolation (`a: ${b}`) merges into what it points to. `into` is changed in place
 * (composition owns it) and returned.
 */
export function mergeConfig(into: Tree, content: unknown): Tree {
  return mergeOwned(into, content, { follow: referencedNode }) as Tree;
}

function groupOption(o: Override): string | string[] | null {
  const v = o.value?.kind === 'element' ? o.value.value : undefined;
  if (v === null || typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  throw new ConfigError(
    `Config group override must be a string or a list. Got ${pythonTypeName(v)}\n` +
      `Quote numeric option names: ${o.keyOrGroup}='${String(v)}'`,
  );
}

function applyValueOverride(root: Tree, o: Override, repo: ConfigRepository): void {
  const key = o.keyOrGroup;
  const value = o.value?.kind === 'element' ? deepClone(o.value.value) : undefined;
  const found = getPath(root, key);
  const last = splitPath(key).at(-1) ?? key;
  const bare = o.inputLine.replace(/^(\+\+|\+|~)/, '');
  if (
    o.type !== 'delete' &&
    ((isTree(found.value) && Array.isArray(value)) || (Array.isArray(found.value) && isTree(value)))
  ) {
    throw new ConfigError(
      `Error merging override ${o.inputLine}\nCannot merge DictConfig with ListConfig\n    full_key: ${key}\n` +
        `    object_type=${Array.isArray(found.value) ? 'list' : 'dict'}\n` +
        `'${key}' holds a ${Array.isArray(found.value) ? 'list' : 'dict'}: give it one too (bench --cfg job shows it)`,
    );
  }
  switch (o.type) {
    case 'change': {
      if (!found.found) {
        throw new ConfigError(
          `Could not override '${key}'.\nTo append to your config use +${o.inputLine}\n` +
            `Key '${last}' is not in struct\n    full_key: ${key}\n    object_type=dict` +
            (hintLine(root, key) || otherOptionHint(repo, root, key)),
        );
      }
      if (isTree(found.value) && isTree(value)) {
        assertKnownKeys(found.value, value, key, o.inputLine);
        setPath(root, key, merge(found.value, value), false);
      } else {
        setPath(root, key, value, false);
      }
      return;
    }
    case 'add': {
      if (found.found && found.value !== null && !isTree(value) && !Array.isArray(value)) {
        throw new ConfigError(
          `Could not append to config. An item is already at '${key}'.\n` +
            `Either remove + prefix: '${bare}'\nOr add a second + to add or override '${key}': '++${bare}'`,
        );
      }
      setPath(root, key, found.found && isTree(found.value) && isTree(value) ? merge(found.value, value) : value, true);
      return;
    }
    case 'forceAdd':
      setPath(root, key, found.found && isTree(found.value) && isTree(value) ? merge(found.value, value) : value, true);
      return;
    case 'delete': {
      if (!found.found) {
        throw new ConfigError(
          `Could not delete from config. '${key}' does not exist.` +
            (hintLine(root, key) || '\nbench --cfg job lists the keys of the composed config.'),
        );
      }
      if (o.value !== null && !pythonEquals(found.value, value)) {
        throw new ConfigError(
          `Could not delete from config. The value of '${key}' is ${displayValue(found.value)} and not ${displayValue(value)}.`,
        );
      }
      deletePath(root, key);
      return;
    }
  }
}

function assertKnownKeys(dest: Tree, src: Tree, key: string, line: string): void {
  for (const [k, v] of Object.entries(src)) {
    if (!(k in dest)) {
      throw new ConfigError(
        `Could not override '${key}'.\nTo append to your config use +${line}\n` +
          `Key '${k}' is not in struct\n    full_key: ${key}.${k}\n    object_type=dict` +
          hintLine({ [key]: dest }, `${key}.${k}`),
      );
    }
    const d = dest[k];
    if (isTree(d) && isTree(v)) assertKnownKeys(d, v, `${key}.${k}`, line);
  }
}

/**
 * For `scenario.arrival.rate_per_s=5` under scenario=latency: the group options that do have the
 * key (`it is a key of scenario=dispatch: choose that option first`), or nothing.
 */
function otherOptionHint(repo: ConfigRepository, root: Tree, key: string): string {
  const group = splitPath(key)[0]!;
  const chosen = isTree(root[group]) ? (root[group] as Tree).name : undefined;
  const having = optionsWithKey(repo, key).filter((opt) => opt !== chosen);
  return having.length === 0
    ? ''
    : `\n'${key}' is a key of ${having.map((o) => `${group}=${o}`).join(' or ')}: choose that option first (${group}=${having[0]} ${key}=...)` +
        `; to sweep it beside other ${group} options, make it an option of its own: a ${group}/NAME.yaml with \`defaults: [${having[0]}, _self_]\` and the key, in a -cd folder (configs/backend/torchscript.yaml is one)`;
}

/** A `Did you mean ...?` line for a key that does not exist, or nothing. */
function hintLine(root: Tree, key: string): string {
  const hint = didYouMean(root, key);
  return hint === null ? '' : `\n${hint}`;
}

function displayValue(v: unknown): string {
  return typeof v === 'string' ? v : toJson(v, 0);
}
