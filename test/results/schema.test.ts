/**
 * The JSON Schema of results.json (schema/results.schema.json, shipped in the package) is generated
 * from the code's types (src/results/types.ts, `npm run schema`): it must be what the types give
 * today, and the files bench writes must validate against it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
// @ts-expect-error: a plain JavaScript script, without types
import { resultsSchema } from '../../scripts/schema.mjs';
import { describe, expect, it } from 'vitest';
import { bench, freshDir, onlyEntry } from '../helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SCHEMA_FILE = join(ROOT, 'schema', 'results.schema.json');
const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
const ENV = { BENCH_CACHE_DIR: freshDir('bench-cache-') };
const BASE = ['backend=mock', 'model=bert-tiny', 'warmup_runs=1', 'benchmark_duration=0.2'];
const MOCK = [...BASE, 'scenario.min_iterations=3'];

const TEXTS = join(freshDir('texts-'), 'texts.txt');
writeFileSync(TEXTS, 'Hello, my dog is cute\nA second text.\n');

const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const resultOf = (cwd: string): unknown =>
  JSON.parse(readFileSync(join(onlyEntry(onlyEntry(join(cwd, 'outputs'))), 'results.json'), 'utf8'));

describe('the results.json schema', () => {
  it('is the one the types give (regenerate it with npm run schema)', () => {
    expect(resultsSchema()).toEqual(schema);
  }, 60_000);

  it.each<[string, string[], number]>([
    ['a run of two instances and two repetitions', [...MOCK, 'launcher.num_instances=2', 'repetitions=2'], 0],
    [
      'a dispatch run',
      [
        ...BASE,
        'scenario=dispatch',
        'scenario.requests=20',
        'scenario.arrival.rate_per_s=400',
        'scenario.warmup_lengths=1',
      ],
      0,
    ],
    [
      // Three requests, all short: the large pool's class has none, its figures are NaN, written null.
      'a dispatch run with a length class no request fell in',
      [
        ...BASE,
        'scenario=dispatch',
        'scenario.requests=3',
        'scenario.lengths.mix=[[16,1]]',
        'scenario.warmup_lengths=1',
      ],
      0,
    ],
    ['a run on real text', [...MOCK, `inputs.text=${TEXTS}`], 0],
    ['an errored run', [...MOCK, 'launcher.fault={instance:0,kind:crash,phase:measure}'], 1],
  ])('%s validates', (_name, args, code) => {
    const r = bench(args, { env: ENV });
    expect(r.code, r.stderr).toBe(code);
    const result = resultOf(r.cwd);
    // The empty class's figures are there, as null.
    if (_name.includes('no request fell in')) expect(JSON.stringify(result)).toContain('"mean_ms":null');
    const ok = validate(result);
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('refuses what is not a results.json: a missing field, a wrong type, an unknown key', () => {
    const r = bench(MOCK, { env: ENV });
    const good = resultOf(r.cwd) as Record<string, unknown>;
    expect(validate(good)).toBe(true);
    const { status: _dropped, ...missing } = good;
    expect(validate(missing)).toBe(false);
    expect(validate({ ...good, instances: 'none' })).toBe(false);
    expect(validate({ ...good, surprise: 1 })).toBe(false);
  });
});
