/**
 * The built `bench` command, run as a user runs it, in a fresh folder each time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'bench.js');
const PYTHON = '/usr/bin/python3';
const pythonReads = spawnSync(PYTHON, ['-c', 'import yaml'], { encoding: 'utf8' }).status === 0;
if (!pythonReads) console.warn(`read-back by Python skipped: ${PYTHON} with PyYAML is not installed`);
const FAST = [
  'backend=mock',
  'model=bert-tiny',
  'benchmark_duration=0.1',
  'warmup_runs=1',
  'scenario.min_iterations=3',
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  cwd: string;
}

function bench(args: string[], cwd = mkdtempSync(join(tmpdir(), 'bench-cli-'))): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, cwd };
}

function benchAsync(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr, cwd }));
  });
}

const onlyDir = (parent: string): string => {
  const entries = readdirSync(parent);
  expect(entries).toHaveLength(1);
  return join(parent, entries[0]!);
};

describe('bench --cfg and --info', () => {
  it('prints the composed config with the chosen group option and values', () => {
    const r = bench(['--cfg', 'job', 'model=bert-large-cased', 'batch_size=8']);
    expect(r.code).toBe(0);
    const cfg = parse(r.stdout) as {
      model: { name: string; hidden_size: number; num_hidden_layers: number };
      batch_size: number;
      hydra?: unknown;
    };
    expect(cfg.model).toMatchObject({ name: 'bert-large-cased', hidden_size: 1024, num_hidden_layers: 24 });
    expect(cfg.batch_size).toBe(8);
    expect(cfg.hydra).toBeUndefined();
  });

  it('--cfg all includes the hydra node; --resolve resolves interpolations; -p selects a node', () => {
    const all = parse(bench(['--cfg', 'all']).stdout) as { hydra: { run: { dir: string } } };
    expect(all.hydra.run.dir).toContain('${now:');
    const resolved = parse(bench(['--cfg', 'job', '--resolve', '+double=${batch_size}', 'batch_size=3']).stdout) as {
      double: number;
    };
    expect(resolved.double).toBe(3);
    // Relative interpolations given on the command line resolve where they are set, not inside
    // the hydra node's record of the command line.
    const relative = parse(bench(['--cfg', 'job', '--resolve', '+z.q=${..seed}', '+z.r=${.q}', 'seed=7']).stdout) as {
      z: { q: number; r: number };
    };
    expect(relative.z).toEqual({ q: 7, r: 7 });
    const hydra = parse(bench(['--cfg', 'hydra', '--resolve', '+z.q=${..seed}']).stdout) as {
      hydra: { job: { override_dirname: string }; overrides: { task: string[] } };
    };
    expect(hydra.hydra.job.override_dirname).toBe('+z.q=${..seed}');
    expect(hydra.hydra.overrides.task).toEqual(['+z.q=${..seed}']);
    const node = bench(['--cfg', 'job', '-p', 'model', 'model=bert-tiny']);
    expect(node.stdout.startsWith('# @package model\n')).toBe(true);
    expect(node.stdout).toContain('hidden_size: 64');
  });

  it('--cfg in a sweep prints every job, one YAML document each, named by its overrides', () => {
    const r = bench(['-m', '--cfg', 'job', '--resolve', '+n=${hydra:job.num}', 'batch_size=1,2', '-p', 'n']);
    expect(r.code).toBe(0);
    // A job's overrides are written as Hydra's basic sweeper writes them: special characters escaped.
    expect(r.stdout).toBe(
      '# job 0 of 2: +n=$\\{hydra\\:job.num\\} batch_size=1\n# @package n\n0\n---\n' +
        '# job 1 of 2: +n=$\\{hydra\\:job.num\\} batch_size=2\n# @package n\n1\n',
    );
    const docs = bench(['-m', '--cfg', 'job', 'batch_size=4,8']).stdout.split('---\n');
    expect(docs.map((d) => (parse(d) as { batch_size: number }).batch_size)).toEqual([4, 8]);
  });

  it('a single run has no job number, as in Hydra: ??? in the hydra node, an error where it is used', () => {
    const hydra = parse(bench(['--cfg', 'hydra']).stdout) as { hydra: { job: { num: unknown; id: unknown } } };
    expect(hydra.hydra.job).toMatchObject({ num: '???', id: '???' });
    // --resolve leaves what reaches ??? as written (Hydra's --cfg --resolve does the same).
    const kept = bench(['--cfg', 'all', '--resolve', '+n=${hydra:job.num}']);
    expect(kept.code).toBe(0);
    const all = parse(kept.stdout) as { n: string; hydra: { sweep: { subdir: string } } };
    expect(all.n).toBe('${hydra:job.num}');
    expect(all.hydra.sweep.subdir).toBe('${hydra.job.num}');
    const run = bench([...FAST, '+n=${hydra:job.num}']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Missing mandatory value: hydra.job.num');
    expect(run.stderr).toContain('only in a sweep (-m)');
    expect(existsSync(join(run.cwd, 'outputs'))).toBe(false);
  });

  it('--info defaults lists the configs in merge order', () => {
    const r = bench(['--info', 'defaults', 'model=bert-tiny']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('| '));
    expect(lines.map((l) => l.split('|')[1]!.trim())).toEqual([
      'Config path',
      'backend/onnxruntime',
      'model/quantization/dynamic',
      'model/bert-tiny',
      'launcher/process',
      'scenario/latency',
      'hydra/launcher/basic',
      'config',
    ]);
  });

  it('--help lists the config groups with their options, then the config', () => {
    const r = bench(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^model: .*bert-base-cased.*bert-tiny/m);
    expect(r.stdout).toMatch(/^backend: mock, onnxruntime/m);
    expect(r.stdout).toContain('== Config ==');
    expect(r.stdout).toContain('sequence_length: 128');
  });
});

describe('a config kept in a repository, as CI keeps it (docs/configuration.md)', () => {
  const repoDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-ci-'));
    mkdirSync(join(dir, 'experiment'));
    writeFileSync(
      join(dir, 'ci.yaml'),
      [
        'defaults:',
        '  - config',
        '  - _self_',
        '  - override backend: mock',
        '  - override model: bert-tiny',
        'benchmark_duration: 0.1',
        'warmup_runs: 1',
        'scenario:',
        '  min_iterations: 3',
        'hydra:',
        '  sweep:',
        '    dir: ci-sweep',
        '  sweeper:',
        '    params:',
        '      batch_size: 1,2',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'own.yaml'), 'defaults:\n  - backend: mock\n  - model: bert-tiny\n  - _self_\n');
    writeFileSync(
      join(dir, 'experiment', 'quick.yaml'),
      '# @package _global_\ndefaults:\n  - override /model: bert-tiny\nbatch_size: 3\n',
    );
    return dir;
  };

  it('-cd DIR -cn ci runs the sweep its file describes, on top of bench config', () => {
    const dir = repoDir();
    const r = bench(['-cd', dir, '-cn', 'ci', '-m']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = readFileSync(join(r.cwd, 'ci-sweep', 'summary.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(rows).toHaveLength(3);
    expect(rows.slice(1).every((row) => row.includes(',ok,'))).toBe(true);
    const plan = bench(['plan', '-cd', dir, '-cn', 'ci', '-m']);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('batch_size=2');
  });

  it("-cp DIR -cn ci replaces the primary folder; bench's groups stay on the search path, last", () => {
    const dir = repoDir();
    const info = bench(['-cp', dir, '-cn', 'ci', '--info', 'searchpath']);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(new RegExp(`\\| main +\\| file://${dir}\\n\\| bench +\\| file://.*configs\\n`));
    const cfg = parse(bench(['-cp', dir, '-cn', 'ci', '--cfg', 'job']).stdout) as {
      backend: { name: string };
      model: { name: string };
      benchmark_duration: number;
      sequence_length: number;
    };
    expect(cfg).toMatchObject({ backend: { name: 'mock' }, model: { name: 'bert-tiny' }, benchmark_duration: 0.1 });
    expect(cfg.sequence_length).toBe(128);
  });

  it('an experiment file in a -cd folder joins the experiment group', () => {
    const r = bench(['-cd', repoDir(), '+experiment=quick', '--cfg', 'job']);
    expect(r.code).toBe(0);
    expect(parse(r.stdout)).toMatchObject({ model: { name: 'bert-tiny' }, batch_size: 3 });
  });

  it('bench plan -m gives each job its number, as the sweep will', () => {
    const r = bench(['plan', '-m', 'batch_size=1,2', 'seed=${hydra:job.num}']);
    expect(r.code, r.stderr).toBe(0);
  });

  it("a config.yaml of one's own that names config in its defaults says it includes itself", () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-ci-'));
    writeFileSync(join(dir, 'config.yaml'), 'defaults:\n  - config\n  - _self_\nbatch_size: 2\n');
    const r = bench(['-cp', dir, '--cfg', 'job']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('includes itself');
    expect(r.stderr).toContain('give it another name and pass -cn NAME');
    expect(r.stderr).not.toContain('unexpected error');
  });

  it("a primary config that does not build on bench's says how to", () => {
    for (const cmd of [[], ['plan']]) {
      const r = bench([...cmd, '-cd', repoDir(), '-cn', 'own']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("The primary config 'own' lacks keys bench's own config sets (experiment_name");
      expect(r.stderr).toContain('put `- config` first in the defaults list of own.yaml');
      expect(readdirSync(r.cwd)).toEqual([]);
    }
  });
});

describe('bench rejects bad input with the key and the fix', () => {
  it.each<[string[], string[]]>([
    [['foo=1'], ["Could not override 'foo'.", 'To append to your config use +foo=1']],
    [['batch_size=eight'], ['batch_size: expected a positive integer, got "eight"']],
    [['+batch_size=2'], ["Could not append to config. An item is already at 'batch_size'."]],
    [['model=bert-huge'], ["Could not find 'model/bert-huge'", 'bert-base-cased']],
    [['model=bert-tny'], ["Could not find 'model/bert-tny'", 'Did you mean model=bert-tiny?']],
    [['batch_size=1,2'], ["Ambiguous value for argument 'batch_size=1,2'"]],
    [
      ['sequence_length=1024'],
      ['sequence_length: 1024 is longer than bert-tiny allows (512 positions): use sequence_length<=512'],
    ],
    [['benchmark_duration=-1'], ['benchmark_duration: expected a positive number, got -1']],
    [['backend.num_threads=0'], ['backend.num_threads:']],
    [['--cfg', 'nope'], ["--cfg: invalid choice 'nope'"]],
    [['--bogus'], ['Unknown argument: bogus']],
    [['-cd', '/nonexistent/dir'], ["Additional config directory '/nonexistent/dir' not found"]],
    [
      ['hydra.run.dir=/proc/forbidden/x'],
      ['Cannot create the output directory /proc/forbidden/x', 'hydra.run.dir=PATH'],
    ],
  ])('%j', (args, messages) => {
    const r = bench([...args, ...FAST.filter((f) => !args.some((a) => a.split('=')[0] === f.split('=')[0]))]);
    // A flag bench cannot read is a usage error (2); a config or plan it refuses, 1.
    expect(r.code).toBe(args[0]!.startsWith('--') ? 2 : 1);
    for (const m of messages) expect(r.stderr).toContain(m);
    expect(existsSync(join(r.cwd, 'outputs'))).toBe(false);
  });
});

describe('bench runs', () => {
  it('writes results.json, results.csv and .hydra/ into outputs/DATE/TIME', () => {
    const r = bench(FAST);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('backend mock');
    expect(r.stdout).toMatch(/latency\s+mean/);
    const day = onlyDir(join(r.cwd, 'outputs'));
    expect(day).toMatch(/\d{4}-\d{2}-\d{2}$/);
    const dir = onlyDir(day);
    expect(dir).toMatch(/\d{2}-\d{2}-\d{2}$/);
    for (const f of [
      '.hydra/config.yaml',
      '.hydra/hydra.yaml',
      '.hydra/overrides.yaml',
      'results.json',
      'results.csv',
    ]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const result = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as {
      status: string;
      backend: { name: string };
      instances: { iterations: number; latencies_ms: number[] }[];
      aggregate: { throughput_samples_per_s: number };
      warnings: string[];
    };
    expect(result.status).toBe('ok');
    expect(result.backend.name).toBe('mock');
    expect(result.warnings.join(' ')).toContain('backend: mock');
    expect(result.instances[0]!.latencies_ms).toHaveLength(result.instances[0]!.iterations);
    expect(result.aggregate.throughput_samples_per_s).toBeGreaterThan(0);
    const csv = readFileSync(join(dir, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(3);
    expect(csv[0]).toContain('config.model.name');
    expect(parse(readFileSync(join(dir, '.hydra', 'overrides.yaml'), 'utf8'))).toEqual(FAST);
  });

  it('results.csv has the same columns whichever backend ran (a key a backend lacks is an empty cell)', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'bench-cli-'));
    const ort = FAST.map((a) => (a === 'backend=mock' ? 'backend=onnxruntime' : a));
    expect(bench([...FAST, 'hydra.run.dir=mock'], cwd).code).toBe(0);
    expect(bench([...ort, 'hydra.run.dir=ort'], cwd).code).toBe(0);
    const header = (d: string) =>
      readFileSync(join(cwd, d, 'results.csv'), 'utf8')
        .split('\n')[0]!
        .split(',');
    expect(header('ort')).toEqual(header('mock'));
    expect(header('ort')).toContain('config.backend.latency_ms');
    expect(header('mock')).toContain('config.backend.graph_optimization_level');
  });

  it.skipIf(!pythonReads)('writes files Python reads back with the types bench used (1.0 a float, not 1)', () => {
    const r = bench([
      ...FAST,
      'model.layer_norm_eps=1.0',
      'experiment_name=eps_${model.layer_norm_eps}',
      'hydra.run.dir=one',
      'hydra.job.name=tab\there',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const read = spawnSync(
      PYTHON,
      [
        '-c',
        [
          'import csv, json, sys, yaml',
          "cfg = yaml.safe_load(open('one/.hydra/config.yaml'))",
          "hydra = yaml.safe_load(open('one/.hydra/hydra.yaml'))",
          "res = json.load(open('one/results.json'))",
          "row = next(csv.DictReader(open('one/results.csv')))",
          'print(json.dumps([repr(cfg["model"]["layer_norm_eps"]), cfg["experiment_name"],',
          '  repr(res["config"]["model"]["layer_norm_eps"]), res["config"]["experiment_name"],',
          '  row["config.model.layer_norm_eps"], hydra["hydra"]["job"]["name"]]))',
        ].join('\n'),
      ],
      { cwd: r.cwd, encoding: 'utf8' },
    );
    expect(read.status, read.stderr).toBe(0);
    expect(JSON.parse(read.stdout)).toEqual([
      '1.0',
      'eps_${model.layer_norm_eps}',
      '1.0',
      'eps_1.0',
      '1.0',
      'tab\there',
    ]);
  });

  it('--format json: a run prints its results.json, a sweep its summary, as one JSON document; the rest goes to stderr', () => {
    const run = bench([...FAST, '--format', 'json', 'hydra.run.dir=one']);
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout) as {
      kind: string;
      status: string;
      dir: string;
      saved: boolean;
      result: unknown;
    };
    expect(doc).toMatchObject({ kind: 'run', status: 'ok', dir: join(run.cwd, 'one'), saved: true });
    expect(doc.result).toEqual(JSON.parse(readFileSync(join(run.cwd, 'one', 'results.json'), 'utf8')));
    expect(run.stderr).toContain('backend mock');
    const sweep = bench(['-m', ...FAST, 'batch_size=1,2', '--format', 'json', 'hydra.sweep.dir=many']);
    expect(sweep.code).toBe(0);
    const s = JSON.parse(sweep.stdout) as {
      kind: string;
      status: string;
      jobs: { status: string; overrides: string[] }[];
      summary: Record<string, unknown>[];
      best_setups: unknown[];
    };
    expect(s).toMatchObject({ kind: 'sweep', status: 'ok' });
    expect(s.jobs.map((j) => j.overrides.at(-1))).toEqual(['batch_size=1', 'batch_size=2']);
    expect(s.summary).toEqual(JSON.parse(readFileSync(join(sweep.cwd, 'many', 'summary.json'), 'utf8')));
    expect(sweep.stderr).toContain('2 of 2 jobs ok');
    expect(bench(['--cfg', 'job', '--format', 'json']).code).toBe(2);
  });

  it('a secret-looking environment variable is never written resolved; others are', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'bench-cli-'));
    const env = { ...process.env, BENCH_TEST_TOKEN: 'tok-9f8e7d', BENCH_TEST_PLACE: 'lab-7' };
    const run = (name: string, dir: string) =>
      spawnSync(process.execPath, [BIN, ...FAST, `experiment_name=\${oc.env:${name}}`, `hydra.run.dir=${dir}`], {
        cwd,
        encoding: 'utf8',
        env,
      });
    expect(run('BENCH_TEST_TOKEN', 'secret').status).toBe(0);
    expect(run('BENCH_TEST_PLACE', 'plain').status).toBe(0);
    for (const file of ['results.json', 'results.csv']) {
      const secret = readFileSync(join(cwd, 'secret', file), 'utf8');
      expect(secret).not.toContain('tok-9f8e7d');
      expect(secret).toContain('<redacted: ${oc.env:BENCH_TEST_TOKEN}>');
      expect(readFileSync(join(cwd, 'plain', file), 'utf8')).toContain('lab-7');
    }
  });

  it('two runs started together never share a directory: one named after the time is suffixed', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'bench-cli-'));
    const [a, b] = await Promise.all([
      benchAsync([...FAST, 'hydra.run.dir=out/${now:%Y}'], cwd),
      benchAsync([...FAST, 'hydra.run.dir=out/${now:%Y}'], cwd),
    ]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const year = String(new Date().getFullYear());
    expect(readdirSync(join(cwd, 'out')).sort()).toEqual([year, `${year}_1`]);
  });

  it('a folder the user named is never renamed: one that holds results is refused, run or sweep', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'bench-cli-'));
    const [a, b] = await Promise.all([
      benchAsync([...FAST, 'hydra.run.dir=out/same'], cwd),
      benchAsync([...FAST, 'hydra.run.dir=out/same'], cwd),
    ]);
    expect([a.code, b.code].sort()).toEqual([0, 1]);
    const refused = a.code === 1 ? a : b;
    expect(refused.stderr).toMatch(/hydra\.run\.dir=\S+out\/same already holds a run \((results\.json|\.hydra)\)/);
    expect(refused.stderr).toContain('remove it, choose another hydra.run.dir');
    expect(readdirSync(join(cwd, 'out'))).toEqual(['same']);
    // Again, after the first finished: still refused, its results untouched.
    const before = readFileSync(join(cwd, 'out', 'same', 'results.json'), 'utf8');
    const again = bench([...FAST, 'hydra.run.dir=out/same'], cwd);
    expect(again.code).toBe(1);
    expect(readFileSync(join(cwd, 'out', 'same', 'results.json'), 'utf8')).toBe(before);
    // A sweep into a named folder that holds one: refused, with the way to finish it.
    expect(bench(['-m', 'batch_size=1', ...FAST, 'hydra.sweep.dir=out/sweep'], cwd).code).toBe(0);
    const sweep = bench(['-m', 'batch_size=1', ...FAST, 'hydra.sweep.dir=out/sweep'], cwd);
    expect(sweep.code).toBe(1);
    expect(sweep.stderr).toMatch(/already holds a sweep \(multirun\.yaml\).*bench --resume \S+out\/sweep/);
    expect(readdirSync(join(cwd, 'out')).sort()).toEqual(['same', 'sweep']);
  });

  it('a named folder that holds only a run that failed before measuring is taken again by the corrected run', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'bench-cli-'));
    const failed = bench([...FAST, 'launcher.fault={instance:0,kind:crash,phase:load}', 'hydra.run.dir=out/ci'], cwd);
    expect(failed.code).toBe(1);
    expect(JSON.parse(readFileSync(join(cwd, 'out', 'ci', 'results.json'), 'utf8'))).toMatchObject({
      status: 'errored',
    });
    const fixed = bench([...FAST, 'hydra.run.dir=out/ci'], cwd);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(cwd, 'out', 'ci', 'results.json'), 'utf8'))).toMatchObject({ status: 'ok' });
    // Once it holds a measurement, it is refused again.
    expect(bench([...FAST, 'hydra.run.dir=out/ci'], cwd).code).toBe(1);
  });

  it('sweeps: one job dir per combination, multirun.yaml and a summary row per job', () => {
    const r = bench(['-m', 'batch_size=1,2', 'sequence_length=32,128', ...FAST]);
    expect(r.code).toBe(0);
    const sweep = onlyDir(onlyDir(join(r.cwd, 'multirun')));
    expect(readdirSync(sweep).sort()).toEqual([
      '0',
      '1',
      '2',
      '3',
      'best_setups.csv',
      'best_setups.json',
      'multirun.yaml',
      'summary.csv',
      'summary.json',
    ]);
    for (const job of ['0', '1', '2', '3']) {
      for (const f of ['config.yaml', 'hydra.yaml', 'overrides.yaml'])
        expect(existsSync(join(sweep, job, '.hydra', f))).toBe(true);
    }
    const rows = readFileSync(join(sweep, 'summary.csv'), 'utf8').trim().split('\n');
    expect(rows).toHaveLength(5);
    expect(rows.slice(1).map((row) => row.split(',').slice(0, 2).join(','))).toEqual(['0,ok', '1,ok', '2,ok', '3,ok']);
    const hydra = parse(readFileSync(join(sweep, '3', '.hydra', 'hydra.yaml'), 'utf8')) as {
      hydra: { job: { num: number } };
    };
    expect(hydra.hydra.job.num).toBe(3);
    const job3 = parse(readFileSync(join(sweep, '3', '.hydra', 'config.yaml'), 'utf8')) as {
      batch_size: number;
      sequence_length: number;
    };
    expect([job3.batch_size, job3.sequence_length]).toEqual([2, 128]);
  });

  it('a sweep with a job that cannot run is refused whole, before any folder, naming the jobs', () => {
    for (const [args, message] of [
      [['batch_size=0,1'], /job 0 \(batch_size=0 .*batch_size: expected a positive integer, got 0/],
      [['modle=a,b'], /2 of 2 jobs of this sweep cannot run.*\n {2}job 0 \(modle=a .*Could not override 'modle'/],
      [['batch_size=eight,1'], /job 0 \(batch_size=eight .*expected a positive integer, got "eight"/],
      [
        ['launcher.num_instances=1,100000'],
        /job 1 \(launcher\.num_instances=100000 .*the maximum is launcher\.num_instances=/,
      ],
    ] as const) {
      const r = bench(['-m', ...args, ...FAST]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/cannot run, so none was started and no folder was made/);
      expect(r.stderr).toMatch(message);
      expect(existsSync(join(r.cwd, 'multirun'))).toBe(false);
    }
  });

  it('a job that fails while it runs is recorded, the sweep goes on, and the exit code is 1', () => {
    const r = bench(['-m', 'launcher.fault={instance:0,kind:exit,phase:measure},null', ...FAST]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "Error executing job with overrides: ['launcher.fault={instance:0,kind:exit,phase:measure}'",
    );
    const sweep = onlyDir(onlyDir(join(r.cwd, 'multirun')));
    const summary = JSON.parse(readFileSync(join(sweep, 'summary.json'), 'utf8')) as {
      status: string;
      error: string;
    }[];
    expect(summary.map((s) => s.status)).toEqual(['errored', 'ok']);
    const failed = JSON.parse(readFileSync(join(sweep, '0', 'results.json'), 'utf8')) as { status: string };
    expect(failed.status).toBe('errored');
  });

  it('sweeps a config group with glob and reads hydra.sweeper.params from the command line', () => {
    const r = bench([
      '-m',
      'model=glob(bert-t*)',
      '+hydra.sweeper.params.batch_size="1,2"',
      ...FAST.filter((f) => !f.startsWith('model=')),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('launching 2 jobs');
    expect(r.stdout).toContain('batch_size=2');
  });
});
