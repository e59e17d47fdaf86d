/**
 * Result sets in the shapes the field's other tools read, and back (`bench export`, and `bench
 * compare` / `report` reading them):
 *
 * - `optimum-benchmark`: one folder per run and repetition, holding `benchmark_config.json`,
 *   `benchmark_report.json` and `benchmark.json` (`{config, report}`), as optimum-benchmark's CLI
 *   writes them (docs: ../shared/design/research/optimum-benchmark.md; fields and units of its
 *   `BenchmarkReport`): targets `load_model` (session creation), `first_forward` (the cold call) and
 *   `forward` (the timed calls of every instance, pooled: `latency` in seconds with every value,
 *   count, total, mean, p50/p90/p95/p99 by linear interpolation, the population stdev and `stdev_`,
 *   the CV in %; `throughput` in samples/s, the study's sum over instances; `memory.max_ram` in MB,
 *   summed over instances). A run of several instances adds a `forward_instance_N` target per
 *   instance, so the worst instance's figures (the study's latency) can be read back. bench's own
 *   config, environment and repetition bookkeeping ride in `config.environment.bench`, where
 *   optimum-benchmark keeps tool facts; the fields optimum-benchmark defines hold what it would.
 * - `tune-csv`: the study's consolidated CSV (huggingface/tune, consolidate.py): a row per instance
 *   of every launch, its results.csv columns (`nb_forwards`, `throughput` in forwards/s, `latency_*`
 *   in nanoseconds) joined with its config's columns (`backend.name`, `batch_size` per instance,
 *   `num_instances`, `malloc`, `numactl.cores`, ...), `experiment_id` naming the launch (here a
 *   repetition) and `instance_id` the instance; then bench's own columns (`bench.*`, `config.*`).
 *
 * Dispatch runs have no shape in either tool and are left out, with the reason. Reading back, a
 * file bench wrote gives the run it came from (its config, its repetitions); a file another tool
 * wrote gives one row per run, its config mapped to bench's keys where the meaning is the same.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { cleanOrAll, instancesOf, repetitionsOf } from '../results/repetitions.js';
import { toCsv } from '../results/write.js';
import type { InstanceResult, RepetitionResult, RunResult } from '../results/types.js';
import { geometricMean } from '../stats/repetitions.js';
import { mean, minSamplesFor, percentile, populationStd, sampleStd } from '../stats/summary.js';
import { writeFileAtomic } from '../util/atomic.js';
import { isTree, type Tree } from '../util/tree.js';
import {
  findResults,
  num,
  readJson,
  ReportInputError,
  type RepetitionFigures,
  type ResultRow,
  type ResultSet,
} from './load.js';

export const EXPORT_FORMATS = ['optimum-benchmark', 'tune-csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOutcome {
  readonly format: ExportFormat;
  /** The folder (optimum-benchmark) or file (tune-csv) written. */
  readonly out: string;
  readonly runs: number;
  readonly repetitions: number;
  /** The files written (optimum-benchmark: three per run and repetition; tune-csv: one). */
  readonly files: readonly string[];
  /** Runs left out, with why. */
  readonly skipped: readonly { readonly source: string; readonly reason: string }[];
}

// ---------------------------------------------------------------------------------------------
// Shared

/** What an exported run is made of: its results.json, its ok repetitions and their instances. */
interface ExportRun {
  readonly row: ResultRow;
  readonly result: RunResult;
  readonly repetitions: readonly { readonly rep: RepetitionResult; readonly instances: readonly InstanceResult[] }[];
}

function exportableRuns(set: ResultSet): { runs: ExportRun[]; skipped: ExportOutcome['skipped'] } {
  const runs: ExportRun[] = [];
  const skipped: { source: string; reason: string }[] = [];
  for (const row of set.rows) {
    const r = row.result;
    if (!r) {
      skipped.push({ source: row.source, reason: 'no results.json (only summary figures, no calls)' });
      continue;
    }
    if (r.dispatch || row.scenario === 'dispatch') {
      skipped.push({
        source: row.source,
        reason: 'a dispatch run: neither tool has a shape for requests of mixed lengths',
      });
      continue;
    }
    const repetitions = repetitionsOf(r)
      .filter((rep) => rep.status === 'ok')
      .map((rep) => ({ rep, instances: instancesOf(r, rep.repetition).filter((i) => i.status === 'ok') }))
      .filter((x) => x.instances.length > 0);
    if (repetitions.length === 0) {
      skipped.push({ source: row.source, reason: `no repetition measured ok (status ${r.status})` });
      continue;
    }
    runs.push({ row, result: r, repetitions });
  }
  return { runs, skipped };
}

const cfgValue = (r: RunResult, path: string): unknown =>
  path.split('.').reduce<unknown>((node, k) => (isTree(node) ? node[k] : undefined), r.config);

/** The largest of the figures, null when there is none. */
const largest = (xs: readonly (number | null)[]): number | null =>
  xs.reduce<number | null>((m, x) => (x !== null && (m === null || x > m) ? x : m), null);

/**
 * The repetitions a row's figures rest on, as results.json's (results/repetitions.ts): the ok ones
 * other processes did not disturb, or every ok one when all were; each figure their geometric mean.
 */
function usedOf(reps: readonly RepetitionFigures[]): RepetitionFigures[] {
  return cleanOrAll(reps.filter((r) => r.status === 'ok')).used;
}

function across(reps: readonly RepetitionFigures[], pick: (r: RepetitionFigures) => number | null): number | null {
  return geometricMeanOrNull(usedOf(reps).map(pick));
}

// ---------------------------------------------------------------------------------------------
// optimum-benchmark

/** optimum-benchmark's `Latency`: seconds, every value, and its statistics. */
export function latencyBlock(valuesMs: readonly number[]): Record<string, unknown> {
  const values = valuesMs.map((v) => v / 1000);
  const sorted = [...values].sort((a, b) => a - b);
  const total = values.reduce((s, v) => s + v, 0);
  const avg = values.length > 0 ? mean(values) : 0;
  const stdev = populationStd(values);
  const at = (p: number): number => (sorted.length > 0 ? percentile(sorted, p) : 0);
  return {
    unit: 's',
    values,
    count: values.length,
    total,
    mean: avg,
    p50: at(0.5),
    p90: at(0.9),
    p95: at(0.95),
    p99: at(0.99),
    stdev,
    stdev_: avg !== 0 ? (stdev / Math.abs(avg)) * 100 : 0,
  };
}

const MB_PER_MIB = 2 ** 20 / 1e6;

function memoryBlock(peakRssMib: number | null): Record<string, unknown> {
  return {
    unit: 'MB',
    max_ram: peakRssMib === null ? null : peakRssMib * MB_PER_MIB,
    max_global_vram: null,
    max_process_vram: null,
    max_reserved: null,
    max_allocated: null,
  };
}

const target = (
  latency: Record<string, unknown>,
  throughput: number | null,
  memory: Record<string, unknown> | null,
): Record<string, unknown> => ({
  memory,
  latency,
  throughput: throughput === null ? null : { unit: 'samples/s', value: throughput },
  energy: null,
  efficiency: null,
});

const TARGETS: Readonly<Record<string, string>> = {
  onnxruntime: 'optimum_benchmark.backends.onnxruntime.backend.ONNXRuntimeBackend',
  pytorch: 'optimum_benchmark.backends.pytorch.backend.PyTorchBackend',
  torchscript: 'optimum_benchmark.backends.pytorch.backend.PyTorchBackend',
};

/** The benchmark_config.json of one repetition of a run. */
function optimumConfig(x: ExportRun, rep: RepetitionResult, instances: readonly InstanceResult[]): Tree {
  const r = x.result;
  const env = r.environment;
  const backend = (r.backend ?? {}) as Tree;
  const backendName = String(cfgValue(r, 'backend.name') ?? backend.name ?? 'unknown');
  const model = (backend.model ?? {}) as Tree;
  const hub = isTree(model.hub) ? model.hub : null;
  const modelId = hub && typeof hub.id === 'string' ? hub.id : String(cfgValue(r, 'model.name') ?? model.name ?? '');
  const plan = (r.plan ?? {}) as { binding?: string; instances?: { cpus?: number[]; memory_nodes?: number[] }[] };
  const cpus = (plan.instances ?? []).flatMap((i) => i.cpus ?? []);
  const nodes = [...new Set((plan.instances ?? []).flatMap((i) => i.memory_nodes ?? []))];
  const runtime = isTree(env.runtime) ? env.runtime : {};
  return {
    name: r.overrides.length > 0 ? r.overrides.join(',') : String(cfgValue(r, 'experiment_name') ?? 'bench'),
    backend: {
      name: backendName,
      version: backend.version ?? null,
      _target_: TARGETS[backendName] ?? `bench.backends.${backendName}`,
      task: 'feature-extraction',
      library: 'transformers',
      model_type: cfgValue(r, 'model.model_type') ?? null,
      model: modelId,
      processor: modelId,
      device: 'cpu',
      device_ids: null,
      seed: cfgValue(r, 'seed') ?? null,
      inter_op_num_threads: cfgValue(r, 'backend.num_interop_threads') ?? null,
      intra_op_num_threads: instances[0]?.threads ?? null,
      model_kwargs: {},
      processor_kwargs: {},
      no_weights: model.source === 'synthetic' || cfgValue(r, 'model.source') === 'synthetic',
    },
    scenario: {
      name: 'inference',
      _target_: 'optimum_benchmark.scenarios.inference.scenario.InferenceScenario',
      iterations: cfgValue(r, 'scenario.min_iterations') ?? null,
      duration: cfgValue(r, 'benchmark_duration') ?? null,
      warmup_runs: cfgValue(r, 'warmup_runs') ?? null,
      input_shapes: {
        // optimum-benchmark's batch is one forward's: each instance's (the run's total is in bench.*).
        batch_size: instances[0]?.batch_size ?? cfgValue(r, 'batch_size'),
        sequence_length: cfgValue(r, 'sequence_length'),
      },
      new_tokens: null,
      memory: true,
      latency: true,
      energy: false,
      forward_kwargs: {},
      generate_kwargs: {},
      call_kwargs: {},
    },
    launcher: {
      name: 'process',
      _target_: 'optimum_benchmark.launchers.process.launcher.ProcessLauncher',
      device_isolation: false,
      device_isolation_action: null,
      numactl: plan.binding === 'numactl',
      numactl_kwargs: plan.binding === 'numactl' ? { physcpubind: cpus.join(','), membind: nodes.join(',') } : {},
      start_method: 'spawn',
    },
    environment: {
      cpu: env.cpu_model ?? null,
      cpu_count: env.logical_cpus ?? null,
      cpu_ram_mb: typeof env.memory_gib === 'number' ? (env.memory_gib * 2 ** 30) / 1e6 : null,
      system: 'Linux',
      machine: env.arch ?? null,
      platform: env.os ?? null,
      processor: env.arch ?? null,
      python_version: runtime.python_version ?? null,
      gpu: [],
      gpu_count: 0,
      gpu_vram_mb: 0,
      optimum_benchmark_version: null,
      optimum_benchmark_commit: null,
      transformers_version: null,
      bench: {
        version: r.bench_version,
        source: x.row.source,
        job: x.row.job,
        status: r.status,
        overrides: r.overrides,
        repetition: rep.repetition,
        repetitions: x.repetitions.length,
        disturbed: rep.disturbed,
        instances: instances.length,
        // As bench compare matches runs: dotted keys, the planner's values where the config left them null.
        config: x.row.config,
        environment: env,
      },
    },
    print_report: false,
    log_report: true,
  };
}

/** The benchmark_report.json of one repetition. */
function optimumReport(rep: RepetitionResult, instances: readonly InstanceResult[]): Tree {
  const pooled = instances.flatMap((i) => i.latencies_ms);
  const rss = instances.reduce((s, i) => s + i.peak_rss_mb, 0);
  const report: Tree = {
    load_model: target(latencyBlock(instances.map((i) => i.load_session_ms)), null, null),
    first_forward: target(latencyBlock(instances.map((i) => i.first_inference_ms)), null, null),
    forward: target(latencyBlock(pooled), rep.aggregate?.throughput_samples_per_s ?? null, memoryBlock(rss)),
  };
  if (instances.length > 1)
    for (const i of instances)
      report[`forward_instance_${i.index}`] = target(
        latencyBlock(i.latencies_ms),
        i.throughput_samples_per_s,
        memoryBlock(i.peak_rss_mb),
      );
  return report;
}

function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  // optimum-benchmark writes its JSON with indent=4.
  writeFileAtomic(path, `${JSON.stringify(value, null, 4)}\n`);
}

/** A folder name from a row's source (`.` for a single run). */
const folderOf = (source: string): string[] =>
  source === '.' || source === '' ? [] : source.split(/[\\/]/).filter((p) => p !== '' && p !== '.' && p !== '..');

export function exportOptimumBenchmark(set: ResultSet, out: string): ExportOutcome {
  const { runs, skipped } = exportableRuns(set);
  const files: string[] = [];
  let repetitions = 0;
  for (const x of runs) {
    for (const { rep, instances } of x.repetitions) {
      const parts = [...folderOf(x.row.source), ...(x.repetitions.length > 1 ? [`repetition-${rep.repetition}`] : [])];
      const dir = join(out, ...parts);
      const config = optimumConfig(x, rep, instances);
      const report = optimumReport(rep, instances);
      for (const [name, value] of [
        ['benchmark_config.json', config],
        ['benchmark_report.json', report],
        ['benchmark.json', { config, report }],
      ] as const) {
        writeJson(join(dir, name), value);
        files.push(join(dir, name));
      }
      repetitions++;
    }
  }
  return { format: 'optimum-benchmark', out, runs: runs.length, repetitions, files, skipped };
}

interface OptimumFile {
  readonly path: string;
  readonly config: Tree;
  readonly report: Tree;
}

/** A benchmark.json with an encoder's `forward` target, or why it is not one. */
function asOptimumFile(value: unknown, path: string): OptimumFile | string {
  if (!isTree(value) || !isTree(value.config) || !isTree(value.report))
    return 'not an optimum-benchmark benchmark.json (expected {config, report})';
  const forward = value.report.forward;
  if (!isTree(forward) || !isTree(forward.latency) || !Array.isArray(forward.latency.values))
    return `no forward target with latency values (found: ${Object.keys(value.report).join(', ') || 'none'}); bench reads encoder (inference) reports`;
  return { path, config: value.config as Tree, report: value.report as Tree };
}

interface LatencyFigures {
  readonly count: number;
  readonly p50Ms: number | null;
  readonly meanMs: number | null;
  readonly p99Ms: number | null;
  readonly valuesMs: number[];
}

function latencyOf(t: unknown): LatencyFigures {
  const l = isTree(t) && isTree(t.latency) ? t.latency : {};
  const values = Array.isArray(l.values) ? l.values.filter((v): v is number => typeof v === 'number') : [];
  const ms = (v: unknown): number | null => (num(v) === null ? null : num(v)! * 1000);
  return {
    count: num(l.count) ?? values.length,
    p50Ms: ms(l.p50),
    meanMs: ms(l.mean),
    p99Ms: ms(l.p99),
    valuesMs: values.map((v) => v * 1000),
  };
}

/** A file's targets per instance (forward_instance_N), or its forward target when it has none. */
function instanceFigures(f: OptimumFile): LatencyFigures[] {
  const perInstance = Object.keys(f.report)
    .filter((k) => /^forward_instance_\d+$/.test(k))
    .map((k) => latencyOf(f.report[k]));
  return perInstance.length > 0 ? perInstance : [latencyOf(f.report.forward)];
}

/** One optimum-benchmark file as one repetition: the worst instance's figures (the study's latency). */
function optimumRepetition(f: OptimumFile, repetition: number, disturbed: boolean): RepetitionFigures {
  const figures = instanceFigures(f);
  const worst = figures.reduce((w, x) => ((x.p50Ms ?? -Infinity) > (w.p50Ms ?? -Infinity) ? x : w));
  const forward = f.report.forward as Tree;
  return {
    repetition,
    status: 'ok',
    latency_p50_ms: worst.p50Ms,
    latency_mean_ms: largest(figures.map((x) => x.meanMs)),
    throughput_samples_per_s: isTree(forward.throughput) ? num(forward.throughput.value) : null,
    disturbed,
    latencies_ms: worst.valuesMs.length > 0 ? worst.valuesMs : null,
  };
}

/** An optimum-benchmark config mapped onto bench's keys, where the meaning is the same. */
function mappedOptimumConfig(c: Tree): Record<string, unknown> {
  const backend = isTree(c.backend) ? c.backend : {};
  const scenario = isTree(c.scenario) ? c.scenario : {};
  const shapes = isTree(scenario.input_shapes) ? scenario.input_shapes : {};
  const out: Record<string, unknown> = {};
  const put = (key: string, v: unknown): void => {
    if (v !== undefined && v !== null) out[key] = v;
  };
  put('backend.name', backend.name);
  put('model.name', backend.model);
  put('batch_size', shapes.batch_size);
  put('sequence_length', shapes.sequence_length);
  put('warmup_runs', scenario.warmup_runs);
  put('benchmark_duration', scenario.duration);
  const intra = num(backend.intra_op_num_threads);
  if (intra !== null && intra > 0) put('backend.num_threads', intra);
  return out;
}

const benchBlock = (f: OptimumFile): Tree | null =>
  isTree(f.config.environment) && isTree(f.config.environment.bench) ? f.config.environment.bench : null;

/** The files of one run as a row: its repetitions, and the figures across the ones it uses. */
function rowOfFiles(files: readonly OptimumFile[], source: string): ResultRow {
  const first = files[0]!;
  const env = isTree(first.config.environment) ? first.config.environment : {};
  const b = benchBlock(first);
  const reps = files
    .map((f, k) => {
      const fb = benchBlock(f) ?? {};
      return { f, fig: optimumRepetition(f, num(fb.repetition) ?? k + 1, fb.disturbed === true) };
    })
    .sort((x, y) => x.fig.repetition - y.fig.repetition);
  const figures = reps.map((x) => x.fig);
  const used = new Set(usedOf(figures));
  const usedFiles = reps.filter((x) => used.has(x.fig)).map((x) => x.f);
  const config = b && isTree(b.config) ? { ...b.config } : mappedOptimumConfig(first.config);
  const pooled = usedFiles.flatMap((f) => latencyOf(f.report.forward).valuesMs);
  const scenario = isTree(first.config.scenario) ? first.config.scenario : {};
  const shapes = isTree(scenario.input_shapes) ? scenario.input_shapes : {};
  const instances = b ? num(b.instances) : 1;
  const perForward = num(shapes.batch_size);
  return {
    source,
    job: b ? num(b.job) : null,
    status: b && typeof b.status === 'string' ? b.status : 'ok',
    overrides: b && Array.isArray(b.overrides) ? b.overrides.map(String) : [],
    config,
    environment: b && isTree(b.environment) ? b.environment : env,
    result: null,
    scenario: typeof config['scenario.name'] === 'string' ? config['scenario.name'] : '',
    latency_measure: 'inference',
    dispatch: null,
    instances,
    // bench's own config has the cores the planner gave; another tool's file its intra-op threads.
    cores_per_instance: num(config['launcher.cores_per_instance']) ?? num(config['backend.num_threads']) ?? null,
    batch_size: perForward !== null && instances !== null ? perForward * instances : perForward,
    latency_mean_ms: across(figures, (r) => r.latency_mean_ms),
    latency_p50_ms: across(figures, (r) => r.latency_p50_ms),
    // The worst instance's p99, across the repetitions used; withheld, as bench withholds it, unless
    // every instance's calls support it (stats/summary.ts).
    latency_p99_ms: usedFiles.every((f) => instanceFigures(f).every((x) => x.count >= minSamplesFor('p99')))
      ? geometricMeanOrNull(usedFiles.map((f) => largest(instanceFigures(f).map((x) => x.p99Ms))))
      : null,
    latency_std_ms: pooled.length > 1 ? sampleStd(pooled) : null,
    latency_count: pooled.length,
    throughput_samples_per_s: across(figures, (r) => r.throughput_samples_per_s),
    latencies_ms: pooled.length > 0 ? pooled : null,
    repetitions: figures,
    error: null,
  };
}

function geometricMeanOrNull(xs: readonly (number | null)[]): number | null {
  const ok = xs.filter((x): x is number => x !== null && x > 0);
  return ok.length === 0 ? null : geometricMean(ok);
}

/** The benchmark.json files at or below `path` (a file, or a folder searched five levels down). */
export function optimumFilesAt(path: string): string[] {
  if (statSync(path, { throwIfNoEntry: false })?.isFile()) return [path];
  const out: string[] = [];
  findResults(path, 5, out, 'benchmark.json');
  return out;
}

/**
 * optimum-benchmark results read as a result set. The files of one run (one folder, or its
 * repetition-N folders, as bench export writes them) make one row with their repetitions; a file
 * another tool wrote is a row of its own. A file that is not an encoder's report is skipped, with a
 * warning.
 */
export function loadOptimumBenchmark(path: string, files: readonly string[]): ResultSet {
  const root = statSync(path).isFile() ? dirname(path) : path;
  const groups = new Map<string, OptimumFile[]>();
  const warnings: string[] = [];
  for (const file of files) {
    const f = asOptimumFile(readJson(file), file);
    if (typeof f === 'string') {
      warnings.push(`${relative(root, file) || file}: ${f}`);
      continue;
    }
    const folder = dirname(file);
    const run = benchBlock(f) && /^repetition-\d+$/.test(basename(folder)) ? dirname(folder) : folder;
    groups.set(run, [...(groups.get(run) ?? []), f]);
  }
  if (groups.size === 0)
    throw new ReportInputError(`${path}: no optimum-benchmark report bench can read (${warnings.join('; ')})`);
  const rows = [...groups.entries()].map(([run, fs]) => rowOfFiles(fs, relative(root, run) || '.'));
  return { path: root, kind: 'collection', rows, warnings };
}

// ---------------------------------------------------------------------------------------------
// tune-csv: the study's consolidated CSV

/** The study's columns, in its order (results.csv's, then its config's), then bench's. */
const STUDY_COLUMNS = [
  'id',
  'nb_forwards',
  'throughput',
  'latency_mean',
  'latency_std',
  'latency_50',
  'latency_90',
  'latency_95',
  'latency_99',
  'latency_999',
  'experiment_name',
  'experiment_id',
  'instance_id',
  'model',
  'batch_size',
  'sequence_length',
  'benchmark_duration',
  'warmup_runs',
  'device',
  'precision',
  'num_instances',
  'num_core_per_instance',
  'use_huge_page',
  'malloc',
  'backend.name',
  'backend.version',
  'backend.num_threads',
  'backend.num_interops_threads',
  'numactl.enabled',
  'numactl.cores',
  'numactl.membind',
  'is_valid',
] as const;

const BENCH_COLUMNS = [
  'bench.source',
  'bench.job',
  'bench.repetition',
  'bench.disturbed',
  'bench.status',
  'bench.throughput_samples_per_s',
] as const;

/** The launch id the study gives each launcher invocation (8 hex digits): here, one per run and repetition. */
const experimentId = (r: RunResult, repetition: number): string =>
  createHash('sha1').update(`${r.output_dir}#${r.started_at}#${repetition}`).digest('hex').slice(0, 8);

const ns = (ms: number): number => Math.round(ms * 1e6);

/** The consolidated CSV's rows of one run: a row per instance of each ok repetition. */
function tuneRows(x: ExportRun, firstId: number): Record<string, unknown>[] {
  const r = x.result;
  const env = r.environment;
  const config = x.row.config;
  const plan = (r.plan ?? {}) as {
    binding?: string;
    instances?: { index: number; cpus?: number[]; memory_nodes?: number[] }[];
  };
  const malloc = String(cfgValue(r, 'launcher.malloc') ?? 'glibc');
  const backend = (r.backend ?? {}) as Tree;
  let id = firstId;
  return x.repetitions.flatMap(({ rep, instances }) =>
    instances.map((i) => {
      const l = i.latency;
      const planned = plan.instances?.find((p) => p.index === i.index);
      return {
        id: id++,
        nb_forwards: i.iterations,
        throughput: i.forwards_per_s,
        latency_mean: ns(i.latency.mean_ms),
        latency_std: ns(populationStd(i.latencies_ms)),
        latency_50: ns(l.p50_ms),
        latency_90: ns(l.p90_ms),
        latency_95: ns(l.p95_ms),
        latency_99: ns(l.p99_ms),
        latency_999: ns(l.p999_ms),
        experiment_name: cfgValue(r, 'experiment_name') ?? 'default',
        experiment_id: experimentId(r, rep.repetition),
        instance_id: i.index,
        model: cfgValue(r, 'model.name') ?? '',
        batch_size: i.batch_size,
        sequence_length: cfgValue(r, 'sequence_length') ?? '',
        benchmark_duration: cfgValue(r, 'benchmark_duration') ?? '',
        warmup_runs: cfgValue(r, 'warmup_runs') ?? '',
        device: 'cpu',
        precision: cfgValue(r, 'model.dtype') === 'int8' ? 'int8' : 'float32',
        num_instances: instances.length,
        num_core_per_instance: planned?.cpus?.length ?? i.threads,
        use_huge_page: env.transparent_hugepages ?? '',
        malloc: malloc === 'glibc' ? 'std' : malloc,
        'backend.name': cfgValue(r, 'backend.name') ?? backend.name ?? '',
        'backend.version': backend.version ?? '',
        'backend.num_threads': i.threads,
        'backend.num_interops_threads': cfgValue(r, 'backend.num_interop_threads') ?? '',
        'numactl.enabled': plan.binding === 'numactl',
        'numactl.cores': (planned?.cpus ?? i.cpus ?? []).join(','),
        'numactl.membind': (planned?.memory_nodes ?? []).join(','),
        // The study's check: every planned instance gave its results.
        is_valid: instances.length === (plan.instances?.length ?? instances.length),
        'bench.source': x.row.source,
        'bench.job': x.row.job ?? '',
        'bench.repetition': rep.repetition,
        'bench.disturbed': rep.disturbed,
        'bench.status': r.status,
        'bench.throughput_samples_per_s': rep.aggregate?.throughput_samples_per_s ?? '',
        ...Object.fromEntries(Object.entries(config).map(([k, v]) => [`config.${k}`, v])),
      };
    }),
  );
}

export function exportTuneCsv(set: ResultSet, out: string): ExportOutcome {
  const { runs, skipped } = exportableRuns(set);
  if (runs.length === 0) return { format: 'tune-csv', out, runs: 0, repetitions: 0, files: [], skipped };
  const rows: Record<string, unknown>[] = [];
  for (const x of runs) rows.push(...tuneRows(x, rows.length));
  const text = toCsv(rows, [...STUDY_COLUMNS, ...BENCH_COLUMNS]);
  mkdirSync(dirname(out), { recursive: true });
  writeFileAtomic(out, text);
  const repetitions = runs.reduce((s, x) => s + x.repetitions.length, 0);
  return { format: 'tune-csv', out, runs: runs.length, repetitions, files: [out], skipped };
}

/** Whether CSV records are the study's consolidated CSV (rather than bench's summary or results CSV). */
export function isTuneCsv(columns: readonly string[]): boolean {
  return ['latency_50', 'experiment_id', 'instance_id', 'nb_forwards'].every((c) => columns.includes(c));
}

/** A cell of the study's CSV: pandas' fillna("N/A") and empty cells are no value. */
const present = (v: string | undefined): v is string => v !== undefined && v !== '' && v !== 'N/A' && v !== 'nan';

/** The study's config columns mapped onto bench's keys, where the meaning is the same. */
function mappedStudyConfig(rec: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (key: string, v: string | undefined): void => {
    if (present(v)) out[key] = v;
  };
  put('backend.name', rec['backend.name']);
  put('model.name', rec.model);
  // The study gave every instance its own batch: bench's batch_size per instance, not split.
  put('batch_size', rec.batch_size);
  if (present(rec.num_instances)) out['launcher.split_batch'] = false;
  put('sequence_length', rec.sequence_length);
  put('warmup_runs', rec.warmup_runs);
  put('launcher.num_instances', rec.num_instances);
  if ((num(rec['backend.num_threads']) ?? 0) > 0) put('backend.num_threads', rec['backend.num_threads']);
  if (present(rec.malloc)) out['launcher.malloc'] = rec.malloc === 'std' ? 'glibc' : rec.malloc;
  return out;
}

/** Columns that are measurements or launch bookkeeping, not the config that makes runs alike. */
const RESULT_COLUMNS = new Set<string>([
  ...STUDY_COLUMNS.slice(0, 10),
  'drift_mean',
  'drift_std',
  'experiment_id',
  'instance_id',
  'is_valid',
]);

/** The config columns of a record (bench's own `config.*`, else the study's), as a grouping key. */
const configKey = (rec: Record<string, string>): string =>
  JSON.stringify(
    Object.entries(rec)
      .filter(([k]) => !RESULT_COLUMNS.has(k) && !k.startsWith('bench.'))
      .sort(([a], [b]) => a.localeCompare(b)),
  );

/**
 * The study's consolidated CSV read as a result set. A launch is the rows of one experiment_id and
 * one config (a --multirun launch shares its experiment_id across its jobs); each launch is a
 * repetition, its latency the worst instance's, its throughput the instances' sum (forwards/s x
 * batch). The launches of one bench run (bench.source), or from the study of one config, make a row.
 */
export function loadTuneCsv(path: string, records: readonly Record<string, string>[]): ResultSet {
  const launches = new Map<string, Record<string, string>[]>();
  for (const rec of records) {
    const id = `${rec.experiment_id ?? ''}\u0000${configKey(rec)}`;
    launches.set(id, [...(launches.get(id) ?? []), rec]);
  }
  const groupOf = (recs: Record<string, string>[]): string => {
    const first = recs[0]!;
    return present(first['bench.source'])
      ? `bench:${first['bench.source']}#${first['bench.job'] ?? ''}`
      : configKey(first);
  };
  const groups = new Map<string, Record<string, string>[][]>();
  for (const recs of launches.values()) groups.set(groupOf(recs), [...(groups.get(groupOf(recs)) ?? []), recs]);
  const rows = [...groups.values()].map((group, g): ResultRow => {
    const figures = group.map((recs, k) => {
      const worst = recs.reduce((w, x) =>
        (num(x.latency_50) ?? -Infinity) > (num(w.latency_50) ?? -Infinity) ? x : w,
      );
      const sum = recs.reduce((s, x) => s + (num(x.throughput) ?? 0) * (num(x.batch_size) ?? 0), 0);
      const ms = (v: string | undefined): number | null => (num(v) === null ? null : num(v)! / 1e6);
      const fig: RepetitionFigures = {
        repetition: num(recs[0]!['bench.repetition']) ?? k + 1,
        status: recs.every((x) => !/^false$/i.test(x.is_valid ?? '')) ? 'ok' : 'errored',
        latency_p50_ms: ms(worst.latency_50),
        latency_mean_ms: largest(recs.map((x) => ms(x.latency_mean))),
        throughput_samples_per_s: num(recs[0]!['bench.throughput_samples_per_s']) ?? sum,
        disturbed: recs[0]!['bench.disturbed'] === 'true',
        latencies_ms: null,
      };
      // Withheld, as bench withholds it, unless every instance's calls support it (stats/summary.ts).
      const supported = recs.every((x) => (num(x.nb_forwards) ?? 0) >= minSamplesFor('p99'));
      return { recs, fig, p99: supported ? largest(recs.map((x) => ms(x.latency_99))) : null };
    });
    figures.sort((a, b) => a.fig.repetition - b.fig.repetition);
    const reps = figures.map((x) => x.fig);
    const used = new Set(usedOf(reps));
    const usedLaunches = figures.filter((x) => used.has(x.fig));
    const first = group[0]!;
    const rec = first[0]!;
    const config: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rec)) if (k.startsWith('config.')) config[k.slice('config.'.length)] = v;
    const mapped = Object.keys(config).length > 0 ? config : mappedStudyConfig(rec);
    const cores = num(rec.num_core_per_instance);
    const status = present(rec['bench.status']) ? rec['bench.status'] : used.size > 0 ? 'ok' : 'errored';
    return {
      source: present(rec['bench.source']) ? rec['bench.source'] : `${basename(path)}:${g + 1}`,
      job: num(rec['bench.job']),
      status,
      overrides: [],
      config: mapped,
      environment: null,
      result: null,
      scenario: typeof mapped['scenario.name'] === 'string' ? mapped['scenario.name'] : '',
      latency_measure: 'inference',
      dispatch: null,
      instances: first.length,
      cores_per_instance: cores !== null && cores > 0 ? cores : null,
      batch_size: first.reduce((s, x) => s + (num(x.batch_size) ?? 0), 0),
      latency_mean_ms: across(reps, (r) => r.latency_mean_ms),
      latency_p50_ms: across(reps, (r) => r.latency_p50_ms),
      latency_p99_ms: usedLaunches.every((x) => x.p99 !== null)
        ? geometricMeanOrNull(usedLaunches.map((x) => x.p99))
        : null,
      latency_std_ms: null,
      latency_count: usedLaunches.reduce((s, x) => s + x.recs.reduce((t, r) => t + (num(r.nb_forwards) ?? 0), 0), 0),
      throughput_samples_per_s: across(reps, (r) => r.throughput_samples_per_s),
      latencies_ms: null,
      repetitions: reps,
      error: null,
    };
  });
  return { path, kind: 'csv', rows, warnings: [] };
}

/** Where `bench export` writes by default: beside the input. */
export function defaultExportPath(input: string, format: ExportFormat): string {
  const p = resolve(input);
  const base = existsSync(p) && statSync(p).isFile() ? dirname(p) : p;
  return format === 'optimum-benchmark' ? join(base, 'optimum-benchmark') : join(base, 'consolidated.csv');
}
