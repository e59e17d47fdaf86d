/**
 * `bench report DIR`: one self-contained HTML file (charts as inline SVG, styles inline, no script,
 * no network: a Content-Security-Policy of `default-src 'none'` makes that a property of the file),
 * each chart also as its own SVG file, and a Markdown summary beside the HTML.
 *
 * Sections: the environment block, the charts (see charts.ts), dispatch runs (one table each:
 * request latency p50/p90/p99, queueing and throughput per setup and length class, and the gain),
 * the best setup per (batch, sequence) as the sweep writes it to best_setups.csv (results/best.ts:
 * lowest mean latency of the worst instance, highest summed throughput; left out when every run
 * is a dispatch run, which has no single batch and sequence), every run's figures, and the
 * warnings. Every string that comes from a config, an override or a file name goes through
 * escapeHtml / escapeMarkdown*.
 *
 * Writes files (each atomically: a reader never sees half a report), prints nothing.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { bestSetups, varyingColumns, type BestSetup } from '../results/best.js';
import { writeFileAtomic } from '../util/atomic.js';
import { checkOutputPath } from '../util/paths.js';
import { isRunDisturbed, layoutOf } from '../results/repetitions.js';
import { minSamplesFor } from '../stats/summary.js';
import { UserError } from '../util/errors.js';
import { benchVersion } from '../util/versions.js';
import {
  classLabel,
  coresUsed,
  isDispatch,
  planCharts,
  renderCharts,
  type ChartRow,
  type RenderedChart,
} from './charts.js';
import { canonical, ENVIRONMENT_FIELDS, environmentValue } from './compare.js';
import { escapeHtml, escapeMarkdownCell, escapeMarkdownText } from './escape.js';
import {
  loadResultSet,
  type DispatchClassFigures,
  type DispatchFigures,
  type ResultRow,
  type ResultSet,
} from './load.js';

export interface ReportModel {
  readonly set: ResultSet;
  readonly title: string;
  readonly experiments: readonly string[];
  readonly rows: readonly ChartRow[];
  readonly environments: readonly {
    readonly fields: readonly (readonly [string, string])[];
    readonly runs: readonly string[];
  }[];
  readonly best: readonly (BestSetup & { readonly lowLabel: string; readonly highLabel: string })[];
  /** False when every run is a dispatch run: no (batch, sequence) to find a best setup for. */
  readonly showBest: boolean;
  /** The dispatch runs with their figures per setup and class. */
  readonly dispatch: readonly { readonly label: string; readonly figures: DispatchFigures }[];
  readonly warnings: readonly string[];
  readonly generatedAt: string;
}

export interface ReportOutput {
  readonly html: string;
  readonly markdown: string;
  readonly chartsDir: string;
  /** Each chart's SVG file (null when the chart was skipped, with the reason). */
  readonly charts: readonly {
    readonly id: string;
    readonly title: string;
    readonly file: string | null;
    readonly skipped: string | null;
  }[];
}

/** What sets each run apart: its overrides that not every run of the set shares. */
function runLabels(set: ResultSet): string[] {
  const rows = set.rows;
  if (rows.length === 1) return [set.kind === 'run' ? basename(set.path) : rows[0]!.source];
  const common = rows.map((r) => new Set(r.overrides)).reduce((acc, s) => new Set([...acc].filter((o) => s.has(o))));
  return rows.map((r) => {
    const own = r.overrides.filter((o) => !common.has(o)).join(' ');
    const id = r.job !== null ? `#${r.job}` : r.source;
    return own === '' ? id : `${id} ${own}`;
  });
}

export function buildModel(set: ResultSet, now = new Date()): ReportModel {
  const labels = runLabels(set);
  const rows: ChartRow[] = set.rows.map((row, k) => ({ row, label: labels[k]! }));
  const experiments = [...new Set(set.rows.map((r) => canonical(r.config.experiment_name)).filter((x) => x !== ''))];

  const envs = new Map<string, { fields: [string, string][]; runs: string[] }>();
  for (const c of rows) {
    if (!c.row.environment) continue;
    const env = c.row.environment;
    const fields = ENVIRONMENT_FIELDS.map(([k, label]): [string, string] => [label, environmentValue(env, k)]).filter(
      ([, v]) => v !== '',
    );
    const key = JSON.stringify(fields);
    const e = envs.get(key) ?? { fields, runs: [] };
    e.runs.push(c.label);
    envs.set(key, e);
  }

  const withResult = rows.filter((c) => c.row.result !== null);
  const byJob = new Map<number, string>();
  const jobs = withResult.map((c, k) => {
    byJob.set(c.row.job ?? k, c.label);
    return { result: c.row.result!, overrides: c.row.overrides, job: c.row.job ?? k };
  });
  const best = bestSetups(jobs).map((b) => ({
    ...b,
    lowLabel: byJob.get(b.lowest_latency.job) ?? '',
    highLabel: byJob.get(b.highest_throughput.job) ?? '',
  }));

  const dispatch = rows.flatMap((c) => (c.row.dispatch ? [{ label: c.label, figures: c.row.dispatch }] : []));
  const warnings = [
    ...set.warnings,
    ...new Set(set.rows.flatMap((r) => [...(r.result?.warnings ?? []), ...(r.dispatch?.warnings ?? [])])),
  ];
  const name = set.kind === 'csv' ? basename(set.path) : basename(set.path) || set.path;
  return {
    set,
    title: `bench report: ${experiments.join(', ') || name}`,
    experiments,
    rows,
    environments: [...envs.values()],
    best,
    showBest: rows.length === 0 || rows.some((c) => !isDispatch(c.row)),
    dispatch,
    warnings,
    generatedAt: now.toISOString(),
  };
}

const fmt = (x: number | null | undefined, digits = 3): string => {
  if (x === null || x === undefined || !Number.isFinite(x)) return '';
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 10 ** digits || a === 0) return x.toFixed(0);
  return x.toFixed(Math.max(0, digits - 1 - Math.floor(Math.log10(a))));
};

interface Table {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Column indexes aligned right (numbers). */
  readonly numeric?: readonly number[];
}

function runNote(r: ResultRow): string {
  if (r.error) return r.error.split('\n')[0]!;
  // A measurement other processes disturbed is flagged where its figures are shown.
  // A measurement other processes disturbed is flagged where its figures are shown.
  const disturbed =
    r.result && isRunDisturbed(r.result) ? ['disturbed: other processes used its CPUs (see its results.json)'] : [];
  if (isDispatch(r)) {
    if (r.latency_measure === 'request')
      return [
        'dispatch run: request latency and requests/s of the dispatched setup (see Dispatch runs)',
        ...disturbed,
      ].join('; ');
    return ['dispatch run: service times only (session.run; no request latencies in this input)', ...disturbed].join(
      '; ',
    );
  }
  const notes = [
    ...(r.latencies_ms === null && r.status === 'ok' ? ['summary only'] : []),
    ...disturbed,
    ...(r.repetitions.length > 1
      ? [
          `geometric mean of ${r.result?.repetition_summary?.used.length ?? r.repetitions.filter((x) => x.status === 'ok').length} repetitions`,
        ]
      : []),
    ...(r.result?.repetition_summary &&
    !r.result.repetition_summary.disturbed_only &&
    r.result.repetition_summary.excluded.some((e) => e.reason.startsWith('disturbed'))
      ? ['disturbed repetitions left out']
      : []),
  ];
  return notes.join('; ');
}

/**
 * backend.profile=true runs: each profiled run's share of kernel time per operator type (instance
 * 0, first repetition), the types that matter most across the runs as columns; null when no run
 * was profiled. Read across a sweep, it shows which operators dominate at each sequence length,
 * and how several instances change that.
 */
export function profileTable(model: ReportModel): Table | null {
  const profiled = model.rows.flatMap((c) => {
    const p = c.row.result?.instances.find((i) => i.profile)?.profile;
    return p ? [{ label: c.label, p }] : [];
  });
  if (profiled.length === 0) return null;
  const weight = new Map<string, number>();
  for (const { p } of profiled) for (const o of p.by_op) weight.set(o.op, (weight.get(o.op) ?? 0) + o.share);
  const ops = [...weight].sort((a, b) => b[1] - a[1]).map(([op]) => op);
  const shown = ops.slice(0, 7);
  const rest = ops.length > shown.length;
  return {
    header: ['run', 'ms per call', ...shown, ...(rest ? ['other'] : []), 'top node'],
    numeric: [1, ...shown.map((_, i) => i + 2), ...(rest ? [shown.length + 2] : [])],
    rows: profiled.map(({ label, p }) => {
      const share = (op: string): number => p.by_op.find((o) => o.op === op)?.share ?? 0;
      const other = 1 - shown.reduce((s, op) => s + share(op), 0);
      const top = p.top_nodes[0];
      return [
        label,
        (p.kernel_ms / Math.max(1, p.calls)).toFixed(3),
        ...shown.map((op) => `${(share(op) * 100).toFixed(1)}%`),
        ...(rest ? [`${(Math.max(0, other) * 100).toFixed(1)}%`] : []),
        top ? `${top.node} (${top.op}, ${(top.share * 100).toFixed(1)}%)` : '',
      ];
    }),
  };
}

function runsTable(model: ReportModel): Table {
  return {
    header: [
      'run',
      'status',
      'instances',
      'batch (all instances)',
      'sequence',
      'cores / instance',
      'mean ms',
      'p50 ms',
      'p99 ms',
      'samples/s',
      'note',
    ],
    rows: model.rows.map(({ row: r, label }) => {
      // A dispatch run serves single requests of many lengths: no batch or sequence of its own.
      const dispatch = isDispatch(r);
      return [
        label,
        r.status,
        fmt(r.instances),
        dispatch ? '-' : fmt(r.batch_size),
        dispatch ? '-' : canonical(r.config.sequence_length),
        r.result ? describeCores(r) : fmt(r.cores_per_instance),
        fmt(r.latency_mean_ms),
        fmt(r.latency_p50_ms),
        fmt(r.latency_p99_ms),
        fmt(r.throughput_samples_per_s, 4),
        runNote(r),
      ];
    }),
    numeric: [2, 3, 4, 5, 6, 7, 8, 9],
  };
}

/** `1.16×`: above 1, dispatching is better. */
const gainText = (x: number | null): string => (x === null || !Number.isFinite(x) ? '' : `${x.toFixed(2)}×`);
const ratioOf = (num: number | null, den: number | null): number | null =>
  num !== null && den !== null && den > 0 ? num / den : null;

/** One dispatch run: per class, the dispatched and the homogeneous setup's figures and the gain. */
function dispatchTable(d: DispatchFigures): Table {
  const order: string[] = [];
  for (const c of d.classes) if (!order.includes(c.class)) order.push(c.class);
  const rows: string[][] = [];
  for (const name of order) {
    const of = (setup: DispatchClassFigures['setup']): DispatchClassFigures | undefined =>
      d.classes.find((c) => c.class === name && c.setup === setup);
    const dispatched = of('dispatched');
    const homogeneous = of('homogeneous');
    for (const c of [dispatched, homogeneous]) {
      if (!c) continue;
      rows.push([
        classLabel(c),
        c.setup,
        fmt(c.requests),
        fmt(c.latency_p50_ms),
        fmt(c.latency_p90_ms),
        fmt(c.latency_p99_ms),
        fmt(c.queueing_p50_ms),
        fmt(c.queueing_p99_ms),
        fmt(c.throughput_requests_per_s, 4),
      ]);
    }
    if (dispatched && homogeneous) {
      rows.push([
        classLabel(dispatched),
        'gain',
        '',
        gainText(ratioOf(homogeneous.latency_p50_ms, dispatched.latency_p50_ms)),
        gainText(ratioOf(homogeneous.latency_p90_ms, dispatched.latency_p90_ms)),
        gainText(ratioOf(homogeneous.latency_p99_ms, dispatched.latency_p99_ms)),
        '',
        '',
        gainText(ratioOf(dispatched.throughput_requests_per_s, homogeneous.throughput_requests_per_s)),
      ]);
    }
  }
  return {
    header: [
      'class',
      'setup',
      'requests',
      'latency p50 ms',
      'latency p90 ms',
      'latency p99 ms',
      'queueing p50 ms',
      'queueing p99 ms',
      'requests/s',
    ],
    rows,
    numeric: [2, 3, 4, 5, 6, 7, 8],
  };
}

/** Why a percentile cell is empty: its samples do not support it (stats/summary.ts). */
const WITHHELD_NOTE = `An empty percentile: too few samples for its 95% interval (p50 needs ${minSamplesFor('p50')}, p90 ${minSamplesFor('p90')}, p99 ${minSamplesFor('p99')} calls per instance, or requests per class); results.json keeps the figure.`;

const GAIN_NOTE = `Request latency = completion - arrival (queueing included); queueing = hand-off to the instance - arrival. gain above 1: dispatching is better (latency: homogeneous / dispatched; requests/s: dispatched / homogeneous). ${WITHHELD_NOTE}`;

/** The lines above a dispatch run's table: its workload and both setups. */
function dispatchFacts(d: DispatchFigures): string[] {
  return [
    ...(d.workload ? [`workload: ${d.workload}`] : []),
    ...(d.dispatched_setup ? [`dispatched: ${d.dispatched_setup}`] : []),
    ...(d.homogeneous_setup ? [`homogeneous: ${d.homogeneous_setup}`] : []),
  ];
}

function describeCores(r: ResultRow): string {
  const all = layoutOf(r.result!).map((i) =>
    i.cpus && i.cpus.length > 0 ? Math.min(i.threads, i.cpus.length) : i.threads,
  );
  return all.every((x) => x === all[0]) ? fmt(coresUsed(r)) : all.join('+');
}

function bestTable(model: ReportModel): Table {
  // The model and backend columns only when the runs had more than one of them.
  const { model: models, backend: backends } = varyingColumns(model.best);
  const lead = (models ? 1 : 0) + (backends ? 1 : 0);
  return {
    header: [
      ...(models ? ['model'] : []),
      ...(backends ? ['backend'] : []),
      'batch',
      'sequence',
      'lowest latency: setup',
      'mean ms',
      'run',
      'highest throughput: setup',
      'samples/s',
      'run',
      'runs compared',
    ],
    rows: model.best.map((b) => [
      ...(models ? [b.model] : []),
      ...(backends ? [b.backend] : []),
      String(b.batch_size),
      String(b.sequence_length),
      b.lowest_latency.setup,
      fmt(b.lowest_latency.latency_mean_ms),
      b.lowLabel,
      b.highest_throughput.setup,
      fmt(b.highest_throughput.throughput_samples_per_s, 4),
      b.highLabel,
      String(b.candidates),
    ]),
    numeric: [0, 1, 3, 6, 8].map((c) => c + lead),
  };
}

function htmlTable(t: Table, cls = ''): string {
  const num = new Set(t.numeric ?? []);
  const cell = (tag: string, c: string, i: number): string =>
    `<${tag}${num.has(i) ? ' class="num"' : ''}>${escapeHtml(c)}</${tag}>`;
  return [
    `<table${cls ? ` class="${cls}"` : ''}>`,
    `<thead><tr>${t.header.map((h, i) => cell('th', h, i)).join('')}</tr></thead>`,
    '<tbody>',
    ...t.rows.map((r) => `<tr>${r.map((c, i) => cell('td', c, i)).join('')}</tr>`),
    '</tbody></table>',
  ].join('\n');
}

function markdownTable(t: Table): string[] {
  const num = new Set(t.numeric ?? []);
  const line = (cells: readonly string[]): string => `| ${cells.map(escapeMarkdownCell).join(' | ')} |`;
  return [line(t.header), `|${t.header.map((_, i) => (num.has(i) ? '---:' : '---')).join('|')}|`, ...t.rows.map(line)];
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1200px; padding: 0 16px; color: #1b1b1b; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #555; margin: 0 0 4px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
figure.chart { margin: 0; padding: 8px; border: 1px solid #e4e4e4; border-radius: 4px; background: #fff; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figcaption { max-width: 560px; color: #444; font-size: 12.5px; margin-top: 6px; }
.skipped { color: #7a5b00; background: #fff8e1; border-left: 3px solid #e0b400; padding: 4px 8px; margin: 6px 0; }
.warnings li { color: #7a3b00; }
code { font-size: 12.5px; }
`;

export function renderHtml(
  model: ReportModel,
  charts: readonly RenderedChart[],
  chartFiles: ReadonlyMap<string, string>,
): string {
  const e = escapeHtml;
  const drawn = charts.filter((c) => c.svg !== null);
  const skipped = charts.filter((c) => c.svg === null);
  const env =
    model.environments.length === 0
      ? '<p>No environment recorded (the input has only summaries).</p>'
      : model.environments
          .map((env) => {
            const runs = model.environments.length > 1 ? `<p class="meta">runs: ${e(env.runs.join(', '))}</p>` : '';
            return `${runs}${htmlTable({ header: ['field', 'value'], rows: env.fields.map(([k, v]) => [k, v]) }, 'env')}`;
          })
          .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(model.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${e(model.title)}</h1>
<p class="meta">source: <code>${e(model.set.path)}</code> (${e(model.set.kind)}, ${model.rows.length} run${model.rows.length === 1 ? '' : 's'})</p>
<p class="meta">generated ${e(model.generatedAt)} by bench ${e(benchVersion())}</p>
</header>
<section id="environment">
<h2>Environment</h2>
${env}
</section>
<section id="charts">
<h2>Charts</h2>
<div class="charts">
${drawn
  .map(
    (c) => `<figure class="chart" id="chart-${e(c.id)}" data-chart="${e(c.id)}">
${c.svg}
<figcaption>${e(c.caption)} <span class="meta">(${e(chartFiles.get(c.id) ?? '')})</span></figcaption>
</figure>`,
  )
  .join('\n')}
</div>
${skipped.map((c) => `<p class="skipped" data-skipped="${e(c.id)}"><strong>${e(c.title)}</strong>: not drawn: ${e(c.skipped)}.</p>`).join('\n')}
</section>
${
  model.dispatch.length > 0
    ? `<section id="dispatch">
<h2>Dispatch runs</h2>
${model.dispatch
  .map(
    (d) => `${model.dispatch.length > 1 || model.rows.length > 1 ? `<h3>${e(d.label)}</h3>\n` : ''}${dispatchFacts(
      d.figures,
    )
      .map((l) => `<p class="meta">${e(l)}</p>`)
      .join('\n')}
${htmlTable(dispatchTable(d.figures), 'dispatch')}`,
  )
  .join('\n')}
<p class="meta">${e(GAIN_NOTE)}</p>
</section>`
    : ''
}
${
  model.showBest
    ? `<section id="best">
<h2>Best setup per (batch, sequence)</h2>
${model.best.length > 0 ? htmlTable(bestTable(model)) : `<p>${NO_BEST}</p>`}
</section>`
    : ''
}
<section id="runs">
<h2>Runs</h2>
${htmlTable(runsTable(model))}
${profileTable(model) ? `<h2>Operator profiles</h2>\n<p>Share of ONNX Runtime's kernel time per operator type in the profiled timed calls (backend.profile=true; instance 0, first repetition). The profiler's overhead is in these runs' latencies.</p>\n${htmlTable(profileTable(model)!)}` : ''}
<p class="meta">${e(WITHHELD_NOTE)}</p>
</section>
${
  model.warnings.length > 0
    ? `<section id="warnings">
<h2>Warnings</h2>
<ul class="warnings">
${model.warnings.map((w) => `<li>${e(w)}</li>`).join('\n')}
</ul>
</section>`
    : ''
}
</body>
</html>
`;
}

/** A relative path as a Markdown link target: percent-encoded, parentheses included (they would end the link). */
const linkTarget = (path: string): string =>
  encodeURI(path).replace(/[()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export function renderMarkdown(
  model: ReportModel,
  charts: readonly RenderedChart[],
  chartFiles: ReadonlyMap<string, string>,
): string {
  const t = escapeMarkdownText;
  const out: string[] = [
    `# ${t(model.title)}`,
    '',
    `Source: \`${model.set.path.replace(/`/g, "'")}\` (${model.set.kind}, ${model.rows.length} runs); generated ${model.generatedAt} by bench ${benchVersion()}.`,
    '',
  ];
  out.push('## Environment', '');
  if (model.environments.length === 0) out.push('No environment recorded (the input has only summaries).', '');
  for (const env of model.environments) {
    if (model.environments.length > 1) out.push(`Runs: ${t(env.runs.join(', '))}`, '');
    out.push(...markdownTable({ header: ['field', 'value'], rows: env.fields.map(([k, v]) => [k, v]) }), '');
  }
  out.push('## Charts', '');
  for (const c of charts) {
    if (c.svg !== null)
      out.push(
        `### ${t(c.title)}`,
        '',
        `![${t(c.title)}](${linkTarget(chartFiles.get(c.id) ?? '')})`,
        '',
        t(c.caption),
        '',
      );
    else out.push(`- **${t(c.title)}**: not drawn: ${t(c.skipped)}.`);
  }
  if (charts.some((c) => c.svg === null)) out.push('');
  if (model.dispatch.length > 0) {
    out.push('## Dispatch runs', '');
    for (const d of model.dispatch) {
      if (model.dispatch.length > 1 || model.rows.length > 1) out.push(`### ${t(d.label)}`, '');
      const facts = dispatchFacts(d.figures);
      if (facts.length > 0) out.push(...facts.map((l) => `${t(l)}  `), '');
      out.push(...markdownTable(dispatchTable(d.figures)), '');
    }
    out.push(t(GAIN_NOTE), '');
  }
  if (model.showBest) {
    out.push('## Best setup per (batch, sequence)', '');
    out.push(...(model.best.length > 0 ? markdownTable(bestTable(model)) : [NO_BEST]), '');
  }
  out.push('## Runs', '', ...markdownTable(runsTable(model)), '', t(WITHHELD_NOTE), '');
  const profiles = profileTable(model);
  if (profiles)
    out.push(
      '## Operator profiles',
      '',
      "Share of ONNX Runtime's kernel time per operator type in the profiled timed calls (backend.profile=true; instance 0, first repetition). The profiler's overhead is in these runs' latencies.",
      '',
      ...markdownTable(profiles),
      '',
    );
  if (model.warnings.length > 0) out.push('## Warnings', '', ...model.warnings.map((w) => `- ${t(w)}`), '');
  return out.join('\n');
}

export interface ReportOptions {
  /** The HTML file to write (default: DIR/report.html; a CSV input: report.html beside it). */
  readonly out?: string;
  readonly now?: Date;
}

/** Why a report has no best-setup table: it needs runs read from their results.json. */
const NO_BEST =
  'No best setups: they need completed runs read from their results.json (a summary CSV or an export holds only their figures); report the run or sweep folder for them.';

/** Where the report's files cannot be written (the --out path). */
export class ReportOutputError extends UserError {
  override readonly name = 'ReportOutputError';
}

/**
 * The report's files can be written where they are asked for, checked before anything is rendered
 * or created: the HTML path is a file, the charts folder a folder, on a writable real filesystem.
 */
function checkOutput(html: string, chartsDir: string): void {
  try {
    checkOutputPath(html, '--out', 'file', 'report.html');
    if (existsSync(chartsDir) && !statSync(chartsDir).isDirectory())
      throw new UserError(
        `--out ${html}: the charts go to ${chartsDir}, which is a file; move it or give another --out`,
      );
  } catch (err) {
    throw err instanceof UserError && !(err instanceof ReportOutputError) ? new ReportOutputError(err.message) : err;
  }
}

/**
 * A result set measured on several machine types (a sweep run per type on a fleet,
 * docs/fleets.md) gets a `machine` key in each row's config, its CPU model, so the charts draw one
 * series per type. Identical nodes (one CPU model, several hosts) stay one series.
 */
export function byMachine(set: ResultSet): ResultSet {
  const label = (r: ResultRow): string => String(r.environment?.cpu_model ?? '?');
  if (new Set(set.rows.map(label)).size < 2) return set;
  return { ...set, rows: set.rows.map((r) => ({ ...r, config: { ...r.config, machine: label(r) } })) };
}

/**
 * Reads DIR, renders the charts and writes `<out>.html`, `<out>.md` and `<out>-charts/*.svg`.
 * Returns the paths written.
 */
export async function writeReport(
  input: string,
  opts: ReportOptions = {},
): Promise<ReportOutput & { readonly model: ReportModel }> {
  const set = byMachine(loadResultSet(input));
  const model = buildModel(set, opts.now);
  const root = set.kind === 'csv' ? dirname(set.path) : set.path;
  const html = resolve(opts.out ?? join(root, 'report.html'));
  const stem = extname(html) === '' ? html : html.slice(0, -extname(html).length);
  const markdown = `${stem}.md`;
  const chartsDir = `${stem}-charts`;
  checkOutput(html, chartsDir);
  const charts = await renderCharts(planCharts(model.rows));
  mkdirSync(dirname(html), { recursive: true });
  const files = new Map<string, string>();
  if (charts.some((c) => c.svg !== null)) mkdirSync(chartsDir, { recursive: true });
  for (const c of charts) {
    if (c.svg === null) continue;
    const file = join(chartsDir, `${c.id}.svg`);
    writeFileAtomic(file, c.svg);
    files.set(c.id, relative(dirname(html), file));
  }
  writeFileAtomic(html, renderHtml(model, charts, files));
  writeFileAtomic(markdown, renderMarkdown(model, charts, files));
  return {
    model,
    html,
    markdown,
    chartsDir,
    charts: charts.map((c) => ({
      id: c.id,
      title: c.title,
      file: c.svg === null ? null : join(chartsDir, `${c.id}.svg`),
      skipped: c.skipped,
    })),
  };
}
