/**
 * A comparison as text: an aligned table for the terminal, Markdown, CSV or JSON. Pure.
 *
 * The speed figure follows hyperfine's relative speed ("1.84 ± 0.05 times faster"): for a faster B
 * it is A/B = 1 / ratio with the interval [1/hi, 1/lo]; for a slower B the ratio itself; the ±
 * is half the width of that interval (intervals of ratios are not symmetric, so JSON and CSV carry
 * both ends).
 */
import { toCsv } from '../results/write.js';
import type { Comparison, MatchedRow } from './compare.js';
import { escapeMarkdownCell, escapeMarkdownText } from './escape.js';

export type CompareFormat = 'table' | 'markdown' | 'csv' | 'json';
export const COMPARE_FORMATS: readonly CompareFormat[] = ['table', 'markdown', 'csv', 'json'];

export interface RenderOptions {
  /** The --fail-on-regression threshold (a fraction), to mark the rows that fail it. */
  readonly threshold?: number | null;
  /** Paths as the user should read them (e.g. relative to the working directory). */
  readonly displayPath?: (p: string) => string;
}

const sig = (x: number | null | undefined, digits = 3): string => {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  const a = Math.abs(x);
  if (a >= 10 ** digits) return x.toFixed(0);
  return a === 0 ? '0' : x.toFixed(Math.max(0, digits - 1 - Math.floor(Math.log10(a))));
};

function pValue(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return 'n/a';
  return p < 1e-4 ? '<1e-4' : p.toFixed(4);
}

/** `1.20 ± 0.02× faster`, `1.15 ± 0.03× slower`, `no significant difference (1.01)`. */
export function speedText(m: MatchedRow): string {
  const lo = m.ratio_lo;
  const hi = m.ratio_hi;
  if (m.verdict === 'faster' && lo !== null && hi !== null) {
    return `${(1 / m.ratio).toFixed(2)} ± ${((1 / lo - 1 / hi) / 2).toFixed(2)}× faster`;
  }
  if (m.verdict === 'slower' && lo !== null && hi !== null) return `${m.ratio.toFixed(2)} ± ${((hi - lo) / 2).toFixed(2)}× slower`;
  if (m.verdict === 'unknown') return 'unknown (no spread in the input)';
  return 'no significant difference';
}

function ratioText(m: MatchedRow): string {
  return m.ratio_lo !== null && m.ratio_hi !== null ? `${m.ratio.toFixed(3)} [${m.ratio_lo.toFixed(3)}, ${m.ratio_hi.toFixed(3)}]` : m.ratio.toFixed(3);
}

function latencyText(m: MatchedRow, s: 'a' | 'b'): string {
  const f = m[s];
  return f.latency_std_ms !== null ? `${sig(f.latency_ms)} ± ${sig(f.latency_std_ms, 2)}` : sig(f.latency_ms);
}

/** One sentence per statistic that occurs, naming it and its parameters. */
export function statisticLines(cmp: Comparison): string[] {
  const used = new Set(cmp.matched.map((m) => m.statistic));
  if (used.size === 0) return ['none (no matched rows)'];
  const pct = Math.round(cmp.confidence * 100);
  const lines: string[] = [];
  if (used.has('mann-whitney-u')) {
    const raw = new Set(cmp.matched.filter((m) => m.statistic === 'mann-whitney-u').map((m) => m.latency_measure));
    const pooled = [
      ...(raw.has('inference') ? ["all instances' calls pooled"] : []),
      ...(raw.has('request') ? [`${raw.size > 1 ? 'dispatch runs: ' : ''}every request of the dispatched setup`] : []),
    ].join('; ');
    lines.push(
      `Mann-Whitney U test on the raw latencies (${pooled}; two-sided, normal approximation with tie correction, alpha ${cmp.alpha}); ` +
        `latency = median; ratio B/A of medians with a ${pct}% percentile-bootstrap interval (${cmp.resamples} resamples, seed ${cmp.bootstrap_seed})`,
    );
  }
  if (used.has('welch')) {
    lines.push(`Welch's t-test on mean ± std (no raw latencies in the input; alpha ${cmp.alpha}); ratio B/A of means with a ${pct}% delta-method interval`);
  }
  if (used.has('none')) lines.push('ratio of means only: the input has no spread (std and count), so no verdict');
  const measures = new Set(cmp.matched.map((m) => m.latency_measure));
  if (measures.has('request')) {
    lines.push(
      `dispatch runs${measures.size > 1 ? ' (scenario=dispatch)' : ''}: latency = request latency of the dispatched setup, arrival to completion (queueing included), all length classes pooled; ` +
        'throughput = completed requests/s (one sequence each); the homogeneous baseline of each run is not compared',
    );
  }
  if (measures.has('service')) {
    lines.push(
      'dispatch runs from a CSV without dispatch.csv beside it: latency = service time (session.run in the instances, queueing excluded), not request latency; compare the run directories for request latencies',
    );
  }
  lines.push(`significant when p < ${cmp.alpha} and the interval excludes 1; "± x" is half the interval's width`);
  return lines;
}

function setupCells(m: { setup: Readonly<Record<string, string>> }, keys: readonly string[]): string[] {
  return keys.length > 0 ? keys.map((k) => m.setup[k] ?? '') : ['(all)'];
}

function isRegression(m: MatchedRow, threshold: number | null | undefined): boolean {
  return threshold !== null && threshold !== undefined && m.verdict === 'slower' && m.ratio > 1 + threshold;
}

interface Section {
  readonly title: string;
  readonly lines?: readonly string[];
  readonly table?: undefined | { readonly header: readonly string[]; readonly rows: readonly (readonly string[])[]; readonly right?: readonly number[] };
}

function sections(cmp: Comparison, opts: RenderOptions): Section[] {
  const show = opts.displayPath ?? ((p: string) => p);
  const out: Section[] = [];
  out.push({
    title: 'bench compare',
    lines: [
      `A: ${show(cmp.a.path)} (${cmp.a.kind}, ${cmp.a.rows} run${cmp.a.rows === 1 ? '' : 's'})`,
      `B: ${show(cmp.b.path)} (${cmp.b.kind}, ${cmp.b.rows} run${cmp.b.rows === 1 ? '' : 's'})`,
      `matched on every config key except: ${cmp.ignored_keys.join(', ')}`,
      ...statisticLines(cmp).map((l) => `statistic: ${l}`),
    ],
  });
  if (!cmp.environment.known) {
    out.push({ title: 'Environment', lines: ['unknown for at least one side (see notes)'] });
  } else if (cmp.environment.differences.length === 0) {
    const same = cmp.environment.same.filter((d) => ['cpu_model', 'logical_cpus', 'onnxruntime_node_version', 'bench_version'].includes(d.key));
    out.push({ title: 'Environment', lines: [`the same on every field compared (${same.map((d) => `${d.label} ${d.a}`).join(', ')})`] });
  } else {
    out.push({
      title: 'Environment differences',
      table: { header: ['field', 'A', 'B'], rows: cmp.environment.differences.map((d) => [d.label, d.a || '(none)', d.b || '(none)']) },
    });
  }
  const keys = cmp.varying_keys;
  const head = keys.length > 0 ? [...keys] : ['setup'];
  const center = new Set(cmp.matched.map((m) => m.center));
  const measures = new Set(cmp.matched.map((m) => m.latency_measure));
  const what = measures.size === 1 && measures.has('request') ? 'request ' : measures.size === 1 && measures.has('service') ? 'service ' : '';
  const rate = what === 'request ' ? 'requests/s' : 'samples/s';
  const unit = `${what}${center.size === 1 && center.has('median') ? 'median ms' : center.size === 1 ? 'mean ± std ms' : 'ms'}`;
  // Dispatch runs beside others: say on each row which latency it is.
  const mixed = measures.size > 1;
  const rows = cmp.matched.map((m) => [
    ...setupCells(m, keys),
    ...(mixed ? [m.latency_measure] : []),
    latencyText(m, 'a'),
    latencyText(m, 'b'),
    ratioText(m),
    pValue(m.p_value),
    `${speedText(m)}${isRegression(m, opts.threshold) ? ' (regression)' : ''}`,
    sig(m.a.throughput_samples_per_s, 4),
    sig(m.b.throughput_samples_per_s, 4),
    m.throughput_ratio === null ? 'n/a' : m.throughput_ratio.toFixed(3),
  ]);
  const n = head.length + (mixed ? 1 : 0);
  out.push({
    title: `Matched (${cmp.matched.length})`,
    ...(cmp.matched.length === 0 ? { lines: ['(none)'] } : {}),
    table: cmp.matched.length === 0 ? undefined : {
      header: [...head, ...(mixed ? ['latency'] : []), `A ${unit}`, `B ${unit}`, `B/A [${Math.round(cmp.confidence * 100)}% CI]`, 'p', 'verdict (B vs A)', `A ${rate}`, `B ${rate}`, 'throughput B/A'],
      rows,
      right: [n, n + 1, n + 2, n + 3, n + 5, n + 6, n + 7],
    },
  });
  if (cmp.unmatched.length > 0) {
    out.push({
      title: `Unmatched (${cmp.unmatched.length})`,
      table: {
        header: ['only in', 'run', ...head, 'closest row of the other side differs in'],
        rows: cmp.unmatched.map((u) => [
          u.side,
          u.source,
          ...setupCells(u, keys),
          u.closest_differs.length === 0 ? '-' : u.closest_differs.slice(0, 3).map(([k, x, y]) => `${k}: ${x || 'null'} vs ${y || 'null'}`).join('; '),
        ]),
      },
    });
  }
  if (cmp.skipped.length > 0) {
    out.push({
      title: `Not comparable (${cmp.skipped.length})`,
      table: { header: ['side', 'run', 'status', 'reason'], rows: cmp.skipped.map((s) => [s.side, s.source, s.status, s.reason]) },
    });
  }
  if (cmp.notes.length > 0) out.push({ title: 'Notes', lines: cmp.notes.map((x) => `- ${x}`) });
  return out;
}

function textTable(t: NonNullable<Section['table']>): string[] {
  const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const right = new Set(t.right ?? []);
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(t.header), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line)];
}

function markdownTable(t: NonNullable<Section['table']>): string[] {
  const right = new Set(t.right ?? []);
  const row = (cells: readonly string[]): string => `| ${cells.map(escapeMarkdownCell).join(' | ')} |`;
  return [row(t.header), `|${t.header.map((_, i) => (right.has(i) ? '---:' : '---')).join('|')}|`, ...t.rows.map(row)];
}

export function renderComparison(cmp: Comparison, format: CompareFormat, opts: RenderOptions = {}): string {
  if (format === 'json') {
    const regressions = opts.threshold === null || opts.threshold === undefined ? undefined : cmp.matched.filter((m) => isRegression(m, opts.threshold));
    return `${JSON.stringify({ ...cmp, statistic: statisticLines(cmp), ...(regressions ? { threshold: opts.threshold, regressions: regressions.map((r) => r.setup) } : {}) }, null, 1)}\n`;
  }
  if (format === 'csv') return comparisonCsv(cmp, opts);
  const out: string[] = [];
  for (const s of sections(cmp, opts)) {
    if (format === 'markdown') {
      out.push(s.title === 'bench compare' ? `# ${s.title}` : `## ${s.title}`, '');
      if (s.lines) out.push(...s.lines.map((l) => (l.startsWith('- ') ? escapeMarkdownText(l) : `${escapeMarkdownText(l)}  `)), '');
      if (s.table) out.push(...markdownTable(s.table), '');
    } else {
      out.push(s.title === 'bench compare' ? s.title : `${s.title}:`);
      if (s.lines) out.push(...s.lines.map((l) => `  ${l}`));
      if (s.table) out.push(...textTable(s.table).map((l) => `  ${l}`));
      out.push('');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** One line per matched and unmatched row; `match` tells them apart. */
export function comparisonCsv(cmp: Comparison, opts: RenderOptions = {}): string {
  const setup = (s: Readonly<Record<string, string>>): Record<string, string> =>
    Object.fromEntries(cmp.varying_keys.map((k) => [`config.${k}`, s[k] ?? '']));
  const rows: Record<string, unknown>[] = cmp.matched.map((m) => ({
    match: 'matched',
    ...setup(m.setup),
    a_run: m.a.source,
    b_run: m.b.source,
    latency_measure: m.latency_measure,
    statistic: m.statistic,
    center: m.center,
    a_latency_ms: m.a.latency_ms,
    b_latency_ms: m.b.latency_ms,
    a_latency_std_ms: m.a.latency_std_ms ?? '',
    b_latency_std_ms: m.b.latency_std_ms ?? '',
    a_calls: m.a.calls ?? '',
    b_calls: m.b.calls ?? '',
    ratio: m.ratio,
    ratio_lo: m.ratio_lo ?? '',
    ratio_hi: m.ratio_hi ?? '',
    confidence: cmp.confidence,
    p_value: m.p_value ?? '',
    prob_b_faster: m.prob_b_faster ?? '',
    verdict: m.verdict,
    speed: speedText(m),
    regression: opts.threshold === null || opts.threshold === undefined ? '' : isRegression(m, opts.threshold),
    a_throughput_samples_per_s: m.a.throughput_samples_per_s ?? '',
    b_throughput_samples_per_s: m.b.throughput_samples_per_s ?? '',
    throughput_ratio: m.throughput_ratio ?? '',
  }));
  for (const u of cmp.unmatched) {
    rows.push({
      match: u.side === 'A' ? 'only_a' : 'only_b',
      ...setup(u.setup),
      a_run: u.side === 'A' ? u.source : '',
      b_run: u.side === 'B' ? u.source : '',
    });
  }
  return toCsv(rows);
}
