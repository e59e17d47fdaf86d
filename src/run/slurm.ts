/**
 * A sweep as a Slurm array job (`hydra/launcher=slurm`): the sweep is composed, validated and its
 * folder made here, as for a local sweep; then one array task per shard runs
 * `bench --resume DIR --shard I/N` on a node of its own, pinning and measuring as on one machine,
 * into the shared folder. sbatch gets its options as an argument array (nothing of the user's is
 * read by a shell); the task script holds bench's own command, each word quoted, after the user's
 * own shell lines (`setup`, and `command` where it replaces bench's), which are shell by intent.
 *
 * `bench --resume DIR` of such a sweep submits again only the shards that still have a job that is
 * not ok. `wait` follows the array with squeue until it leaves the queue.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfigError } from '../config/errors.js';
import { resolveKey } from '../config/interpolate.js';
import { resolveContext } from '../config/load.js';
import type { SweepJob } from '../config/sweep.js';
import { plainNumbers, toJson } from '../util/numbers.js';
import { deepClone, isTree, type Tree } from '../util/tree.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { findJobResults, shardJobs } from './gather.js';
import {
  claimSweepFolder,
  expandSweepJobs,
  refuseMachineSized,
  refuseUnrunnable,
  unrunnableJobs,
  type SweepRequest,
} from './sweep.js';

const run = promisify(execFile);

export class SlurmError extends UserError {}

/** The `hydra.launcher` node of `hydra/launcher=slurm`, checked. */
export interface SlurmLauncher {
  readonly tasks: number | null;
  readonly max_parallel: number | null;
  readonly partition: string | null;
  readonly time_min: number | null;
  readonly nodelist: string | null;
  readonly constraint: string | null;
  /** A list of constraints: the same sweep on each machine type, each in a folder of its own. */
  readonly machine_types: readonly string[];
  readonly cpus_per_task: number | null;
  readonly exclusive: boolean;
  readonly sbatch_args: readonly string[];
  readonly setup: readonly string[];
  readonly command: string | null;
}

/** The launcher a composed config names: 'basic' unless `hydra/launcher=slurm`. */
export function launcherName(config: Tree): string {
  const hydra = config.hydra;
  const launcher = isTree(hydra) ? hydra.launcher : undefined;
  return isTree(launcher) && typeof launcher.name === 'string' ? launcher.name : 'basic';
}

function slurmLauncher(config: Tree): SlurmLauncher {
  const node = isTree(config.hydra) && isTree(config.hydra.launcher) ? config.hydra.launcher : {};
  const bad = (key: string, what: string): never => {
    throw new ConfigError(`hydra.launcher.${key}: expected ${what}, got ${toJson(node[key], 0)}`);
  };
  const posInt = (key: string): number | null => {
    const v = plainNumbers(node[key] ?? null);
    if (v === null) return null;
    return Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : bad(key, 'a positive integer or null');
  };
  const str = (key: string): string | null => {
    const v = node[key] ?? null;
    if (v === null) return null;
    // One line: each is one sbatch argument.
    return typeof v === 'string' && v !== '' && !/[\r\n]/.test(v) ? v : bad(key, 'a string of one line, or null');
  };
  const list = (key: string): string[] => {
    const v = node[key] ?? [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || /[\r\n]/.test(x)))
      return bad(key, 'a list of one-line strings');
    return v as string[];
  };
  const constraint = node.constraint;
  return {
    tasks: posInt('tasks'),
    max_parallel: posInt('max_parallel'),
    partition: str('partition'),
    time_min: posInt('time_min'),
    nodelist: str('nodelist'),
    constraint: Array.isArray(constraint) ? null : str('constraint'),
    machine_types: Array.isArray(constraint) ? machineTypes(list('constraint')) : [],
    cpus_per_task: posInt('cpus_per_task'),
    exclusive: typeof node.exclusive === 'boolean' ? node.exclusive : bad('exclusive', 'true or false'),
    sbatch_args: list('sbatch_args'),
    setup: list('setup'),
    command: str('command'),
  };
}

/** Machine types name sweep folders: plain names only (a name such as ../x would lead out of the sweep). */
function machineTypes(types: string[]): string[] {
  const bad = types.find((t) => !/^[\w][\w.+-]*$/.test(t));
  if (bad !== undefined)
    throw new ConfigError(
      `hydra.launcher.constraint: ${JSON.stringify(bad)} cannot name a machine type's folder; a list holds plain feature names (letters, digits, . + - _), one per type`,
    );
  return types;
}

/** Resubmitting shards that are still queued or running would run them twice. */
async function refuseStillQueued(dir: string): Promise<void> {
  let jobId: string;
  try {
    jobId = (JSON.parse(readFileSync(join(dir, 'slurm', 'submission.json'), 'utf8')) as { job_id: string }).job_id;
  } catch {
    return;
  }
  const left = await queuedTasks(jobId);
  if (left.length > 0)
    throw new SlurmError(
      `--resume: Slurm job ${jobId} of this sweep still has ${left.length} task${left.length === 1 ? '' : 's'} in the queue (${[...new Set(left)].join(', ').toLowerCase()}); wait for it (squeue -j ${jobId}), or stop it (scancel ${jobId}), then resume`,
    );
}

/** A word for a POSIX shell, quoted so that the shell reads it back exactly. */
export function shellQuote(word: string): string {
  return /^[\w./:=@%+,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

const BENCH_BIN = fileURLToPath(new URL('../../bin/bench.js', import.meta.url));

export interface Submission {
  readonly dir: string;
  /** The shard count; the array's task ids are the shard indices. */
  readonly tasks: number;
  /** The shards submitted (all, or those a resume still needs). */
  readonly shards: readonly number[];
  readonly jobs: number;
  readonly script: string;
  readonly scriptFile: string;
  readonly sbatch: readonly string[];
  /** Slurm's job id; null for a dry run. */
  readonly jobId: string | null;
}

/** The task script: the setup lines, then bench's own command for this task's shard. */
function taskScript(l: SlurmLauncher, dir: string, tasks: number): string {
  const bench = l.command !== null ? l.command : `${shellQuote(process.execPath)} ${shellQuote(BENCH_BIN)}`;
  return [
    '#!/bin/bash',
    '# Written by bench (hydra/launcher=slurm): one shard of the sweep per array task.',
    'set -e',
    ...l.setup,
    `exec ${bench} --resume ${shellQuote(dir)} --shard "\${SLURM_ARRAY_TASK_ID}/${tasks}"`,
    '',
  ].join('\n');
}

function sbatchArgs(l: SlurmLauncher, dir: string, shards: readonly number[], scriptFile: string): string[] {
  const array = `${shards.join(',')}${l.max_parallel !== null ? `%${l.max_parallel}` : ''}`;
  return [
    '--parsable',
    '--job-name=bench',
    `--array=${array}`,
    // In Slurm's file name patterns a literal % is %%.
    `--output=${join(dir.replaceAll('%', '%%'), 'slurm', '%A_%a.out')}`,
    ...(l.partition !== null ? [`--partition=${l.partition}`] : []),
    ...(l.time_min !== null ? [`--time=${l.time_min}`] : []),
    ...(l.nodelist !== null ? [`--nodelist=${l.nodelist}`] : []),
    ...(l.constraint !== null ? [`--constraint=${l.constraint}`] : []),
    ...(l.cpus_per_task !== null ? [`--cpus-per-task=${l.cpus_per_task}`] : []),
    ...(l.exclusive ? ['--exclusive'] : []),
    '--nodes=1',
    '--ntasks=1',
    ...l.sbatch_args,
    scriptFile,
  ];
}

/**
 * Submits a sweep (or, for `resumeDir`, the shards of it that still have a job not ok). `dryRun`
 * makes nothing and submits nothing: it returns what would be. A list of constraints
 * (`hydra.launcher.constraint=[icelake,sapphire]`) submits the same sweep once per machine type,
 * each into `DIR/TYPE/`, a sweep of its own (resumable alone); `bench report DIR` and
 * `bench compare DIR --by machine` read them together.
 */
export async function submitSweep(req: SweepRequest & { readonly dryRun?: boolean }): Promise<Submission[]> {
  const expanded = await expandSweepJobs(req.repo, req.source, req.overrides);
  const { master, jobs, hydraOverrides } = expanded;
  refuseMachineSized(expanded, 'hydra/launcher=slurm');
  const l = slurmLauncher(master);
  if (req.resumeDir) await refuseStillQueued(req.resumeDir);
  if (!req.resumeDir) refuseUnrunnable(await unrunnableJobs(req.repo, req.source, jobs, hydraOverrides), jobs.length);
  if (l.machine_types.length === 0 || req.resumeDir) return [await submitOne(req, master, l, jobs)];
  const root = plannedDir(master);
  const out: Submission[] = [];
  for (const type of l.machine_types) {
    const dir = join(root, type);
    const sub = forMachineType(master, type, dir);
    try {
      out.push(await submitOne(req, sub, { ...l, constraint: type, machine_types: [] }, jobs));
    } catch (err) {
      const done = out.filter((s) => s.jobId !== null);
      if (done.length === 0 || !(err instanceof UserError)) throw err;
      // The types before it are queued already: say so, and how to submit the rest.
      throw new SlurmError(
        `${err.message}\nAlready submitted: ${done.map((s) => `job ${s.jobId} into ${s.dir}`).join(', ')}; ` +
          `submit the others with bench --resume ${dir}${l.machine_types
            .slice(l.machine_types.indexOf(type) + 1)
            .map((t) => ` and bench --resume ${join(root, t)}`)
            .join('')}`,
      );
    }
  }
  return out;
}

/** A sweep's master config for one machine type: its constraint and folder, in its overrides too (for --resume). */
function forMachineType(master: Tree, type: string, dir: string): Tree {
  const copy = deepClone(master);
  const hydra = copy.hydra as Tree;
  (hydra.launcher as Tree).constraint = type;
  (hydra.sweep as Tree).dir = dir;
  const overrides = hydra.overrides as { hydra: string[] };
  const quote = (v: string): string => `'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  overrides.hydra = [
    ...overrides.hydra.filter((o) => !/^hydra\.launcher\.constraint=|^hydra\.sweep\.dir=/.test(o)),
    `hydra.launcher.constraint=${quote(type)}`,
    `hydra.sweep.dir=${quote(dir)}`,
  ];
  return copy;
}

async function submitOne(
  req: SweepRequest & { readonly dryRun?: boolean },
  master: Tree,
  l: SlurmLauncher,
  jobs: readonly SweepJob[],
): Promise<Submission> {
  const tasks = Math.min(l.tasks ?? jobs.length, jobs.length);
  const dir = req.resumeDir ?? (req.dryRun ? plannedDir(master) : claimSweepFolder(master));
  const shards = req.resumeDir ? shardsToRun(dir, jobs, tasks) : Array.from({ length: tasks }, (_, i) => i);
  const script = taskScript(l, dir, tasks);
  const scriptFile = join(dir, 'slurm', 'array.sh');
  const sbatch = sbatchArgs(l, dir, shards, scriptFile);
  const base = { dir, tasks, shards, jobs: jobs.length, script, scriptFile, sbatch };
  if (req.dryRun || shards.length === 0) return { ...base, jobId: null };
  try {
    mkdirSync(join(dir, 'slurm'), { recursive: true });
    writeFileSync(scriptFile, script);
    chmodSync(scriptFile, 0o755);
  } catch (err) {
    throw new SlurmError(`cannot write ${scriptFile}: ${(err as Error).message}`);
  }
  let out: string;
  try {
    ({ stdout: out } = await run('sbatch', sbatch, { timeout: 60_000 }));
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT')
      throw new SlurmError(
        'hydra/launcher=slurm: sbatch is not installed here (apt-get install slurm-client, or run bench where Slurm is); without Slurm, split the sweep with bench -m ... --shard I/N',
      );
    throw new SlurmError(
      `sbatch refused the array job: ${(e.stderr ?? e.message).trim()}\nThe sweep folder ${dir} is kept: fix the hydra.launcher setting and submit it with bench --resume ${dir}`,
    );
  }
  const jobId = out.trim().split(';')[0]!;
  writeFileAtomic(
    join(dir, 'slurm', 'submission.json'),
    `${JSON.stringify({ job_id: jobId, tasks, shards, sbatch, submitted_at: new Date().toISOString() }, null, 1)}\n`,
  );
  return { ...base, jobId };
}

function plannedDir(master: Tree): string {
  return resolve(String(resolveKey(master, 'hydra.sweep.dir', resolveContext())));
}

/** The shards that still have a job without an ok result in the folder. */
function shardsToRun(dir: string, jobs: readonly SweepJob[], tasks: number): number[] {
  if (!existsSync(dir)) throw new ConfigError(`--resume: ${dir} does not exist`);
  const { found } = findJobResults(dir, jobs);
  const ok = (j: SweepJob): boolean => found.get(j.num)?.some((f) => f.result.status === 'ok') ?? false;
  return Array.from({ length: tasks }, (_, i) => i).filter((i) =>
    shardJobs(jobs, { index: i, count: tasks }).some((j) => !ok(j)),
  );
}

/** The states squeue shows for a job's tasks; empty once every task has left the queue. */
export async function queuedTasks(jobId: string): Promise<string[]> {
  try {
    const { stdout } = await run('squeue', ['-h', '-r', '-j', jobId, '-o', '%T'], { timeout: 30_000 });
    return stdout
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    // squeue says "Invalid job id" once the job has left the controller's memory.
    if (/Invalid job id/i.test(e.stderr ?? '')) return [];
    throw new SlurmError(`squeue failed: ${(e.stderr ?? e.message).trim()}`);
  }
}
