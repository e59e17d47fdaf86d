/**
 * Hydra's BasicSweeper: `hydra.sweeper.params` from the config first, then the command line's task
 * overrides (a command-line entry for the same key replaces the value but keeps the position);
 * each sweep is expanded, and the jobs are the cartesian product with the last key varying fastest.
 */
import { isHydraOverride } from './compose.js';
import { ConfigError } from './errors.js';
import { expandValues, keyElement, parseOverride, type MachineContext, type Override } from './grammar.js';
import type { ConfigRepository } from './repository.js';
import { isTree } from '../util/tree.js';

export interface SweepJob {
  readonly num: number;
  /** The job's task overrides as override strings, e.g. `['batch_size=1', 'sequence_length=32']`. */
  readonly overrides: readonly string[];
}

/** Jobs above this many are refused: a typo such as range(0,100000) should not start a week of runs. */
export const MAX_SWEEP_JOBS = 10_000;

export function sweeperParams(masterConfig: unknown): Override[] {
  const hydra = isTree(masterConfig) ? masterConfig.hydra : undefined;
  const sweeper = isTree(hydra) ? hydra.sweeper : undefined;
  const params = isTree(sweeper) ? sweeper.params : undefined;
  if (params === undefined || params === null) return [];
  if (!isTree(params))
    throw new ConfigError('hydra.sweeper.params must be a mapping of key: sweep, e.g. {batch_size: 1,8}');
  return Object.entries(params).map(([k, v]) => parseOverride(`${k}=${typeof v === 'string' ? v : String(v)}`));
}

export function expandSweep(
  repo: ConfigRepository,
  configParams: readonly Override[],
  cliOverrides: readonly Override[],
  machine?: MachineContext,
): SweepJob[] {
  for (const o of cliOverrides) {
    if (isHydraOverride(o) && o.value?.kind === 'sweep') {
      throw new ConfigError(`Sweeping over Hydra's configuration is not supported : '${o.inputLine}'`);
    }
  }
  const ordered = new Map<string, Override>();
  for (const o of [...configParams, ...cliOverrides.filter((x) => !isHydraOverride(x))]) {
    ordered.set(keyElement(o), o);
  }
  const axes: string[][] = [...ordered.values()].map((o) => {
    // As Hydra writes them (`x= 10` is `x=10`); `~key` alone stays so (Hydra would write `~key=null`).
    if (o.value === null) return [o.inputLine];
    if (o.value.kind !== 'sweep') return [`${keyElement(o)}=${o.value.text}`];
    const options = o.value.sweepType === 'GLOB_CHOICE_SWEEP' ? globOptions(repo, o) : undefined;
    const values = expandValues(o.value.sweep, o.inputLine, options, machine);
    if (values.length === 0) throw new ConfigError(`The sweep '${o.inputLine}' has no values`);
    return values.map((e) => `${keyElement(o)}=${e.text}`);
  });
  const total = axes.reduce((n, a) => n * a.length, 1);
  if (total > MAX_SWEEP_JOBS) {
    throw new ConfigError(`The sweep has ${total} jobs, more than ${MAX_SWEEP_JOBS}: narrow the sweep values`);
  }
  let combos: string[][] = [[]];
  for (const axis of axes) combos = combos.flatMap((c) => axis.map((v) => [...c, v]));
  return combos.map((overrides, num) => ({ num, overrides }));
}

function globOptions(repo: ConfigRepository, o: Override): string[] {
  if (!repo.groupExists(o.keyOrGroup)) {
    throw new ConfigError(`glob() in '${o.inputLine}' needs a config group, and '${o.keyOrGroup}' is not one`);
  }
  return repo.listOptions(o.keyOrGroup);
}

/** Hydra's `override_dirname`: sorted input lines, `=` replaced by kv_sep, joined with item_sep. */
export function overrideDirname(
  overrides: readonly string[],
  opts: { kvSep: string; itemSep: string; excludeKeys: readonly string[] },
): string {
  return overrides
    .filter((line) => !opts.excludeKeys.includes(parseOverride(line).keyOrGroup))
    .sort()
    .map((line) => line.replaceAll('=', opts.kvSep))
    .join(opts.itemSep);
}

/** Whether any sweep needs the machine (core_counts, divisors, split_counts) to be expanded. */
export function needsMachine(overrides: readonly Override[]): boolean {
  return overrides.some((o) => o.value?.kind === 'sweep' && o.value.sweepType === 'MACHINE_SWEEP');
}
