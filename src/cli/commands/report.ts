/**
 * `bench report DIR [--out FILE]`: a self-contained HTML report with the study's charts, the charts
 * as SVG files and a Markdown summary. Exit status: 0 written, 1 trouble.
 */
import { argParser, UsageError } from '../args.js';
import { UserError } from '../../util/errors.js';
import { writeReport } from '../../report/report.js';
import { displayPath } from '../render.js';

export const summary = 'an HTML report (charts, best setups, environment) of a run or sweep directory';

const HELP = `Usage: bench report DIR [--out FILE]

Writes a self-contained HTML report of DIR (a run directory, a sweep directory such as
multirun/DATE/TIME, a summary.csv, a folder of runs, or bench export's optimum-benchmark folder or
consolidated CSV): the environment block, latency vs cores
per sequence length (core-count scaling), max latency and summed throughput vs number of instances
(batch-size scaling), the latency distribution per instance, the best setup per (batch, sequence)
and every run's figures. A dispatch run (scenario=dispatch) gets its own chart and table instead:
request latency p50/p90/p99, queueing and requests/s per setup and length class, with the gain of
dispatching. Charts are vega-lite rendered to SVG; the file opens without a network.
Each chart is also written as an SVG file, and a Markdown summary is written beside the HTML.
A chart whose data has a single value on its axis (e.g. every run used the same cores) is skipped
with a note.

Flags:
  --out FILE    the HTML file to write (default: DIR/report.html); FILE.md and FILE-charts/*.svg
                go beside it (FILE without its .html)
  -h, --help    this text
`;

export async function run(argv: readonly string[]): Promise<number> {
  const parsed = await argParser(argv)
    .option('out', { alias: 'o', type: 'string' })
    .option('help', { alias: 'h', type: 'boolean', default: false })
    .parseAsync();
  if (parsed.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const positional = parsed._.map(String);
  if (positional.length !== 1) throw new UsageError(`expected one directory, got ${positional.length}`);
  if (parsed.out !== undefined && parsed.out.trim() === '') throw new UsageError('--out: expected a file name');
  const dir = positional[0]!;
  const out = parsed.out;
  try {
    const r = await writeReport(dir, out === undefined ? {} : { out });
    process.stdout.write(
      `bench report: ${displayPath(r.html)} (${r.model.rows.length} run${r.model.rows.length === 1 ? '' : 's'})\n`,
    );
    for (const c of r.charts) {
      process.stdout.write(c.file ? `  chart   ${displayPath(c.file)}\n` : `  skipped ${c.title}: ${c.skipped}\n`);
    }
    process.stdout.write(`  summary ${displayPath(r.markdown)}\n`);
    for (const w of r.model.set.warnings) process.stderr.write(`  warning ${w}\n`);
    return 0;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EROFS' || code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') {
      throw new UserError(`cannot write the report: ${(err as Error).message}`);
    }
    throw err;
  }
}
