/**
 * The report's charts, in the spirit of the study's figures, as vega-lite specs rendered to SVG in
 * Node (vega's headless view: `renderer: 'none'` + toSVG() needs no canvas and no browser). The
 * SVG strings are embedded in the HTML and written as files, so opening a report needs no network
 * and no script. Vega escapes every text it writes into the SVG (titles, labels, legends).
 *
 * - latency vs cores: single-instance runs, mean latency against the cores used (intra-op threads,
 *   at most the CPUs the instance was pinned to), one line per sequence length (and per any other
 *   varying key); the study's core-count scaling.
 * - latency vs instances and throughput vs instances: the study's batch-size scaling (a total batch
 *   split over the instances) or multi-instance scaling (each instance with its own batch), with the
 *   study's aggregate definitions: latency = the worst instance's mean, throughput = the sum.
 * - latency distribution: a box per instance of each run (quartiles, median, whiskers at p1/p99),
 *   one panel per run with its own latency axis, since runs of different sizes differ by orders of
 *   magnitude.
 * - dispatch runs (scenario=dispatch) are none of the above (single requests of many lengths, two
 *   setups in one run, their instances' latencies service times): they get their own chart, request
 *   latency p50/p90/p99 per length class, dispatched beside homogeneous, and are left out of the
 *   others; a set of dispatch runs only gets that chart alone.
 * A chart whose x axis would show one value (e.g. every run used the same cores) is skipped with a
 * note instead of drawn with a single point. Captions name the series the data actually has.
 */
import type { TopLevelSpec } from 'vega-lite';
import { canonical } from './compare.js';
import type { ResultRow } from './load.js';
import { percentile } from '../stats/summary.js';

export interface ChartPlan {
  readonly id: string;
  readonly title: string;
  /** What the chart shows and how to read it. */
  readonly caption: string;
  readonly spec: TopLevelSpec | null;
  /** Why the chart was not drawn (null when it was). */
  readonly skipped: string | null;
}

export interface RenderedChart extends ChartPlan {
  readonly svg: string | null;
  readonly log: readonly string[];
}

/** The run as the charts see it. */
export interface ChartRow {
  readonly row: ResultRow;
  /** Short name of the run: what sets it apart from the others (its varying overrides), or its job. */
  readonly label: string;
}

/** Keys that determine the cores of an instance: they are the x axis, never a series. */
const CORE_KEYS = [
  'backend.num_threads',
  'launcher.cores_per_instance',
  'launcher.cpu_list',
  'launcher.use_smt',
  'launcher.nodes',
  'launcher.sockets',
];
/** Keys that change with the number of instances in a batch-size scaling sweep. */
const INSTANCE_KEYS = ['launcher.num_instances', ...CORE_KEYS];
/** Keys that never split a series: labels, seeds and bookkeeping. */
const NEUTRAL_KEYS = [
  'experiment_name',
  'seed',
  'benchmark_duration',
  'warmup_runs',
  'scenario.min_iterations',
  'topology.file',
  'launcher.start_timeout_s',
  'launcher.run_timeout_s',
];

const SHORT_NAMES: Readonly<Record<string, string>> = {
  sequence_length: 'seq',
  batch_size: 'batch',
  'model.name': 'model',
  'backend.name': 'backend',
  'launcher.num_instances': 'instances',
  'backend.num_threads': 'threads',
};

/** Cores each instance computed on: its intra-op threads, at most the CPUs it was pinned to (see load.ts). */
export function coresUsed(r: ResultRow): number | null {
  return r.cores_per_instance;
}

/** A dispatch run: charted on its own, never as a point of the scaling charts. */
export function isDispatch(r: ResultRow): boolean {
  return r.scenario === 'dispatch' || r.dispatch !== null;
}

function varyingKeys(rows: readonly ResultRow[], exclude: readonly string[]): string[] {
  const keys = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.config)) keys.add(k);
  const varying = [...keys]
    .filter((k) => !exclude.some((e) => k === e || k.startsWith(`${e}.`)) && !NEUTRAL_KEYS.includes(k))
    .filter((k) => new Set(rows.map((r) => canonical(r.config[k]))).size > 1);
  return varying
    .filter((k) => !followsGroupChoice(rows, k, varying))
    .sort((a, b) => (a === 'sequence_length' ? -1 : b === 'sequence_length' ? 1 : a.localeCompare(b)));
}

/**
 * A key of a config group whose option varies (`backend.cache_optimized_graph` when the runs mix
 * `backend=onnxruntime` and `backend=pytorch`, `model.hidden_size` across models) that takes one
 * value per option: the option already names the series, the key adds nothing to it.
 */
function followsGroupChoice(rows: readonly ResultRow[], key: string, varying: readonly string[]): boolean {
  const dot = key.indexOf('.');
  if (dot < 0) return false;
  const choice = `${key.slice(0, dot)}.name`;
  if (key === choice || !varying.includes(choice)) return false;
  const seen = new Map<string, string>();
  return rows.every((r) => {
    const option = canonical(r.config[choice]);
    const value = canonical(r.config[key]);
    const before = seen.get(option);
    seen.set(option, value);
    return before === undefined || before === value;
  });
}

const LEGEND_TITLES: Readonly<Record<string, string>> = {
  sequence_length: 'sequence length',
  batch_size: 'batch size',
  'model.name': 'model',
  'backend.name': 'backend',
  machine: 'machine',
};

/** One key: its value alone, under a legend titled with the key; several: `seq 32 · batch 8`, untitled. */
function seriesLabel(r: ResultRow, keys: readonly string[]): string {
  if (keys.length === 0) return 'all runs';
  if (keys.length === 1) return canonical(r.config[keys[0]!]) || 'null';
  return keys.map((k) => `${SHORT_NAMES[k] ?? k} ${canonical(r.config[k]) || 'null'}`).join(' · ');
}

function legendTitle(keys: readonly string[]): string | null {
  return keys.length === 1 ? (LEGEND_TITLES[keys[0]!] ?? keys[0]!) : null;
}

/** `one line per sequence length`, `one line per sequence length and batch size`, or `a single line`. */
export function linesPhrase(keys: readonly string[]): string {
  if (keys.length === 0) return 'a single line (no other setting varies)';
  const names = keys.map((k) => LEGEND_TITLES[k] ?? k);
  return `one line per ${names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`}`;
}

/** Series labels in the order of their keys' values, numbers numerically (seq 32 before seq 128). */
function seriesOrder(rows: readonly ResultRow[], keys: readonly string[]): string[] {
  const cmp = (x: string, y: string): number => {
    const nx = Number(x);
    const ny = Number(y);
    return x !== '' && y !== '' && Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : x.localeCompare(y);
  };
  const sorted = [...rows].sort((a, b) => {
    for (const k of keys) {
      const c = cmp(canonical(a.config[k]), canonical(b.config[k]));
      if (c !== 0) return c;
    }
    return 0;
  });
  return [...new Set(sorted.map((r) => seriesLabel(r, keys)))];
}

/** The charts' subtitle: `experiment: NAME` (names from the configs; vega escapes them in the SVG). */
function experimentNames(rows: readonly ResultRow[]): string {
  const names = [...new Set(rows.map((r) => canonical(r.config.experiment_name)).filter((x) => x !== ''))];
  return names.length === 0 ? '' : `experiment${names.length > 1 ? 's' : ''}: ${names.join(', ')}`;
}

const ok = (r: ResultRow): boolean => r.status === 'ok' && r.latency_mean_ms !== null;

const BASE = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  background: 'white',
  config: { font: 'sans-serif', axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelLimit: 320 } },
} as const;

function skipped(id: string, title: string, caption: string, reason: string): ChartPlan {
  return { id, title, caption, spec: null, skipped: reason };
}

export function latencyVsCores(rows: readonly ChartRow[]): ChartPlan {
  const id = 'latency-vs-cores';
  const title = 'Latency vs cores';
  const about =
    'Core-count scaling: mean latency of single-instance runs against the cores used (intra-op threads, at most the pinned CPUs)';
  const completed = rows.map((c) => c.row).filter(ok);
  const singles = completed.filter((r) => r.instances === 1);
  const single = singles.filter((r) => coresUsed(r) !== null);
  const keys = varyingKeys(single, CORE_KEYS);
  const caption = `${about}, ${linesPhrase(keys)}.`;
  if (singles.length === 0)
    return skipped(id, title, caption, completed.length === 0 ? 'no completed runs' : 'no single-instance runs');
  if (single.length === 0) {
    return skipped(
      id,
      title,
      caption,
      `the ${singles.length === 1 ? 'single-instance run does' : `${singles.length} single-instance runs do`} not record the cores they used ` +
        '(the input has no cores_per_instance, and backend.num_threads was left to the planner): report the run or sweep folder instead',
    );
  }
  const cores = new Set(single.map(coresUsed));
  if (cores.size < 2)
    return skipped(
      id,
      title,
      caption,
      `every single-instance run used the same number of cores (${[...cores][0]}): nothing to scale over`,
    );
  const values = single.map((r) => ({
    cores: coresUsed(r),
    latency_ms: r.latency_mean_ms,
    series: seriesLabel(r, keys),
  }));
  const maxCores = Math.max(...(cores as Set<number>));
  const minCores = Math.min(...(cores as Set<number>));
  const spec = {
    ...BASE,
    title: { text: title, subtitle: experimentNames(single) || undefined },
    width: 420,
    height: 260,
    data: { values },
    mark: { type: 'line', point: { size: 50 } },
    encoding: {
      x: {
        field: 'cores',
        type: 'quantitative',
        title: 'cores used by the instance',
        // Powers of two are what scaling sweeps use; a log2 axis spaces them evenly.
        scale: maxCores / minCores >= 4 ? { type: 'log', base: 2 } : { zero: false },
        axis: { tickMinStep: 1, format: 'd' },
      },
      y: {
        field: 'latency_ms',
        type: 'quantitative',
        aggregate: 'mean',
        title: 'mean latency (ms)',
        scale: { zero: true },
      },
      color: { field: 'series', type: 'nominal', sort: seriesOrder(single, keys), title: legendTitle(keys) },
    },
  };
  return { id, title, caption, spec: spec as unknown as TopLevelSpec, skipped: null };
}

function instanceChart(rows: readonly ChartRow[], which: 'latency' | 'throughput'): ChartPlan {
  const id = which === 'latency' ? 'latency-vs-instances' : 'throughput-vs-instances';
  const title = which === 'latency' ? 'Max latency vs instances' : 'Summed throughput vs instances';
  const data = rows.map((c) => c.row).filter((r) => ok(r) && r.instances !== null);
  const keys = varyingKeys(data, INSTANCE_KEYS);
  // The study's batch-size scaling splits one total batch over the instances; its multi-instance
  // experiment gives every instance the same batch.
  const split = data.map((r) => canonical(r.config['launcher.split_batch']));
  const kind =
    data.length > 0 && split.every((x) => x === 'true')
      ? 'Batch-size scaling (the total batch split over the instances)'
      : data.length > 0 && split.every((x) => x !== 'true')
        ? 'Multi-instance scaling (every instance with its own batch)'
        : 'Instance scaling';
  const caption =
    which === 'latency'
      ? `${kind}: the worst instance's mean latency against the number of instances the machine is split into, ${linesPhrase(keys)}.`
      : `${kind}: throughput summed over the instances (counted in their common window) against the number of instances, ${linesPhrase(keys)}.`;
  const counts = new Set(data.map((r) => r.instances));
  if (counts.size < 2) {
    return skipped(
      id,
      title,
      caption,
      data.length === 0
        ? 'no completed runs'
        : `every run used ${[...counts][0]} instance${[...counts][0] === 1 ? '' : 's'}: nothing to scale over`,
    );
  }
  const values = data.map((r) => ({
    instances: r.instances,
    value: which === 'latency' ? r.latency_mean_ms : r.throughput_samples_per_s,
    series: seriesLabel(r, keys),
  }));
  const spec = {
    ...BASE,
    title: { text: title, subtitle: experimentNames(data) || undefined },
    width: 340,
    height: 240,
    data: { values },
    mark: { type: 'line', point: { size: 50 } },
    encoding: {
      x: { field: 'instances', type: 'ordinal', title: 'instances', sort: 'ascending', axis: { labelAngle: 0 } },
      y: {
        field: 'value',
        type: 'quantitative',
        aggregate: 'mean',
        title: which === 'latency' ? 'max latency (ms)' : 'summed throughput (samples/s)',
        scale: { zero: true },
      },
      color: { field: 'series', type: 'nominal', sort: seriesOrder(data, keys), title: legendTitle(keys) },
    },
  };
  return { id, title, caption, spec: spec as unknown as TopLevelSpec, skipped: null };
}

export const latencyVsInstances = (rows: readonly ChartRow[]): ChartPlan => instanceChart(rows, 'latency');
export const throughputVsInstances = (rows: readonly ChartRow[]): ChartPlan => instanceChart(rows, 'throughput');

export function latencyDistribution(rows: readonly ChartRow[]): ChartPlan {
  const id = 'latency-distribution';
  const title = 'Latency distribution per instance';
  const caption =
    'One box per instance of each run: box from the 25th to the 75th percentile, tick at the median, whiskers from p1 to p99 (the slowest 1% is not drawn). Each run has its own latency axis.';
  const values: Record<string, unknown>[] = [];
  for (const c of rows) {
    const r = c.row.result;
    if (c.row.status !== 'ok' || !r) continue;
    // Several repetitions: a box per instance of each (each a fresh measurement).
    const several = new Set(r.instances.map((i) => i.repetition ?? 1)).size > 1;
    for (const inst of r.instances) {
      if (inst.status !== 'ok' || inst.latencies_ms.length === 0) continue;
      const sorted = [...inst.latencies_ms].sort((x, y) => x - y);
      values.push({
        run: c.label,
        instance: `instance ${inst.index}${several ? `, repetition ${inst.repetition ?? 1}` : ''}`,
        p1: percentile(sorted, 0.01),
        q1: percentile(sorted, 0.25),
        median: percentile(sorted, 0.5),
        q3: percentile(sorted, 0.75),
        p99: percentile(sorted, 0.99),
        calls: sorted.length,
      });
    }
  }
  if (values.length === 0) return skipped(id, title, caption, 'no raw latencies in these results');
  const y = { field: 'instance', type: 'nominal', title: null };
  const layer = [
    {
      mark: { type: 'rule', color: '#555' },
      encoding: {
        x: { field: 'p1', type: 'quantitative', title: 'latency (ms)', scale: { zero: false } },
        x2: { field: 'p99' },
        y,
      },
    },
    {
      mark: { type: 'bar', size: 12, color: '#7aa6d6', stroke: '#335f8f' },
      encoding: { x: { field: 'q1', type: 'quantitative' }, x2: { field: 'q3' }, y },
    },
    {
      mark: { type: 'tick', color: '#111', size: 12, thickness: 2 },
      encoding: { x: { field: 'median', type: 'quantitative' }, y },
    },
  ];
  const runs = new Set(values.map((v) => v.run));
  const subtitle = experimentNames(rows.map((c) => c.row)) || undefined;
  const spec =
    runs.size === 1
      ? { ...BASE, title: { text: title, subtitle }, width: 420, data: { values }, height: { step: 22 }, layer }
      : {
          ...BASE,
          title: { text: title, subtitle },
          data: { values },
          // Run labels above their panels, left-aligned: beside them they would be cut short.
          facet: {
            row: {
              field: 'run',
              type: 'nominal',
              title: null,
              sort: [...runs],
              header: { labelOrient: 'top', labelAnchor: 'start', labelAngle: 0, labelLimit: 0, labelFontSize: 11 },
            },
          },
          spec: { width: 420, height: { step: 22 }, layer },
          resolve: { scale: { x: 'independent', y: 'independent' }, axis: { x: 'independent' } },
        };
  return { id, title, caption, spec: spec as unknown as TopLevelSpec, skipped: null };
}

const SETUPS = ['dispatched', 'homogeneous'] as const;
const STATS = ['p50', 'p90', 'p99'] as const;

/** The class as the dispatch chart and table name it: `all`, or `small <=32`. */
export function classLabel(c: { readonly class: string; readonly length_range: string }): string {
  return c.class === 'all' || c.length_range === '' ? c.class : `${c.class} ${c.length_range}`;
}

export function dispatchLatency(rows: readonly ChartRow[]): ChartPlan {
  const id = 'dispatch-latency';
  const title = 'Request latency, dispatched vs homogeneous';
  const caption =
    'Dispatch runs: request latency (arrival to completion, queueing included) at p50, p90 and p99 per length class ("all": every request), ' +
    'the dispatched setup beside the homogeneous, length-blind one on the same cores. Lower is better.';
  const values: Record<string, unknown>[] = [];
  const classOrder: string[] = [];
  const runs: string[] = [];
  for (const c of rows) {
    const d = c.row.dispatch;
    if (c.row.status !== 'ok' || !d) continue;
    runs.push(c.label);
    for (const k of d.classes) {
      const label = classLabel(k);
      if (!classOrder.includes(label)) classOrder.push(label);
      const figures = { p50: k.latency_p50_ms, p90: k.latency_p90_ms, p99: k.latency_p99_ms };
      for (const stat of STATS) {
        if (figures[stat] !== null)
          values.push({ run: c.label, class: label, setup: k.setup, stat, latency_ms: figures[stat] });
      }
    }
  }
  if (values.length === 0) return skipped(id, title, caption, 'no completed dispatch run with request latencies');
  const spec = {
    ...BASE,
    title: { text: title, subtitle: experimentNames(rows.map((c) => c.row)) || undefined },
    data: { values },
    facet: {
      column: { field: 'class', type: 'nominal', sort: classOrder, title: null, header: { labelFontSize: 11 } },
      ...(runs.length > 1
        ? {
            row: {
              field: 'run',
              type: 'nominal',
              sort: runs,
              title: null,
              header: { labelOrient: 'top', labelAnchor: 'start', labelAngle: 0, labelLimit: 0, labelFontSize: 11 },
            },
          }
        : {}),
    },
    spec: {
      width: 150,
      height: 220,
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'stat', type: 'nominal', sort: [...STATS], title: null, axis: { labelAngle: 0 } },
        xOffset: { field: 'setup', type: 'nominal', sort: [...SETUPS] },
        y: { field: 'latency_ms', type: 'quantitative', title: 'request latency (ms)', scale: { zero: true } },
        color: {
          field: 'setup',
          type: 'nominal',
          sort: [...SETUPS],
          title: 'setup',
          scale: { domain: [...SETUPS], range: ['#2f6fb0', '#d08a2c'] },
        },
      },
    },
    // Runs of different rates or models differ by orders of magnitude: each its own axis.
    ...(runs.length > 1 ? { resolve: { scale: { y: 'independent' } } } : {}),
  };
  return { id, title, caption, spec: spec as unknown as TopLevelSpec, skipped: null };
}

/**
 * The study's charts over the runs that are not dispatch runs, and the dispatch chart when there
 * are dispatch runs (a set of dispatch runs only gets that chart alone: the others do not apply).
 */
export function planCharts(rows: readonly ChartRow[]): ChartPlan[] {
  const dispatch = rows.filter((c) => isDispatch(c.row));
  const study = rows.filter((c) => !isDispatch(c.row));
  return [
    ...(study.length > 0 || dispatch.length === 0
      ? [latencyVsCores(study), latencyVsInstances(study), throughputVsInstances(study), latencyDistribution(study)]
      : []),
    ...(dispatch.length > 0 ? [dispatchLatency(dispatch)] : []),
  ];
}

export interface SvgRendering {
  readonly svg: string;
  /** What vega and vega-lite logged while compiling and rendering (kept, never printed). */
  readonly log: readonly string[];
}

/**
 * Renders with vega's headless view; vega and vega-lite are imported on first use (they take a while to load).
 * Their loggers write to the console by default; core code must not print, so a logger collects
 * the messages instead, and an error while rendering throws.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<SvgRendering> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const log: string[] = [];
  const logger = vega.logger(vega.Warn, undefined, (_method, level, args) => {
    log.push(`${level} ${args.map(String).join(' ')}`);
  });
  const view = new vega.View(vega.parse(vegaLite.compile(spec, { logger }).spec), { renderer: 'none', logger });
  try {
    return { svg: await view.toSVG(), log };
  } finally {
    view.finalize();
  }
}

export async function renderCharts(plans: readonly ChartPlan[]): Promise<RenderedChart[]> {
  const out: RenderedChart[] = [];
  for (const p of plans) {
    const r = p.spec ? await renderSvg(p.spec) : null;
    out.push({ ...p, svg: r?.svg ?? null, log: r?.log ?? [] });
  }
  return out;
}
