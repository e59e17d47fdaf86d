/**
 * A sweep's results as its folder holds them, whoever wrote them: the shards of a sweep run on
 * several machines (bench -m --shard I/N, Slurm array tasks) each write their own jobs' folders
 * into one shared sweep folder, and the summary is rebuilt from what is there. Jobs are matched to
 * folders by their overrides (each results.json records them), so a job found twice, or a folder
 * no job of the sweep owns, is said rather than counted twice.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SweepJob } from '../config/sweep.js';
import type { RunResult, Shard } from '../results/types.js';
import { RESULTS_JSON, type SummaryRow } from '../results/write.js';
import { UserError } from '../util/errors.js';

export interface FoundJobs {
  /** Each job's folder and result, by job number; a job found in several folders has several. */
  readonly found: ReadonlyMap<number, readonly { readonly dir: string; readonly result: RunResult }[]>;
  /** results.json files that belong to no job of the sweep (or cannot be read), with why. */
  readonly stray: readonly string[];
}

/** Folders below the sweep folder are searched this deep (job folders are one level down by default). */
const MAX_DEPTH = 8;

function resultFiles(root: string, rel = '', depth = 0): string[] {
  if (depth > MAX_DEPTH) return [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(join(root, rel), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const sub = rel === '' ? e.name : join(rel, e.name);
    if (e.isFile() && e.name === RESULTS_JSON) return [sub];
    // The bookkeeping folders hold no job results.
    if (e.isDirectory() && !e.name.startsWith('.') && !(depth === 0 && e.name === 'slurm'))
      return resultFiles(root, sub, depth + 1);
    return [];
  });
}

export function findJobResults(sweepDir: string, jobs: readonly SweepJob[]): FoundJobs {
  // Files from before results recorded their job number are matched by overrides alone.
  const byOverrides = new Map<string, number>();
  for (const j of [...jobs].reverse()) byOverrides.set(JSON.stringify(j.overrides), j.num);
  const byNum = new Map(jobs.map((j) => [j.num, j]));
  const found = new Map<number, { dir: string; result: RunResult }[]>();
  const stray: string[] = [];
  for (const file of resultFiles(sweepDir)) {
    const dir = join(sweepDir, file, '..');
    let result: RunResult;
    try {
      result = JSON.parse(readFileSync(join(sweepDir, file), 'utf8')) as RunResult;
    } catch (err) {
      stray.push(`${file}: cannot be read (${(err as Error).message})`);
      continue;
    }
    const key = JSON.stringify(result.overrides ?? []);
    const num = typeof result.job === 'number' ? result.job : byOverrides.get(key);
    // A job number is checked against the job's overrides: a folder of another sweep is not this job.
    if (num === undefined || JSON.stringify(byNum.get(num)?.overrides) !== key) {
      stray.push(`${file}: its overrides (${(result.overrides ?? []).join(' ')}) are no job of this sweep`);
      continue;
    }
    found.set(num, [...(found.get(num) ?? []), { dir, result }]);
  }
  return { found, stray };
}

/** The summary rows of every job found (the first folder of a job found twice), in job order. */
export function summaryRowsFrom(sweepDir: string, jobs: readonly SweepJob[], found: FoundJobs['found']): SummaryRow[] {
  return jobs.flatMap((job) => {
    const first = found.get(job.num)?.[0];
    if (!first) return [];
    return [
      {
        job: job.num,
        status: first.result.status,
        dir: relative(sweepDir, first.dir),
        overrides: job.overrides,
        result: first.result,
        error: first.result.error,
      },
    ];
  });
}

/** The jobs of shard `index` of `count`: every count-th job, so each shard gets a fair mix. */
export function shardJobs<J extends { readonly num: number }>(jobs: readonly J[], shard: Shard | null): J[] {
  return shard === null ? [...jobs] : jobs.filter((j) => j.num % shard.count === shard.index);
}

/** `I/N` from `--shard`, or from the environment of a Slurm array task or a Kubernetes Indexed Job. */
export function parseShard(text: string | undefined, env: NodeJS.ProcessEnv): Shard | null {
  // A Slurm array numbered from 1 (--array=1-4) gives indices from SLURM_ARRAY_TASK_MIN.
  const slurm =
    env.SLURM_ARRAY_TASK_ID !== undefined
      ? String(Number(env.SLURM_ARRAY_TASK_ID) - Number(env.SLURM_ARRAY_TASK_MIN ?? 0))
      : undefined;
  const fromEnv = slurm ?? env.JOB_COMPLETION_INDEX;
  // Never from the environment alone: a sweep run inside someone's own array job is not cut down.
  if (text === undefined) return null;
  // `--shard /N` (or `auto/N`): the index from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX.
  const m = /^(auto)?\/(.*)$/.exec(text);
  if (m) {
    if (fromEnv === undefined)
      throw new ShardError(
        `--shard ${text}: the index comes from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX, and neither is set; give it: --shard I/N`,
      );
    return checkShard(`${fromEnv}/${m[2]}`, `--shard ${text}`);
  }
  return checkShard(text, `--shard ${text}`);
}

export class ShardError extends UserError {}

function checkShard(text: string, what: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(count) || count < 1 || index >= count)
    throw new ShardError(
      `${what}: expected I/N with 0 <= I < N (e.g. --shard 0/4: the jobs whose number mod 4 is 0), got ${JSON.stringify(text)}`,
    );
  return { index, count };
}
