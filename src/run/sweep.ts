/**
 * A sweep: the master config (composed without the sweep values) names the sweep directory and
 * holds `hydra.sweeper.params`; the jobs are expanded from those and the command line, each is
 * recomposed from scratch and run in turn. Before any folder exists, every job is composed,
 * validated and planned: a sweep with a job that cannot run (a misspelt key, a value of the wrong
 * type, an impossible core plan) is refused whole, naming the jobs. A job that fails while it runs
 * is recorded and the sweep goes on; the summary is rewritten (atomically) after every repetition,
 * so an interrupted sweep keeps what it did.
 *
 * Repetitions are interleaved in rounds: every job's first repetition, then every job's second,
 * and so on, so a slow drift of the machine (temperature, frequency, a neighbour) is spread over
 * all jobs alike instead of landing on the jobs that happen to run last.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ConfigError } from '../config/errors.js';
import { parseYaml } from '../config/yaml.js';
import type { RunResult } from '../results/types.js';
import { isHydraOverride } from '../config/compose.js';
import type { Override } from '../config/grammar.js';
import { parseOverride } from '../config/grammar.js';
import { resolveKey } from '../config/interpolate.js';
import { composeJob, openRepository, resolveContext, resolveTask, type ConfigSource } from '../config/load.js';
import { isUserError } from '../util/errors.js';
import { joinInside } from '../util/paths.js';
import { WriteGuard } from '../util/write-guard.js';
import type { ConfigRepository } from '../config/repository.js';
import type { MachineContext } from '../config/grammar.js';
import { expandSweep, needsMachine, sweeperParams, type SweepJob } from '../config/sweep.js';
import { getPath, isTree, type Tree } from '../util/tree.js';
import { plainNumbers } from '../util/numbers.js';
import { bestSetups, type BestSetup } from '../results/best.js';
import { planInstances } from '../launcher/plan.js';
import { prepareLaunch, topologyFor } from './launch.js';
import { toYaml } from '../config/yaml.js';
import { benchVersion } from '../util/versions.js';
import { claimSweepDir, namedAfterTime } from '../results/rundir.js';
import { writeBestSetups, writeSweepSummary, type SummaryRow } from '../results/write.js';
import { openJob, type Job, type JobEvent, type JobOutcome } from './job.js';
import { findJobResults, shardJobs, summaryRowsFrom, type FoundJobs } from './gather.js';
import type { Shard } from '../results/types.js';

export type SweepEvent =
  | {
      readonly type: 'sweep-start';
      readonly dir: string;
      readonly jobs: readonly SweepJob[];
      /** Repetitions per job, as the master config says (a job may override it). */
      readonly repetitions: number;
    }
  | JobEvent
  | {
      readonly type: 'sweep-end';
      readonly dir: string;
      readonly outcomes: readonly JobOutcome[];
      readonly best: readonly BestSetup[];
    };

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

export type SweepRequest = JobLoopRequest<SweepEvent> & {
  /**
   * Run only this shard's jobs (number mod count = index), into a sweep folder the shards share:
   * the first shard makes it, the others join it (it must be named, not made from the time).
   */
  readonly shard?: Shard | null;
};

interface EarlierJob {
  readonly dir: string;
  readonly result: RunResult | null;
}

/**
 * The jobs an earlier run of this sweep left: the results found in its job folders (another
 * shard's jobs too), and, for a job whose folder holds no results, the folder its summary row
 * names (the job runs again there).
 */
function earlierJobs(sweepDir: string, found: FoundJobs['found']): Map<number, EarlierJob> {
  const jobs = new Map<number, EarlierJob>([...found].map(([num, f]) => [num, f[0]!]));
  const summary = join(sweepDir, 'summary.json');
  if (existsSync(summary)) {
    for (const row of JSON.parse(readFileSync(summary, 'utf8')) as { job: number; dir: string }[])
      if (!jobs.has(row.job)) jobs.set(row.job, { dir: join(sweepDir, row.dir), result: null });
  }
  return jobs;
}

/** Refuses a sweep with a job that cannot run, naming the first few, before any folder exists. */
export function refuseUnrunnable(bad: readonly { job: SweepJob; error: string }[], total: number): void {
  if (bad.length === 0) return;
  const shown = bad.slice(0, 3).map((b) => {
    const why = b.error
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .join(' ');
    return `  job ${b.job.num} (${b.job.overrides.join(' ') || 'no overrides'}): ${why.length > 300 ? `${why.slice(0, 297)}...` : why}`;
  });
  throw new ConfigError(
    `${bad.length} of ${total} jobs of this sweep cannot run, so none was started and no folder was made:\n${shown.join('\n')}` +
      (bad.length > 3 ? `\n  ... and ${bad.length - 3} more (bench plan -m ... lists every job)` : ''),
  );
}

/** Makes the sweep's folder, with its multirun.yaml (the master config), and returns it. */
export function claimSweepFolder(master: Tree): string {
  return claimSweepDir(
    String(resolveKey(master, 'hydra.sweep.dir', resolveContext())),
    'multirun.yaml',
    toYaml(master),
    'hydra.sweep.dir',
    !namedAfterTime(getPath(master, 'hydra.sweep.dir').value),
  );
}

/**
 * A shard's sweep folder: made by the first shard to start, joined by the others. Joining needs
 * the same sweep there (the same overrides in its multirun.yaml) and a folder named, not made from
 * the time (each machine's clock would name its own).
 */
function joinOrClaim(master: Tree, overrides: readonly Override[], source: ConfigSource, claim: () => string): string {
  const raw = getPath(master, 'hydra.sweep.dir').value;
  if (namedAfterTime(raw))
    throw new ConfigError(
      `--shard: the shards of a sweep write into one folder, and hydra.sweep.dir=${String(raw)} is named after the time (each machine would make its own); name it: hydra.sweep.dir=PATH on a filesystem every machine sees`,
    );
  const dir = resolve(String(resolveKey(master, 'hydra.sweep.dir', resolveContext())));
  if (!existsSync(join(dir, 'multirun.yaml'))) {
    try {
      return claim();
    } catch (err) {
      // Another shard made it first: joined below.
      if (!existsSync(join(dir, 'multirun.yaml'))) throw err;
    }
  }
  const origin = readSweepOrigin(dir);
  const theirs = origin.overrides;
  const ours = overrides.map((o) => o.inputLine);
  if (
    JSON.stringify([...theirs].sort()) !== JSON.stringify([...ours].sort()) ||
    origin.source.configName !== source.configName ||
    resolve(origin.source.configDir) !== resolve(source.configDir)
  )
    throw new ConfigError(
      `--shard: ${dir} holds another sweep (its config ${origin.source.configName}, overrides: ${theirs.join(' ') || 'none'}; these: ${ours.join(' ') || 'none'}); give every shard the same command, and a new sweep a new folder`,
    );
  return dir;
}

/**
 * What `bench --resume DIR` needs to recompose a sweep exactly: its multirun.yaml keeps the
 * original overrides, primary config name and config search path in its `hydra` node.
 */
export function readSweepOrigin(sweepDir: string): { source: ConfigSource; overrides: string[] } {
  const file = join(sweepDir, 'multirun.yaml');
  if (!existsSync(file)) {
    // The root of a sweep run per machine type holds one sweep folder per type.
    const types = existsSync(sweepDir)
      ? readdirSync(sweepDir).filter((d) => existsSync(join(sweepDir, d, 'multirun.yaml')))
      : [];
    throw new ConfigError(
      types.length > 0
        ? `${sweepDir} is not a sweep folder but holds some (${types.join(', ')}; a sweep run per machine type has one per type): give one of them, e.g. ${join(sweepDir, types[0]!)}`
        : `${sweepDir} is not a sweep folder (no multirun.yaml); give a multirun/DATE/TIME folder`,
    );
  }
  const content = parseYaml(readFileSync(file, 'utf8'), file).content;
  if (!isTree(content)) throw new ConfigError(`${file} holds no sweep (it is empty or not a mapping)`);
  const master = content as {
    hydra?: {
      overrides?: { task?: string[]; hydra?: string[] };
      job?: { config_name?: string };
      runtime?: { config_sources?: { path: string }[] };
    };
  };
  const hydra = master.hydra;
  const sources = hydra?.runtime?.config_sources ?? [];
  if (!hydra?.job?.config_name || sources.length === 0)
    throw new ConfigError(`${file} lacks the hydra node bench writes; it was not written by bench`);
  return {
    source: {
      configName: hydra.job.config_name,
      configDir: sources[0]!.path,
      extraDirs: sources.slice(1).map((s) => s.path),
    },
    overrides: [...(hydra.overrides?.hydra ?? []), ...(hydra.overrides?.task ?? [])],
  };
}

export interface SweepOutcome {
  readonly dir: string;
  readonly outcomes: readonly JobOutcome[];
  /** What summary.csv holds (one row per job that ended), whether or not it could be written. */
  readonly rows: readonly SummaryRow[];
  readonly best: readonly BestSetup[];
  /** Sweep files (summary, best setups) that could not be written, each with the reason. */
  readonly writeErrors: readonly string[];
}

/** A sweep's jobs, each the override lines that compose it (after the Hydra overrides they share). */
export interface ExpandedSweep {
  readonly master: Tree;
  readonly jobs: readonly SweepJob[];
  /** Overrides of the `hydra` node from the command line, applied to every job. */
  readonly hydraOverrides: readonly Override[];
  /** Its values come from the machine (core_counts, divisors, split_counts): each machine expands its own. */
  readonly machineSized: boolean;
}

/** A sweep sized by the machine cannot be split over machines: each would expand other jobs. */
export function refuseMachineSized(sweep: ExpandedSweep, how: string): void {
  if (sweep.machineSized)
    throw new ConfigError(
      `${how}: this sweep takes its values from the machine (core_counts, divisors or split_counts), so each machine would expand other jobs; give the values explicitly (bench plan -m shows what this machine expands them to)`,
    );
}

/** Expands a sweep from the command line and `hydra.sweeper.params` (machine functions included). */
export async function expandSweepJobs(
  repo: ConfigRepository,
  source: ConfigSource,
  overrides: readonly Override[],
): Promise<ExpandedSweep> {
  const master = composeJob(repo, source, overrides, { master: true, version: benchVersion() });
  const params = sweeperParams(master.config);
  const machineSized = needsMachine([...params, ...overrides]);
  const machine = machineSized ? await machineContext(master.config) : undefined;
  return {
    master: master.config,
    jobs: expandSweep(repo, params, overrides, machine),
    hydraOverrides: overrides.filter((o) => isHydraOverride(o) && o.value?.kind !== 'sweep'),
    machineSized,
  };
}

/**
 * Every job composed, validated and planned as it would be when it runs, without a folder: the
 * jobs that cannot run, each with why. (Runtime checks stay with each job: a model that cannot be
 * loaded fails that job, and the sweep goes on.)
 */
export async function unrunnableJobs(
  repo: ConfigRepository,
  source: ConfigSource,
  jobs: readonly SweepJob[],
  hydraOverrides: readonly Override[],
): Promise<{ job: SweepJob; error: string }[]> {
  const out: { job: SweepJob; error: string }[] = [];
  const version = benchVersion();
  for (const job of jobs) {
    try {
      const comp = composeJob(repo, source, [...hydraOverrides, ...job.overrides.map(parseOverride)], {
        version,
        job: { num: job.num, id: `${job.num}` },
      });
      // Its folder must stay inside the sweep's (the sweep's own folder does not exist yet).
      joinInside(
        '/sweep',
        'hydra.sweep.subdir',
        String(resolveKey(comp.config, 'hydra.sweep.subdir', resolveContext())),
      );
      const outputSubdir = resolveKey(comp.config, 'hydra.output_subdir', resolveContext());
      if (typeof outputSubdir === 'string') joinInside('/sweep/job', 'hydra.output_subdir', outputSubdir);
      const { runConfig } = resolveTask(comp.config);
      await prepareLaunch(runConfig);
    } catch (err) {
      if (!isUserError(err)) throw err;
      out.push({ job, error: err.message });
    }
  }
  return out;
}

export async function runSweep(req: SweepRequest): Promise<SweepOutcome> {
  const expanded = await expandSweepJobs(req.repo, req.source, req.overrides);
  const { master: masterConfig, jobs, hydraOverrides } = expanded;
  if (req.shard) refuseMachineSized(expanded, '--shard');
  const master = { config: masterConfig };
  // A resumed sweep already has its folder, and its jobs' results say what ran: a job that cannot
  // run now is recorded as errored, as it was then, and the others finish.
  if (!req.resumeDir) refuseUnrunnable(await unrunnableJobs(req.repo, req.source, jobs, hydraOverrides), jobs.length);
  const shard = req.shard ?? null;
  const claim = (): string => claimSweepFolder(master.config);
  const dir = req.resumeDir ?? (shard ? joinOrClaim(master.config, req.overrides, req.source, claim) : claim());
  // A shard resumes what it finds there: the shared folder is the record of every shard's jobs.
  // What the folder holds already (a resumed sweep, a shard joining): read once.
  const found = req.resumeDir || shard ? findJobResults(dir, jobs).found : new Map<number, never[]>();
  const earlier = earlierJobs(dir, found);
  const mine = shardJobs(jobs, shard);
  req.onEvent?.({ type: 'sweep-start', dir, jobs: mine, repetitions: masterRepetitions(master.config) });

  // A shard's summary holds the other shards' jobs as the folder had them when it started.
  const others = shard ? summaryRowsFrom(dir, jobs, found).filter((r) => !mine.some((j) => j.num === r.job)) : [];
  const slots = mine.map((job) => ({
    job,
    handle: null as Job | null,
    outcome: null as JobOutcome | null,
    row: null as SummaryRow | null,
  }));
  const record = (
    slot: (typeof slots)[number],
    result: RunResult,
    status: string,
    jobDir: string,
    error: string | null,
  ): void => {
    slot.row = { job: slot.job.num, status, dir: relative(dir, jobDir), overrides: slot.job.overrides, result, error };
    writes.run('summary.csv', () =>
      writeSweepSummary(
        dir,
        [...others, ...slots.flatMap((s) => (s.row ? [s.row] : []))].sort((a, b) => a.job - b.job),
      ),
    );
  };
  // A sweep file that cannot be written (a full disk) does not stop the sweep: the jobs' own files
  // (or, where those failed too, their results printed by the CLI) keep the measurements.
  const writes = new WriteGuard();
  // Round r runs every unfinished job's next repetition; a job is opened in its first round.
  for (let round = 1; slots.some((s) => s.outcome === null) && !req.signal?.aborted; round++) {
    for (const slot of slots) {
      if (req.signal?.aborted) break;
      if (slot.outcome) continue;
      if (!slot.handle) {
        const before = earlier.get(slot.job.num);
        if (before?.result?.status === 'ok') {
          slot.outcome = {
            status: 'ok',
            dir: before.dir,
            overrides: slot.job.overrides,
            result: before.result,
            error: null,
          };
          req.onEvent?.({ type: 'job-end', outcome: slot.outcome, kept: true });
          record(slot, before.result, 'ok', before.dir, null);
          continue;
        }
        slot.handle = await openJob({
          repo: req.repo,
          source: req.source,
          overrides: [...hydraOverrides, ...slot.job.overrides.map(parseOverride)],
          sweep: { job: { num: slot.job.num, id: `${slot.job.num}` }, dir, ...(shard ? { shard } : {}) },
          onEvent: (e) => {
            if (e.type === 'repetition-end') record(slot, e.result, e.result.status, e.dir, e.result.error);
            req.onEvent?.(e);
          },
          ...(req.signal ? { signal: req.signal } : {}),
          ...(before ? { reuseDir: before.dir, earlier: before.result } : {}),
        });
      }
      const next = slot.handle.pending()[0];
      if (next !== undefined) await slot.handle.runRepetition(next);
      if (slot.handle.done && !req.signal?.aborted) {
        slot.outcome = await slot.handle.finish();
        record(slot, slot.outcome.result, slot.outcome.status, slot.outcome.dir, slot.outcome.error?.message ?? null);
      }
    }
  }
  // Stopped by a signal: the jobs that were opened keep what they measured, marked interrupted.
  for (const slot of slots) {
    if (slot.outcome || !slot.handle) continue;
    slot.outcome = await slot.handle.finish();
    record(slot, slot.outcome.result, slot.outcome.status, slot.outcome.dir, slot.outcome.error?.message ?? null);
  }
  const outcomes = slots.flatMap((s) => (s.outcome ? [s.outcome] : []));
  const best = bestSetups(outcomes);
  writes.run('best_setups.csv', () => writeBestSetups(dir, best));
  req.onEvent?.({ type: 'sweep-end', dir, outcomes, best });
  let rows = slots.flatMap((s) => (s.row ? [s.row] : []));
  if (shard) {
    // A shard ends by writing the summary and best setups of every job the folder holds by then
    // (bench gather DIR rebuilds them at any time, once every shard has ended).
    rows = summaryRowsFrom(dir, jobs, findJobResults(dir, jobs).found);
    writes.run('summary.csv', () => writeSweepSummary(dir, rows));
    const all = bestSetups(rows.map((r) => ({ job: r.job, overrides: r.overrides, result: r.result! })));
    writes.run('best_setups.csv', () => writeBestSetups(dir, all));
    return { dir, outcomes, rows, best: all, writeErrors: writes.errors() };
  }
  return { dir, outcomes, rows, best, writeErrors: writes.errors() };
}

/** `repetitions` of the master config (1 when absent or not a number, e.g. swept). */
export function masterRepetitions(master: Tree): number {
  try {
    const r = plainNumbers(resolveKey(master, 'repetitions', resolveContext()));
    return typeof r === 'number' && Number.isInteger(r) && r > 0 ? r : 1;
  } catch {
    return 1;
  }
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
      return plainNumbers(resolveKey(master, key, ctx));
    } catch {
      return null;
    }
  };
  const file = get('topology.file');
  const topology = await topologyFor({ topology: { file: typeof file === 'string' ? file : null } });
  const batch = get('batch_size');
  const ids = (v: unknown): number[] | null =>
    Array.isArray(v) && v.every((x) => Number.isInteger(x)) ? (v as number[]) : null;
  const cpuList = get('launcher.cpu_list');
  const usable = planInstances(topology, {
    num_instances: 1,
    cores_per_instance: null,
    use_smt: false,
    nodes: ids(get('launcher.nodes')),
    sockets: ids(get('launcher.sockets')),
    cpu_list:
      typeof cpuList === 'string'
        ? cpuList
        : typeof cpuList === 'number'
          ? String(cpuList)
          : (ids(cpuList)?.join(',') ?? null),
    binding: 'none',
    split_batch: false,
    allow_uneven_split: false,
    batch_size: 1,
    num_threads: null,
  }).instances[0]!.cpus.length;
  return { physicalCores: usable, batchSize: typeof batch === 'number' ? batch : null };
}

export interface GatherOutcome {
  readonly dir: string;
  readonly jobs: readonly SweepJob[];
  /** summary.csv's rows: every job found (its first folder). */
  readonly rows: readonly SummaryRow[];
  readonly missing: readonly SweepJob[];
  /** Jobs found in more than one folder, with the folders. */
  readonly duplicates: readonly { readonly job: number; readonly dirs: readonly string[] }[];
  readonly stray: readonly string[];
  /** Jobs per machine (host name and CPU model, as the results record them). */
  readonly machines: readonly { readonly hostname: string; readonly cpu_model: string; readonly jobs: number }[];
  readonly best: readonly BestSetup[];
  readonly writeErrors: readonly string[];
}

/**
 * A sweep's summary rebuilt from its folder: every job's results.json, whoever wrote it (the
 * shards of a sweep on several machines, a Slurm array), matched to the sweep's jobs by their
 * overrides; the jobs missing, found twice, or not of this sweep are listed.
 */
export async function gatherSweep(dir: string): Promise<GatherOutcome> {
  const origin = readSweepOrigin(dir);
  const repo = openRepository(origin.source);
  const { jobs } = await expandSweepJobs(repo, origin.source, origin.overrides.map(parseOverride));
  const { found, stray } = findJobResults(dir, jobs);
  const rows = summaryRowsFrom(dir, jobs, found);
  const best = bestSetups(
    rows.map((r) => ({
      job: r.job,
      status: r.status as RunResult['status'],
      dir: r.dir,
      overrides: r.overrides,
      result: r.result!,
    })),
  );
  const writes = new WriteGuard();
  writes.run('summary.csv', () => writeSweepSummary(dir, rows));
  writes.run('best_setups.csv', () => writeBestSetups(dir, best));
  const machines = new Map<string, { hostname: string; cpu_model: string; jobs: number }>();
  for (const r of rows) {
    const env = (r.result?.environment ?? {}) as { hostname?: string; cpu_model?: string };
    const key = `${env.hostname ?? '?'}\u0000${env.cpu_model ?? '?'}`;
    const m = machines.get(key) ?? { hostname: env.hostname ?? '?', cpu_model: env.cpu_model ?? '?', jobs: 0 };
    machines.set(key, { ...m, jobs: m.jobs + 1 });
  }
  return {
    dir,
    jobs,
    rows,
    missing: jobs.filter((j) => !found.has(j.num)),
    duplicates: [...found]
      .filter(([, f]) => f.length > 1)
      .map(([job, f]) => ({ job, dirs: f.map((x) => relative(dir, x.dir)) })),
    stray,
    machines: [...machines.values()],
    best,
    writeErrors: writes.errors(),
  };
}
