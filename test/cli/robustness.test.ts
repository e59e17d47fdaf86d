/**
 * Interrupts, resumes and bad input: what a long sweep must survive.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/models/onnx-builder.js';
import { bench, benchStart, freshDir, isAlive, LIVE_CORES, onlyEntry, waitFor } from '../helpers.js';

const CACHE = freshDir('bench-cache-');
const ENV = { BENCH_CACHE_DIR: CACHE };
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'results');
const MOCK = ['backend=mock', 'model=bert-tiny', 'warmup_runs=1', 'scenario.min_iterations=3'];

interface Result {
  status: string;
  error: string | null;
  process_ids: number[];
  instances: unknown[];
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

describe('interrupts', () => {
  it.each<[NodeJS.Signals, number]>([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ])(
    '%s during a pinned two-instance run stops every child, marks the run interrupted and exits %i',
    async (signal, code) => {
      const run = benchStart([...MOCK, 'launcher.num_instances=2', 'benchmark_duration=30'], { env: ENV });
      // Wait until the instances are measuring: the run directory exists and its children are up.
      await waitFor(() => existsSync(join(run.cwd, 'outputs')), 20_000, 'the run directory');
      await new Promise((r) => setTimeout(r, 2000));
      run.child.kill(signal);
      const end = await run.done;
      expect(end.code).toBe(code);
      expect(end.stderr).toContain(`bench: ${signal}: stopping the instances`);
      const result = readJson<Result>(join(onlyEntry(onlyEntry(join(run.cwd, 'outputs'))), 'results.json'));
      expect(result.status).toBe('interrupted');
      expect(result.error).toContain(`interrupted by ${signal}`);
      expect(result.process_ids).toHaveLength(2);
      expect(result.process_ids.filter(isAlive)).toEqual([]);
    },
  );

  it('an interrupted sweep keeps its finished jobs and bench --resume completes it', async () => {
    const run = benchStart(['-m', 'seed=range(4)', ...MOCK, 'benchmark_duration=1'], { env: ENV });
    await waitFor(() => run.output().includes('[2/4]'), 30_000, 'two finished jobs');
    run.child.kill('SIGINT');
    const end = await run.done;
    expect(end.code).toBe(130);
    expect(end.stderr).toContain('finish it with: bench --resume');
    const sweep = onlyEntry(onlyEntry(join(run.cwd, 'multirun')));
    const before = readJson<{ job: number; status: string }[]>(join(sweep, 'summary.json'));
    expect(before.slice(0, 2).map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(before.length).toBeLessThan(4);

    const resumed = bench(['--resume', sweep], { cwd: run.cwd, env: ENV });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('(kept from the earlier run)');
    const after = readJson<{ job: number; status: string; overrides: string }[]>(join(sweep, 'summary.json'));
    expect(after.map((r) => [r.job, r.status])).toEqual([
      [0, 'ok'],
      [1, 'ok'],
      [2, 'ok'],
      [3, 'ok'],
    ]);
    expect(after.map((r) => r.overrides.split(' ')[0])).toEqual(['seed=0', 'seed=1', 'seed=2', 'seed=3']);
  });

  it('--resume re-runs only the failed jobs', () => {
    const cwd = freshDir();
    const first = bench(
      ['-m', 'batch_size=1,2', ...MOCK, 'benchmark_duration=0.2', 'launcher.fault={instance:0,kind:exit,phase:load}'],
      { cwd, env: ENV },
    );
    expect(first.code).toBe(1);
    const sweep = onlyEntry(onlyEntry(join(cwd, 'multirun')));
    expect(readJson<{ status: string }[]>(join(sweep, 'summary.json')).map((r) => r.status)).toEqual([
      'errored',
      'errored',
    ]);
    const resumed = bench(['--resume', sweep], { cwd, env: { ...ENV, BENCH_DISABLE_FAULTS: '1' } });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readJson<{ status: string }[]>(join(sweep, 'summary.json')).map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(readJson<Result>(join(sweep, '0', 'results.json')).status).toBe('ok');
  });
});

/** An ONNX model whose only input is a float image: nothing bench can feed. */
function imageModel(dir: string): string {
  const g = new GraphBuilder('image');
  g.addInput('pixel_values', 'float32', ['batch', 3]);
  g.addNode('Identity', ['pixel_values'], { name: 'id', outputs: ['out'] });
  g.addOutput('out', 'float32', ['batch', 3]);
  const file = join(dir, 'image.onnx');
  writeFileSync(file, g.serialize(13));
  return file;
}

/** Command lines bench cannot read: usage errors, exit 2. */
const USAGE_ERRORS = new Set([
  'an unknown flag',
  'a bad --cfg value',
  'a mistyped command',
  'a bare word',
  'a config key without a value',
  'an unknown --format',
  '--format json with --cfg',
]);

/** Bad inputs found only once the run has its folder, which then holds an errored results.json. */
const LEAVES_RUN_DIR = new Set(['an ONNX model with inputs bench cannot feed']);

describe('bad input: a non-zero exit and a message that names the key, flag or file and the fix', () => {
  const dir = freshDir('bad-inputs-');
  const notOnnx = join(dir, 'notes.onnx');
  writeFileSync(notOnnx, 'just some text, not a protobuf at all');
  const image = imageModel(dir);
  const texts = join(dir, 'texts.jsonl');
  writeFileSync(texts, '{"text": "Hello, my dog is cute"}\n{"text": "A second one."}\n');
  const brokenConfigs = join(dir, 'configs');
  mkdirSync(join(brokenConfigs, 'model'), { recursive: true });
  writeFileSync(join(brokenConfigs, 'model', 'broken.yaml'), 'name: broken\nvocab_size: [1, 2\n');
  writeFileSync(
    join(brokenConfigs, 'own.yaml'),
    [
      'defaults:',
      '  - backend: mock',
      '  - model: bert-tiny',
      '  - launcher: process',
      '  - scenario: latency',
      '  - _self_',
      'batch_size: 2',
      'warmup_runs: 1',
      'benchmark_duration: 1',
      '',
    ].join('\n'),
  );

  it.each<[string, string[], string[]]>([
    ['unknown key', ['foo=1'], ["Could not override 'foo'", '+foo=1']],
    [
      'misspelt nested key',
      ['backend.num_thread=2'],
      ["Could not override 'backend.num_thread'", "Did you mean 'backend.num_threads'?"],
    ],
    ['append on an existing key', ['+batch_size=2'], ["'++batch_size=2'"]],
    [
      'delete of a missing key',
      ['~nokey'],
      ["Could not delete from config. 'nokey' does not exist.", 'bench --cfg job lists the keys'],
    ],
    ['delete of a misspelt key', ['~bach_size'], ["'bach_size' does not exist.", "Did you mean 'batch_size'?"]],
    ['wrong type', ['batch_size=eight'], ['batch_size: expected a positive integer, got "eight"']],
    ['negative batch', ['batch_size=-1'], ['batch_size: expected a positive integer, got -1']],
    ['zero batch', ['batch_size=0'], ['batch_size: expected a positive integer, got 0']],
    [
      'a batch beyond exact integers',
      ['batch_size=99999999999999999999'],
      ['batch_size: expected a positive integer, got 99999999999999999999'],
    ],
    [
      'a float where a string goes',
      ['experiment_name=1.0'],
      ["experiment_name: expected a non-empty string, got 1.0; quote it to keep it text: experiment_name='1.0'"],
    ],
    ['a key of ones own', ['+lr=1.0'], ['lr: unknown key', 'a label of yours goes in experiment_name=']],
    [
      'a key bench needs, deleted',
      ['~seed'],
      [
        'seed: expected an integer, got nothing',
        '~seed deleted a key bench needs: drop the override, or set seed=VALUE',
      ],
    ],
    [
      'a config key without a value',
      ['batch_size'],
      ["'batch_size' is a config key, not an override: set it with batch_size=VALUE"],
    ],
    ['an unclosed list', ['+x=[1,2'], ["no viable alternative at input '[1,2'", 'ends before a bracket']],
    ['an extra bracket', ['+x=[1,2]]'], ["extraneous input ']' expecting <EOF>", "remove ']'"]],
    ['a space in a key', ['+ x=1'], ['LexerNoViableAltException: + x=1', 'a key (before =) holds']],
    [
      'a batch whose tensors cannot fit in memory',
      ['batch_size=100000000'],
      ["the instances' inputs and activations need at least", 'use a smaller batch_size or sequence_length'],
    ],
    ['negative warmup', ['warmup_runs=-1'], ['warmup_runs: expected an integer >= 0']],
    ['zero duration', ['benchmark_duration=0'], ['benchmark_duration: expected a positive number, got 0']],
    [
      'a duration that is not a number',
      ['benchmark_duration=nan'],
      ['benchmark_duration: expected a positive number, got NaN'],
    ],
    [
      'an infinite duration',
      ['benchmark_duration=inf'],
      ['benchmark_duration: expected a positive number, got Infinity'],
    ],
    [
      'unknown enum value',
      ['backend=onnxruntime', 'backend.graph_optimization_level=max'],
      ['backend.graph_optimization_level: expected one of disabled, basic, extended, all'],
    ],
    ['unknown binding', ['launcher.binding=magic'], ['launcher.binding: expected one of auto, numactl, taskset, none']],
    ['unsupported opset', ['model.opset=9'], ['model.opset: expected an integer opset between 11 and 18']],
    [
      'sequence longer than the positions',
      ['sequence_length=1024'],
      ['sequence_length: 1024 is longer than bert-tiny allows (512 positions): use sequence_length<=512'],
    ],
    ['unknown group option', ['model=bert-huge'], ["Could not find 'model/bert-huge'", 'bert-base-cased', 'bert-tiny']],
    ['ambiguous sweep without -m', ['batch_size=1,2'], ["Ambiguous value for argument 'batch_size=1,2'", '--multirun']],
    [
      'a sweep that does not parse',
      ['-m', 'batch_size=range(1,'],
      ["no viable alternative at input 'range(1,'", "In 'batch_size=range(1,'", 'override_grammar'],
    ],
    [
      'an unknown sweep function',
      ['-m', 'batch_size=steps(1,2)'],
      ["Error parsing override 'batch_size=steps(1,2)'", "Unknown function 'steps'", 'range'],
    ],
    [
      'an interpolation to nothing',
      ['+x=${nope}'],
      ["Interpolation key 'nope' not found", 'full_key: x', "'nope' does not exist"],
    ],
    [
      'a missing environment variable',
      ['+x=${oc.env:BENCH_TEST_UNSET_VARIABLE}'],
      [
        "Environment variable 'BENCH_TEST_UNSET_VARIABLE' not found",
        'full_key: x',
        '${oc.env:BENCH_TEST_UNSET_VARIABLE,default}',
      ],
    ],
    [
      'missing model file',
      ['backend=onnxruntime', `model.path=${join(dir, 'missing.onnx')}`],
      ['model.path', 'does not exist'],
    ],
    [
      'missing model file, even for a dry run with the mock backend',
      [`model.path=${join(dir, 'missing.onnx')}`],
      ['model.path', 'does not exist', 'give an .onnx file or a Hugging Face folder'],
    ],
    [
      'a file that is not ONNX',
      ['backend=onnxruntime', `model.path=${notOnnx}`],
      ['model.path', 'is not an ONNX model'],
    ],
    [
      'an ONNX model with inputs bench cannot feed',
      ['backend=onnxruntime', `model.path=${image}`],
      [
        `model.path: ${image} has an input 'pixel_values' (float32 [batch, 3]) that bench cannot feed: bench feeds input_ids, attention_mask, token_type_ids, position_ids (int32/int64`,
      ],
    ],
    [
      'hub without an id',
      ['model.source=hub'],
      ['model.id: required with model.source=hub', 'e.g. model.id=Xenova/bert-base-cased'],
    ],
    [
      'file without a path',
      ['model.source=file'],
      ['model.path: required with model.source=file', 'an .onnx file or a Hugging Face folder'],
    ],
    [
      'more instances than cores',
      [`launcher.num_instances=${LIVE_CORES + 1}`],
      [`the maximum is launcher.num_instances=${LIVE_CORES}`],
    ],
    [
      'uneven batch split',
      ['launcher.split_batch=true', 'batch_size=3', 'launcher.num_instances=2'],
      ['does not split evenly', 'launcher.allow_uneven_split=true'],
    ],
    [
      'a NUMA node that does not exist',
      ['launcher.nodes=[5]'],
      ['launcher.nodes: node 5 does not exist; existing NUMA nodes: 0'],
    ],
    [
      'a CPU list that does not parse',
      ['launcher.cpu_list=abc'],
      ["launcher.cpu_list: invalid CPU list 'abc'", 'e.g. 0-3,8-11'],
    ],
    [
      'an unreadable topology file',
      ['topology.file=/nonexistent/lscpu.txt'],
      ["topology.file: cannot read '/nonexistent/lscpu.txt'", 'lscpu -p'],
    ],
    [
      'a results directory that cannot be written',
      ['hydra.run.dir=/proc/bench/x'],
      ['Cannot create the output directory /proc/bench/x', 'hydra.run.dir=PATH'],
    ],
    [
      'a malformed config file',
      ['-cd', brokenConfigs, 'model=broken'],
      [
        `Invalid YAML in ${join(brokenConfigs, 'model', 'broken.yaml')}:3:1`,
        'must be sufficiently indented and end with a ]',
      ],
    ],
    [
      'a missing primary config',
      ['-cn', 'nosuch'],
      ["Cannot find primary config 'nosuch'", 'Primary configs there: config'],
    ],
    ['an unknown flag', ['--bogus'], ['Unknown argument: bogus', 'bench --help']],
    [
      'a bad --cfg value',
      ['--cfg', 'everything'],
      ["--cfg: invalid choice 'everything' (choose from job, hydra, all)"],
    ],
    ['resume of a folder that is no sweep', ['--resume', dir], ['is not a sweep folder']],
    [
      'compare on unrelated result sets',
      ['compare', join(FIXTURES, 'A'), join(FIXTURES, 'D')],
      ['no run of', 'so nothing was compared', '--ignore KEY'],
    ],
    ['compare on a folder without results', ['compare', join(FIXTURES, 'A'), dir], ['no results found']],
    [
      'a negative regression threshold',
      ['compare', join(FIXTURES, 'A'), join(FIXTURES, 'A'), '--fail-on-regression', '-5%'],
      ['--fail-on-regression: expected a percentage such as 5% or 2.5', "got '-5%'"],
    ],
    [
      'hydra.job.chdir, which bench does not honour',
      ['hydra.job.chdir=true'],
      ['bench does not change the working directory'],
    ],
    ['hydra.verbose, which bench does not honour', ['hydra.verbose=true'], ['bench has no loggers to make verbose']],
    ['a mistyped command', ['topolgy'], ["'topolgy' is not a command; did you mean: bench topology ...?"]],
    ['a bare word', ['frobnicate'], ["'frobnicate' is neither a command (plan, topology, compare", 'nor an override']],
    ['a key that reaches the object prototype', ['++__proto__.polluted=1'], ["'__proto__' cannot be a config key"]],
    ['a constructor key in a dict value', ['++x={constructor: 1}'], ["'constructor' cannot be a config key"]],
    [
      'a sweep with a job that cannot run',
      ['-m', 'batch_size=1,zero'],
      [
        '1 of 2 jobs of this sweep cannot run, so none was started and no folder was made',
        'job 1 (',
        'batch_size=zero',
      ],
    ],
    [
      'a .hydra folder that leads out of the run folder',
      ['hydra.output_subdir=../escaped'],
      ['hydra.output_subdir: "../escaped" leads outside'],
    ],
    [
      'a sweep subdir that leads out of the sweep',
      ['-m', 'batch_size=1', 'hydra.sweep.subdir=../../x'],
      ['hydra.sweep.subdir: "../../x" leads outside'],
    ],
    [
      'a report written under /proc',
      ['report', join(FIXTURES, 'D'), '--out', '/proc/x.html'],
      ['/proc is a kernel pseudo-filesystem'],
    ],
    [
      "a single run's job number, which only sweep jobs have",
      ['+n=${hydra:job.num}'],
      ['Missing mandatory value: hydra.job.num', 'only in a sweep (-m)'],
    ],
    [
      'a plan whose inputs cannot fit in memory',
      ['plan', 'batch_size=100000000', 'sequence_length=512'],
      ["the instances' inputs and activations need at least", 'use a smaller batch_size or sequence_length'],
    ],
    [
      'a preloaded allocator with the inline launcher',
      ['launcher=inline', 'launcher.malloc=jemalloc'],
      ['launcher.malloc=jemalloc needs launcher=process'],
    ],
    [
      'an unknown allocator',
      ['launcher.malloc=mimalloc'],
      ['launcher.malloc: expected one of glibc, jemalloc, tcmalloc'],
    ],
    ['an unknown --format', ['--format', 'xml'], ["--format: invalid choice 'xml' (choose from text, json)"]],
    ['--format json with --cfg', ['--cfg', 'job', '--format', 'json'], ['--cfg, --info and --help print text']],
    [
      'model.file with a model file rather than a folder',
      [`model.path=${notOnnx}`, 'model.file=onnx/model.onnx'],
      ['model.file=onnx/model.onnx: model.path is a file already'],
    ],
    [
      'a text file that does not exist',
      ['inputs.text=/nonexistent/texts.txt'],
      ['inputs.text=/nonexistent/texts.txt: no such file'],
    ],
    [
      'real text for a preset whose vocabulary bench does not ship',
      [`inputs.text=${texts}`, 'model=bert-base-cased'],
      ['model=bert-base-cased is synthesized and bench ships no tokenizer', 'inputs.tokenizer=PATH'],
    ],
    [
      'a JSONL field the texts are not in',
      [`inputs.text=${texts}`, 'inputs.column=body'],
      ['inputs.column=body: line 1 of', 'has no such field (its fields: text)'],
    ],
    [
      'a sequence too short for the special tokens',
      [`inputs.text=${texts}`, 'sequence_length=2'],
      ['sequence_length=2: too short for the tokenizer', 'use sequence_length>=3'],
    ],
    [
      'a primary config that does not build on bench config',
      ['-cp', join(brokenConfigs), '-cn', 'own'],
      ["The primary config 'own' lacks keys bench's own config sets", 'put `- config` first'],
    ],
  ])('%s', (_name, args, messages) => {
    const bare = args[0] === '--resume' || args[0] === 'compare' || args[0] === 'report';
    const defaults = bare
      ? []
      : [...MOCK.filter((m) => !args.some((a) => a.split('=')[0] === m.split('=')[0])), 'benchmark_duration=0.2'];
    // A command (plan, tune) comes first, its overrides after.
    const command = args[0] === 'plan' || args[0] === 'tune' ? [args[0]] : [];
    const r = bench([...command, ...defaults, ...args.slice(command.length)], { env: ENV });
    // compare's exit status 1 means a regression; trouble reading or matching the inputs is 2; a
    // command line bench cannot read is a usage error, 2 in every command.
    expect(r.code, r.stdout).toBe(args[0] === 'compare' || USAGE_ERRORS.has(_name) ? 2 : 1);
    for (const m of messages) expect(r.stderr).toContain(m);
    // The message is the user's answer: no stack trace, no hint to ask for one.
    expect(r.stderr).not.toMatch(/\n\s+at |BENCH_FULL_ERROR/);
    // Refused before anything ran: no run or sweep folder left behind (a user model is read once the
    // run has its folder, which then records why it failed).
    if (!LEAVES_RUN_DIR.has(_name))
      expect(existsSync(join(r.cwd, 'outputs')), 'an outputs/ folder was left').toBe(false);
    expect(existsSync(join(r.cwd, 'multirun')), 'a multirun/ folder was left').toBe(false);
  });

  it('an unfeedable model is refused by the parent before any instance starts: no instance, no stack trace', () => {
    const r = bench(
      [...MOCK, 'backend=onnxruntime', `model.path=${image}`, 'launcher.num_instances=2', 'benchmark_duration=0.2'],
      { env: ENV },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`bench: the run errored: model.path: ${image} has an input 'pixel_values'`);
    expect(r.stderr).not.toMatch(/instance \d|stderr \(tail\)|\n\s+at /);
  });

  it('a model error raised in a child reads "instance N: <message>", without a stack trace', () => {
    // input_ids of the fixed shape [1, 8]: the parent cannot know the instances' shapes, the child refuses.
    const g = new GraphBuilder('fixed');
    g.addInput('input_ids', 'int64', [1, 8]);
    g.addNode('Identity', ['input_ids'], { name: 'id', outputs: ['out'] });
    g.addOutput('out', 'int64', [1, 8]);
    const fixed = join(dir, 'fixed.onnx');
    writeFileSync(fixed, g.serialize(13));
    const r = bench(
      [
        ...MOCK,
        'backend=onnxruntime',
        `model.path=${fixed}`,
        'sequence_length=16',
        'launcher.num_instances=2',
        'benchmark_duration=0.2',
      ],
      { env: ENV },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /bench: the run errored: instance [01]: The model's input 'input_ids' has the fixed shape \[1, 8\]: set batch_size=1 sequence_length=8/,
    );
    expect(r.stderr).not.toMatch(/stderr \(tail\)|\n\s+at /);
  });
});
