/**
 * The `hydra` node: what every composition starts from (Hydra's own `pkg://hydra.conf`), and the
 * runtime facts filled in before a job runs (`runtime`, `overrides`, `job`). The node is kept in
 * `.hydra/hydra.yaml`; the task config saved beside it has no `hydra` key.
 */
import { isTree, MISSING, type Tree } from '../util/tree.js';
import type { Composition } from './compose.js';
import { overrideDirname } from './sweep.js';
import { escapeInterpolations } from './interpolate.js';

export const HYDRA_DEFAULTS: Tree = {
  run: { dir: 'outputs/${now:%Y-%m-%d}/${now:%H-%M-%S}' },
  sweep: { dir: 'multirun/${now:%Y-%m-%d}/${now:%H-%M-%S}', subdir: '${hydra.job.num}' },
  sweeper: { params: {} },
  mode: null,
  output_subdir: '.hydra',
  verbose: false,
  job: {
    name: 'bench',
    chdir: false,
    // As in Hydra: a job's number and id exist only in a sweep; a single run's are ??? (MISSING).
    num: MISSING,
    id: MISSING,
    override_dirname: '',
    config_name: null,
    config: { override_dirname: { kv_sep: '=', item_sep: ',', exclude_keys: [] } },
  },
  runtime: { version: null, versions: {}, argv: [], cwd: null, output_dir: null, choices: {}, config_sources: [] },
  overrides: { hydra: [], task: [] },
};

export interface RuntimeFacts {
  readonly version: string;
  /** Versions of what the run depends on: bench, Node, onnxruntime-node. */
  readonly versions?: Readonly<Record<string, string | null>>;
  /** The command line bench was started with (flags included), after `bench`. */
  readonly argv?: readonly string[];
  readonly cwd: string;
  readonly configName: string;
  readonly configSources: readonly { provider: string; path: string }[];
  readonly job?: { readonly num: number; readonly id: string };
}

/** Writes the runtime facts into the composition's `hydra` node (in place). */
export function fillRuntime(comp: Composition, facts: RuntimeFacts): void {
  const hydra = comp.config.hydra as Tree;
  const job = hydra.job as Tree;
  const dirnameCfg = ((job.config as Tree | undefined)?.override_dirname ?? {}) as Tree;
  job.config_name = facts.configName;
  // The override text is data here: an interpolation in it (`+z=${..seed}`) belongs to the key it
  // sets, and must not be resolved again relative to `hydra.job`.
  job.override_dirname = escapeInterpolations(
    overrideDirname(comp.taskOverrides, {
      kvSep: String(dirnameCfg.kv_sep ?? '='),
      itemSep: String(dirnameCfg.item_sep ?? ','),
      excludeKeys: Array.isArray(dirnameCfg.exclude_keys) ? dirnameCfg.exclude_keys.map(String) : [],
    }),
  );
  if (facts.job) {
    job.num = facts.job.num;
    job.id = facts.job.id;
  }
  hydra.runtime = {
    ...(isTree(hydra.runtime) ? hydra.runtime : {}),
    version: facts.version,
    versions: { ...(facts.versions ?? {}) },
    argv: [...(facts.argv ?? [])],
    cwd: facts.cwd,
    choices: comp.choices,
    config_sources: facts.configSources.map((s) => ({ provider: s.provider, path: s.path, schema: 'file' })),
  };
  hydra.overrides = { hydra: [...comp.hydraOverrides], task: [...comp.taskOverrides] };
}

/** The task config: the composed config without the `hydra` node. */
export function taskConfig(config: Tree): Tree {
  const { hydra: _hydra, ...task } = config;
  return task;
}
