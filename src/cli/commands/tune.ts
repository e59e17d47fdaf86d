/**
 * `bench tune [overrides] [tune.objective=latency|throughput] [tune.max_latency_ms=N]`: the best
 * setup for a problem size on this machine, found by successive halving over the setups the
 * machine allows; every measurement is a bench run on disk. Prints each rung, the ranking, the
 * winner with its confidence, the command and plan that deploy it.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { argParser, configSourceOf, UsageError, withConfigSource } from '../args.js';
import { parseOverride } from '../../config/grammar.js';
import { openRepository, type ConfigSource } from '../../config/load.js';
import { ConfigError } from '../../config/errors.js';
import { readSweepOrigin } from '../../run/sweep.js';
import type { PlanJson } from '../../run/launch.js';
import { runTune, TUNE_JSON, type RankRow, type TuneOutcome } from '../../tune/tune.js';
import { interruptHandling } from '../interrupt.js';
import { toJson } from '../../util/numbers.js';
import { isDisturbanceWarning } from '../../stats/interference.js';
import { displayPath, fmt, ms, renderPlan, renderRepetitionLine } from '../render.js';

export const summary = 'find the best setup (instances, cores, batch split, threads, ...) for an objective';

const USAGE = `Usage: bench tune [flags] [overrides...]

Finds the setup to deploy for a problem size on this machine, e.g.
  bench tune batch_size=8 sequence_length=128 tune.objective=latency
  bench tune batch_size=8 tune.objective=throughput tune.max_latency_ms=500

The space comes from the machine: instance counts x cores per instance (every usable core used,
tune.space.use_all_cores), SMT siblings or not, whole or split batches, threads per CPU or per
core, crossed with tune.space.params (default: graph optimization level x execution mode).
Successive halving: every candidate runs tune.min_duration_s, the best 1/tune.eta (at least 2)
run tune.eta times longer, up to tune.max_duration_s (default: benchmark_duration); candidates
more than tune.prune_margin behind, over the latency budget, or failing are dropped.
tune.strategy=grid runs every candidate at tune.max_duration_s (the brute force).

The last rung measures each finalist tune.final_repetitions (3) times, interleaved, and the
winner's confidence is a test over those repetitions (Welch on their logs); the ranking is printed
per rung, so short screening runs are never ranked against full ones. A repetitions=N of the base
config is not used: screening runs have 1, the final rung tune.final_repetitions.

Every measurement is a bench run in a job folder of the tune directory (like a sweep);
tune.csv ranks them, winner.yaml is the winner's config, winner-plan.json its plan.

Flags:
  --resume DIR               finish an interrupted tune: trials already ok are kept
  --format json              the outcome (ranking, winner, trials) as one JSON document on stdout;
                             progress on stderr
  -cn, --config-name NAME    primary config (default: config)
  -cp, --config-path DIR     primary config folder (default: bench's own configs/)
  -cd, --config-dir DIR      add a folder of configs to the search path
  -h, --help                 this text`;

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = await withConfigSource(argParser(argv, { 'short-option-groups': false, 'boolean-negation': false }))
    .option('resume', { type: 'string' })
    .option('format', { type: 'string' })
    .option('help', { alias: 'h', type: 'boolean', default: false })
    .parseAsync();
  const format = parsed.format ?? 'text';
  if (format !== 'text' && format !== 'json')
    throw new UsageError(`--format: invalid choice '${format}' (choose from text, json)`);
  const json = format === 'json';
  // With --format json, stdout carries only the JSON document; the lines a person reads go to stderr.
  const say = json ? process.stderr : process.stdout;
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let overrides = parsed._.map(String);
  let source: ConfigSource = configSourceOf(parsed);
  let resumeDir: string | undefined;
  if (parsed.resume !== undefined) {
    if (overrides.length > 0)
      throw new UsageError(
        `--resume finishes the tune as it was configured: drop the overrides (${overrides.join(' ')})`,
      );
    resumeDir = resolve(parsed.resume);
    if (!existsSync(resumeDir))
      throw new ConfigError(
        `--resume: ${parsed.resume} does not exist; give the multirun/DATE/TIME folder a tune wrote`,
      );
    if (!existsSync(join(resumeDir, TUNE_JSON)))
      throw new ConfigError(`--resume: ${parsed.resume} is not a tune directory (no ${TUNE_JSON})`);
    const origin = readSweepOrigin(resumeDir);
    source = origin.source;
    overrides = origin.overrides;
  }
  const repo = openRepository(source);
  const interrupt = interruptHandling();
  const out = (line: string): boolean => say.write(`${line}\n`);
  let total = 0;
  let index = 0;
  const unsaved: unknown[] = [];
  let labels = new Map<readonly string[], string>();
  try {
    const outcome = await runTune({
      repo,
      source,
      overrides: overrides.map(parseOverride),
      signal: interrupt.signal,
      ...(resumeDir ? { resumeDir } : {}),
      onEvent: (e) => {
        if (e.type === 'tune-start') {
          const t = e.tune;
          const search =
            t.strategy === 'grid'
              ? `grid: every candidate for ${t.max_duration_s} s`
              : `successive halving ${t.min_duration_s} s -> ${t.max_duration_s} s (eta ${t.eta})`;
          const budget = t.max_latency_ms !== null ? `, ${t.latency_stat} latency <= ${t.max_latency_ms} ms` : '';
          out(
            `bench: tuning for ${t.objective}${budget} on ${e.space.physical_cores} cores${e.space.smt ? ' (SMT)' : ''}: ${e.space.candidates.length} candidates, ${search}, into ${displayPath(e.dir)}`,
          );
          for (const n of e.space.notes) out(`  note: ${n}`);
        } else if (e.type === 'rung-start') {
          total = e.candidates.length;
          index = 0;
          labels = new Map(e.candidates.map((c) => [c.overrides, c.label]));
          const reps = e.repetitions;
          const interleaved = reps > 1 ? ` x ${reps} repetitions each, interleaved` : '';
          out(
            `rung ${e.rung + 1}${e.final ? ' (final)' : ''}: ${plural(e.candidates.length, 'candidate')} x ${e.duration_s} s${interleaved}`,
          );
        } else if (e.type === 'repetition-end' && e.planned > 1) {
          const label =
            [...labels].find(([o]) => o.every((x) => e.overrides.includes(x)))?.[1] ?? e.overrides.join(' ');
          out(`  ${renderRepetitionLine(e, '', label)}`);
        } else if (e.type === 'trial-end') {
          const t = e.trial;
          const across = (t.repetitions ?? 1) > 1 ? ` (geometric mean of ${t.repetitions} repetitions)` : '';
          const figure =
            t.status !== 'ok'
              ? `${t.status}: ${(t.error ?? '').split('\n')[0]}`
              : `${ms(t.latency_mean_ms!)} ms  ${fmt(t.throughput_samples_per_s!)}/s${across}`;
          out(
            `  [${++index}/${total}] ${e.candidate.label}: ${figure}${e.kept ? ' (kept from the earlier run)' : ` (${t.wall_s.toFixed(1)} s)`}`,
          );
          // A disturbed measurement is worth knowing about in a search too (job.ts words it).
          for (const w of e.warnings.filter(isDisturbanceWarning)) out(`      warning: ${w}`);
          if (e.unsaved && json) {
            // A full disk: the measurement is not lost; with --format json it joins the one document.
            process.stderr.write(
              `bench: ${e.unsaved.error ?? 'the results could not be written'}; its results are in the JSON document's "unsaved"\n`,
            );
            unsaved.push(e.unsaved);
          } else if (e.unsaved) {
            // A full disk: the measurement is not lost (as a sweep does it).
            process.stderr.write(
              `bench: ${e.unsaved.error ?? 'the results could not be written'}; the measurement follows on stdout as one line of JSON\n`,
            );
            process.stdout.write(`${toJson(e.unsaved, 0)}\n`);
          }
        } else if (e.type === 'rung-end' && !e.rung.final) {
          const why = new Map<string, number>();
          for (const x of e.rung.eliminated) {
            const kind = x.reason.startsWith('failed')
              ? 'failed'
              : x.reason.includes('behind')
                ? 'too far behind'
                : x.reason.includes('max_latency_ms')
                  ? 'over the latency budget'
                  : 'outranked';
            why.set(kind, (why.get(kind) ?? 0) + 1);
          }
          out(
            `  kept ${e.rung.survivors.length}; dropped ${e.rung.eliminated.length}${why.size > 0 ? ` (${[...why].map(([k, n]) => `${n} ${k}`).join(', ')})` : ''}`,
          );
        }
      },
    });
    // The tune's whole outcome (what tune.json holds, with the ranking and the winner).
    if (json)
      process.stdout.write(`${toJson({ kind: 'tune', ...outcome, ...(unsaved.length > 0 ? { unsaved } : {}) }, 1)}\n`);
    const code = report(outcome, interrupt.exitCode(), say);
    if (outcome.write_errors.length === 0) return code;
    // A full disk: what could not be written is said, and the outcome is kept on stdout.
    for (const problem of outcome.write_errors) process.stderr.write(`bench: could not write ${problem}\n`);
    if (!json) {
      process.stderr.write('bench: the tune outcome follows on stdout as one line of JSON\n');
      process.stdout.write(`${toJson({ kind: 'tune', ...outcome }, 0)}\n`);
    }
    return code === 0 ? 1 : code;
  } finally {
    interrupt.dispose();
  }
}

function report(o: TuneOutcome, interruptedCode: number | null, say: NodeJS.WriteStream): number {
  const out = (line: string): boolean => say.write(`${line}\n`);
  const dir = displayPath(o.dir);
  if (o.ranking.length > 0) out(renderRanking(o));
  if (o.status === 'interrupted') {
    process.stderr.write(
      `bench: tune interrupted after ${o.trials.length} runs; finish it with: bench tune --resume ${dir}\n`,
    );
    return interruptedCode ?? 130;
  }
  if (o.status === 'no-setup') {
    const ran = o.ranking
      .filter((r) => r.budget_latency_ms !== null)
      .sort((a, b) => a.budget_latency_ms! - b.budget_latency_ms!);
    const fix =
      o.tune.max_latency_ms !== null && ran.length > 0
        ? ` within tune.max_latency_ms=${o.tune.max_latency_ms}: the lowest ${o.tune.latency_stat} latency was ${ms(ran[0]!.budget_latency_ms!)} ms (${ran[0]!.label}); raise tune.max_latency_ms or lower batch_size`
        : '';
    process.stderr.write(`bench: no setup ran${fix}; see ${dir}/tune.csv for why each was dropped\n`);
    return 1;
  }
  const w = o.winner!;
  const c = o.confidence;
  const worse = o.tune.objective === 'latency' ? 'takes' : 'delivers';
  const more = o.tune.objective === 'latency' ? 'longer' : 'less';
  const interval =
    c && c.lo !== null && c.hi !== null
      ? `${Math.round(c.confidence * 100)}% CI ${pct(c.lo, false)} to ${pct(c.hi, false)}, `
      : '';
  let conf = 'the only setup that ran';
  if (c && c.basis === 'repetitions') {
    conf =
      `the runner-up ${worse} ${pct(c.runner_up_behind, false)} ${more} (${interval}${c.repetitions[0]} and ${c.repetitions[1]} repetitions of ${c.duration_s} s, interleaved: ` +
      `${c.significant ? 'significant' : 'not significant: at this precision the two cannot be told apart'})`;
  } else if (c) {
    conf =
      `the runner-up ${worse} ${pct(c.runner_up_behind, false)} ${more} in single ${c.duration_s} s runs (no repetitions of it: ` +
      `${c.significant ? 'beyond the noise floor of single runs' : 'within the noise floor of single runs, as good as tied'})`;
  }
  out(`winner: ${w.label}: ${ms(w.latency_mean_ms!)} ms per batch, ${fmt(w.throughput_samples_per_s!)}/s; ${conf}`);
  out(`deploy: ${o.command}`);
  const lost = (file: string): boolean => o.write_errors.some((e) => e.startsWith(`${file}:`));
  if (!lost('winner.yaml')) out(`    or: bench -cp ${dir} -cn winner`);
  if (o.winner_plan) out(renderPlan(o.winner_plan as unknown as PlanJson, 'this machine').trimEnd());
  const failed = o.trials.filter((t) => t.status !== 'ok').length;
  const kept =
    o.trials_wall_s === 0 && o.trials.length > 0 ? ' (all kept from the earlier run: the tune was finished)' : '';
  out(
    `bench: ${plural(o.trials.length, 'run')} (${o.trials_wall_s.toFixed(1)} s of runs, ${o.elapsed_s.toFixed(1)} s in all)${kept}${failed > 0 ? `, ${failed} failed` : ''}${lost('tune.csv') ? '' : `; ranking in ${dir}/tune.csv`}${lost('winner.yaml') ? '' : `, config in ${dir}/winner.yaml`}`,
  );
  return 0;
}

/**
 * The ranking in blocks, one per rung the candidates reached, the final one first: figures of
 * different rungs (lengths, warm-ups, repetitions) are never ranked against each other; "vs winner"
 * is against the winner's figure in the same rung.
 */
function renderRanking(o: TuneOutcome): string {
  const objective =
    o.tune.objective === 'latency'
      ? 'latency: worst instance mean per batch'
      : 'throughput: sequences/s summed over instances';
  const header = ['rank', 'setup', 'mean ms', `${o.tune.latency_stat} ms`, 'seq/s', 'vs winner', 'dropped'];
  const worse = o.tune.objective === 'latency' ? 'longer' : 'less';
  const cells = (r: RankRow): string[] => [
    String(r.rank),
    r.label,
    r.latency_mean_ms === null ? '-' : ms(r.latency_mean_ms),
    r.budget_latency_ms === null ? '-' : r.budget_supported ? ms(r.budget_latency_ms) : 'n/a',
    r.throughput_samples_per_s === null ? '-' : fmt(r.throughput_samples_per_s),
    // -vs_winner is how far behind: "1.5% longer" (latency) or "1.5% less" (throughput).
    r.vs_winner === null
      ? '-'
      : r.vs_winner === 0 && r.rank === 1
        ? 'winner'
        : r.vs_winner <= 0
          ? `${pct(-r.vs_winner, false)} ${worse}`
          : `${pct(r.vs_winner, false)} better`,
    r.dropped ?? '',
  ];
  const all = o.ranking.map(cells);
  const widths = header.map((h, k) => Math.max(h.length, ...all.map((r) => r[k]!.length)));
  const line = (c: string[]): string => `  ${c.map((x, k) => x.padEnd(widths[k]!)).join('  ')}`.trimEnd();
  const lines = [
    `ranking (${objective}); each block's figures come from one rung, and "vs winner" is against the winner in that rung:`,
    line(header),
  ];
  const rungs = [...new Set(o.ranking.map((r) => r.rung))];
  for (const rung of rungs) {
    const rows = o.ranking.filter((r) => r.rung === rung);
    const final = rows.some((r) => r.final);
    const reps = Math.max(...rows.map((r) => r.repetitions));
    const what = final ? 'final rung' : `rung ${rung + 1}, screening`;
    const repText =
      reps > 1
        ? ` x ${rows.every((r) => r.repetitions === reps) ? reps : `up to ${reps}`} repetitions (geometric mean)`
        : '';
    lines.push(
      `  -- ${what}: ${rows[0]?.duration_s ?? '?'} s runs${repText}${final ? '' : ', fewer warm-up calls'} --`,
    );
    lines.push(...rows.map((r) => line(cells(r))));
  }
  if (o.ranking.some((r) => r.budget_latency_ms !== null && !r.budget_supported)) {
    lines.push(
      `  (n/a: too few calls for a 95% interval of the ${o.tune.latency_stat}; tune.csv leaves it empty, tune.json keeps it)`,
    );
  }
  return lines.join('\n');
}

function pct(x: number, signed = true): string {
  return `${signed && x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
