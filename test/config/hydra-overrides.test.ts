/**
 * Hydra's own override-parser tests, run through bench's parser: every case of Hydra 1.3.5's
 * tests/test_overrides_parser.py and of its basic sweeper's split test, with what the real Hydra
 * parser returned for it (test/fixtures/hydra/override-cases.json, written by
 * scripts/hydra_override_cases.py against Hydra's source). Values are compared with their types
 * (an int is not a float, a quoted string not a plain one); a refusal agrees with a refusal, and
 * Hydra's message is counted apart. Deliberate differences are listed in KNOWN with the reason
 * (docs/configuration.md lists them too); the test fails when any other case differs, when a listed
 * one starts to agree, and when fewer than 98% agree.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OverrideParseError } from '../../src/config/errors.js';
import {
  ChoiceSweep,
  exactly,
  Functions,
  Glob,
  IntervalSweep,
  QuotedString,
  RangeSweep,
  escapeSpecialCharacters,
  floatRange,
  typeName,
  union,
  type GrammarFunction,
  type Param,
  type Value,
} from '../../src/config/grammar-functions.js';
import {
  expandValues,
  keyElement,
  parseOverride,
  parseRule,
  SWEEP_TYPE,
  valueElementText,
  type Rule,
} from '../../src/config/grammar.js';
import { expandSweep } from '../../src/config/sweep.js';
import type { ConfigRepository } from '../../src/config/repository.js';
import { float, floatRepr, isFloat, isInt, numberText, numberValue } from '../../src/util/numbers.js';

interface Case {
  readonly test: string;
  readonly id: string;
  readonly op: string;
  readonly input: unknown[];
  readonly hydra: ['ok', unknown] | ['error', string, string];
}

const FIXTURE = JSON.parse(readFileSync(new URL('../fixtures/hydra/override-cases.json', import.meta.url), 'utf8')) as {
  hydra: string;
  cases: Case[];
};

/** A value with its type, in the shape scripts/hydra_override_cases.py writes Hydra's. */
function enc(v: unknown): unknown {
  if (v instanceof QuotedString) return ['quoted', v.text, v.quote === "'" ? 'single' : 'double'];
  if (v === null || v === undefined) return ['null'];
  if (typeof v === 'boolean') return ['bool', v];
  if (isInt(v)) return ['int', String(v)];
  if (isFloat(v)) {
    const x = numberValue(v)!;
    return ['float', Number.isFinite(x) ? x : floatRepr(x)];
  }
  if (typeof v === 'string') return ['str', v];
  if (Array.isArray(v)) return ['list', v.map(enc)];
  const tags = (t: Set<string>): string[] => [...t].sort();
  if (v instanceof ChoiceSweep) return ['choice', v.list.map(enc), v.simpleForm, v.shuffle, tags(v.tags)];
  if (v instanceof RangeSweep) return ['range', enc(v.start), enc(v.stop), enc(v.step), v.shuffle, tags(v.tags)];
  if (v instanceof IntervalSweep) return ['interval', enc(v.start), enc(v.end), tags(v.tags)];
  if (v instanceof Glob) return ['glob', v.include, v.exclude];
  return ['dict', Object.entries(v as object).map(([k, x]) => [k, enc(x)])];
}

const OVERRIDE_TYPE = { change: 'CHANGE', add: 'ADD', forceAdd: 'FORCE_ADD', delete: 'DEL' } as const;

function encodeRule(rule: string, r: unknown): unknown {
  if (rule === 'override') {
    const o = r as { type: keyof typeof OVERRIDE_TYPE; keyOrGroup: string; pkg: string | null; value: Value | null };
    const valueType =
      o.type === 'delete' && o.value === null
        ? null
        : o.value instanceof Glob || (o.value !== null && typeof o.value === 'object' && 'tags' in o.value)
          ? SWEEP_TYPE(o.value as ChoiceSweep)
          : 'ELEMENT';
    return ['override', OVERRIDE_TYPE[o.type], o.keyOrGroup, o.pkg, valueType, enc(o.value)];
  }
  if (rule === 'key') {
    const k = r as { keyOrGroup: string; pkg: string | null };
    return ['key', k.keyOrGroup, k.pkg];
  }
  return enc(r);
}

/** Hydra's `Override._convert_value`: quoted strings become plain strings; sweeps stay. */
function converted(v: Value): Value {
  if (v instanceof QuotedString) return v.text;
  if (Array.isArray(v)) return v.map(converted);
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, converted(x as Value)]));
  return v;
}

function decodeNumber(e: unknown): number | ReturnType<typeof float> {
  const [type, x] = e as [string, number | string];
  if (type === 'int') return Number(x);
  return typeof x === 'number' ? float(x) : x === 'inf' ? Infinity : x === '-inf' ? -Infinity : NaN;
}

/** The same functions Hydra's tests register, by name and Python signature. */
const CUSTOM: Record<string, GrammarFunction> = {};
const define = (signature: string, params: readonly Param[], call: GrammarFunction['call']): void => {
  CUSTOM[signature] = { name: signature.slice(0, signature.indexOf('(')), params, call };
};
const int = exactly('int');
const str = (v: Value | undefined): string => numberText(v) ?? String(v);
define('abs(x, /)', [{ name: 'x', kind: 'positional', positionalOnly: true }], ({ values }) =>
  Math.abs(values.get('x') as number));
define('mul(n, m)', [
  { name: 'n', kind: 'positional' },
  { name: 'm', kind: 'positional' },
], ({ values }) => (values.get('n') as number) * (values.get('m') as number));
for (const name of ['foo_1', 'foo', 'empty'])
  define(
    `${name}(value: int) -> str`,
    [{ name: 'value', kind: 'positional', type: int }],
    ({ values }) => `${typeName(values.get('value'))}:${str(values.get('value'))}`,
  );
define(
  'foo_2(x: Union[int, str], y: Union[int, str]) -> str',
  ['x', 'y'].map((name) => ({ name, kind: 'positional', type: union('Union[int, str]', ['int', 'str']) })),
  ({ values }) => ['x', 'y'].map((k) => `${typeName(values.get(k))}:${str(values.get(k))}`).join(','),
);
define('empty() -> int', [], () => 10);
define('sum(*args: int) -> int', [{ name: 'args', kind: 'varargs', type: int }], ({ rest }) =>
  (rest as number[]).reduce((a, b) => a + b, 0));
define('range(start: int, stop: int, step: int = 1) -> str', [
  { name: 'start', kind: 'positional', type: int },
  { name: 'stop', kind: 'positional', type: int },
  { name: 'step', kind: 'positional', type: int, default: { value: 1 } },
], ({ values }) =>
  `res:range(start=${str(values.get('start'))},stop=${str(values.get('stop'))},step=${str(values.get('step'))})`);
define('sort(*args: int, reverse: bool = False) -> List[int]', [
  { name: 'args', kind: 'varargs', type: int },
  { name: 'reverse', kind: 'keyword', type: exactly('bool'), default: { value: false } },
], ({ values, rest }) => {
  const sorted = [...(rest as number[])].sort((x, y) => x - y);
  return values.get('reverse') === true ? sorted.reverse() : sorted;
});

const NO_GROUPS = {} as ConfigRepository;

/** What bench gives for one case: ['ok', encoded] or ['error', message]. */
function bench(c: Case): ['ok', unknown] | ['error', string] {
  try {
    return ['ok', run(c)];
  } catch (err) {
    const message = err instanceof OverrideParseError ? err.detail : (err as Error).message;
    return ['error', message];
  }
}

function run(c: Case): unknown {
  const [a, b] = c.input as [unknown, unknown];
  switch (c.op) {
    case 'rule':
      return encodeRule(a as string, parseRule(b as string, a as Rule));
    case 'key_element':
      return keyElement(parseOverride(a as string));
    case 'value_element':
      return valueElementText(parseOverride(a as string), b as boolean);
    case 'value': {
      const o = parseRule(a as string, 'override') as { value: Value };
      return enc(converted(o.value));
    }
    case 'sweep_strings':
    case 'sweep_iterators': {
      const o = parseOverride(a as string);
      if (o.value?.kind !== 'sweep')
        throw new Error('Can only enumerate CHOICE and RANGE sweeps, type is ValueType.ELEMENT');
      const values = expandValues(o.value.sweep, o.inputLine);
      const strings = values.map((e) => e.text);
      if (c.op === 'sweep_strings') return strings.sort();
      const encoded = values.map((e) =>
        !e.quoted && (typeof e.value === 'string' || typeof e.value === 'boolean' || numberValue(e.value) !== undefined)
          ? enc(e.value)
          : ['str', e.text],
      );
      return [strings, encoded];
    }
    case 'float_range': {
      const [start, stop, step] = (c.input as unknown[]).map(decodeNumber);
      return floatRange(start!, stop!, step!).map(enc);
    }
    case 'escape':
      return escapeSpecialCharacters(a as string);
    case 'glob_filter':
      return new Glob(a as string[], b as string[]).filter([
        'the',
        'quick',
        'brown',
        'fox',
        'jumped',
        'under',
        'the',
        'lazy',
        'dog',
      ]);
    case 'split': {
      const jobs = expandSweep(NO_GROUPS, [], (a as string[]).map(parseOverride)).map((j) => [...j.overrides]);
      const size = (b as number | null) ?? jobs.length;
      const batches: string[][][] = [];
      for (let k = 0; k < jobs.length; k += size) batches.push(jobs.slice(k, k + size));
      return batches;
    }
    case 'custom_function': {
      const functions = new Functions();
      for (const [name, sig] of a as [string, string][]) functions.register(CUSTOM[`${name}${sig}`]!);
      return encodeRule('function', parseRule(b as string, 'function', functions));
    }
    default:
      throw new Error(`unknown op ${c.op}`);
  }
}

/** Deliberate differences, by case id, with the reason (docs/configuration.md lists them). */
const KNOWN: Readonly<Record<string, string>> = {
  'test_dict_container[dict_int_key]':
    'key order: a JavaScript object lists integer-like keys (0, 123) before the others, whatever order they were written in',
  'test_dict_container[dict_mixed_keys]':
    'key order: a JavaScript object lists integer-like keys (1) before the others, whatever order they were written in',
};

describe(`Hydra ${FIXTURE.hydra}'s override-parser cases`, () => {
  const results = FIXTURE.cases.map((c) => ({ c, ours: bench(c) }));
  const agrees = ({ c, ours }: (typeof results)[number]): boolean =>
    c.hydra[0] === 'error'
      ? ours[0] === 'error'
      : ours[0] === 'ok' && JSON.stringify(ours[1]) === JSON.stringify(c.hydra[1]);

  it('agree with Hydra, strictly typed, but for the listed differences', () => {
    const differ = results.filter((r) => !agrees(r));
    const agree = results.length - differ.length;
    const refusals = results.filter((r) => r.c.hydra[0] === 'error' && r.ours[0] === 'error');
    const worded = refusals.filter((r) => (r.ours[1] as string).includes(r.c.hydra[2] as string));
    console.log(
      `Hydra ${FIXTURE.hydra}: ${agree} of ${results.length} cases agree (${((100 * agree) / results.length).toFixed(1)}%); ` +
        `${worded.length} of ${refusals.length} refusals in Hydra's words`,
    );
    for (const { c, ours } of refusals.filter((r) => !worded.includes(r)))
      console.log(`  ${c.id}: Hydra "${String(c.hydra[2])}", bench "${String(ours[1])}"`);
    const report = differ.map(
      ({ c, ours }) =>
        `${c.id} ${c.op} ${JSON.stringify(c.input)}\n  hydra ${JSON.stringify(c.hydra)}\n  bench ${JSON.stringify(ours)}`,
    );
    expect(differ.map((r) => r.c.id).sort(), report.join('\n')).toEqual(Object.keys(KNOWN).sort());
    expect(agree / results.length).toBeGreaterThanOrEqual(0.98);
    expect(worded.length, "every refusal in Hydra's words").toBe(refusals.length);
  });
});
