/**
 * A comparison as text: an aligned table for the terminal, Markdown, CSV or JSON. Pure.
 *
 * The speed figure follows hyperfine's relative speed ("1.84 ± 0.05 times faster"): for a faster B
 * it is A/B = 1 / ratio with the interval [1/hi, 1/lo]; for a slower B the ratio itself; the ±
 * is half the width of that interval (intervals of ratios are not symmetric, so JSON and CSV carry
 * both ends).
 */
import { toCsv } from '../results/write.js';
import { ADJUSTMENT_NAMES } from '../stats/repetitions.js';
import { isRegression, type Comparison, type MatchedRow, type SideFigures } from './compare.js';
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

/**
 * `1.20 ± 0.02× faster`, `1.15 ± 0.03× slower` (a test over repetitions), `1.17× slower (beyond the
 * 10% noise floor)`, `no significant difference`, `within noise`, `inconclusive`.
 */
export function speedText(m: MatchedRow): string {
  const lo = m.ratio_lo;
  const hi = m.ratio_hi;
  const tested = m.basis === 'repetitions';
  if (m.verdict === 'faster') {
    return tested && lo !== null && hi !== null
      ? `${(1 / m.ratio).toFixed(2)} ± ${((1 / lo - 1 / hi) / 2).toFixed(2)}× faster`
      : `${(1 / m.ratio).toFixed(2)}× faster (${m.reason ?? 'beyond the noise floor'})`;
  }
  if (m.verdict === 'slower') {
    return tested && lo !== null && hi !== null
      ? `${m.ratio.toFixed(2)} ± ${((hi - lo) / 2).toFixed(2)}× slower`
      : `${m.ratio.toFixed(2)}× slower (${m.reason ?? 'beyond the noise floor'})`;
  }
  if (m.verdict === 'within noise') return `within noise (${m.reason ?? 'too few repetitions for a test'})`;
  if (m.verdict === 'inconclusive') return `inconclusive (${m.reason ?? 'disturbed measurements'})`;
  if (m.verdict === 'unknown') return 'unknown (no figures to compare)';
  return 'no significant difference';
}

function ratioText(m: MatchedRow): string {
  if (m.ratio_lo === null || m.ratio_hi === null) return m.ratio.toFixed(3);
  return `${m.ratio.toFixed(3)} [${m.ratio_lo.toFixed(3)}, ${m.ratio_hi.toFixed(3)}]${m.interval === 'within-run' ? ' within-run' : ''}`;
}

function latencyText(m: MatchedRow, s: 'a' | 'b'): string {
  const f = m[s];
  return f.repetition_log_std !== null
    ? `${sig(f.latency_ms)} ±${(f.repetition_log_std * 100).toFixed(1)}%`
    : sig(f.latency_ms);
}

/** `5`, `4+1d` (4 clean used, 1 disturbed left out), `3d` (only disturbed ones). */
function repetitionsText(f: SideFigures): string {
  if (f.disturbed === 0) return `${f.used}`;
  return f.used === f.repetitions ? `${f.used}d` : `${f.used}+${f.disturbed}d`;
}

/**
 * The verdict in a table cell: the speed when there is one, else the verdict's word; `regression` when it fails the
 * gate.
 */
export function verdictCell(m: MatchedRow, regression = false): string {
  const marks = [
    ...(m.basis === 'noise-floor' && (m.verdict === 'faster' || m.verdict === 'slower') ? ['noise floor'] : []),
    ...(regression ? ['regression'] : []),
  ];
  const suffix = marks.length > 0 ? ` (${marks.join(', ')})` : '';
  if (m.verdict === 'faster' || m.verdict === 'slower') {
    if (m.basis === 'noise-floor')
      return `${m.verdict === 'faster' ? (1 / m.ratio).toFixed(2) : m.ratio.toFixed(2)}× ${m.verdict}${suffix}`;
    return `${speedText(m)}${suffix}`;
  }
  return `${m.verdict}${suffix}`;
}

/** How the verdicts were reached: one line per way that occurs, naming the method and its parameters. */
export function statisticLines(cmp: Comparison): string[] {
  if (cmp.matched.length === 0) return ['none (no matched rows)'];
  const used = new Set(cmp.matched.map((m) => m.basis));
  const pct = Math.round(cmp.confidence * 100);
  const lines: string[] = [
    "the unit of evidence is the repetition (a fresh measurement in new processes), never the calls of one run; each repetition's figure is its median latency",
  ];
  if (used.has('repetitions')) {
    const tested =
      cmp.tested_rows === 0
        ? 'no row could be tested'
        : `p adjusted over the ${cmp.tested_rows} row${cmp.tested_rows === 1 ? '' : 's'} tested by ${ADJUSTMENT_NAMES[cmp.adjustment]}`;
    lines.push(
      `>= ${cmp.min_repetitions} repetitions per side: Welch's t-test on the log repetition figures; B/A = ratio of geometric means with its ${pct}% t-interval; ${tested}; significant when p < ${cmp.alpha}`,
    );
  }
  if (used.has('noise-floor')) {
    lines.push(
      `fewer: no test; B/A of the medians with the within-run ${pct}% bootstrap interval (${cmp.resamples} resamples of each repetition's calls, seed ${cmp.bootstrap_seed}); ` +
        `faster/slower only beyond the ${(cmp.noise_floor * 100).toFixed(0)}% noise floor (--noise-floor) with that interval excluding 1, else "within noise"`,
    );
  }
  lines.push(
    'disturbed repetitions (other processes on the CPUs) are left out where a side has a clean one; a side with only disturbed ones makes the row "inconclusive"',
  );
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
  lines.push(
    'A, B: geometric mean of the repetitions, ±their spread (2 or more); reps: usable repetitions per side, +Nd: N disturbed ones left out, Nd: disturbed ones only',
  );
  return lines;
}

function setupCells(m: { setup: Readonly<Record<string, string>> }, keys: readonly string[]): string[] {
  return keys.length > 0 ? keys.map((k) => m.setup[k] ?? '') : ['(all)'];
}

function failsThreshold(m: MatchedRow, threshold: number | null | undefined, noiseFloor: number): boolean {
  return threshold !== null && threshold !== undefined && isRegression(m, threshold, noiseFloor);
}

interface Section {
  readonly title: string;
  readonly lines?: readonly string[];
  readonly table?:
    | undefined
    | {
        readonly header: readonly string[];
        readonly rows: readonly (readonly string[])[];
        readonly right?: readonly number[];
      };
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
      ...statisticLines(cmp).map((l, k) => `${k === 0 ? 'verdicts:' : '         '} ${l}`),
    ],
  });
  if (!cmp.environment.known) {
    out.push({ title: 'Environment', lines: ['unknown for at least one side (see notes)'] });
  } else if (cmp.environment.differences.length === 0) {
    const same = cmp.environment.same.filter((d) =>
      ['cpu_model', 'logical_cpus', 'onnxruntime_node_version', 'runtime.torch_version', 'bench_version'].includes(
        d.key,
      ),
    );
    out.push({
      title: 'Environment',
      lines: [`the same on every field compared (${same.map((d) => `${d.label} ${d.a}`).join(', ')})`],
    });
  } else {
    out.push({
      title: 'Environment differences',
      table: {
        header: ['field', 'A', 'B'],
        rows: cmp.environment.differences.map((d) => [d.label, d.a || '(none)', d.b || '(none)']),
      },
    });
  }
  const keys = cmp.varying_keys;
  const head = keys.length > 0 ? [...keys] : ['setup'];
  const center = new Set(cmp.matched.map((m) => m.center));
  const measures = new Set(cmp.matched.map((m) => m.latency_measure));
  const what =
    measures.size === 1 && measures.has('request')
      ? 'request '
      : measures.size === 1 && measures.has('service')
        ? 'service '
        : '';
  const rate = what === 'request ' ? 'requests/s' : 'samples/s';
  const unit = `${what}${center.size === 1 && center.has('median') ? 'median ms' : center.size === 1 ? 'mean ms' : 'ms'}`;
  // Dispatch runs beside others: say on each row which latency it is.
  const mixed = measures.size > 1;
  const rows = cmp.matched.map((m) => [
    ...setupCells(m, keys),
    ...(mixed ? [m.latency_measure] : []),
    latencyText(m, 'a'),
    latencyText(m, 'b'),
    `${repetitionsText(m.a)}/${repetitionsText(m.b)}`,
    ratioText(m),
    pValue(cmp.adjustment === 'none' ? m.p_value : m.p_adjusted),
    verdictCell(m, failsThreshold(m, opts.threshold, cmp.noise_floor)),
    sig(m.a.throughput_samples_per_s, 4),
    sig(m.b.throughput_samples_per_s, 4),
    m.throughput_ratio === null ? 'n/a' : m.throughput_ratio.toFixed(3),
  ]);
  const n = head.length + (mixed ? 1 : 0);
  out.push({
    title: `Matched (${cmp.matched.length})`,
    ...(cmp.matched.length === 0 ? { lines: ['(none)'] } : {}),
    table:
      cmp.matched.length === 0
        ? undefined
        : {
            header: [
              ...head,
              ...(mixed ? ['latency'] : []),
              `A ${unit}`,
              `B ${unit}`,
              'reps A/B',
              `B/A [${Math.round(cmp.confidence * 100)}% CI${cmp.tested_rows > 1 && cmp.adjustment !== 'none' ? ', per row' : ''}]`,
              cmp.adjustment === 'none' ? 'p' : `p (${cmp.adjustment === 'holm' ? 'Holm' : 'BH'})`,
              'verdict (B vs A)',
              `A ${rate}`,
              `B ${rate}`,
              'throughput B/A',
            ],
            rows,
            right: [n, n + 1, n + 2, n + 3, n + 4, n + 6, n + 7, n + 8],
          },
  });
  // Why a verdict is not a test's outcome, once per reason, with the rows it concerns.
  const reasons = new Map<string, string[]>();
  for (const m of cmp.matched)
    if (m.reason)
      reasons.set(`${m.verdict}: ${m.reason}`, [
        ...(reasons.get(`${m.verdict}: ${m.reason}`) ?? []),
        setupCells(m, keys).join(' '),
      ]);
  if (reasons.size > 0) {
    out.push({
      title: 'Verdict notes',
      lines: [...reasons].map(
        ([reason, rows]) => `- ${rows.length === cmp.matched.length ? 'every row' : rows.join('; ')}: ${reason}`,
      ),
    });
  }
  if (cmp.unmatched.length > 0) {
    out.push({
      title: `Unmatched (${cmp.unmatched.length})`,
      table: {
        header: ['only in', 'run', ...head, 'closest row of the other side differs in'],
        rows: cmp.unmatched.map((u) => [
          u.side,
          u.source,
          ...setupCells(u, keys),
          u.closest_differs.length === 0
            ? '-'
            : u.closest_differs
                .slice(0, 3)
                .map(([k, x, y]) => `${k}: ${x || 'null'} vs ${y || 'null'}`)
                .join('; '),
        ]),
      },
    });
  }
  if (cmp.skipped.length > 0) {
    out.push({
      title: `Not comparable (${cmp.skipped.length})`,
      table: {
        header: ['side', 'run', 'status', 'reason'],
        rows: cmp.skipped.map((s) => [s.side, s.source, s.status, s.reason]),
      },
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
    const regressions =
      opts.threshold === null || opts.threshold === undefined
        ? undefined
        : cmp.matched.filter((m) => failsThreshold(m, opts.threshold, cmp.noise_floor));
    const matched =
      opts.threshold === null || opts.threshold === undefined
        ? cmp.matched
        : cmp.matched.map((m) => ({ ...m, regression: failsThreshold(m, opts.threshold, cmp.noise_floor) }));
    return `${JSON.stringify({ ...cmp, matched, statistic: statisticLines(cmp), ...(regressions ? { threshold: opts.threshold, regressions: regressions.map((r) => r.setup) } : {}) }, null, 1)}\n`;
  }
  if (format === 'csv') return comparisonCsv(cmp, opts);
  const out: string[] = [];
  for (const s of sections(cmp, opts)) {
    if (format === 'markdown') {
      out.push(s.title === 'bench compare' ? `# ${s.title}` : `## ${s.title}`, '');
      if (s.lines)
        out.push(
          ...s.lines.map((l) => (l.startsWith('- ') ? escapeMarkdownText(l) : `${escapeMarkdownText(l)}  `)),
          '',
        );
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
    basis: m.basis,
    center: m.center,
    a_latency_ms: m.a.latency_ms,
    b_latency_ms: m.b.latency_ms,
    a_repetitions: m.a.used,
    b_repetitions: m.b.used,
    a_disturbed: m.a.disturbed,
    b_disturbed: m.b.disturbed,
    a_repetition_log_std: m.a.repetition_log_std ?? '',
    b_repetition_log_std: m.b.repetition_log_std ?? '',
    a_calls: m.a.calls ?? '',
    b_calls: m.b.calls ?? '',
    ratio: m.ratio,
    ratio_lo: m.ratio_lo ?? '',
    ratio_hi: m.ratio_hi ?? '',
    interval: m.interval ?? '',
    confidence: cmp.confidence,
    p_value: m.p_value ?? '',
    p_adjusted: m.p_adjusted ?? '',
    adjustment: cmp.adjustment,
    noise_floor: cmp.noise_floor,
    verdict: m.verdict,
    reason: m.reason ?? '',
    speed: speedText(m),
    regression:
      opts.threshold === null || opts.threshold === undefined ? '' : failsThreshold(m, opts.threshold, cmp.noise_floor),
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
