/**
 * The command line: argv -> request -> output. The only place that prints or exits.
 */
import { summaryRecords } from '../results/write.js';
import { parseShard, ShardError } from '../run/gather.js';
import { launcherName, queuedTasks, shellQuote, submitSweep } from '../run/slurm.js';
import type { Shard } from '../results/types.js';
import type { Composition } from '../config/compose.js';
import { argParser, configSourceOf, UsageError, withConfigSource } from './args.js';
import { resolve } from 'node:path';
import { ConfigError } from '../config/errors.js';
import { nearest } from '../config/suggest.js';
import { parseOverride, type Override } from '../config/grammar.js';
import { taskConfig } from '../config/hydra.js';
import { resolveAll, resolveKey } from '../config/interpolate.js';
import { canonicalConfigKeys, composeJob, openRepository, resolveContext, type ConfigSource } from '../config/load.js';
import type { ConfigRepository } from '../config/repository.js';
import { getPath, isTree } from '../util/tree.js';
import { toJson } from '../util/numbers.js';
import { toYaml } from '../config/yaml.js';
import { runJob, type JobOutcome } from '../run/job.js';
import { isUserError } from '../util/errors.js';
import { planJson, prepareLaunch, topologyFor } from '../run/launch.js';
import { resolveTask } from '../config/load.js';
import { renderTopologyText, topologyToJson } from '../topology/render.js';
import { expandSweepJobs, gatherSweep, readSweepOrigin, runSweep } from '../run/sweep.js';
import { gatherDoc, printGather } from './commands/gather.js';
import { benchVersion } from '../util/versions.js';
import { SUBCOMMANDS, type Subcommand } from './commands/index.js';
import { interruptHandling, type InterruptHandling } from './interrupt.js';
import {
  displayPath,
  renderBestSetups,
  renderJobLine,
  renderPlan,
  renderProgress,
  renderRepetitionLine,
  renderRun,
  renderSweepPlan,
  varyingKeys,
} from './render.js';

const INFO_CHOICES = ['all', 'config', 'defaults', 'defaults-tree', 'searchpath'] as const;

interface Flags {
  readonly overrides: string[];
  readonly multirun: boolean;
  readonly cfg: 'job' | 'hydra' | 'all' | null;
  readonly resolve: boolean;
  readonly pkg: string | null;
  readonly info: (typeof INFO_CHOICES)[number] | null;
  readonly help: boolean;
  readonly version: boolean;
  readonly source: ConfigSource;
  readonly command: 'run' | 'topology' | 'plan';
  readonly resume: string | null;
  readonly format: 'text' | 'json';
  /** `--shard I/N` as typed (null: none); the environment may shard too (run/gather.ts parseShard). */
  readonly shard: string | null;
  /** hydra/launcher=slurm: follow the array job until it ends, then gather. */
  readonly wait: boolean;
  /** hydra/launcher=slurm: print the sbatch command and the task script, submit nothing. */
  readonly dryRun: boolean;
}

async function parseFlags(argv: readonly string[]): Promise<Flags> {
  // Hydra's flags are single-dash words (-cn, -cp, -cd): short options are not grouped.
  const parsed = await withConfigSource(argParser(argv, { 'short-option-groups': false, 'boolean-negation': false }))
    .option('multirun', { alias: 'm', type: 'boolean', default: false })
    .option('cfg', { alias: 'c', type: 'string' })
    .option('resolve', { type: 'boolean', default: false })
    .option('package', { alias: 'p', type: 'string' })
    .option('info', { alias: 'i', type: 'string' })
    .option('help', { alias: 'h', type: 'boolean', default: false })
    .option('version', { type: 'boolean', default: false })
    .option('format', { type: 'string' })
    .option('resume', { type: 'string' })
    .option('shard', { type: 'string' })
    .option('wait', { type: 'boolean', default: false })
    .option('dry-run', { type: 'boolean', default: false })
    .parseAsync();
  const overrides = parsed._.map(String);
  const command =
    overrides[0] === 'topology' || overrides[0] === 'plan' ? (overrides.shift() as 'topology' | 'plan') : 'run';
  const format = parsed.format ?? 'text';
  if (format !== 'text' && format !== 'json')
    throw new UsageError(`--format: invalid choice '${format}' (choose from text, json)`);
  if (format === 'json' && (parsed.cfg !== undefined || parsed.info !== undefined || parsed.help))
    throw new UsageError(
      '--format json applies to runs, sweeps, `bench plan` and `bench topology`; --cfg, --info and --help print text',
    );
  let info: Flags['info'] = null;
  if (parsed.info !== undefined) {
    const value = parsed.info === '' ? 'all' : parsed.info;
    if ((INFO_CHOICES as readonly string[]).includes(value)) info = value as Flags['info'];
    else if (value.includes('=') || value.startsWith('~') || value.startsWith('+')) {
      info = 'all';
      overrides.unshift(value);
    } else throw new UsageError(`--info: invalid choice '${value}' (choose from ${INFO_CHOICES.join(', ')})`);
  }
  const cfg = parsed.cfg ?? null;
  if (cfg !== null && cfg !== 'job' && cfg !== 'hydra' && cfg !== 'all') {
    throw new UsageError(`--cfg: invalid choice '${cfg}' (choose from job, hydra, all)`);
  }
  return {
    overrides,
    multirun: parsed.multirun,
    cfg,
    resolve: parsed.resolve,
    pkg: parsed.package ?? null,
    info,
    help: parsed.help,
    version: parsed.version,
    command,
    format,
    resume: parsed.resume ?? null,
    shard: parsed.shard ?? null,
    wait: parsed.wait,
    dryRun: parsed['dry-run'],
    source: configSourceOf(parsed),
  };
}

/**
 * `--cfg`: the composed config. In a sweep, every job's, one YAML document each (`---` between),
 * headed by a comment naming the job and its overrides; Hydra itself composes a sweep's
 * `--cfg` in run mode and refuses its sweep values.
 */
async function printConfig(flags: Flags, repo: ConfigRepository, overrides: Override[]): Promise<void> {
  if (!(flags.multirun || configMode(repo, flags, overrides) === 'MULTIRUN')) {
    process.stdout.write(configText(flags, composeJob(repo, flags.source, overrides, { version: benchVersion() })));
    return;
  }
  const sweep = await expandSweepJobs(repo, flags.source, overrides);
  const docs = sweep.jobs.map((job) => {
    const comp = composeJob(repo, flags.source, [...sweep.hydraOverrides, ...job.overrides.map(parseOverride)], {
      job: { num: job.num, id: `${job.num}` },
      version: benchVersion(),
    });
    const what = job.overrides.length > 0 ? `: ${job.overrides.join(' ')}` : '';
    return `# job ${job.num} of ${sweep.jobs.length}${what}\n${configText(flags, comp)}`;
  });
  process.stdout.write(docs.join('---\n'));
}

function configText(flags: Flags, comp: Composition): string {
  const tree = comp.config;
  let node: unknown = tree;
  if (flags.cfg === 'job') node = taskConfig(tree);
  else if (flags.cfg === 'hydra') node = { hydra: tree.hydra };
  if (flags.resolve) node = resolveAll(tree, resolveContext(), node, [], { keepMissing: true });
  if (flags.pkg) {
    const found = getPath(node, flags.pkg);
    if (!found.found) throw new ConfigError(`--package: '${flags.pkg}' is not in the composed config`);
    return `# @package ${flags.pkg}\n${toYaml(found.value)}`;
  }
  return toYaml(node);
}

function printInfo(flags: Flags, repo: ConfigRepository, overrides: Override[]): void {
  const what = flags.info ?? 'all';
  const out: string[] = [];
  const comp = composeJob(repo, flags.source, overrides, { master: flags.multirun, version: benchVersion() });
  if (what === 'all' || what === 'searchpath' || what === 'config') {
    out.push(
      'Config search path',
      '******************',
      ...repo.searchPath.map((e) => `| ${e.provider.padEnd(12)} | file://${e.path}`),
      '',
    );
  }
  if (what === 'all' || what === 'defaults' || what === 'config') {
    const rows = comp.defaults.map((d) => [d.configPath, d.package, d.isSelf ? 'True' : 'False', d.parent ?? 'None']);
    out.push('Defaults List', '*************', ...table(['Config path', 'Package', '_self_', 'Parent'], rows), '');
  }
  if (what === 'all' || what === 'defaults-tree') {
    out.push('Defaults Tree', '*************');
    const depth = new Map<string | null, number>([[null, -1]]);
    for (const d of comp.defaults) {
      const level = (depth.get(d.parent) ?? 0) + 1;
      depth.set(d.configPath, level);
      out.push(
        `${'  '.repeat(level)}${d.isSelf ? '_self_ of ' : ''}${d.configPath}${d.package ? ` (@${d.package})` : ''}`,
      );
    }
    out.push('');
  }
  if (what === 'all' || what === 'config') {
    out.push('Config', '******', toYaml(taskConfig(comp.config)));
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `-${widths.map((w) => '-'.repeat(w + 2)).join('-')}-`, ...rows.map(line)];
}

function printHelp(flags: Flags, repo: ConfigRepository | null, overrides: Override[]): void {
  const lines = [
    `bench ${benchVersion()}: latency and throughput of BERT-like inference on CPUs, Hydra-style configs.`,
    '',
    'Usage: bench [flags] [overrides...]          one run, e.g. bench model=bert-base-cased sequence_length=128',
    '       bench -m [flags] [overrides...]       a sweep, e.g. bench -m batch_size=1,8 sequence_length=32,128',
    '       bench repetitions=5 [overrides...]    5 fresh measurements (interleaved in a sweep): what compare and tune reason over',
    '       bench topology [--format json] [topology.file=PATH]     this machine (or a recorded one)',
    '       bench plan [overrides] [--format json]                  the instance plan, without running it',
    ...Object.keys(SUBCOMMANDS).map((name) => `       bench ${name} ...`.padEnd(63) + `see bench ${name} --help`),
    '',
    'Flags:',
    '  -m, --multirun             run a sweep: the cartesian product of the swept values',
    '  --resume DIR               finish a sweep: re-run only its jobs that are not ok, as it was configured',
    '  --cfg job|hydra|all        print the composed config and exit (add --resolve to resolve ${...})',
    '  -p, --package KEY          with --cfg: print only that node',
    '  -i, --info [all|config|defaults|defaults-tree|searchpath]   how the config was composed',
    '  -cn, --config-name NAME    primary config (default: config)',
    "  -cp, --config-path DIR     primary config folder (default: bench's own configs/)",
    '  -cd, --config-dir DIR      add a folder of configs to the search path (options join the groups)',
    '  --shard I/N                with -m: run only the jobs whose number mod N is I (into a shared hydra.sweep.dir)',
    '  --wait, --dry-run          with hydra/launcher=slurm: follow the array job, then gather; or print it, submit nothing',
    "  --format json              one JSON document on stdout (the run's results, a sweep's summary); progress on stderr",
    '  -h, --help                 this text; --version: the version',
    '',
    'Overrides:',
    '  key=value  a.b.c=value     change a value (it must exist: bench foo=1 fails, +foo=1 adds)',
    '  +key=value  ++key=value    add a key / add or replace',
    '  ~key  ~key=value           delete a key (only if it has that value)',
    '  group=option  +group=option  ~group   choose, add or remove a config group option',
    "  values: 8, 1e-3, true, null, text, 'quoted text', [1,2] (a list), {a:1} (merged into a dict)",
    '  sweeps (with -m): a=1,2  a=range(1,9,2)  a=choice(x,y)  group=glob(*)  group=glob(*,exclude=x)',
    '    and from the machine: core_counts()  divisors()  split_counts()',
    '  experiments: +experiment=core-count-scaling | multi-instance | batch-size-scaling | out-of-the-box | smart-dispatch',
  ];
  if (repo) {
    lines.push('', '== Configuration groups ==', 'Compose your configuration from those groups (group=option)', '');
    for (const g of repo.listGroups()) lines.push(`${g}: ${repo.listOptions(g).join(', ')}`);
    try {
      const comp = composeJob(repo, flags.source, overrides, { master: true, version: benchVersion() });
      lines.push(
        '',
        '== Config ==',
        'Override anything in the config (foo.bar=value)',
        '',
        toYaml(taskConfig(comp.config)).trimEnd(),
      );
    } catch (err) {
      lines.push('', `(the config could not be composed: ${(err as Error).message.split('\n')[0]})`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function run(argv: readonly string[]): Promise<number> {
  let flags = await parseFlags(argv);
  let resumeOverrides: string[] | null = null;
  if (flags.resume !== null) {
    if (flags.overrides.length > 0)
      throw new UsageError(`--resume re-runs the sweep as it was: drop the overrides (${flags.overrides.join(' ')})`);
    const origin = readSweepOrigin(resolve(flags.resume));
    flags = { ...flags, source: origin.source, multirun: true };
    resumeOverrides = origin.overrides;
  }
  if (flags.version) {
    process.stdout.write(`bench ${benchVersion()}\n`);
    return 0;
  }
  const words = resumeOverrides ?? flags.overrides;
  const misplaced = words.find((w) => w === 'plan' || w === 'topology' || w in SUBCOMMANDS);
  if (misplaced !== undefined) {
    throw new UsageError(
      `'${misplaced}' is a command and comes first: bench ${misplaced} ${words.filter((w) => w !== misplaced).join(' ')}`.trimEnd(),
    );
  }
  const first = words.find((w) => !w.includes('=') && !w.startsWith('~'));
  if (first !== undefined) {
    // A bare word is no override (they need `=`): most likely a command, mistyped.
    const commands = ['plan', 'topology', ...Object.keys(SUBCOMMANDS)];
    const near = nearest(first, commands);
    const isKey = canonicalConfigKeys().some((k) => k === first || k.startsWith(`${first}.`));
    throw new UsageError(
      isKey
        ? `'${first}' is a config key, not an override: set it with ${first}=VALUE (or delete it with ~${first})`
        : near.length > 0
          ? `'${first}' is not a command; did you mean: bench ${near[0]} ...?`
          : `'${first}' is neither a command (${commands.join(', ')}) nor an override (key=value)`,
    );
  }
  const overrides = words.map(parseOverride);
  const repo = openRepository(flags.source);
  if (flags.help) {
    printHelp(flags, repo, overrides);
    return 0;
  }
  if (flags.cfg) {
    await printConfig(flags, repo, overrides);
    return 0;
  }
  if (flags.info) {
    printInfo(flags, repo, overrides);
    return 0;
  }
  if (flags.command === 'plan' && (flags.multirun || configMode(repo, flags, overrides) === 'MULTIRUN')) {
    return await planSweep(flags, repo, overrides);
  }
  if (flags.command !== 'run') {
    const comp = composeJob(repo, flags.source, overrides, { version: benchVersion() });
    const { runConfig } = resolveTask(comp.config);
    if (flags.command === 'topology') {
      const topology = await topologyFor(runConfig);
      process.stdout.write(
        flags.format === 'json'
          ? `${JSON.stringify(topologyToJson(topology), null, 2)}\n`
          : renderTopologyText(topology),
      );
      return 0;
    }
    const prepared = await prepareLaunch(runConfig, { forRun: false });
    const plan = planJson(prepared);
    const where =
      runConfig.topology.file === null ? `this machine (${prepared.topology.source})` : prepared.topology.source;
    process.stdout.write(flags.format === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : renderPlan(plan, where));
    return 0;
  }
  const multirun = flags.multirun || configMode(repo, flags, overrides) === 'MULTIRUN';
  if (!multirun && (flags.shard !== null || flags.wait || flags.dryRun))
    throw new UsageError(
      `${flags.shard !== null ? '--shard' : flags.wait ? '--wait' : '--dry-run'} applies to a sweep: add -m`,
    );
  const interrupt = interruptHandling();
  try {
    if (!multirun) {
      const json = flags.format === 'json';
      const say = json ? process.stderr : process.stdout;
      // Several repetitions take a while: a line as each ends.
      const outcome = await runJob({
        repo,
        source: flags.source,
        overrides,
        signal: interrupt.signal,
        onEvent: (e) => {
          if (e.type === 'repetition-end' && e.planned > 1) say.write(`${renderRepetitionLine(e, 'bench: ')}\n`);
        },
      });
      (outcome.status === 'ok' ? say : process.stderr).write(`${renderRun(outcome)}\n`);
      if (json) {
        // The run's results.json, whole, with where it was written (or that it could not be).
        process.stdout.write(
          `${toJson({ kind: 'run', status: outcome.status, dir: outcome.dir, saved: outcome.unsaved !== true, result: outcome.result }, 1)}\n`,
        );
      } else if (outcome.unsaved) printUnsaved(outcome, false);
      return interrupt.exitCode() ?? (outcome.status === 'ok' ? 0 : 1);
    }
    return await runMultirun(flags, repo, overrides, interrupt);
  } finally {
    interrupt.dispose();
  }
}

/** `bench plan` of a sweep (`-m`, or an experiment): every job's plan, without running anything. */
async function planSweep(flags: Flags, repo: ConfigRepository, overrides: Override[]): Promise<number> {
  const sweep = await expandSweepJobs(repo, flags.source, overrides);
  const plans: {
    job: number;
    overrides: readonly string[];
    plan: ReturnType<typeof planJson> | null;
    error: string | null;
  }[] = [];
  for (const job of sweep.jobs) {
    try {
      const comp = composeJob(repo, flags.source, [...sweep.hydraOverrides, ...job.overrides.map(parseOverride)], {
        job: { num: job.num, id: `${job.num}` },
        version: benchVersion(),
      });
      const prepared = await prepareLaunch(resolveTask(comp.config).runConfig, { forRun: false });
      plans.push({ job: job.num, overrides: job.overrides, plan: planJson(prepared), error: null });
    } catch (err) {
      if (!isUserError(err)) throw err;
      plans.push({ job: job.num, overrides: job.overrides, plan: null, error: err.message });
    }
  }
  const failed = plans.filter((p) => p.error !== null);
  if (flags.format === 'json') {
    process.stdout.write(`${JSON.stringify({ jobs: plans }, null, 2)}\n`);
    if (failed.length > 0)
      process.stderr.write(
        `bench plan: ${failed.length} of ${plans.length} jobs cannot run there: ${failed.map((p) => `job ${p.job}`).join(', ')}\n`,
      );
  } else {
    const file = resolveKey(sweep.master, 'topology.file', resolveContext());
    process.stdout.write(
      renderSweepPlan(plans, varyingKeys(sweep.jobs), typeof file === 'string' ? file : 'this machine'),
    );
  }
  return failed.length > 0 ? 1 : 0;
}

async function runMultirun(
  flags: Flags,
  repo: ConfigRepository,
  overrides: Override[],
  interrupt: InterruptHandling,
): Promise<number> {
  const json = flags.format === 'json';
  // With --format json, stdout carries only the JSON document; the lines a person reads go to stderr.
  const say = json ? process.stderr : process.stdout;
  let shard: Shard | null;
  try {
    shard = parseShard(flags.shard ?? undefined, process.env);
  } catch (err) {
    if (err instanceof ShardError) throw new UsageError(err.message);
    throw err;
  }
  const master = composeJob(repo, flags.source, overrides, { master: true, version: benchVersion() });
  // A Slurm sweep is submitted; its array tasks (each with its shard) run here, as a basic sweep.
  if (launcherName(master.config) === 'slurm' && shard === null)
    return await submitMultirun(flags, repo, overrides, interrupt, say);
  if (flags.wait || flags.dryRun) throw new UsageError('--wait and --dry-run apply to hydra/launcher=slurm');
  let total = 0;
  let index = 0;
  // Progress counts repetitions (runs) when jobs have several, jobs otherwise.
  let units = 0;
  let unitsDone = 0;
  let measuredOk = 0;
  let repetitions = 1;
  const jobNumbers = new Map<number, number>();
  let varying = new Set<string>();
  const started = Date.now();
  let lastDoneAt = started;
  // On a terminal a progress line is redrawn under the job lines; in CI, plain lines only.
  const tty = say.isTTY === true;
  let ticker: NodeJS.Timeout | undefined;
  const redraw = (): void => {
    if (tty) {
      const line =
        repetitions > 1
          ? renderProgress(unitsDone, units, Date.now() - started, lastDoneAt - started, 'runs')
          : renderProgress(index, total, Date.now() - started, lastDoneAt - started);
      say.write(`\r\x1b[2K${line}`);
    }
  };
  const sweep = await runSweep({
    repo,
    source: flags.source,
    overrides,
    signal: interrupt.signal,
    shard,
    ...(flags.resume !== null ? { resumeDir: resolve(flags.resume) } : {}),
    onEvent: (e) => {
      if (e.type === 'sweep-start') {
        total = e.jobs.length;
        repetitions = e.repetitions;
        units = total * repetitions;
        e.jobs.forEach((j, k) => jobNumbers.set(j.num, k));
        varying = varyingKeys(e.jobs);
        const reps =
          repetitions > 1
            ? ` x ${repetitions} repetitions (interleaved: every job's 1st, then every job's 2nd, ...)`
            : '';
        const verb = flags.resume !== null ? 'resuming' : 'launching';
        const part = shard ? ` (shard ${shard.index} of ${shard.count})` : '';
        const only = flags.resume !== null ? '; only what is not ok runs' : '';
        say.write(`bench: ${verb} ${total} jobs${part}${reps} into ${displayPath(e.dir)}${only}\n`);
        if (tty) ticker = setInterval(redraw, 1000);
        redraw();
      } else if (e.type === 'repetition-end') {
        unitsDone++;
        if (e.repetition.status === 'ok') measuredOk++;
        lastDoneAt = Date.now();
        if (e.planned > 1) {
          if (tty) say.write('\r\x1b[2K');
          const k = e.job ? (jobNumbers.get(e.job.num) ?? 0) : 0;
          const shown = e.overrides.filter((line) => varying.has(line.split('=')[0]!)).join(' ');
          say.write(`${renderRepetitionLine(e, `[${k + 1}/${total}] `, shown)}\n`);
          redraw();
        }
      } else if (e.type === 'job-end') {
        if (e.kept) unitsDone += repetitions;
        if (tty) say.write('\r\x1b[2K');
        say.write(
          `${renderJobLine(e.outcome, index++, total, varying)}${e.kept ? ' (kept from the earlier run)' : ''}\n`,
        );
        if (e.outcome.unsaved && !json) printUnsaved(e.outcome, true);
        lastDoneAt = Date.now();
        redraw();
      } else if (e.type === 'sweep-end') {
        clearInterval(ticker);
        if (tty) say.write('\r\x1b[2K');
        const best = renderBestSetups(e.best);
        if (best) say.write(`${best}\n`);
      }
    },
  });
  clearInterval(ticker);
  const failed = sweep.outcomes.filter((o) => o.status !== 'ok');
  const interruptedCode = interrupt.exitCode();
  if (json) {
    // The sweep's summary rows (summary.json), its best setups, and where each job's results are;
    // a job whose results could not be written carries them here, the only copy.
    // 'failed' whenever the exit code is 1: a job failed, or a sweep file could not be written.
    const status =
      interruptedCode !== null ? 'interrupted' : failed.length > 0 || sweep.writeErrors.length > 0 ? 'failed' : 'ok';
    process.stdout.write(
      `${toJson(
        {
          kind: 'sweep',
          status,
          dir: sweep.dir,
          jobs: sweep.outcomes.map((o) => ({
            status: o.status,
            dir: o.dir,
            overrides: o.overrides,
            error: o.error?.message ?? null,
            saved: o.unsaved !== true,
            ...(o.unsaved ? { result: o.result } : {}),
          })),
          summary: sweep.rows.flatMap(summaryRecords),
          best_setups: sweep.best,
          write_errors: sweep.writeErrors,
        },
        1,
      )}\n`,
    );
  }
  if (interruptedCode !== null) {
    const complete = sweep.outcomes.filter((o) => o.status === 'ok').length;
    const measured = repetitions > 1 ? ` (${measuredOk} of ${units} repetitions measured)` : '';
    process.stderr.write(
      `bench: interrupted with ${complete} of ${total} jobs complete${measured}; summary in ${displayPath(sweep.dir)}/summary.csv; ` +
        `finish it with: bench --resume ${displayPath(sweep.dir)}\n`,
    );
    return interruptedCode;
  }
  say.write(
    `bench: ${sweep.outcomes.length - failed.length} of ${sweep.outcomes.length} jobs ok; summary in ${displayPath(sweep.dir)}/summary.csv\n`,
  );
  for (const problem of sweep.writeErrors)
    process.stderr.write(
      `bench: could not write ${problem} (each job's results are in its folder, or printed above where those failed too)\n`,
    );
  if (failed.length > 0)
    process.stderr.write(
      `bench: re-run the failed jobs with: bench --resume ${displayPath(sweep.dir)}${shard ? ` --shard ${shard.index}/${shard.count}` : ''}\n`,
    );
  if (sweep.writeErrors.length > 0 && failed.length === 0) return 1;
  if (failed.length > 0) {
    const first = failed[0]!;
    process.stderr.write(
      `Error executing job with overrides: [${first.overrides.map((o) => `'${o}'`).join(', ')}]\n${first.result.error ?? ''}\n`,
    );
    return 1;
  }
  return 0;
}

/**
 * A job whose results could not be written: its measurement, the only copy, as one line of JSON on
 * stdout (after a line on stderr that says why), so nothing measured is lost.
 */
function printUnsaved(outcome: JobOutcome, explain: boolean): void {
  if (explain)
    process.stderr.write(
      `bench: ${outcome.result.error ?? 'the results could not be written'}; the measurement follows on stdout as one line of JSON\n`,
    );
  process.stdout.write(`${toJson(outcome.result, 0)}\n`);
}

/** `hydra.mode: MULTIRUN` in a config file runs a sweep without `-m`. */
function configMode(repo: ConfigRepository, flags: Flags, overrides: Override[]): unknown {
  if (!overrides.some((o) => o.value?.kind === 'sweep')) {
    const comp = composeJob(repo, flags.source, overrides, { master: true, version: benchVersion() });
    const hydra = comp.config.hydra;
    return isTree(hydra) ? hydra.mode : null;
  }
  return null;
}

export async function main(argv: readonly string[]): Promise<number> {
  const name = argv[0] !== undefined && argv[0] in SUBCOMMANDS ? argv[0] : null;
  let sub: Subcommand | null = null;
  try {
    if (name !== null) {
      sub = await SUBCOMMANDS[name]!();
      return await sub.run(argv.slice(1));
    }
    return await run(argv);
  } catch (err) {
    return exitFor(err, name, sub);
  }
}

/**
 * The one place errors become exit codes: a UserError (a key, flag, file or plan of the user's) is
 * its message, with the hint that fits, and exit 2 for a usage error (flags, commands) or else the
 * command's trouble code (1; `bench compare` 2, as diff(1)); anything else is a bug of bench's,
 * printed with its stack. The table of exit codes is in docs/troubleshooting.md.
 */
function exitFor(err: unknown, name: string | null, sub: Subcommand | null): number {
  if (!isUserError(err)) {
    process.stderr.write(
      `bench: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 1;
  }
  process.stderr.write(`${name !== null ? `bench ${name}: ` : ''}${err.message}\n`);
  if (err instanceof UsageError) {
    process.stderr.write(
      name !== null
        ? `Run 'bench ${name} --help' for the flags.\n`
        : "Run 'bench --help' for the flags and the config groups.\n",
    );
  }
  // The message is the whole story for the user's mistakes; the stack is for bench's developers.
  if (process.env.BENCH_FULL_ERROR === '1') process.stderr.write(`${err.stack ?? ''}\n`);
  // A command line bench cannot read (a flag, a command, a flag's value) is a usage error: 2 in
  // every command, as POSIX tools do; the rest of the user's trouble is the command's own code.
  return err instanceof UsageError ? 2 : (sub?.troubleExitCode ?? 1);
}

process.exitCode = await main(process.argv.slice(2));

/**
 * `hydra/launcher=slurm`: the sweep submitted as an array job (run/slurm.ts); `--wait` follows it
 * with squeue and gathers what the tasks wrote; `--dry-run` prints it.
 */
async function submitMultirun(
  flags: Flags,
  repo: ConfigRepository,
  overrides: Override[],
  interrupt: InterruptHandling,
  say: NodeJS.WriteStream,
): Promise<number> {
  const subs = await submitSweep({
    repo,
    source: flags.source,
    overrides,
    dryRun: flags.dryRun,
    ...(flags.resume !== null ? { resumeDir: resolve(flags.resume) } : {}),
  });
  if (flags.dryRun) {
    for (const sub of subs)
      process.stdout.write(
        `# ${sub.jobs} jobs in ${sub.tasks} shards into ${sub.dir}; nothing was made or submitted\n` +
          `sbatch ${sub.sbatch.map(shellQuote).join(' ')}\n# ${sub.scriptFile}:\n${sub.script}`,
      );
    return 0;
  }
  for (const sub of subs) {
    if (sub.jobId === null) say.write(`bench: every job of ${displayPath(sub.dir)} is ok: nothing to submit\n`);
    else
      say.write(
        `bench: submitted Slurm job ${sub.jobId}: ${sub.shards.length} array task${sub.shards.length === 1 ? '' : 's'} ` +
          `(shards of ${sub.tasks}) for ${sub.jobs} jobs into ${displayPath(sub.dir)}\n`,
      );
  }
  const ids = subs.flatMap((s) => (s.jobId === null ? [] : [s.jobId]));
  if (!flags.wait && ids.length > 0) {
    say.write(
      `bench: follow ${ids.length === 1 ? 'it' : 'them'} with: squeue -j ${ids.join(',')}; when ${ids.length === 1 ? 'it ends' : 'they end'}: ${subs.map((s) => `bench gather ${displayPath(s.dir)}`).join('; ')}\n`,
    );
    if (flags.format === 'json')
      process.stdout.write(
        `${JSON.stringify({ kind: 'submission', submissions: subs.map((s) => ({ job_id: s.jobId, dir: s.dir, tasks: s.tasks, shards: s.shards })) }, null, 1)}\n`,
      );
    return 0;
  }
  let last = '';
  for (;;) {
    if (interrupt.signal.aborted) break;
    const states = (await Promise.all(ids.map(queuedTasks))).flat();
    if (states.length === 0) break;
    const counts = new Map<string, number>();
    for (const s of states) counts.set(s.toLowerCase(), (counts.get(s.toLowerCase()) ?? 0) + 1);
    const line = `bench: job${ids.length === 1 ? '' : 's'} ${ids.join(', ')}: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`;
    if (line !== last) say.write(`${line}\n`);
    last = line;
    await new Promise((r) => setTimeout(r, 2000));
  }
  if (interrupt.signal.aborted) {
    process.stderr.write(
      `bench: stopped waiting; job${ids.length === 1 ? '' : 's'} ${ids.join(', ')} go on (scancel ${ids.join(' ')} stops them); ` +
        `${subs.map((s) => `bench gather ${displayPath(s.dir)}`).join('; ')} collects what they wrote\n`,
    );
    return interrupt.exitCode() ?? 130;
  }
  const json = flags.format === 'json';
  const gathered = await Promise.all(subs.map((s) => gatherSweep(s.dir)));
  // One machine type: its gathered sweep; several: each, in one JSON document.
  if (json && gathered.length > 1)
    process.stdout.write(`${toJson({ kind: 'fleet', sweeps: gathered.map(gatherDoc) }, 1)}\n`);
  let code = 0;
  for (const g of gathered) code = Math.max(code, printGather(g, say, json && gathered.length === 1));
  return code;
}
