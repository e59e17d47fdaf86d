/**
 * `bench export`: a sweep in optimum-benchmark's shape and in the study's consolidated CSV, read
 * back by `bench compare` with no significant difference from the original; files other tools wrote
 * read as result sets.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadResultSet } from '../../src/report/load.js';
import { compareSets } from '../../src/report/compare.js';
import { percentile } from '../../src/stats/summary.js';
import { bench, freshDir, onlyEntry } from '../helpers.js';

const ENV = { BENCH_CACHE_DIR: freshDir('bench-cache-') };
const MOCK = [
  'backend=mock',
  'model=bert-tiny',
  'warmup_runs=1',
  'benchmark_duration=0.2',
  'scenario.min_iterations=3',
];

interface Latency {
  unit: string;
  values: number[];
  count: number;
  total: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  stdev: number;
  stdev_: number;
}
interface Target {
  latency: Latency;
  throughput: { unit: string; value: number } | null;
  memory: { unit: string; max_ram: number } | null;
}
interface Instance {
  index: number;
  repetition: number;
  latencies_ms: number[];
  latency: { p50_ms: number; mean_ms: number };
  iterations: number;
  peak_rss_mb: number;
  throughput_samples_per_s: number;
}
interface Result {
  instances: Instance[];
  repetitions: { repetition: number; aggregate: { throughput_samples_per_s: number; batch_size: number } }[];
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'results');

/**
 * A committed result set (repetitions, some disturbed in reps-disturbed) exported and read back:
 * compared with the original it gives what the original compared with itself gives, row by row.
 */
function expectRoundTrip(fixture: string, format: string, digits: number): void {
  const original = join(FIXTURES, fixture);
  const out = join(freshDir('export-'), format === 'tune-csv' ? 'consolidated.csv' : 'ob');
  const r = bench(['export', original, '--format', format, '--out', out]);
  expect(r.code, r.stderr).toBe(0);
  const a = loadResultSet(original);
  const back = loadResultSet(out);
  const self = compareSets(a, a);
  const cmp = compareSets(a, back);
  expect(cmp.unmatched).toEqual([]);
  expect(cmp.matched.map((m) => m.verdict)).toEqual(self.matched.map((m) => m.verdict));
  for (const m of cmp.matched) {
    expect(m.ratio).toBeCloseTo(1, digits);
    expect(m.throughput_ratio).toBeCloseTo(1, 9);
  }
  for (const row of a.rows) {
    const twin = back.rows.find((b) => b.source === row.source)!;
    expect(twin.repetitions.map((x) => [x.repetition, x.disturbed])).toEqual(
      row.repetitions.map((x) => [x.repetition, x.disturbed]),
    );
    expect(twin.latency_p50_ms).toBeCloseTo(row.latency_p50_ms!, digits);
    expect(twin.latency_mean_ms).toBeCloseTo(row.latency_mean_ms!, digits);
    expect(twin.throughput_samples_per_s).toBeCloseTo(row.throughput_samples_per_s!, 6);
    expect(twin.latency_p99_ms).toBeCloseTo(row.latency_p99_ms!, digits);
  }
}

let sweep = '';
let results: Result[] = [];

beforeAll(() => {
  const r = bench([...MOCK, '-m', 'launcher.num_instances=1,2', 'repetitions=3'], { env: ENV });
  expect(r.code, r.stderr).toBe(0);
  sweep = onlyEntry(onlyEntry(join(r.cwd, 'multirun')));
  results = ['0', '1'].map((job) => readJson<Result>(join(sweep, job, 'results.json')));
}, 120_000);

describe('export to optimum-benchmark', () => {
  it("writes benchmark_config/report/benchmark.json per run and repetition, in optimum-benchmark's fields and units", () => {
    const out = join(sweep, 'ob');
    const r = bench(['export', sweep, '--format', 'optimum-benchmark', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('bench export: 2 runs (18 files) as optimum-benchmark');
    for (const job of ['0', '1'])
      expect(readdirSync(join(out, job)).sort()).toEqual(['repetition-1', 'repetition-2', 'repetition-3']);
    const files = readdirSync(join(out, '1', 'repetition-2')).sort();
    expect(files).toEqual(['benchmark.json', 'benchmark_config.json', 'benchmark_report.json']);

    // Job 1, two instances: forward pools both; forward_instance_N is each one's own.
    const doc = readJson<{ config: Record<string, Record<string, unknown>>; report: Record<string, Target> }>(
      join(out, '1', 'repetition-2', 'benchmark.json'),
    );
    expect(readJson(join(out, '1', 'repetition-2', 'benchmark_report.json'))).toEqual(doc.report);
    expect(Object.keys(doc.report)).toEqual([
      'load_model',
      'first_forward',
      'forward',
      'forward_instance_0',
      'forward_instance_1',
    ]);
    const mine = results[1]!.instances.filter((i) => i.repetition === 2);
    const forward = doc.report.forward!;
    expect(forward.latency.unit).toBe('s');
    expect(forward.latency.count).toBe(mine[0]!.iterations + mine[1]!.iterations);
    const own = doc.report.forward_instance_1!.latency;
    expect(own.values).toEqual(mine[1]!.latencies_ms.map((v) => v / 1000));
    expect(own.p50).toBeCloseTo(mine[1]!.latency.p50_ms / 1000, 12);
    expect(own.mean).toBeCloseTo(mine[1]!.latency.mean_ms / 1000, 12);
    // Population stdev (NumPy's np.std) and its CV in %.
    const m = own.values.reduce((s, v) => s + v, 0) / own.count;
    const sd = Math.sqrt(own.values.reduce((s, v) => s + (v - m) ** 2, 0) / own.count);
    expect(own.stdev).toBeCloseTo(sd, 12);
    expect(own.stdev_).toBeCloseTo((100 * sd) / m, 9);
    expect(own.p99).toBeCloseTo(
      percentile(
        [...own.values].sort((a, b) => a - b),
        0.99,
      ),
      12,
    );
    expect(forward.throughput).toEqual({
      unit: 'samples/s',
      value: results[1]!.repetitions[1]!.aggregate.throughput_samples_per_s,
    });
    expect(forward.memory!.unit).toBe('MB');
    expect(forward.memory!.max_ram).toBeCloseTo(((mine[0]!.peak_rss_mb + mine[1]!.peak_rss_mb) * 2 ** 20) / 1e6, 6);
    expect(doc.report.load_model!.latency.count).toBe(2);
    expect(doc.config).toMatchObject({
      backend: { name: 'mock', device: 'cpu', task: 'feature-extraction', model: 'bert-tiny' },
      // One forward's batch (each instance's); the run's total is bench's.
      scenario: { name: 'inference', input_shapes: { batch_size: 1, sequence_length: 128 }, warmup_runs: 1 },
      launcher: { name: 'process' },
    });
    expect(doc.config.environment).toMatchObject({ cpu_count: expect.any(Number), bench: { repetition: 2 } });
  });

  it.each(['reps-base', 'reps-disturbed'])(
    'reads %s back as the original: the same verdicts, figures and repetitions',
    (fixture) => expectRoundTrip(fixture, 'optimum-benchmark', 9),
  );
});

describe('export to the study consolidated CSV', () => {
  it('writes a row per instance of each repetition: latency in ns, throughput in forwards/s, the study config columns', () => {
    const out = join(sweep, 'consolidated.csv');
    const r = bench(['export', sweep, '--format', 'tune-csv']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
    // Job 0: 3 repetitions x 1 instance; job 1: 3 x 2.
    expect(rows).toHaveLength(9);
    expect(Object.keys(rows[0]!).slice(0, 13)).toEqual([
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
    ]);
    const job1 = rows.filter((x) => x['bench.source'] === '1');
    expect(new Set(job1.map((x) => x.experiment_id)).size).toBe(3);
    expect(job1.every((x) => /^[0-9a-f]{8}$/.test(x.experiment_id!))).toBe(true);
    const row = job1.find((x) => x['bench.repetition'] === '3' && x.instance_id === '0')!;
    const inst = results[1]!.instances.find((i) => i.repetition === 3 && i.index === 0)!;
    expect(Number(row.latency_50)).toBe(Math.round(inst.latency.p50_ms * 1e6));
    expect(Number(row.nb_forwards)).toBe(inst.iterations);
    expect(row).toMatchObject({ num_instances: '2', batch_size: '1', malloc: 'std', 'backend.name': 'mock' });
  });

  it.each(['reps-base', 'reps-disturbed'])(
    'reads %s back as the original: the same verdicts, figures and repetitions',
    // Latencies are whole nanoseconds in the study's CSV.
    (fixture) => expectRoundTrip(fixture, 'tune-csv', 5),
  );
});

describe("other tools' files", () => {
  const dir = freshDir('foreign-');
  /** A benchmark.json as optimum-benchmark itself writes it (no bench block). */
  const optimum = (p50: number): unknown => {
    const values = [p50 * 0.98, p50, p50 * 1.02, p50 * 1.01, p50 * 0.99];
    return {
      config: {
        name: 'cpu_onnxruntime_bert',
        backend: { name: 'onnxruntime', model: 'google-bert/bert-base-uncased', intra_op_num_threads: 4 },
        scenario: {
          name: 'inference',
          warmup_runs: 10,
          duration: 10,
          input_shapes: { batch_size: 1, sequence_length: 128 },
        },
        launcher: { name: 'process' },
        environment: { cpu: 'Some CPU', cpu_count: 8 },
      },
      report: {
        forward: {
          memory: null,
          latency: {
            unit: 's',
            values,
            count: 5,
            total: 0,
            mean: p50,
            p50,
            p90: p50,
            p95: p50,
            p99: p50,
            stdev: 0,
            stdev_: 0,
          },
          throughput: { unit: 'samples/s', value: 1 / p50 },
          energy: null,
          efficiency: null,
        },
      },
    };
  };

  it('an optimum-benchmark benchmark.json is a run: its shapes and threads mapped to bench keys', () => {
    mkdirSync(join(dir, 'a'), { recursive: true });
    mkdirSync(join(dir, 'b'), { recursive: true });
    writeFileSync(join(dir, 'a', 'benchmark.json'), JSON.stringify(optimum(0.02)));
    writeFileSync(join(dir, 'b', 'benchmark.json'), JSON.stringify(optimum(0.03)));
    const a = loadResultSet(join(dir, 'a', 'benchmark.json'));
    expect(a.rows).toHaveLength(1);
    expect(a.rows[0]).toMatchObject({
      latency_p50_ms: 20,
      throughput_samples_per_s: 50,
      config: { 'backend.name': 'onnxruntime', batch_size: 1, sequence_length: 128, 'backend.num_threads': 4 },
    });
    const cmp = compareSets(a, loadResultSet(join(dir, 'b')));
    expect(cmp.matched).toHaveLength(1);
    expect(cmp.matched[0]!.ratio).toBeCloseTo(1.5, 9);
    // One repetition per side: the noise floor decides, and 50% is beyond it.
    expect(cmp.matched[0]!.verdict).toBe('slower');
  });

  it("the study's consolidated CSV: each experiment_id a repetition, the worst instance its latency, the sum its throughput", () => {
    const header =
      'id,nb_forwards,throughput,latency_mean,latency_std,latency_50,latency_90,latency_95,latency_99,latency_999,experiment_name,experiment_id,instance_id,model,batch_size,sequence_length,backend.name,num_instances,malloc,is_valid';
    const line = (id: number, exp: string, inst: number, p50Ms: number, fps: number): string =>
      `${id},100,${fps},${p50Ms * 1e6},1,${p50Ms * 1e6},1,1,1,1,default,${exp},${inst},bert-base-cased,2,128,pytorch,2,tcmalloc,True`;
    const file = join(dir, 'consolidated_x_2021-04-20T10-00.csv');
    writeFileSync(
      file,
      [
        header,
        line(0, 'aaaa0001', 0, 10, 90),
        line(1, 'aaaa0001', 1, 12, 80),
        line(2, 'bbbb0002', 0, 11, 85),
        line(3, 'bbbb0002', 1, 11.5, 86),
      ].join('\n'),
    );
    const set = loadResultSet(file);
    expect(set.rows).toHaveLength(1);
    const row = set.rows[0]!;
    expect(row.instances).toBe(2);
    expect(row.batch_size).toBe(4);
    expect(row.repetitions.map((r) => [r.latency_p50_ms, r.throughput_samples_per_s])).toEqual([
      [12, 90 * 2 + 80 * 2],
      [11.5, 85 * 2 + 86 * 2],
    ]);
    // Each instance had its own batch of 2: bench's batch_size per instance, not split.
    expect(row.config).toMatchObject({
      'backend.name': 'pytorch',
      'model.name': 'bert-base-cased',
      'launcher.malloc': 'tcmalloc',
      batch_size: '2',
      'launcher.split_batch': false,
    });
    // A --multirun launch shares its experiment_id across its jobs: each config is a row of its own.
    const multirun = join(dir, 'consolidated_multirun.csv');
    const job = (id: number, inst: number, seq: number, p50Ms: number): string =>
      line(id, 'cccc0003', inst, p50Ms, 50).replace(',2,128,', `,2,${seq},`);
    writeFileSync(
      multirun,
      [header, job(0, 0, 32, 5), job(1, 1, 32, 6), job(2, 0, 128, 20), job(3, 1, 128, 21)].join('\n'),
    );
    const jobs = loadResultSet(multirun).rows;
    expect(jobs.map((x) => [x.config.sequence_length, x.latency_p50_ms, x.repetitions.length])).toEqual([
      ['32', 6, 1],
      ['128', 21, 1],
    ]);
  });
});

describe('bench export refuses what it cannot do', () => {
  it('without --format (exit 2), into a folder that holds files, and with nothing exportable (exit 1)', () => {
    const noFormat = bench(['export', sweep]);
    expect(noFormat.code).toBe(2);
    expect(noFormat.stderr).toContain('--format: required, one of optimum-benchmark, tune-csv');
    const busy = freshDir('busy-');
    writeFileSync(join(busy, 'x'), '');
    const full = bench(['export', sweep, '--format', 'optimum-benchmark', '--out', busy]);
    expect(full.code).toBe(1);
    expect(full.stderr).toContain('the folder is not empty; remove it or give a new folder');
    const dispatch = bench(
      [...MOCK.slice(0, 4), 'scenario=dispatch', 'scenario.requests=10', 'scenario.arrival.rate_per_s=400'],
      {
        env: ENV,
      },
    );
    expect(dispatch.code, dispatch.stderr).toBe(0);
    const run = onlyEntry(onlyEntry(join(dispatch.cwd, 'outputs')));
    const none = bench(['export', run, '--format', 'tune-csv']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`left out ${run}: a dispatch run`);
    expect(none.stderr).toContain('nothing to export');
    expect(existsSync(join(run, 'consolidated.csv')), 'no header-only CSV is left').toBe(false);
    // An export never overwrites what it reads.
    const csv = join(sweep, 'again.csv');
    expect(bench(['export', sweep, '--format', 'tune-csv', '--out', csv]).code).toBe(0);
    const self = bench(['export', csv, '--format', 'tune-csv', '--out', csv]);
    expect(self.code).toBe(1);
    expect(self.stderr).toContain('is the input itself; give another --out');
  });
});
