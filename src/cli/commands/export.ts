/**
 * `bench export DIR --format optimum-benchmark|tune-csv [--out PATH]`: a result set in the shapes the
 * field's tools read (src/report/interop.ts); `bench compare` and `bench report` read them back.
 * Exit status: 0 written, 1 nothing to export or trouble writing, 2 a command line bench cannot read.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadResultSet } from '../../report/load.js';
import {
  defaultExportPath,
  EXPORT_FORMATS,
  exportOptimumBenchmark,
  exportTuneCsv,
  type ExportFormat,
} from '../../report/interop.js';
import { UserError } from '../../util/errors.js';
import { checkOutputPath } from '../../util/paths.js';
import { argParser, UsageError } from '../args.js';
import { displayPath } from '../render.js';

export const summary = "a result set in optimum-benchmark's or the study's consolidated CSV shape";

const HELP = `Usage: bench export DIR --format optimum-benchmark|tune-csv [--out PATH]

Writes the runs of DIR (a run directory, a sweep directory, a folder of runs) in a shape the
field's tools read; bench compare and bench report read them back.

  optimum-benchmark  a folder per run (and repetition) with benchmark_config.json,
                     benchmark_report.json and benchmark.json, as optimum-benchmark writes them:
                     targets load_model, first_forward, forward (latency in s with every value;
                     throughput in samples/s, summed over instances; memory max_ram in MB), and
                     forward_instance_N per instance of a multi-instance run.
                     Default PATH: DIR/optimum-benchmark/
  tune-csv           the study's consolidated CSV (huggingface/tune, consolidate.py): a row per
                     instance of every repetition, latency_* in ns, throughput in forwards/s,
                     the study's config columns, then bench's (bench.*, config.*).
                     Default PATH: DIR/consolidated.csv

Runs without a results.json and dispatch runs are left out, and said so.

Flags:
  --format F    optimum-benchmark or tune-csv (required)
  --out PATH    where to write: a new or empty folder (optimum-benchmark), a new file (tune-csv)
  -h, --help    this text
`;

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = await argParser(argv)
    .option('format', { type: 'string', choices: [...EXPORT_FORMATS] })
    .option('out', { alias: 'o', type: 'string' })
    .option('help', { alias: 'h', type: 'boolean', default: false })
    .parseAsync();
  if (parsed.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const positional = parsed._.map(String);
  if (positional.length !== 1) throw new UsageError(`expected one directory of results, got ${positional.length}`);
  if (parsed.format === undefined) throw new UsageError(`--format: required, one of ${EXPORT_FORMATS.join(', ')}`);
  if (parsed.out !== undefined && parsed.out.trim() === '') throw new UsageError('--out: expected a path');
  const format = parsed.format as ExportFormat;
  const input = positional[0]!;
  const out = resolve(parsed.out ?? defaultExportPath(input, format));
  // Without --out, the messages name the default it took.
  const flag = parsed.out === undefined ? 'the default --out' : '--out';
  if (out === resolve(input)) throw new UserError(`${flag} ${out} is the input itself; give another --out`);
  const set = loadResultSet(input);
  if (format === 'optimum-benchmark') {
    checkOutputPath(out, flag, 'folder');
    if (existsSync(out) && readdirSync(out).length > 0)
      throw new UserError(`${flag} ${out}: the folder is not empty; remove it or give a new folder with --out`);
  } else {
    checkOutputPath(out, flag, 'file', 'consolidated.csv');
    if (existsSync(out))
      throw new UserError(`${flag} ${out}: the file exists; remove it or give a new file with --out`);
  }
  const r = format === 'optimum-benchmark' ? exportOptimumBenchmark(set, out) : exportTuneCsv(set, out);
  for (const s of r.skipped) process.stderr.write(`  left out ${displayPath(join(set.path, s.source))}: ${s.reason}\n`);
  for (const w of set.warnings) process.stderr.write(`  warning ${w}\n`);
  if (r.runs === 0) {
    process.stderr.write(`bench export: nothing to export from ${displayPath(resolve(input))}\n`);
    return 1;
  }
  const what = format === 'optimum-benchmark' ? `${r.files.length} files` : `${r.repetitions} repetitions`;
  process.stdout.write(
    `bench export: ${r.runs} run${r.runs === 1 ? '' : 's'} (${what}) as ${format} in ${displayPath(r.out)}\n`,
  );
  return 0;
}
