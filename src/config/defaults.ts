/**
 * The Defaults List (Hydra >= 1.1): which configs are merged, in which order, at which package.
 *
 * The tree is built the way Hydra builds it: each config's list is walked in reverse, so that an
 * `override` declared by a later entry (an experiment, say) is known before the earlier entry it
 * changes is expanded; the merge order is then the forward depth-first walk. Choices from the
 * command line beat `override` entries in files.
 */
import { ConfigError } from './errors.js';
import { nearest } from './suggest.js';
import type { ConfigRepository, LoadedConfig } from './repository.js';
import { MISSING } from '../util/tree.js';

type Option = string | string[] | null;

interface GroupEntry {
  readonly kind: 'group';
  /** Absolute group path, e.g. `model` or `hydra/launcher`. */
  readonly group: string;
  readonly pkg: string | null;
  readonly option: Option;
  readonly optional: boolean;
  readonly override: boolean;
  readonly text: string;
}

interface ConfigEntry {
  readonly kind: 'config';
  readonly path: string;
  readonly pkg: string | null;
  readonly optional: boolean;
}

type Entry = GroupEntry | ConfigEntry | { readonly kind: 'self' };

/** One config of the final list, in merge order. */
export interface ResolvedDefault {
  readonly configPath: string;
  readonly package: string;
  readonly parent: string | null;
  readonly isSelf: boolean;
  readonly content: Record<string, unknown>;
}

export interface GroupOverride {
  /** `db` or `db@pkg`, matched against the entries' override keys. */
  readonly key: string;
  readonly group: string;
  readonly pkg: string | null;
  readonly option: Option;
  readonly inputLine: string;
}

export interface DefaultsRequest {
  readonly primary: string;
  readonly choices: readonly GroupOverride[];
  readonly appends: readonly GroupOverride[];
  readonly deletions: readonly (Omit<GroupOverride, 'option'> & { readonly option: Option | undefined })[];
  /** In multirun the master composition tolerates `???` group options. */
  readonly skipMissing: boolean;
}

export interface DefaultsResult {
  readonly defaults: readonly ResolvedDefault[];
  /** Final choice of each group default, keyed by override key (Hydra's `runtime.choices`). */
  readonly choices: Readonly<Record<string, Option>>;
}

const overrideKey = (group: string, pkg: string | null): string => (pkg === null ? group : `${group}@${pkg}`);

export function resolveDefaults(repo: ConfigRepository, req: DefaultsRequest): DefaultsResult {
  const primary = repo.load(req.primary);
  if (!primary) {
    const available = repo.listOptions('');
    throw new ConfigError(
      `Cannot find primary config '${req.primary}'. Check that it's in your config search path.\n\nConfig search path:\n${repo.describe()}\n` +
        (available.length > 0
          ? `Primary configs there: ${available.join(', ')} (-cn NAME picks one; -cp DIR names another folder)`
          : 'That folder has no YAML file at its top: give -cp the folder that holds NAME.yaml'),
    );
  }
  const cliChoices = new Map(req.choices.map((c) => [c.key, c]));
  const used = new Set<string>();
  const fileOverrides = new Map<string, Option>();
  const choices: Record<string, Option> = {};
  const seen = new Map<string, Option>();
  const deletions = new Map(req.deletions.map((d) => [d.key, d]));
  const usedDeletions = new Set<string>();

  const stack: string[] = [];
  const expand = (cfg: LoadedConfig, pkg: string, parent: string | null, isPrimary: boolean): ResolvedDefault[] => {
    if (stack.includes(cfg.file)) {
      const chain = [...stack.slice(stack.indexOf(cfg.file)), cfg.file].join(' -> ');
      throw new ConfigError(
        `The defaults list of ${cfg.file} includes itself (${chain}); a config cannot build on itself. ` +
          "If it is a config.yaml of your own that shadows bench's, give it another name and pass -cn NAME",
      );
    }
    stack.push(cfg.file);
    try {
      return expandOnce(cfg, pkg, parent, isPrimary);
    } finally {
      stack.pop();
    }
  };
  const expandOnce = (cfg: LoadedConfig, pkg: string, parent: string | null, isPrimary: boolean): ResolvedDefault[] => {
    const groupDir = isPrimary ? '' : cfg.configPath.split('/').slice(0, -1).join('/');
    const entries = (cfg.defaults ?? []).map((raw) => parseEntry(raw, groupDir, cfg.file));
    if (isPrimary) {
      for (const a of req.appends) {
        entries.push({
          kind: 'group',
          group: a.group,
          pkg: a.pkg,
          option: a.option,
          optional: false,
          override: false,
          text: a.inputLine,
        });
      }
    }
    validateSelf(entries, cfg);
    validateOverrideOrder(entries, cfg);

    for (const e of [...entries].reverse()) {
      if (e.kind === 'group' && e.override) {
        const key = overrideKey(e.group, e.pkg);
        if (!fileOverrides.has(key)) fileOverrides.set(key, e.option);
      }
    }

    const children: ResolvedDefault[][] = [];
    for (const e of [...entries].reverse()) {
      if (e.kind === 'self') {
        children.push([{ configPath: cfg.configPath, package: pkg, parent, isSelf: true, content: cfg.content }]);
        continue;
      }
      if (e.kind === 'config') {
        const child = repo.load(e.path);
        if (!child) {
          if (e.optional) continue;
          throw new ConfigError(
            `In '${cfg.configPath}': Could not load '${e.path}'.\n\nConfig search path:\n${repo.describe()}`,
          );
        }
        const defaultPkg = e.path.split('/').slice(0, -1).join('.');
        children.push(expand(child, childPackage(pkg, e.pkg, child.packageHeader, defaultPkg), cfg.configPath, false));
        continue;
      }
      if (e.override) continue;
      // Hydra's package of a nested group default: relative to the package of the config that lists
      // it (model/bert-tiny.yaml's `- quantization: dynamic` lands in model.quantization, or in
      // alt.quantization when the model was added as +model@alt=...). The override key names that
      // package when it is not the group's own path, so the two never collide.
      const ownPkg = e.group.replaceAll('/', '.');
      const relative =
        !isPrimary && groupDir !== '' && e.group.startsWith(`${groupDir}/`)
          ? e.group.slice(groupDir.length + 1).replaceAll('/', '.')
          : null;
      const defaultPkg = relative !== null && pkg !== '' ? `${pkg}.${relative}` : ownPkg;
      const finalPkg = e.pkg !== null ? childPackage(pkg, e.pkg, null, defaultPkg) : defaultPkg;
      const key = e.pkg === null && finalPkg !== ownPkg ? overrideKey(e.group, finalPkg) : overrideKey(e.group, e.pkg);
      if (seen.has(key)) {
        throw new ConfigError(
          `Multiple values for ${key}. To override a value use 'override ${key}: ${String(e.option)}'`,
        );
      }
      let option: Option = e.option;
      const fromFile = fileOverrides.get(key);
      if (fromFile !== undefined) option = fromFile;
      const fromCli = cliChoices.get(key);
      if (fromCli) {
        option = fromCli.option;
        used.add(key);
      }
      seen.set(key, option);
      const deletion = deletions.get(key);
      if (deletion && (deletion.option === undefined || sameOption(deletion.option, option))) {
        usedDeletions.add(key);
        continue;
      }
      choices[key] = option;
      if (option === null) continue;
      if (option === MISSING) {
        if (req.skipMissing) continue;
        const available = repo
          .listOptions(e.group)
          .map((o) => `\t${o}`)
          .join('\n');
        throw new ConfigError(`You must specify '${key}', e.g, ${key}=<OPTION>\nAvailable options:\n${available}`);
      }
      const group: ResolvedDefault[] = [];
      for (const opt of Array.isArray(option) ? option : [option]) {
        const child = repo.load(`${e.group}/${opt}`);
        if (!child) {
          if (e.optional) continue;
          throw missingOption(repo, e.group, opt);
        }
        group.push(...expand(child, childPackage(pkg, e.pkg, child.packageHeader, defaultPkg), cfg.configPath, false));
      }
      children.push(group);
    }
    return children.reverse().flat();
  };

  const defaults = expand(
    primary,
    primary.packageHeader === null ? '' : absolutePackage(primary.packageHeader, '', ''),
    null,
    true,
  );

  for (const c of req.choices) {
    if (!used.has(c.key)) {
      throw new ConfigError(
        `Could not override '${c.key}'. No match in the defaults list.\nTo append to your default list use +${c.inputLine}`,
      );
    }
  }
  for (const d of req.deletions) {
    if (!usedDeletions.has(d.key)) {
      const what = d.option === undefined ? d.key : `${d.key}=${String(d.option)}`;
      throw new ConfigError(`Could not delete '${what}'. No match in the defaults list`);
    }
  }
  return { defaults, choices };
}

export function missingOption(repo: ConfigRepository, group: string, option: string): ConfigError {
  const listed = repo.listOptions(group);
  const options = listed.map((o) => `\t${o}`).join('\n');
  const hint =
    listed.length === 0
      ? `\nNo folder of the search path has a '${group}' group. -cp DIR replaces bench's own configs; ` +
        `to add your configs to bench's groups, use -cd DIR instead.`
      : '';
  // Beyond Hydra's message: the option most likely meant, as misspelt keys get.
  const [best] = nearest(option, listed);
  const meant = best === undefined ? '' : `\nDid you mean ${group.replaceAll('/', '.')}=${best}?`;
  return new ConfigError(
    `Could not find '${group}/${option}'\n\nAvailable options in '${group}':\n${options}\nConfig search path:\n${repo.describe()}${hint}${meant}`,
  );
}

function sameOption(a: Option, b: Option): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function parseEntry(raw: unknown, groupDir: string, file: string): Entry {
  const absolute = (p: string): string => (p.startsWith('/') ? p.slice(1) : groupDir === '' ? p : `${groupDir}/${p}`);
  if (raw === '_self_') return { kind: 'self' };
  if (typeof raw === 'string') {
    const [path, pkg] = splitAt(raw);
    return { kind: 'config', path: absolute(path), pkg, optional: false };
  }
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && Object.keys(raw).length === 1) {
    const [rawKey, rawOption] = Object.entries(raw)[0]!;
    const words = rawKey.trim().split(/\s+/);
    const name = words.pop()!;
    const flags = new Set(words);
    for (const f of flags) {
      if (f !== 'optional' && f !== 'override')
        throw new ConfigError(`In ${file}: invalid defaults list entry '${rawKey}': unknown keyword '${f}'`);
    }
    const [group, pkg] = splitAt(name);
    if (
      rawOption !== null &&
      typeof rawOption !== 'string' &&
      !(Array.isArray(rawOption) && rawOption.every((o) => typeof o === 'string'))
    ) {
      throw new ConfigError(
        `In ${file}: the option of '${rawKey}' must be a config name, a list of names, null or ???`,
      );
    }
    return {
      kind: 'group',
      group: absolute(group),
      pkg,
      option: rawOption as Option,
      optional: flags.has('optional'),
      override: flags.has('override'),
      text: `${rawKey}: ${String(rawOption)}`,
    };
  }
  throw new ConfigError(
    `In ${file}: invalid defaults list entry ${JSON.stringify(raw)}: use '- group: option', '- path/to/config' or '- _self_'`,
  );
}

function splitAt(s: string): [string, string | null] {
  const at = s.indexOf('@');
  return at < 0 ? [s, null] : [s.slice(0, at), s.slice(at + 1)];
}

/** `_self_` at most once; where it is left out it goes last, so a config's content beats its defaults. */
function validateSelf(entries: Entry[], cfg: LoadedConfig): void {
  const selves = entries.filter((e) => e.kind === 'self').length;
  if (selves > 1) throw new ConfigError(`Duplicate _self_ defined in ${cfg.configPath}`);
  if (selves === 0) entries.push({ kind: 'self' });
}

function validateOverrideOrder(entries: readonly Entry[], cfg: LoadedConfig): void {
  let firstOverride: GroupEntry | null = null;
  for (const e of entries) {
    if (e.kind === 'self') continue;
    if (e.kind === 'group' && e.override) {
      firstOverride ??= e;
    } else if (firstOverride) {
      const name = e.kind === 'group' ? e.text : e.path;
      throw new ConfigError(
        `In ${cfg.configPath}: Override '${firstOverride.text}' is defined before '${name}'.\nOverrides must be at the end of the defaults list`,
      );
    }
  }
}

/** Package priority: `@pkg` in the defaults list, then the file's `# @package` header, then the default. */
function childPackage(parentPkg: string, explicit: string | null, header: string | null, defaultPkg: string): string {
  if (explicit !== null) {
    if (explicit === '' || explicit === '_global_') return '';
    if (explicit.startsWith('_global_.')) return explicit.slice('_global_.'.length);
    if (explicit === '_here_') return parentPkg;
    return parentPkg === '' ? explicit : `${parentPkg}.${explicit}`;
  }
  if (header !== null) return absolutePackage(header, parentPkg, defaultPkg);
  return defaultPkg;
}

function absolutePackage(header: string, parentPkg: string, defaultPkg: string): string {
  if (header === '_global_') return '';
  if (header.startsWith('_global_.')) return header.slice('_global_.'.length);
  if (header === '_group_') return defaultPkg;
  if (header === '_here_') return parentPkg;
  return header;
}
