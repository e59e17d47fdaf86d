/**
 * `bench compare A B`: matched rows of two result sets with a verdict each; exit status like
 * diff(1): 0 done (no regression past the threshold), 1 a regression with --fail-on-regression,
 * 2 trouble (bad flags, unreadable input), 3 with --fail-on-regression: no regression, but a row
 * rests only on disturbed measurements (inconclusive).
 */
import { argParser, UsageError } from '../args.js';
import {
  compareSets,
  DEFAULT_NOISE_FLOOR,
  inconclusiveRows,
  MIN_REPETITIONS,
  parseThreshold,
  pct,
  regressions,
  unresolvedRows,
  type MatchedRow,
} from '../../report/compare.js';
import { COMPARE_FORMATS, renderComparison, speedText, type CompareFormat } from '../../report/compare-render.js';
import { loadResultSet, ReportInputError, type ResultRow, type ResultSet } from '../../report/load.js';
import type { Adjustment } from '../../stats/repetitions.js';
import { displayPath } from '../render.js';

export const summary = 'compare two result sets (run dirs, sweep dirs or summary CSVs) with a verdict per matched row';

const HELP = `Usage: bench compare A B [--format table|markdown|csv|json] [--fail-on-regression 5%] [--ignore key1,key2]
       bench compare DIR --by machine [...]     the machines within one gathered sweep, against each other

Compares two result sets: A and B are run directories, sweep directories (multirun/DATE/TIME),
summary/results CSVs, optimum-benchmark benchmark.json files (or folders of them) or the study's
consolidated CSV (bench export), from this machine or another. Rows are matched on their resolved config,
ignoring keys that do not change what is measured (experiment_name, seed, benchmark_duration,
scenario.min_iterations, repetitions, topology.file, launcher timeouts, backend.save_optimized_model,
backend.cache_optimized_graph, tune.*, hydra.*); unmatched rows are listed with the keys their
closest counterpart differs in.

The unit of evidence is the repetition (bench repetitions=N: N fresh measurements, each in new
processes), because a repeat run differs from the last by far more than the calls of one run differ
from each other. Each repetition gives one figure, its median latency (a dispatch run: the request
latency of its dispatched setup). For each matched row: A, B, the repetitions used, the ratio B/A
with a 95% interval, and a verdict:
- with >= ${MIN_REPETITIONS} repetitions per side: Welch's t-test on the log figures, the ratio of geometric means
  with its t-interval; the p-values of all rows adjusted together (--adjust, Holm by default);
  B is faster or slower when the adjusted p < alpha, else "no significant difference";
- with fewer: no p-value; the ratio with its within-run spread (bootstrap over the calls), and
  faster/slower only beyond the noise floor (--noise-floor, default ${pct(DEFAULT_NOISE_FLOOR)}), else "within noise";
- repetitions that other processes disturbed are shown and left out when a clean one exists; a side
  with only disturbed ones is "inconclusive", never a regression.
Throughput (summed over instances) is compared beside it. Environment differences (CPU, cores,
onnxruntime-node, bench, Node, THP) come first.

Flags:
  --format FORMAT            table (default), markdown, csv or json
  --fail-on-regression PCT   exit 1 when a matched row is slower in B by more than PCT (e.g. 5% or 5;
                             for CI): significantly (>= ${MIN_REPETITIONS} repetitions per side), or by more than
                             PCT plus the noise floor (fewer repetitions); exit 3 when there is no such
                             row but some row is inconclusive (disturbed measurements only)
  --noise-floor PCT          the run-to-run drift a change must exceed without repetitions
                             (default ${pct(DEFAULT_NOISE_FLOOR)}, see docs/compare-and-report.md)
  --adjust holm|bh|none      multiplicity adjustment of the rows' p-values (default holm: the
                             chance that any row is called on noise stays below alpha)
  --ignore KEYS              more config keys (or dotted prefixes) to leave out of matching, comma-
                             separated, e.g. --ignore backend.gflops_per_thread (repeatable)
  --by machine|hostname      one result set (a sweep gathered from several machines, docs/fleets.md):
                             its runs split by the CPU model (machine) or host that measured them,
                             the first against each other
  --allow-profiled           compare a profiled set (backend.profile=true) with an unprofiled one anyway
  --alpha X                  significance level (default 0.05)
  --resamples N              bootstrap resamples of the within-run spread (default 2000)
  --seed N                   bootstrap seed (default 1)
  -h, --help                 this text

Exit status: 0 compared (and no regression), 1 regression past --fail-on-regression, 2 trouble:
a path that holds no results, or no run of A matching a run of B; 3 (with --fail-on-regression)
no regression, but a verdict is inconclusive.
`;

interface Flags {
  readonly a: string;
  /** null with --by (one result set, split by machine). */
  readonly b: string | null;
  readonly by: keyof typeof BY_KEYS | null;
  readonly allowProfiled: boolean;
  readonly format: CompareFormat;
  readonly threshold: number | null;
  readonly ignore: string[];
  readonly alpha: number;
  readonly resamples: number;
  readonly seed: number;
  readonly noiseFloor: number;
  readonly adjust: Adjustment;
}

async function parseFlags(argv: readonly string[]): Promise<Flags | 'help'> {
  // Not greedy: `--ignore k A B` must leave A and B as the positionals.
  const parsed = await argParser(argv, { 'greedy-arrays': false })
    .option('format', { type: 'string', default: 'table' })
    .option('fail-on-regression', { type: 'string' })
    .option('ignore', { type: 'string', array: true, default: [] })
    .option('alpha', { type: 'string' })
    .option('resamples', { type: 'string' })
    .option('seed', { type: 'string' })
    .option('noise-floor', { type: 'string' })
    .option('adjust', { type: 'string' })
    .option('by', { type: 'string' })
    .option('allow-profiled', { type: 'boolean', default: false })
    .option('help', { alias: 'h', type: 'boolean', default: false })
    .parseAsync();
  if (parsed.help) return 'help';
  const positional = parsed._.map(String);
  const by = parsed.by ?? null;
  if (by !== null && !(by in BY_KEYS))
    throw new UsageError(`--by: invalid choice '${by}' (choose from ${Object.keys(BY_KEYS).join(', ')})`);
  if (by !== null && positional.length !== 1)
    throw new UsageError(`--by compares the machines within one result set: give one, got ${positional.length}`);
  if (by === null && positional.length !== 2)
    throw new UsageError(`expected two result sets A and B, got ${positional.length}`);
  const format = parsed.format;
  if (!(COMPARE_FORMATS as readonly string[]).includes(format))
    throw new UsageError(`--format: invalid choice '${format}' (choose from ${COMPARE_FORMATS.join(', ')})`);
  let threshold: number | null = null;
  if (parsed['fail-on-regression'] !== undefined) {
    threshold = parseThreshold(parsed['fail-on-regression']);
    if (threshold === null)
      throw new UsageError(
        `--fail-on-regression: expected a percentage such as 5% or 2.5 (a bare number below 1 is ambiguous: write 5% or 0.05%), got '${parsed['fail-on-regression']}'`,
      );
  }
  let noiseFloor = DEFAULT_NOISE_FLOOR;
  if (parsed['noise-floor'] !== undefined) {
    const x = parseThreshold(parsed['noise-floor']);
    if (x === null || x > 1) {
      throw new UsageError(
        `--noise-floor: expected a percentage from 0% to 100% such as 10% or 5 (a bare number below 1 is ambiguous: write 10% or 0.1%), got '${parsed['noise-floor']}'`,
      );
    }
    noiseFloor = x;
  }
  const adjust = parsed.adjust ?? 'holm';
  if (adjust !== 'holm' && adjust !== 'bh' && adjust !== 'none')
    throw new UsageError(`--adjust: invalid choice '${adjust}' (choose from holm, bh, none)`);
  const number = (name: string, text: string | undefined, fallback: number, ok: (x: number) => boolean): number => {
    if (text === undefined) return fallback;
    const x = Number(text);
    if (text.trim() === '' || !ok(x)) throw new UsageError(`--${name}: invalid value '${text}'`);
    return x;
  };
  return {
    a: positional[0]!,
    b: positional[1] ?? null,
    by: by as keyof typeof BY_KEYS | null,
    allowProfiled: parsed['allow-profiled'],
    format: format as CompareFormat,
    threshold,
    ignore: parsed.ignore
      .flatMap((s) => String(s).split(','))
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    alpha: number('alpha', parsed.alpha, 0.05, (x) => x > 0 && x < 1),
    resamples: number('resamples', parsed.resamples, 2000, (x) => Number.isInteger(x) && x >= 100),
    seed: number('seed', parsed.seed, 1, (x) => Number.isSafeInteger(x) && x >= 0),
    noiseFloor,
    adjust,
  };
}

/** A matched row's setup as `key=value ...`; `(all)` when nothing varies (as the table says). */
function setupText(m: MatchedRow): string {
  return (
    Object.entries(m.setup)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ') || '(all)'
  );
}

/** Like diff(1): 2 is trouble (bad flags, unreadable input), 1 a regression. */
export const troubleExitCode = 2;

export async function run(argv: readonly string[]): Promise<number> {
  const flags = await parseFlags(argv);
  if (flags === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (flags.by !== null) return compareByMachine(flags, flags.by);
  return compareOne(loadResultSet(flags.a), loadResultSet(flags.b!), flags);
}

const BY_KEYS = { machine: 'cpu_model', cpu_model: 'cpu_model', hostname: 'hostname' } as const;

/**
 * `bench compare DIR --by machine`: the rows of one result set (a gathered sweep run on several
 * machine types) split by the machine that measured them, the first (by name) against each other.
 */
function compareByMachine(flags: Flags, by: keyof typeof BY_KEYS): number {
  const key = BY_KEYS[by];
  const set = loadResultSet(flags.a);
  const groups = new Map<string, ResultRow[]>();
  for (const row of set.rows) {
    const value = String(row.environment?.[key] ?? '?');
    groups.set(value, [...(groups.get(value) ?? []), row]);
  }
  const names = [...groups.keys()].sort();
  if (names.length < 2)
    throw new ReportInputError(
      `${displayPath(flags.a)}: every run was measured on one ${key} (${names[0] ?? 'none'}), so there is nothing to compare --by ${by}`,
    );
  let code = 0;
  for (const other of names.slice(1)) {
    const part = (name: string): ResultSet => ({
      ...set,
      path: `${set.path} [${key}=${name}]`,
      rows: groups.get(name)!,
    });
    // On stderr: stdout stays what --format asks for (one document per comparison).
    process.stderr.write(`${key}: ${names[0]} (A) vs ${other} (B)\n`);
    code = Math.max(code, compareOne(part(names[0]!), part(other), flags));
  }
  return code;
}

/** Runs with ONNX Runtime's profiler on (backend.profile=true): its overhead is in their figures. */
const profiled = (s: ResultSet): boolean =>
  s.rows.some((r) => r.config['backend.profile'] === true || r.config['backend.profile'] === 'true');

function compareOne(a: ResultSet, b: ResultSet, flags: Flags): number {
  if (!flags.allowProfiled && profiled(a) !== profiled(b))
    throw new ReportInputError(
      `${displayPath((profiled(a) ? a : b).path)} was measured with backend.profile=true and ${displayPath((profiled(a) ? b : a).path)} without: the profiler's overhead would read as a regression. Compare profiled with profiled, or pass --allow-profiled`,
    );
  {
    const cmp = compareSets(a, b, {
      ignore: flags.allowProfiled ? [...flags.ignore, 'backend.profile'] : flags.ignore,
      alpha: flags.alpha,
      resamples: flags.resamples,
      seed: flags.seed,
      noiseFloor: flags.noiseFloor,
      adjust: flags.adjust,
    });
    process.stdout.write(renderComparison(cmp, flags.format, { threshold: flags.threshold, displayPath }));
    if (cmp.matched.length === 0) {
      // Nothing was compared: a CI gate must not pass on that.
      const keys = [...new Set(cmp.unmatched.flatMap((u) => u.closest_differs.map(([k]) => k)))];
      process.stderr.write(
        `bench compare: no run of ${displayPath(a.path)} matches a run of ${displayPath(b.path)}, so nothing was compared` +
          (keys.length > 0 ? ` (they differ in ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', ...' : ''})` : '') +
          `. Compare result sets of the same setups, or leave keys that do not change what you compare out with --ignore KEY[,KEY]\n`,
      );
      return 2;
    }
    if (flags.threshold !== null) {
      const bad = regressions(cmp, flags.threshold);
      const pctText = `${+(flags.threshold * 100).toFixed(4)}%`;
      if (bad.length > 0) {
        process.stderr.write(
          `bench compare: ${bad.length} regression${bad.length === 1 ? '' : 's'} past ${pctText}:\n`,
        );
        for (const m of bad) {
          process.stderr.write(`  ${setupText(m)}: ${speedText(m)}\n`);
        }
        return 1;
      }
      const inconclusive = inconclusiveRows(cmp);
      if (inconclusive.length > 0) {
        process.stderr.write(
          `bench compare: no regression past ${pctText}, but ${inconclusive.length} row${inconclusive.length === 1 ? ' is' : 's are'} inconclusive (disturbed measurements only); measure again on a quiet machine\n`,
        );
        return 3;
      }
      const floor = pct(cmp.noise_floor);
      process.stderr.write(
        `bench compare: no regression past ${pctText}: no row is significantly slower by more than ${pctText} (with repetitions), ` +
          `nor slower by more than ${pctText} + the ${floor} noise floor (without)\n`,
      );
      // Passing is not the same as clearing the threshold: say which rows could still hide a regression.
      for (const m of unresolvedRows(cmp, flags.threshold)) {
        const why =
          m.basis === 'repetitions'
            ? `not significant, but its interval reaches ${m.ratio_hi!.toFixed(3)}: more repetitions would tell`
            : `${m.ratio.toFixed(2)}× slower, within the noise floor: measure with repetitions for a verdict`;
        process.stderr.write(`  note: ${setupText(m)}: ${why}\n`);
      }
    }
    return 0;
  }
}
