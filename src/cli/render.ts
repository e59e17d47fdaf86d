/**
 * Terminal text for runs and sweeps. Pure: takes results, returns strings; main.ts prints them.
 */
import { relative } from 'node:path';
import type { JobEvent, JobOutcome } from '../run/job.js';
import type { PlanJson } from '../run/launch.js';
import { varyingColumns, type BestSetup } from '../results/best.js';
import { layoutOf, repetitionsOf } from '../results/repetitions.js';
import type { Aggregate, RepetitionResult, RunResult } from '../results/types.js';
import type { SpreadInterval } from '../stats/repetitions.js';
import {
  describeLengths,
  type ClassStats,
  type DispatchReport,
  type Gain,
  type SetupReport,
} from '../scenarios/dispatch/index.js';
import type { Interval } from '../stats/bootstrap.js';
import { disturbedInstances } from '../stats/interference.js';
import { isSupported, minSamplesFor, type LatencySummary, type PercentileName } from '../stats/summary.js';
import { formatCpuList } from '../topology/cpulist.js';

export const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

export function ms(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x >= 100 ? x.toFixed(1) : x >= 10 ? x.toFixed(2) : x.toFixed(3);
}

/** A percentile's figure, or `n/a (10 calls; needs >= 368)` when the calls do not support it. */
export function pct(l: LatencySummary, name: PercentileName, unit = 'calls'): string {
  return isSupported(l, name) ? ms(l[`${name}_ms`]) : `n/a (${l.count} ${unit}; needs >= ${minSamplesFor(name)})`;
}

/** The aggregate's (worst instance's) percentile, or `n/a (needs >= 368 calls per instance)`. */
function aggregatePct(r: RunResult, name: PercentileName, value: number): string {
  const withheld =
    r.aggregate?.unsupported_percentiles ?? r.instances.flatMap((i) => (isSupported(i.latency, name) ? [] : [name]));
  return withheld.includes(name) ? `n/a (needs >= ${minSamplesFor(name)} calls per instance)` : ms(value);
}

export function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel === '' ? '.' : rel.startsWith('..') ? p : rel;
}

/** `0.377 [0.371, 0.383]` — a centre across repetitions with its interval, when there is one. */
export function intervalText(x: SpreadInterval | undefined, show: (v: number) => string = ms): string {
  if (!x || x.centre === null) return 'n/a';
  return x.lo !== null && x.hi !== null ? `${show(x.centre)} [${show(x.lo)}, ${show(x.hi)}]` : show(x.centre);
}

/** `errored: instance 0: ...`, or the bare status when the error only repeats it. */
function statusText(rep: RepetitionResult): string {
  const first = (rep.error ?? '').split('\n')[0]!;
  return first === '' || first === rep.status ? rep.status : `${rep.status}: ${first}`;
}

/** A repetition's (worst instance's) percentile, or `n/a` when its calls do not support it. */
function repetitionPct(a: Aggregate, name: PercentileName): string {
  return (a.unsupported_percentiles ?? []).includes(name)
    ? 'n/a'
    : ms(a[`latency_${name}_ms` as 'latency_p50_ms' | 'latency_p99_ms']);
}

/** One repetition's headline figures, e.g. for a line printed as it ends. */
export function repetitionFigures(rep: RepetitionResult): string {
  const a = rep.aggregate;
  if (rep.status !== 'ok' || !a) return statusText(rep);
  const o = rep.dispatch?.dispatched.overall;
  const figures = o
    ? `dispatched p50 ${pct(o.latency, 'p50', 'requests')} ms · p99 ${pct(o.latency, 'p99', 'requests')} ms · ${fmt(o.throughput_requests_per_s)} requests/s`
    : `p50 ${repetitionPct(a, 'p50')} ms · mean ${ms(a.latency_mean_ms)} ms · ${fmt(a.throughput_samples_per_s)} samples/s`;
  return `${figures}${rep.disturbed ? ' · DISTURBED' : ''}`;
}

/** A repetition's line while a run or sweep goes on: `[2/4] repetition 1/3 sequence_length=128 · p50 ...`. */
export function renderRepetitionLine(
  e: Extract<JobEvent, { type: 'repetition-end' }>,
  prefix = '',
  setup = '',
): string {
  return `${prefix}repetition ${e.repetition.repetition}/${e.planned}${setup ? ` ${setup}` : ''} · ${repetitionFigures(e.repetition)}`;
}

/** The table of a run's repetitions and the figures across them (several repetitions only). */
function repetitionLines(r: RunResult): string[] {
  const reps = repetitionsOf(r);
  const s = r.repetition_summary;
  if (!s || s.planned <= 1) return [];
  const used = new Set(s.used);
  const dispatch = r.dispatch !== undefined;
  const lines: string[] = [];
  const rows: string[][] = [
    dispatch
      ? ['repetition', 'request p50 ms', 'request p99 ms', 'requests/s', 'note']
      : ['repetition', 'p50 ms', 'mean ms', 'p99 ms', 'samples/s', 'note'],
  ];
  for (const rep of reps) {
    const a = rep.aggregate;
    const o = rep.dispatch?.dispatched.overall;
    const note =
      rep.status !== 'ok'
        ? statusText(rep)
        : rep.disturbed
          ? `DISTURBED${used.has(rep.repetition) ? '' : ', left out'}`
          : '';
    const shown = (l: LatencySummary, name: PercentileName): string =>
      isSupported(l, name) ? ms(l[`${name}_ms`]) : 'n/a';
    if (dispatch)
      rows.push([
        `${rep.repetition}`,
        o ? shown(o.latency, 'p50') : 'n/a',
        o ? shown(o.latency, 'p99') : 'n/a',
        o ? fmt(o.throughput_requests_per_s) : 'n/a',
        note,
      ]);
    else
      rows.push([
        `${rep.repetition}`,
        a ? repetitionPct(a, 'p50') : 'n/a',
        a ? ms(a.latency_mean_ms) : 'n/a',
        a ? repetitionPct(a, 'p99') : 'n/a',
        a ? fmt(a.throughput_samples_per_s) : 'n/a',
        note,
      ]);
  }
  if (rows.slice(1).some((r) => r.includes('n/a')))
    lines.push('  (n/a: too few calls in that repetition for a 95% interval of the percentile)');
  lines.unshift(...table(rows, 1).map((l) => l.replace(/\s+$/, '')));
  const over = `${s.used.length} repetition${s.used.length === 1 ? '' : 's'}${s.disturbed_only ? ', all DISTURBED' : ''}`;
  const figures =
    dispatch && s.request_latency_p50_ms && s.requests_per_s
      ? `request p50 ${intervalText(s.request_latency_p50_ms)} ms · ${intervalText(s.requests_per_s, (x) => fmt(x))} requests/s`
      : `p50 ${intervalText(s.latency_p50_ms)} ms · mean ${intervalText(s.latency_mean_ms)} ms · ${intervalText(s.throughput_samples_per_s, (x) => fmt(x))} samples/s`;
  lines.push(`  across    ${figures} (geometric mean of ${over}; [95% interval] with 2 or more)`);
  return lines;
}

/**
 * `backend pytorch 1.13.0 (torchscript, inference_mode)`: the runtime, its version and, where it
 * has them, its mode and autograd context.
 */
function runtimeLabel(backend: { name?: string; version?: string; mode?: string; grad?: string } | null): string {
  const how = [backend?.mode, backend?.grad].filter((x): x is string => typeof x === 'string');
  return (
    `backend ${backend?.name ?? 'unknown'}${backend?.version ? ` ${backend.version}` : ''}` +
    (how.length > 0 ? ` (${how.join(', ')})` : '')
  );
}

function describeRun(r: RunResult): string {
  const cfg = r.config as {
    model?: { name?: string; opset?: number };
    batch_size?: number;
    sequence_length?: number;
  } | null;
  const backend = r.backend as {
    name?: string;
    version?: string;
    mode?: string;
    grad?: string;
    model?: { weights?: string; source?: string };
  } | null;
  const weights = backend?.model?.weights ? ` · weights ${backend.model.weights}` : '';
  const runtime = runtimeLabel(backend);
  const instances = layoutOf(r);
  const threads = instances.map((i) => i.threads).join('+');
  const planned = r.repetition_summary?.planned ?? 1;
  return (
    `${cfg?.model?.name ?? 'model'}${weights} · ${runtime} · batch ${cfg?.batch_size} × seq ${cfg?.sequence_length} · ` +
    `${instances.length} instance${instances.length === 1 ? '' : 's'}, ${threads} thread${threads === '1' ? '' : 's'}` +
    (planned > 1 ? ` · ${planned} repetitions` : '')
  );
}

export function renderRun(outcome: JobOutcome): string {
  const r = outcome.result;
  const lines: string[] = [];
  if (outcome.status !== 'ok') {
    lines.push(
      `bench: the run ${outcome.status === 'interrupted' ? 'was interrupted' : outcome.status}: ${r.error ?? 'unknown error'}`,
    );
    lines.push(
      outcome.unsaved
        ? `  the measurement follows on stdout as one line of JSON; ${displayPath(outcome.dir)} holds only what could be written before`
        : `  what finished is in ${displayPath(outcome.dir)}/results.json`,
    );
    return lines.join('\n');
  }
  if (r.dispatch) {
    const several = repetitionLines(r);
    if (several.length === 0) return renderDispatchRun(outcome, r.dispatch);
    const first = repetitionsOf(r).find((x) => x.dispatch === r.dispatch)?.repetition ?? 1;
    return [
      renderDispatchRun(outcome, r.dispatch),
      `  the table above is repetition ${first}'s; each repetition's, and across them:`,
      ...several,
    ].join('\n');
  }
  lines.push(`bench: ${describeRun(r)}`);
  for (const w of r.warnings) lines.push(`  warning   ${w}`);
  lines.push(...inputsLines(r));
  const plan = r.plan as { binding?: string } | null;
  const a = r.aggregate;
  if ((r.repetition_summary?.planned ?? 1) > 1) {
    // The repetitions and the figures across them first; then one repetition in detail, with its own figures.
    lines.push(...repetitionLines(r));
    if (a)
      lines.push(
        `  throughput ${fmt(a.throughput_samples_per_s)} samples/s (geometric mean over the repetitions; ${fmt(a.forwards_per_s)} forwards/s)`,
      );
    lines.push(...computeLines(r, ' (across the repetitions)'));
    const first = layoutOf(r);
    const rep = repetitionsOf(r).find((x) => x.repetition === (first[0]?.repetition ?? 1));
    if (first.length > 0) lines.push(`  repetition ${first[0]!.repetition ?? 1}, in detail:`);
    lines.push(...instanceLines(first, plan, '    '));
    const ra = rep?.aggregate;
    if (ra && first.length > 1)
      lines.push(`    throughput ${fmt(ra.throughput_samples_per_s)} samples/s summed over ${ra.instances} instances`);
  } else {
    lines.push(...instanceLines(r.instances, plan, '  '));
    if (a && r.instances.length > 1) {
      lines.push(
        `  aggregate  latency (worst instance) mean ${ms(a.latency_mean_ms)} ms · p50 ${aggregatePct(r, 'p50', a.latency_p50_ms)} · ` +
          `p90 ${aggregatePct(r, 'p90', a.latency_p90_ms)} · p99 ${aggregatePct(r, 'p99', a.latency_p99_ms)}`,
      );
      const window =
        a.common_window_ms !== null
          ? ` in the ${fmt(a.common_window_ms / 1000)} s all instances measured together`
          : '';
      lines.push(
        `  throughput ${fmt(a.throughput_samples_per_s)} samples/s summed over ${a.instances} instances${window} (${fmt(a.forwards_per_s)} forwards/s)`,
      );
    } else if (a) {
      lines.push(`  throughput ${fmt(a.throughput_samples_per_s)} samples/s (${fmt(a.forwards_per_s)} forwards/s)`);
    }
    lines.push(...computeLines(r, ''));
  }
  lines.push(...profileLines(r));
  lines.push(`  results   ${displayPath(outcome.dir)}/results.json (and results.csv)`);
  return lines.join('\n');
}

/** inputs.text: the texts, the tokenizer, and how much of what was fed is text rather than padding. */
export function inputsLines(r: RunResult): string[] {
  const i = r.inputs;
  if (!i) return [];
  const t = i.tokenizer;
  const texts = (n: number): string => `${n} text${n === 1 ? '' : 's'}`;
  const lines = [
    `  inputs    ${displayPath(i.file)}: ${i.more_in_file ? 'the first ' : ''}${texts(i.texts)}, ${i.tokens.min}-${i.tokens.max} tokens (median ${Number.isInteger(i.tokens.median) ? i.tokens.median : fmt(i.tokens.median, 1)}) · ${t.model} tokenizer: ${t.source === 'bundled' ? t.file : `${t.source} ${displayPath(t.file)}`}${i.empty_texts > 0 ? ` · ${texts(i.empty_texts)} without a token left out` : ''}`,
  ];
  const b = i.batches ?? [];
  if (b.length > 0) {
    const real = b.reduce((s, x) => s + x.real_tokens, 0);
    const all = real + b.reduce((s, x) => s + x.padded_tokens, 0);
    const cut = b.reduce((s, x) => s + x.truncated_texts, 0);
    const fed = b.reduce((s, x) => s + x.texts, 0);
    // Each instance repeats its one batch: texts beyond the batches are read, not fed.
    const unfed =
      i.texts > fed ? ` (${i.texts - fed} of the ${i.texts} texts not fed: each instance repeats one batch)` : '';
    lines.push(
      `            fed ${texts(fed)}${unfed}: ${real} of ${all} tokens are text (${((100 * real) / all).toFixed(0)}%), the rest padding (${t.padding_side}); ${cut === 0 ? 'none' : cut} truncated to ${b[0]!.sequence_length} tokens`,
    );
  }
  return lines;
}

/**
 * backend.profile=true: each profiled instance's time per operator type (the largest, then the
 * rest together) and its top node, from its first repetition.
 */
export function profileLines(r: RunResult): string[] {
  const rep = r.instances[0]?.repetition;
  return r.instances
    .filter((i) => i.profile && (i.repetition ?? 1) === (rep ?? 1))
    .flatMap((i) => {
      const p = i.profile!;
      const shown = p.by_op.slice(0, 6);
      const rest = p.by_op.slice(6).reduce((s, o) => s + o.share, 0);
      const ops = shown.map((o) => `${o.op} ${(o.share * 100).toFixed(1)}%`).join(' · ');
      const who = r.instances.length > 1 ? `[${i.index}] ` : '';
      const top = p.top_nodes[0];
      return [
        `  profile   ${who}${ops}${rest > 0 ? ` · other ${(rest * 100).toFixed(1)}%` : ''} of ${fmt(p.kernel_ms / p.calls)} ms kernel time per call (${p.calls} timed calls)`,
        ...(top
          ? [`            top node ${top.node} (${top.op}) ${(top.share * 100).toFixed(1)}%; trace ${p.file}`]
          : []),
      ];
    });
}

/** Each instance's placement, start-up and latency lines (`indent` before each). */
function instanceLines(instances: RunResult['instances'], plan: { binding?: string } | null, indent: string): string[] {
  const lines: string[] = [];
  for (const i of instances) {
    const tag = instances.length > 1 ? `${indent}[${i.index}] ` : indent;
    if (instances.length > 1) {
      // Where each instance ran, as the kernel reported its affinity, and what it delivered alone.
      lines.push(
        `${tag}ran on CPUs ${i.cpus ? formatCpuList(i.cpus) : 'unknown'} (${plan?.binding ?? 'unknown'}) · ${i.threads} thread${i.threads === 1 ? '' : 's'} · ` +
          `batch ${i.batch_size} · ${fmt(i.throughput_samples_per_s)} samples/s`,
      );
    }
    const prepared = i.load_prepare_ms > 0 ? `model ready in ${fmt(i.load_prepare_ms / 1000)} s · ` : '';
    lines.push(
      `${tag}${prepared}session ${ms(i.load_session_ms)} ms · first call ${ms(i.first_inference_ms)} ms · ` +
        `${i.warmup_runs} warmup · ${i.iterations} timed calls in ${fmt(i.window_ms / 1000)} s`,
    );
    const l = i.latency;
    lines.push(
      `${tag}latency   mean ${ms(l.mean_ms)} ± ${ms(l.std_ms)} ms · p50 ${pct(l, 'p50')} · p90 ${pct(l, 'p90')} · ` +
        `p99 ${pct(l, 'p99')} · min ${ms(l.min_ms)} · max ${ms(l.max_ms)}`,
    );
  }
  return lines;
}

/** The compute line: achieved GFLOP/s against the measured peak, or why there is none. */
function computeLines(r: RunResult, where: string): string[] {
  const e = r.efficiency;
  if (e && 'omitted' in e) return [`  compute    not given: ${e.omitted}`];
  if (e && e.measured_peak_gflops !== null && e.fraction_of_measured_peak !== null) {
    return [
      `  compute    ${fmt(e.achieved_gflops, 1)} GFLOP/s${where} = ${(e.fraction_of_measured_peak * 100).toFixed(0)}% of the measured fp32 GEMM peak (${fmt(e.measured_peak_gflops, 1)} GFLOP/s, ONNX Runtime's MatMul)`,
    ];
  }
  const failed = e?.peak_probes?.find((p) => p.error !== null && p.gflops === null);
  return e && failed
    ? [`  compute    ${fmt(e.achieved_gflops, 1)} GFLOP/s${where}; no measured peak: ${failed.error}`]
    : [];
}

/** The override keys whose values differ between jobs: the only ones worth repeating per job. */
export function varyingKeys(jobs: readonly { readonly overrides: readonly string[] }[]): Set<string> {
  const values = new Map<string, Set<string>>();
  for (const j of jobs) {
    for (const line of j.overrides) {
      const key = line.split('=')[0]!;
      const set = values.get(key) ?? new Set<string>();
      set.add(line);
      values.set(key, set);
    }
  }
  return new Set([...values].filter(([, v]) => v.size > 1 || jobs.length === 1).map(([k]) => k));
}

export function renderJobLine(o: JobOutcome, index: number, total: number, varying?: ReadonlySet<string>): string {
  const a = o.result.aggregate;
  const shown = varying ? o.overrides.filter((line) => varying.has(line.split('=')[0]!)) : o.overrides;
  const mock = o.result.backend?.name === 'mock' ? ' · backend mock (simulated)' : '';
  const head = `[${index + 1}/${total}] ${shown.join(' ')}${mock}`;
  if (o.status !== 'ok' || !a) return `${head} · ${o.status}: ${(o.result.error ?? '').split('\n')[0]}`;
  const s = o.result.repetition_summary;
  if (s && s.planned > 1) {
    const out = s.excluded.filter((e) => e.reason.startsWith('disturbed')).length;
    const mark = s.disturbed_only
      ? ' · DISTURBED (every repetition; see results.json)'
      : out > 0
        ? ` · ${out} disturbed repetition${out === 1 ? '' : 's'} left out`
        : '';
    const d = o.result.dispatch;
    const figures =
      d && s.request_latency_p50_ms && s.requests_per_s
        ? `dispatched p50 ${intervalText(s.request_latency_p50_ms)} ms · ${intervalText(s.requests_per_s, (x) => fmt(x))} requests/s`
        : `mean ${intervalText(s.latency_mean_ms)} ms · p50 ${intervalText(s.latency_p50_ms)} ms · ${intervalText(s.throughput_samples_per_s, (x) => fmt(x))} samples/s`;
    return `${head} · ${s.used.length} repetitions · ${figures}${mark}`;
  }
  // Other processes took CPU time from the instances: a sweep must say so per job, as a run does.
  const disturbed = disturbedInstances(o.result.instances).map((i) => (i.interference.others_share * 100).toFixed(0));
  if (disturbed.length > 0)
    return `${renderFigures(head, o)} · DISTURBED (other processes used ${disturbed.join('/')}% of the CPUs; see results.json)`;
  return renderFigures(head, o);
}

function renderFigures(head: string, o: JobOutcome): string {
  const a = o.result.aggregate!;
  const d = o.result.dispatch;
  if (d) {
    // Request latency, not the instances' service time, and the gain over the homogeneous pool.
    const l = d.dispatched.overall;
    // A percentile the requests do not support is n/a, and its gain is left out.
    const figure = (name: 'p50' | 'p99'): string =>
      isSupported(l.latency, name) ? `${ms(l.latency[`${name}_ms`])} ms` : pct(l.latency, name, 'requests');
    const gains = d.gain
      ? (['p50', 'p99'] as const)
          .filter((name) => isSupported(l.latency, name))
          .map(
            (name) => `${name} ${gainWithInterval(d.gain![`latency_${name}`], d.gain!.intervals?.[`latency_${name}`])}`,
          )
      : [];
    const g = gains.length > 0 ? ` · gain ${gains.join(', ')}` : '';
    return `${head} · dispatched p50 ${figure('p50')} · p99 ${figure('p99')} · ${fmt(l.throughput_requests_per_s)} requests/s${g}`;
  }
  const p99 = aggregatePct(o.result, 'p99', a.latency_p99_ms);
  return `${head} · mean ${ms(a.latency_mean_ms)} ms · p99 ${p99.startsWith('n/a') ? p99 : `${p99} ms`} · ${fmt(a.throughput_samples_per_s)} samples/s`;
}

/** A plan's instance index -> ` small (<= 32)`, its group (a dispatch pool); empty without groups. */
function groupLabels(plan: PlanJson): Map<number, string> {
  return new Map((plan.groups ?? []).flatMap((g) => g.instances.map((i) => [i, ` ${g.name} (${g.label})`] as const)));
}

export function renderPlan(plan: PlanJson, source: string): string {
  const n = plan.instances.length;
  const lines = [`plan on ${source}: ${n} instance${n === 1 ? '' : 's'}, binding ${plan.binding}`];
  const poolOf = groupLabels(plan);
  const rows = plan.instances.map((i) => [
    `[${i.index}]${poolOf.get(i.index) ?? ''}`,
    `cpus ${formatCpuList(i.cpus)}`,
    `memory ${i.memory_nodes.length > 0 ? `node ${i.memory_nodes.join(',')}` : 'any'}`,
    `threads ${i.threads}`,
    `batch ${i.batch_size}`,
    i.command,
  ]);
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => r[c]!.length))) ?? [];
  for (const r of rows)
    lines.push(`  ${r.map((cell, c) => (c < r.length - 1 ? cell.padEnd(widths[c]!) : cell)).join('  ')}`);
  lines.push(`  leftover cpus: ${plan.leftover_cpus.length > 0 ? formatCpuList(plan.leftover_cpus) : 'none'}`);
  if (plan.baseline) {
    const b = plan.baseline;
    lines.push(
      `  baseline (length-blind, run after the pools on the same cores): ${b.length} instance${b.length === 1 ? '' : 's'}: ` +
        b
          .map(
            (i) =>
              `cpus ${formatCpuList(i.cpus)} (node ${i.memory_nodes.join(',') || '?'}, ${i.threads} thread${i.threads === 1 ? '' : 's'})`,
          )
          .join(' | '),
    );
  }
  const env = Object.entries(plan.env ?? {});
  if (env.length > 0)
    lines.push(`  environment: ${env.map(([k, v]) => `${k}=${v}`).join(' ')} (and OMP_NUM_THREADS=<threads> each)`);
  for (const w of plan.warnings) lines.push(`  warning: ${w}`);
  return `${lines.join('\n')}\n`;
}

/** Every job of a sweep with its instances, one line each; warnings once, with the jobs they concern. */
export function renderSweepPlan(
  plans: readonly { job: number; overrides: readonly string[]; plan: PlanJson | null; error: string | null }[],
  varying: ReadonlySet<string>,
  source: string,
): string {
  const lines = [
    `bench plan: a sweep of ${plans.length} job${plans.length === 1 ? '' : 's'} on ${source}; nothing runs (--format json for every detail)`,
  ];
  const warnings = new Map<string, number[]>();
  for (const p of plans) {
    lines.push('', `[job ${p.job}] ${p.overrides.filter((line) => varying.has(line.split('=')[0]!)).join(' ')}`);
    if (!p.plan) {
      lines.push(`  cannot run: ${p.error ?? 'unknown error'}`);
      continue;
    }
    const poolOf = groupLabels(p.plan);
    for (const i of p.plan.instances) {
      const cpus = formatCpuList(i.cpus);
      const binding =
        p.plan.binding === 'numactl'
          ? `numactl -C ${cpus}${i.memory_nodes.length > 0 ? ` -m ${i.memory_nodes.join(',')}` : ''}`
          : p.plan.binding === 'taskset'
            ? `taskset -c ${cpus}`
            : 'unpinned';
      lines.push(`  [${i.index}]${poolOf.get(i.index) ?? ''} ${binding}  threads ${i.threads}  batch ${i.batch_size}`);
    }
    if (p.plan.leftover_cpus.length > 0) lines.push(`  leftover cpus: ${formatCpuList(p.plan.leftover_cpus)}`);
    for (const w of p.plan.warnings) warnings.set(w, [...(warnings.get(w) ?? []), p.job]);
  }
  const failed = plans.filter((p) => !p.plan).map((p) => p.job);
  if (failed.length > 0)
    lines.push(
      '',
      `${failed.length} of ${plans.length} jobs cannot run there: job${failed.length === 1 ? '' : 's'} ${failed.join(', ')}`,
    );
  if (warnings.size > 0) {
    lines.push('', 'warnings:');
    for (const [w, jobs] of warnings)
      lines.push(
        `  ${jobs.length === plans.length ? 'every job' : `job${jobs.length === 1 ? '' : 's'} ${jobs.join(', ')}`}: ${w}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

export function renderBestSetups(best: readonly BestSetup[]): string {
  if (best.length === 0) return '';
  // The model and backend columns only when the sweep had more than one of them.
  const { model: models, backend: backends } = varyingColumns(best);
  const rows = best.map((b) => [
    ...(models ? [b.model] : []),
    ...(backends ? [b.backend] : []),
    `${b.batch_size} x ${b.sequence_length}`,
    `${b.lowest_latency.setup} (${ms(b.lowest_latency.latency_mean_ms)} ms)${b.lowest_latency.disturbed ? ' DISTURBED' : ''}`,
    `${b.highest_throughput.setup} (${fmt(b.highest_throughput.throughput_samples_per_s)}/s)${b.highest_throughput.disturbed ? ' DISTURBED' : ''}`,
    `${b.candidates}`,
  ]);
  const header = [
    ...(models ? ['model'] : []),
    ...(backends ? ['backend'] : []),
    'batch x seq',
    'lowest latency',
    'highest throughput',
    'setups',
  ];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]): string => `  ${r.map((cell, c) => cell.padEnd(widths[c]!)).join('   ')}`.trimEnd();
  const mock = best.every((b) => b.backend === 'mock') ? ' [backend mock: simulated latencies, not measurements]' : '';
  return [
    `best setups per batch_size x sequence_length (latency: worst instance mean; throughput: samples/s summed over instances)${mock}:`,
    line(header),
    ...rows.map(line),
  ].join('\n');
}

/**
 * `[#####-----] 3/8 jobs · 0:42 elapsed · about 1:05 left` for terminals: a progress bar with an
 * ETA, the mean time of the units done (by `doneAtMs`, the elapsed time when the last one ended)
 * times the units left, less the time the running one has had, so the estimate counts down while a
 * job runs instead of growing. A unit is a job, or a job's repetition (`unit: 'runs'`).
 */
export function renderProgress(
  done: number,
  total: number,
  elapsedMs: number,
  doneAtMs = elapsedMs,
  unit = 'jobs',
): string {
  const width = 20;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  const clock = (t: number): string =>
    `${Math.floor(t / 60_000)}:${String(Math.floor((t % 60_000) / 1000)).padStart(2, '0')}`;
  const left = Math.max(0, (doneAtMs / Math.max(done, 1)) * (total - done) - (elapsedMs - doneAtMs));
  const eta = done > 0 && done < total ? ` · about ${clock(left)} left` : '';
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${unit} · ${clock(elapsedMs)} elapsed${eta}`;
}

/** `2.23x [1.91, 2.60]`: a gain and its bootstrap interval (the interval left out where there is none). */
function gainWithInterval(x: number, interval: Interval | null | undefined): string {
  if (!Number.isFinite(x)) return '';
  return `${x.toFixed(2)}x${interval ? ` [${interval.lo.toFixed(2)}, ${interval.hi.toFixed(2)}]` : ''}`;
}

/** Lays out rows of cells: the first `left` columns left-aligned, the rest right-aligned. */
function table(rows: readonly (readonly string[])[], left: number): string[] {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) =>
    `  ${r.map((cell, c) => (c < left ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ')}`.trimEnd(),
  );
}

function describeSetupCpus(s: SetupReport): string {
  return s.instances.map((i) => formatCpuList([...(i.cpus ?? i.planned_cpus)])).join(' | ');
}

/** A dispatch run: the workload, both setups, and dispatched vs homogeneous side by side, per class. */
export function renderDispatchRun(outcome: JobOutcome, d: DispatchReport): string {
  const r = outcome.result;
  const cfg = r.config as { model?: { name?: string } } | null;
  const backend = r.backend as { name?: string; version?: string; mode?: string; grad?: string } | null;
  const w = d.workload;
  const lengths = w.lengths as { mean_tokens?: number };
  const shape = describeLengths(w.lengths);
  const arrivals =
    w.mode === 'open'
      ? `open loop, Poisson ${fmt(w.offered_rate_per_s ?? NaN, 1)}/s (achieved ${fmt(d.dispatched.achieved_arrival_rate_per_s, 1)}/s)`
      : `closed loop, ${w.clients} clients`;
  const lines: string[] = [
    `bench: ${cfg?.model?.name ?? 'model'} · ${runtimeLabel(backend)} · dispatch: ${w.requests} requests, ${arrivals} · lengths ${shape} (mean ${fmt(lengths.mean_tokens ?? NaN, 1)} tokens)`,
  ];
  for (const warning of [...r.warnings, ...d.warnings]) lines.push(`  warning   ${warning}`);
  lines.push(...inputsLines(r));
  const setups = [d.dispatched, ...(d.baseline ? [d.baseline] : [])];
  for (const s of setups) lines.push(`  ${s.setup.padEnd(11)}  ${s.description} (CPUs ${describeSetupCpus(s)})`);

  const header = ['class', 'metric', ...setups.map((s) => s.setup), ...(d.baseline ? ['gain [95% interval]'] : [])];
  const rows: string[][] = [header];
  const classes: [string, string, string | null, (s: SetupReport) => ClassStats | undefined][] = [
    [`all (${d.dispatched.overall.requests})`, '', null, (s) => s.overall],
    ...Object.entries(w.classes).map(
      ([name, c]): [string, string, string | null, (s: SetupReport) => ClassStats | undefined] => [
        `${name} ${c.range}`,
        `(${d.dispatched.per_class[name]?.requests ?? 0}, ${Math.round(c.share * 100)}%)`,
        name,
        (s) => s.per_class[name],
      ],
    ),
  ];
  // A percentile the class's requests do not support is `n/a`, and so is its gain (stats/summary.ts).
  type Metric = [string, (c: ClassStats) => string, ((g: Gain, cls: string | null) => string) | null];
  const latencyGain =
    (key: 'latency_p50' | 'latency_p90' | 'latency_p99') =>
    (g: Gain, cls: string | null): string => {
      const point = cls === null ? g[key] : g.per_class[cls]?.[key];
      const interval = cls === null ? g.intervals?.[key] : g.intervals?.per_class[cls]?.[key];
      return point === undefined || interval === null ? '' : gainWithInterval(point, interval);
    };
  let withheld = false;
  const figure = (l: LatencySummary, name: PercentileName): string => {
    if (isSupported(l, name)) return ms(l[`${name}_ms`]);
    withheld = true;
    return 'n/a';
  };
  const metrics: Metric[] = [
    ['latency p50 ms', (c) => figure(c.latency, 'p50'), latencyGain('latency_p50')],
    ['latency p90 ms', (c) => figure(c.latency, 'p90'), latencyGain('latency_p90')],
    ['latency p99 ms', (c) => figure(c.latency, 'p99'), latencyGain('latency_p99')],
    ['queueing p50 ms', (c) => figure(c.queueing, 'p50'), null],
    ['queueing p99 ms', (c) => figure(c.queueing, 'p99'), null],
    // A class's throughput gain is the overall one: both setups serve the same requests, each over its own window.
    [
      'throughput req/s',
      (c) => fmt(c.throughput_requests_per_s, 1),
      (g) => gainWithInterval(g.throughput, g.intervals?.throughput),
    ],
  ];
  for (const [label, sub, cls, pick] of classes) {
    metrics.forEach(([metric, show, gainOf], m) => {
      const cells = setups.map((s) => {
        const c = pick(s);
        return c && c.requests > 0 ? show(c) : 'n/a';
      });
      const served = setups.every((s) => (pick(s)?.requests ?? 0) > 0);
      const g = d.gain && gainOf && served && !cells.includes('n/a') ? gainOf(d.gain, cls) : '';
      rows.push([m === 0 ? label : m === 1 ? sub : '', metric, ...cells, ...(d.baseline ? [g] : [])]);
    });
  }
  lines.push(...table(rows, 2));
  if (d.baseline) {
    lines.push(
      '  gain > 1: dispatching is better (latency: homogeneous / dispatched; throughput: dispatched / homogeneous); [lo, hi]: 95% bootstrap interval over requests',
    );
  }
  if (withheld) {
    const needs = (['p50', 'p90', 'p99'] as const)
      .map((name, k) => `${name}${k === 0 ? ' needs' : ''} ${minSamplesFor(name)}`)
      .join(', ');
    lines.push(`  n/a: too few requests in the class for a 95% interval of that percentile (${needs}), and so no gain`);
  }
  const pools = Object.entries(d.dispatched.per_pool)
    .map(([name, p]) => `${name} busy ${Math.round(p.utilization * 100)}%, max queue ${p.max_queue_length}`)
    .join(' · ');
  const base = d.baseline
    ? ` · homogeneous busy ${Math.round((d.baseline.per_pool.homogeneous?.utilization ?? NaN) * 100)}%, max queue ${d.baseline.max_queue_length}`
    : '';
  lines.push(`  pools     ${pools}${base}`);
  lines.push(`  results   ${displayPath(outcome.dir)}/results.json (and results.csv, dispatch.csv)`);
  return lines.join('\n');
}
