/**
 * `bench gather DIR`: a sweep's summary rebuilt from its folder, whoever wrote the jobs (the shards
 * of a sweep on several machines, the tasks of a Slurm array): every job once, with its machine;
 * the jobs missing, failed, found twice or not of the sweep are listed. Exit 0 only when every
 * job is there, once, and ok.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { summaryRecords } from '../../results/write.js';
import { gatherSweep, type GatherOutcome } from '../../run/sweep.js';
import { argParser, UsageError } from '../args.js';
import { displayPath, renderBestSetups } from '../render.js';
import { ConfigError } from '../../config/errors.js';

export const summary = "rebuild a sweep's summary from its folder (the shards of several machines, a Slurm array)";

const HELP = `Usage: bench gather DIR [--format json]

Rebuilds DIR/summary.csv (and summary.json, best_setups) from every job folder in the sweep folder
DIR, whichever machine or shard wrote it (bench -m ... --shard I/N, hydra/launcher=slurm). Jobs are
matched by their overrides: each is counted once, with the machine that ran it (hostname,
cpu_model and shard columns). The jobs missing, failed, found twice, or not of this sweep are
listed; bench --resume DIR runs what is missing (a Slurm sweep: only the shards that need it).
Exit 0 when every job is there once and ok, 1 otherwise.`;

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = await argParser(argv)
    .option('format', { type: 'string', choices: ['text', 'json'], default: 'text' })
    .option('help', { alias: 'h', type: 'boolean', default: false })
    .parseAsync();
  if (parsed.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const dirs = parsed._.map(String);
  if (dirs.length !== 1) throw new UsageError(`expected one sweep folder, got ${dirs.length}`);
  const dir = resolve(dirs[0]!);
  if (!existsSync(dir))
    throw new ConfigError(`${dirs[0]}: no such folder; give a sweep folder (it holds multirun.yaml)`);
  const json = parsed.format === 'json';
  return printGather(await gatherSweep(dir), json ? process.stderr : process.stdout, json);
}

/** A gathered sweep as JSON (`bench gather --format json`). */
export function gatherDoc(g: GatherOutcome): Record<string, unknown> {
  const failed = g.rows.filter((r) => r.status !== 'ok');
  return {
    kind: 'gather',
    dir: g.dir,
    jobs: g.jobs.length,
    ok: g.rows.length - failed.length,
    failed: failed.map((r) => ({ job: r.job, dir: r.dir, error: r.error })),
    missing: g.missing.map((j) => ({ job: j.num, overrides: j.overrides })),
    duplicates: g.duplicates,
    stray: g.stray,
    machines: g.machines,
    summary: g.rows.flatMap(summaryRecords),
    best_setups: g.best,
    write_errors: g.writeErrors,
  };
}

/** What `bench gather` (and `--wait`) says of a gathered sweep; exit 0 only when every job is there once and ok. */
export function printGather(g: GatherOutcome, say: NodeJS.WriteStream, json = false): number {
  const ok = g.rows.filter((r) => r.status === 'ok').length;
  const failed = g.rows.filter((r) => r.status !== 'ok');
  if (json) process.stdout.write(`${JSON.stringify(gatherDoc(g), null, 1)}\n`);
  const best = renderBestSetups(g.best);
  if (best) say.write(`${best}\n`);
  const machines = g.machines.map((m) => `${m.hostname} (${m.cpu_model}): ${m.jobs}`).join('; ');
  say.write(
    `bench: ${ok} of ${g.jobs.length} jobs ok${machines ? `, from ${machines}` : ''}; summary in ${displayPath(g.dir)}/summary.csv\n`,
  );
  for (const r of failed)
    process.stderr.write(`  job ${r.job} ${r.status}: ${(r.error ?? '').split('\n')[0]} (${r.dir})\n`);
  if (g.missing.length > 0)
    process.stderr.write(
      `bench: ${g.missing.length} job${g.missing.length === 1 ? '' : 's'} missing (${g.missing.map((j) => j.num).join(', ')}): bench --resume ${displayPath(g.dir)} runs them (a Slurm sweep is submitted again, only its shards that need it)\n`,
    );
  for (const d of g.duplicates)
    process.stderr.write(`bench: job ${d.job} is in ${d.dirs.join(' and ')}; the first is summarized\n`);
  for (const s of g.stray) process.stderr.write(`bench: ignored ${s}\n`);
  for (const w of g.writeErrors) process.stderr.write(`bench: could not write ${w}\n`);
  return ok === g.jobs.length && g.duplicates.length === 0 && g.writeErrors.length === 0 ? 0 : 1;
}
