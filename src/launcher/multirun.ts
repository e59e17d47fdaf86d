/**
 * A sweep: the master config (composed without the sweep values) names the sweep directory and
 * holds `hydra.sweeper.params`; the jobs are expanded from those and the command line, each is
 * recomposed from scratch and run in turn. A failed job is recorded and the sweep goes on; the
 * summary is rewritten (atomically) after every job, so an interrupted sweep keeps what it did.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ConfigError } from '../config/errors.js';
import { parseYaml } from '../config/yaml.js';
import type { RunResult } from '../results/types.js';
import { isHydraOverride } from '../config/compose.js';
import type { Override } from '../config/grammar.js';
import { parseOverride } from '../config/grammar.js';
import { resolveKey } from '../config/interpolate.js';
import { composeJob, resolveContext, type ConfigSource } from '../config/load.js';
import type { ConfigRepository } from '../config/repository.js';
import type { MachineContext } from '../config/grammar.js';
import { expandSweep, needsMachine, sweeperParams, type SweepJob } from '../config/sweep.js';
import type { Tree } from '../config/tree.js';
import { bestSetups, type BestSetup } from '../results/best.js';
import { planInstances } from './plan.js';
import { topologyFor } from './launch.js';
import { toYaml } from '../config/yaml.js';
import { benchVersion } from '../results/environment.js';
import { claimSweepDir } from '../results/rundir.js';
import { RESULTS_JSON, writeBestSetups, writeSweepSummary, type SummaryRow } from '../results/write.js';
import { runJob, type JobEvent, type JobOutcome } from './job.js';

export type SweepEvent =
  | { readonly type: 'sweep-start'; readonly dir: string; readonly jobs: readonly SweepJob[] }
  | JobEvent
  | { readonly type: 'sweep-end'; readonly dir: string; readonly outcomes: readonly JobOutcome[]; readonly best: readonly BestSetup[] };

/** A loop of jobs over one config (a sweep, bench tune), told of its progress through `E` events. */
export interface JobLoopRequest<E> {
  readonly repo: ConfigRepository;
  readonly source: ConfigSource;
  readonly overrides: readonly Override[];
  readonly onEvent?: (e: E) => void;
  /** Ctrl-C / SIGTERM: the running job is stopped and recorded, no further job starts. */
  readonly signal?: AbortSignal;
  /** `bench --resume DIR` / `bench tune --resume DIR`: the directory to complete; runs already ok there are kept. */
  readonly resumeDir?: string;
}

export type SweepRequest = JobLoopRequest<SweepEvent>;

interface EarlierJob {
  readonly dir: string;
  readonly result: RunResult | null;
}

/** The jobs an earlier run of this sweep left, from its summary (each row names its directory). */
function earlierJobs(sweepDir: string): Map<number, EarlierJob> {
  const jobs = new Map<number, EarlierJob>();
  const summary = join(sweepDir, 'summary.json');
  if (!existsSync(summary)) return jobs;
  for (const row of JSON.parse(readFileSync(summary, 'utf8')) as { job: number; dir: string }[]) {
    const dir = join(sweepDir, row.dir);
    const file = join(dir, RESULTS_JSON);
    const result = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as RunResult) : null;
    jobs.set(row.job, { dir, result });
  }
  return jobs;
}

/**
 * What `bench --resume DIR` needs to recompose a sweep exactly: its multirun.yaml keeps the
 * original overrides, primary config name and config search path in its `hydra` node.
 */
export function readSweepOrigin(sweepDir: string): { source: ConfigSource; overrides: string[] } {
  const file = join(sweepDir, 'multirun.yaml');
  if (!existsSync(file)) {
    throw new ConfigError(`--resume: ${sweepDir} is not a sweep directory (no multirun.yaml); give a multirun/DATE/TIME folder`);
  }
  const master = parseYaml(readFileSync(file, 'utf8'), file).content as { hydra?: { overrides?: { task?: string[]; hydra?: string[] }; job?: { config_name?: string }; runtime?: { config_sources?: { path: string }[] } } };
  const hydra = master.hydra;
  const sources = hydra?.runtime?.config_sources ?? [];
  if (!hydra?.job?.config_name || sources.length === 0) throw new ConfigError(`--resume: ${file} lacks the hydra node bench writes; it was not written by bench`);
  return {
    source: { configName: hydra.job.config_name, configDir: sources[0]!.path, extraDirs: sources.slice(1).map((s) => s.path) },
    overrides: [...(hydra.overrides?.hydra ?? []), ...(hydra.overrides?.task ?? [])],
  };
}

export interface SweepOutcome {
  readonly dir: string;
  readonly outcomes: readonly JobOutcome[];
  readonly best: readonly BestSetup[];
}

/** A sweep's jobs, each the override lines that compose it (after the Hydra overrides they share). */
export interface ExpandedSweep {
  readonly master: Tree;
  readonly jobs: readonly SweepJob[];
  /** Overrides of the `hydra` node from the command line, applied to every job. */
  readonly hydraOverrides: readonly Override[];
}

/** Expands a sweep from the command line and `hydra.sweeper.params` (machine functions included). */
export async function expandSweepJobs(repo: ConfigRepository, source: ConfigSource, overrides: readonly Override[]): Promise<ExpandedSweep> {
  const master = composeJob(repo, source, overrides, { master: true, version: benchVersion() });
  const params = sweeperParams(master.config);
  const machine = needsMachine([...params, ...overrides]) ? await machineContext(master.config) : undefined;
  return {
    master: master.config,
    jobs: expandSweep(repo, params, overrides, machine),
    hydraOverrides: overrides.filter((o) => isHydraOverride(o) && o.value?.kind !== 'sweep'),
  };
}

export async function runSweep(req: SweepRequest): Promise<SweepOutcome> {
  const { master: masterConfig, jobs, hydraOverrides } = await expandSweepJobs(req.repo, req.source, req.overrides);
  const master = { config: masterConfig };
  const dir = req.resumeDir ?? claimSweepDir(String(resolveKey(master.config, 'hydra.sweep.dir', resolveContext())), 'multirun.yaml', toYaml(master.config), 'hydra.sweep.dir');
  const earlier = req.resumeDir ? earlierJobs(req.resumeDir) : new Map<number, EarlierJob>();
  req.onEvent?.({ type: 'sweep-start', dir, jobs });

  const rows: SummaryRow[] = [];
  const outcomes: JobOutcome[] = [];
  for (const job of jobs) {
    if (req.signal?.aborted) break;
    const before = earlier.get(job.num);
    let outcome: JobOutcome;
    if (before?.result?.status === 'ok') {
      outcome = { status: 'ok', dir: before.dir, overrides: job.overrides, result: before.result, error: null };
      req.onEvent?.({ type: 'job-end', outcome, kept: true });
    } else {
      outcome = await runJob({
        repo: req.repo,
        source: req.source,
        overrides: [...hydraOverrides, ...job.overrides.map(parseOverride)],
        sweep: { job: { num: job.num, id: `${job.num}` }, dir },
        ...(req.onEvent ? { onEvent: req.onEvent } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
        ...(before ? { reuseDir: before.dir } : {}),
      });
    }
    outcomes.push(outcome);
    rows.push({
      job: job.num,
      status: outcome.status,
      dir: relative(dir, outcome.dir),
      overrides: job.overrides,
      result: outcome.result,
      error: outcome.error?.message ?? null,
    });
    writeSweepSummary(dir, rows);
  }
  const best = bestSetups(outcomes);
  writeBestSetups(dir, best);
  req.onEvent?.({ type: 'sweep-end', dir, outcomes, best });
  return { dir, outcomes, best };
}

/**
 * The physical cores that machine sweeps (core_counts, divisors, split_counts) are computed from:
 * those a run may use, i.e. online, inside this process's affinity, and left by launcher.nodes,
 * sockets and cpu_list, counted the way the planner counts them.
 */
async function machineContext(master: Tree): Promise<MachineContext> {
  const ctx = resolveContext();
  const get = (key: string): unknown => {
    try {
      return resolveKey(master, key, ctx);
    } catch {
      return null;
    }
  };
  const file = get('topology.file');
  const topology = await topologyFor({ topology: { file: typeof file === 'string' ? file : null } });
  const batch = get('batch_size');
  const ids = (v: unknown): number[] | null => (Array.isArray(v) && v.every((x) => Number.isInteger(x)) ? (v as number[]) : null);
  const cpuList = get('launcher.cpu_list');
  const usable = planInstances(topology, {
    num_instances: 1,
    cores_per_instance: null,
    use_smt: false,
    nodes: ids(get('launcher.nodes')),
    sockets: ids(get('launcher.sockets')),
    cpu_list: typeof cpuList === 'string' ? cpuList : typeof cpuList === 'number' ? String(cpuList) : ids(cpuList)?.join(',') ?? null,
    binding: 'none',
    split_batch: false,
    allow_uneven_split: false,
    batch_size: 1,
    num_threads: null,
  }).instances[0]!.cpus.length;
  return { physicalCores: usable, batchSize: typeof batch === 'number' ? batch : null };
}
