/**
 * The values and functions of Hydra's override grammar, ported from Hydra 1.3.5:
 * hydra/core/override_parser/types.py (quoted strings, sweeps, how a value is written back),
 * hydra/_internal/grammar/functions.py (the registry: Python's argument binding and Hydra's type
 * checks) and grammar_functions.py (choice, range, interval, tag, shuffle, sort, glob and the
 * casts). bench's sweeps over the machine (core_counts, divisors, split_counts) are registered
 * beside them. test/config/hydra-overrides.test.ts runs Hydra's own test cases through them.
 */
import { Float, float, floatRepr, int, isFloat, isInt, numberText, numberValue } from '../util/numbers.js';
import { pythonStrRepr, pythonTypeName } from '../util/python.js';

// ------------------------------------------------------------------------------------------------
// Values

/** A string that was quoted on the command line; `quote` is the quote it was written with. */
export class QuotedString {
  constructor(
    readonly text: string,
    readonly quote: "'" | '"',
  ) {}

  /** The string quoted again, such that parsing it gives `text` back (Hydra's `with_quotes`). */
  withQuotes(): string {
    const q = this.quote;
    const runs = new RegExp(String.raw`(\\)+${q}`, 'g');
    if (!this.text.includes('\\')) return `${q}${this.text.replaceAll(q, `\\${q}`)}${q}`;
    // Backslashes before a quote (the closing one included) are doubled, then quotes escaped.
    const text = this.text + q;
    let out = '';
    let last = 0;
    for (const m of text.matchAll(runs)) {
      out += text.slice(last, m.index);
      out += '\\'.repeat((m[0].length - 1) * 2);
      if (m.index + m[0].length < text.length) out += q;
      last = m.index + m[0].length;
    }
    out += text.slice(last, -1);
    return `${q}${out.replaceAll(q, `\\${q}`)}${q}`;
  }
}

/** What the grammar parses: primitives, quoted strings, lists, dicts, and sweeps where a function made one. */
export type Value =
  null | boolean | number | bigint | Float | string | QuotedString | Value[] | { [key: string]: Value } | Sweep | Glob;

export abstract class Sweep {
  tags = new Set<string>();
}

/** `a,b,c` (simple form) or `choice(a,b,c)`. */
export class ChoiceSweep extends Sweep {
  constructor(
    public list: Value[],
    public simpleForm = false,
    public shuffle = false,
  ) {
    super();
  }
}

/** `range(start, stop, step)`: ints when all three are ints, else floats. */
export class RangeSweep extends Sweep {
  constructor(
    public start: number | Float,
    public stop: number | Float,
    public step: number | Float = 1,
    public shuffle = false,
  ) {
    super();
  }
}

/** `interval(start, end)`: a continuous range, for sweepers that sample (the basic sweeper does not). */
export class IntervalSweep extends Sweep {
  constructor(
    public start: number | Float,
    public end: number | Float,
  ) {
    super();
  }
}

/** bench's sweeps over the machine, expanded when the sweep runs (they need the topology). */
export type MachineSweepName = 'core_counts' | 'divisors' | 'split_counts';

export class MachineSweep extends Sweep {
  constructor(
    readonly fn: MachineSweepName,
    readonly arg: number | null,
  ) {
    super();
  }
}

/** `glob(include, exclude)`: the options of a config group whose names match. Not a Sweep, as in Hydra. */
export class Glob {
  constructor(
    readonly include: string[],
    readonly exclude: string[] = [],
  ) {}

  /** The names that match an include pattern and no exclude pattern (fnmatch patterns). */
  filter(names: readonly string[]): string[] {
    const match = (s: string, globs: readonly string[]): boolean => globs.some((g) => fnmatch(g).test(s));
    return names.filter((n) => match(n, this.include) && !match(n, this.exclude));
  }
}

/** Python's fnmatch.translate: `*`, `?`, `[seq]`, `[!seq]`, case-sensitive as on POSIX. */
function fnmatch(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^]*';
    else if (c === '?') re += '[^]';
    else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) re += '\\[';
      else {
        let body = pattern.slice(i + 1, j).replaceAll('\\', '\\\\');
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        else if (body.startsWith('^') || body.startsWith('[')) body = `\\${body}`;
        re += `[${body}]`;
        i = j;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^(?:${re})$`);
}

export function isDict(v: unknown): v is { [key: string]: Value } {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

/** The value a config gets: quoted strings become plain strings (Hydra's `Override._convert_value`). */
export function plainValue(v: Value): unknown {
  if (v instanceof QuotedString) return v.text;
  if (Array.isArray(v)) return v.map(plainValue);
  if (isDict(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainValue(x)]));
  return v;
}

// ------------------------------------------------------------------------------------------------
// Writing values back (Hydra's `_get_value_element_as_str` and `escape_special_characters`)

const SPECIAL = '\\()[]{}:=, \t';

/** `a b` -> `a\ b`: the characters the grammar treats specially, escaped with a backslash. */
export function escapeSpecialCharacters(s: string): string {
  const present = new Set([...s].filter((c) => SPECIAL.includes(c)));
  if (present.size === 0) return s;
  let out = present.has('\\') ? s.replaceAll('\\', '\\\\') : s;
  for (const c of present) if (c !== '\\') out = out.replaceAll(c, `\\${c}`);
  return out;
}

/** A parsed value as override text, the way Hydra writes job overrides (`x=a`, `x='a b'`, `x=1.0`). */
export function valueText(v: Value, spaceAfterSep = false): string {
  const comma = spaceAfterSep ? ', ' : ',';
  const colon = spaceAfterSep ? ': ' : ':';
  if (v === null) return 'null';
  if (v instanceof QuotedString) return v.withQuotes();
  if (Array.isArray(v)) return `[${v.map((x) => valueText(x, spaceAfterSep)).join(comma)}]`;
  if (isDict(v)) {
    return `{${Object.entries(v)
      .map(([k, x]) => `${valueText(k)}${colon}${valueText(x, spaceAfterSep)}`)
      .join(comma)}}`;
  }
  if (typeof v === 'string') return escapeSpecialCharacters(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  const n = numberText(v);
  if (n !== undefined) return n;
  throw new PyError('AssertionError', '');
}

// ------------------------------------------------------------------------------------------------
// Sweeps enumerated (Hydra's `Override.sweep_iterator`)

/** The values of a choice or range sweep, shuffled (the same way every time) where it says so. */
export function sweepValues(sweep: ChoiceSweep | RangeSweep, seedText: string): Value[] {
  const values = sweep instanceof ChoiceSweep ? [...sweep.list] : rangeValues(sweep);
  return sweep.shuffle ? shuffled(values, seedText) : values;
}

/** Python's range() for ints; Hydra's FloatRange (exact decimal steps, 28 digits) otherwise. */
export function rangeValues(r: RangeSweep): Value[] {
  const out: Value[] = [];
  const limit = 100_000;
  if ([r.start, r.stop, r.step].every((x) => typeof x === 'number' && Number.isInteger(x))) {
    const [start, stop, step] = [r.start, r.stop, r.step] as number[];
    if (step === 0) throw new PyError('ValueError', 'range() arg 3 must not be zero');
    for (let v = start!; step! > 0 ? v < stop! : v > stop!; v += step!) {
      out.push(v);
      if (out.length > limit) throw new PyError('ValueError', `range(): more than ${limit} values`);
    }
    return out;
  }
  return floatRange(r.start, r.stop, r.step);
}

/** Hydra's FloatRange: floats from start by step (exact decimal steps, 28 digits) while short of stop. */
export function floatRange(from: number | Float, to: number | Float, by: number | Float): Value[] {
  const out: Value[] = [];
  const limit = 100_000;
  const [start, stop, step] = [from, to, by].map((x) => Decimal.of(numberValue(x)!));
  if (step!.sign() === 0)
    throw new PyError(
      'HydraException',
      `Invalid range values (start:${start!.text()}, stop:${stop!.text()}, step:${step!.text()})`,
    );
  for (let v = start!; step!.sign() > 0 ? v.cmp(stop!) < 0 : v.cmp(stop!) > 0; v = v.add(step!)) {
    out.push(float(v.toNumber()));
    if (out.length > limit) throw new PyError('ValueError', `range(): more than ${limit} values`);
  }
  return out;
}

/**
 * A deterministic shuffle (mulberry32 seeded from the override's text, then Fisher-Yates): Hydra
 * shuffles differently on every run; bench shuffles the same way every time, so that a sweep's jobs
 * keep their numbers and `bench --resume` finds them.
 */
function shuffled<T>(items: readonly T[], seedText: string): T[] {
  let s = [...seedText].reduce((h, c) => Math.imul(h ^ c.codePointAt(0)!, 16777619) >>> 0, 2166136261);
  const rand = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Python's decimal.Decimal with its default context (28 significant digits, half-even), for FloatRange. */
class Decimal {
  private constructor(
    /** value = coef * 10^exp */
    private readonly coef: bigint,
    private readonly exp: number,
  ) {}

  /** The exact value of a double, as Decimal(float) gives it. */
  static of(x: number): Decimal {
    if (!Number.isFinite(x)) throw new PyError('ValueError', `cannot convert ${floatRepr(x)} to Decimal`);
    if (Number.isInteger(x)) return new Decimal(BigInt(x), 0);
    let e = 0;
    let m = x;
    while (!Number.isInteger(m)) {
      m *= 2;
      e++;
    }
    // x = m / 2^e = m * 5^e / 10^e
    return new Decimal(BigInt(m) * 5n ** BigInt(e), -e);
  }

  sign(): number {
    return this.coef > 0n ? 1 : this.coef < 0n ? -1 : 0;
  }

  add(o: Decimal): Decimal {
    const exp = Math.min(this.exp, o.exp);
    const a = this.coef * 10n ** BigInt(this.exp - exp);
    const b = o.coef * 10n ** BigInt(o.exp - exp);
    return new Decimal(a + b, exp).rounded(28);
  }

  cmp(o: Decimal): number {
    return this.add(new Decimal(-o.coef, o.exp)).sign();
  }

  private rounded(digits: number): Decimal {
    const abs = this.coef < 0n ? -this.coef : this.coef;
    const extra = abs.toString().length - digits;
    if (extra <= 0) return this;
    const div = 10n ** BigInt(extra);
    let q = abs / div;
    const r = abs % div;
    if (r * 2n > div || (r * 2n === div && q % 2n === 1n)) q += 1n;
    return new Decimal(this.coef < 0n ? -q : q, this.exp + extra);
  }

  toNumber(): number {
    return Number(`${this.coef}e${this.exp}`);
  }

  text(): string {
    return this.exp === 0 ? String(this.coef) : `${this.coef}E${this.exp}`;
  }
}

// ------------------------------------------------------------------------------------------------
// The registry

/** An exception as Python would raise it: the grammar reports `<type> while evaluating '<call>': <message>`. */
export class PyError extends Error {
  constructor(
    readonly pyType: string,
    message: string,
  ) {
    super(message);
  }
}

/** A parameter annotation: its name in messages and what it admits (Hydra's `is_type_matching`). */
export interface PyType {
  readonly name: string;
  readonly admits: (v: Value) => boolean;
}

/** The Python type of a value, as `type(v).__name__` names it. */
export function typeName(v: Value | undefined): string {
  if (v instanceof QuotedString) return 'QuotedString';
  if (v instanceof Sweep || v instanceof Glob) return v.constructor.name;
  return pythonTypeName(v);
}

const IS: Record<string, (v: Value) => boolean> = {
  int: (v) => isInt(v) || typeof v === 'boolean', // isinstance(True, int) holds in Python
  float: (v) => isFloat(v),
  bool: (v) => typeof v === 'boolean',
  str: (v) => typeof v === 'string',
  list: (v) => Array.isArray(v),
  dict: (v) => isDict(v),
  NoneType: (v) => v === null,
  QuotedString: (v) => v instanceof QuotedString,
  Sweep: (v) => v instanceof Sweep,
  ChoiceSweep: (v) => v instanceof ChoiceSweep,
  RangeSweep: (v) => v instanceof RangeSweep,
  IntervalSweep: (v) => v instanceof IntervalSweep,
};

/** A single type: exactly that type for int, float, bool and str (a bool is not an int here). */
export function exactly(name: string): PyType {
  const is = IS[name]!;
  return { name, admits: name === 'int' ? (v) => isInt(v) : is };
}

/** `Union[...]` (written `name` in messages): isinstance of any, so a bool is an int. */
export function union(name: string, members: readonly string[]): PyType {
  return { name, admits: (v) => members.some((m) => IS[m]!(v)) };
}

export const ANY: PyType = { name: 'Any', admits: () => true };

export interface Param {
  readonly name: string;
  /** `positional` (positional or keyword), `varargs` (*args), `keyword` (keyword only, after *args). */
  readonly kind: 'positional' | 'varargs' | 'keyword';
  readonly type?: PyType;
  /** Present when the parameter has a default. */
  readonly default?: { readonly value: Value };
  /** Python's `/`: the parameter cannot be given by name. */
  readonly positionalOnly?: boolean;
}

export interface Bound {
  /** Every named parameter, given or defaulted. */
  readonly values: ReadonlyMap<string, Value>;
  /** What *args collected. */
  readonly rest: readonly Value[];
}

export interface GrammarFunction {
  readonly name: string;
  readonly params: readonly Param[];
  readonly call: (bound: Bound, context: CallContext) => Value;
}

export interface CallContext {
  /** The call's source text, e.g. `shuffle(a,b)`. */
  readonly text: string;
}

/** A function call as parsed: its name, positional and named arguments. */
export interface FunctionCall {
  readonly name: string;
  readonly args: readonly Value[];
  readonly kwargs: Readonly<Record<string, Value>>;
  readonly text: string;
}

/** The functions an override may call, with Python's argument binding and Hydra's type checks. */
export class Functions {
  private readonly definitions = new Map<string, GrammarFunction>();

  register(fn: GrammarFunction): this {
    this.definitions.set(fn.name, fn);
    return this;
  }

  names(): string[] {
    return [...this.definitions.keys()].sort();
  }

  eval(call: FunctionCall): Value {
    const fn = this.definitions.get(call.name);
    if (!fn)
      throw new PyError('HydraException', `Unknown function '${call.name}'\nAvailable: ${this.names().join(',')}\n`);
    const unquote = (v: Value): Value => (v instanceof QuotedString ? v.text : v);
    const args = call.args.map(unquote);
    const kwargs = Object.fromEntries(Object.entries(call.kwargs).map(([k, v]) => [k, unquote(v)]));
    const bound = bind(fn.params, args, kwargs);
    for (const p of fn.params) {
      const type = p.type ?? ANY;
      if (p.kind === 'varargs') {
        bound.rest.forEach((v, i) => {
          if (!type.admits(v))
            throw new PyError(
              'TypeError',
              `mismatch type argument ${p.name}[${i}]: ${typeName(v)} is incompatible with ${type.name}`,
            );
        });
      } else if (bound.given.has(p.name) && !type.admits(bound.values.get(p.name)!)) {
        throw new PyError(
          'TypeError',
          `mismatch type argument ${p.name}: ${typeName(bound.values.get(p.name))} is incompatible with ${type.name}`,
        );
      }
    }
    return fn.call(bound, { text: call.text });
  }
}

/** Python's Signature.bind: positional arguments first, then names, then what is missing. */
function bind(
  params: readonly Param[],
  args: readonly Value[],
  kwargs: Record<string, Value>,
): Bound & { given: Set<string> } {
  const values = new Map<string, Value>();
  const given = new Set<string>();
  let rest: Value[] = [];
  let i = 0;
  for (const p of params) {
    if (i >= args.length) break;
    if (p.kind === 'varargs') {
      rest = args.slice(i);
      i = args.length;
      break;
    }
    if (p.kind === 'keyword') break;
    if (Object.hasOwn(kwargs, p.name) && !p.positionalOnly)
      throw new PyError('TypeError', `multiple values for argument '${p.name}'`);
    values.set(p.name, args[i++]!);
    given.add(p.name);
  }
  if (i < args.length) throw new PyError('TypeError', 'too many positional arguments');
  for (const p of params) {
    if (given.has(p.name) || p.kind === 'varargs') continue;
    if (Object.hasOwn(kwargs, p.name) && !p.positionalOnly) {
      values.set(p.name, kwargs[p.name]!);
      given.add(p.name);
    } else if (p.default) values.set(p.name, p.default.value);
    else throw new PyError('TypeError', `missing a required argument: '${p.name}'`);
  }
  for (const k of Object.keys(kwargs)) {
    if (!params.some((p) => p.name === k && p.kind !== 'varargs' && !p.positionalOnly))
      throw new PyError('TypeError', `got an unexpected keyword argument '${k}'`);
  }
  return { values, rest, given };
}

// ------------------------------------------------------------------------------------------------
// Hydra's functions

const ELEMENT = ['str', 'int', 'bool', 'float', 'list', 'dict'];
const PARSED_ELEMENT = [...ELEMENT, 'QuotedString', 'NoneType'];
const CAST_TYPE: PyType = union('Union[ParsedElementType, Sweep]', [...PARSED_ELEMENT, 'Sweep']);
const NUMBER = union('Union[int, float]', ['int', 'float']);
const SORTABLE = union('Union[ElementType, ChoiceSweep, RangeSweep]', [...ELEMENT, 'ChoiceSweep', 'RangeSweep']);
const none = { value: null };

function listToSimpleChoice(args: readonly Value[]): ChoiceSweep {
  return new ChoiceSweep([...args], true);
}

function normalizeCastValue(bound: Bound): Value {
  const value = bound.values.get('value') ?? null;
  if (bound.rest.length > 0 && value !== null)
    throw new PyError('TypeError', 'cannot use both position and named arguments');
  if (value !== null) return value;
  if (bound.rest.length === 0) throw new PyError('TypeError', 'No positional args or value specified');
  return bound.rest.length === 1 ? bound.rest[0]! : listToSimpleChoice(bound.rest);
}

export type Cast = 'int' | 'float' | 'str' | 'bool';

/** Hydra's cast_int, cast_float, cast_str and cast_bool of one value. */
export function castValue(kind: Cast, value: Value): Value {
  const again = (v: Value): Value => castValue(kind, v);
  if (value instanceof QuotedString) return again(value.text);
  if (Array.isArray(value)) return value.map(again);
  if (isDict(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, again(v)]));
  if (value instanceof ChoiceSweep) return new ChoiceSweep(value.list.map(again), value.simpleForm);
  if (value instanceof RangeSweep) {
    if (kind !== 'int' && kind !== 'float') throw new PyError('ValueError', 'Range can only be cast to int or float');
    return new RangeSweep(
      again(value.start) as number | Float,
      again(value.stop) as number | Float,
      again(value.step) as number | Float,
    );
  }
  if (value instanceof IntervalSweep) {
    if (kind === 'str' || kind === 'bool') throw new PyError('ValueError', `Intervals cannot be cast to ${kind}`);
    const out = new IntervalSweep(again(value.start) as number | Float, again(value.end) as number | Float);
    out.tags = new Set(value.tags);
    return out;
  }
  switch (kind) {
    case 'int':
      return pyInt(value);
    case 'float':
      return pyFloat(value);
    case 'str':
      if (typeof value === 'boolean') return value ? 'true' : 'false';
      if (typeof value === 'string') return value;
      if (numberText(value) !== undefined) return numberText(value)!;
      throw new PyError('AssertionError', '');
    case 'bool':
      if (typeof value === 'string') {
        if (value.toLowerCase() === 'false') return false;
        if (value.toLowerCase() === 'true') return true;
        throw new PyError('ValueError', `Cannot cast '${value}' to bool`);
      }
      if (value === null) return false;
      if (typeof value === 'boolean') return value;
      return numberValue(value) !== 0;
  }
}

/** Python's int(): truncates a float, reads a base-10 literal (signs, spaces and `_` allowed). */
function pyInt(v: Value): Value {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))) return v;
  if (typeof v === 'string') {
    const s = v.trim();
    if (!/^[+-]?\d(?:_?\d)*$/.test(s))
      throw new PyError('ValueError', `invalid literal for int() with base 10: ${pythonStrRepr(v)}`);
    return int(BigInt(s.replaceAll('_', '')));
  }
  const x = numberValue(v);
  if (x === undefined) throw new PyError('AssertionError', '');
  if (Number.isNaN(x)) throw new PyError('ValueError', 'cannot convert float NaN to integer');
  if (!Number.isFinite(x)) throw new PyError('OverflowError', 'cannot convert float infinity to integer');
  const t = Math.trunc(x);
  return Number.isSafeInteger(t) ? t : BigInt(t);
}

/** Python's float(): numbers, and strings such as ` 1_000.5 `, `1e3`, `inf`, `nan`. */
function pyFloat(v: Value): Value {
  if (typeof v === 'boolean') return float(v ? 1 : 0);
  if (typeof v === 'string') {
    const s = v.trim();
    const digits = String.raw`\d(?:_?\d)*`;
    const literal = new RegExp(
      String.raw`^[+-]?(?:(?:${digits})?\.${digits}|${digits}\.?)(?:[eE][+-]?${digits})?$|^[+-]?(?:inf|infinity|nan)$`,
      'i',
    );
    if (!literal.test(s)) throw new PyError('ValueError', `could not convert string to float: ${pythonStrRepr(v)}`);
    const lower = s.toLowerCase().replaceAll('_', '');
    if (lower.endsWith('inf') || lower.endsWith('infinity')) return lower.startsWith('-') ? -Infinity : Infinity;
    if (lower.endsWith('nan')) return NaN;
    return float(Number(lower));
  }
  const x = numberValue(v);
  if (x === undefined) throw new PyError('AssertionError', '');
  return float(x);
}

/** Python's repr() of a parsed value, as a tuple of arguments shows it in an error. */
function pythonRepr(v: Value): string {
  if (typeof v === 'string') return pythonStrRepr(v);
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) return `[${v.map(pythonRepr).join(', ')}]`;
  if (v instanceof QuotedString)
    return `QuotedString(text=${pythonStrRepr(v.text)}, quote=<Quote.${v.quote === "'" ? 'single: 0' : 'double: 1'}>)`;
  if (isDict(v))
    return `{${Object.entries(v)
      .map(([k, x]) => `${pythonStrRepr(k)}: ${pythonRepr(x)}`)
      .join(', ')}}`;
  return numberText(v) ?? typeName(v);
}

/** Python's `<` between two parsed values, or a TypeError as sorted() raises it. */
function lessThan(a: Value, b: Value): boolean {
  const x = typeof a === 'boolean' ? Number(a) : numberValue(a);
  const y = typeof b === 'boolean' ? Number(b) : numberValue(b);
  if (x !== undefined && y !== undefined) return x < y;
  if (typeof a === 'string' && typeof b === 'string') return a < b;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (lessThan(a[i]!, b[i]!)) return true;
      if (lessThan(b[i]!, a[i]!)) return false;
    }
    return a.length < b.length;
  }
  throw new PyError('TypeError', `'<' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

/** sorted(): stable, comparing with `<` only; incomparable neighbours fail as Python's sort does first. */
function pySorted(items: readonly Value[], reverse: boolean): Value[] {
  for (let i = 1; i < items.length; i++) lessThan(items[i]!, items[i - 1]!);
  const cmp = (a: Value, b: Value): number => (lessThan(a, b) ? -1 : lessThan(b, a) ? 1 : 0);
  return [...items].sort(reverse ? (a, b) => cmp(b, a) : cmp);
}

/** Python's + and - on ints and floats: a float if either is one. */
function arith(a: number | Float, b: number | Float, op: (x: number, y: number) => number): number | Float {
  const r = op(numberValue(a)!, numberValue(b)!);
  return isFloat(a) || isFloat(b) ? float(r) : r;
}

function absolute(a: number | Float): number | Float {
  return isFloat(a) ? float(Math.abs(numberValue(a)!)) : Math.abs(a as number);
}

function negate(a: number | Float): number | Float {
  return isFloat(a) ? float(-numberValue(a)!) : -(a as number);
}

function sortSweep(sweep: ChoiceSweep | RangeSweep, reverse: boolean): ChoiceSweep | RangeSweep {
  if (sweep instanceof ChoiceSweep) {
    const out = new ChoiceSweep(pySorted(sweep.list, reverse), sweep.simpleForm, sweep.shuffle);
    out.tags = sweep.tags;
    return out;
  }
  let { start, stop, step } = sweep;
  const ascending = !reverse;
  if (ascending ? numberValue(start)! > numberValue(stop)! : numberValue(start)! < numberValue(stop)!) {
    const add = (x: number, y: number): number => x + y;
    const sub = (x: number, y: number): number => x - y;
    const newStart = arith(stop, absolute(step), ascending ? add : sub);
    const newStop = arith(start, absolute(step), ascending ? add : sub);
    [start, stop, step] = [newStart, newStop, negate(step)];
  }
  const out = new RangeSweep(start, stop, step, sweep.shuffle);
  out.tags = sweep.tags;
  return out;
}

function shuffleOf(bound: Bound, ctx: CallContext): Value {
  const list = bound.values.get('list') ?? null;
  const sweep = bound.values.get('sweep') ?? null;
  const args = list !== null ? [list] : sweep !== null ? [sweep] : bound.rest;
  if (args.length === 1) {
    const arg = args[0]!;
    if (arg instanceof ChoiceSweep || arg instanceof RangeSweep) {
      const out =
        arg instanceof ChoiceSweep
          ? new ChoiceSweep(arg.list, arg.simpleForm, true)
          : new RangeSweep(arg.start, arg.stop, arg.step, true);
      out.tags = arg.tags;
      return out;
    }
    if (Array.isArray(arg)) return shuffled(arg, ctx.text);
    return [arg];
  }
  const choice = listToSimpleChoice(args);
  choice.shuffle = true;
  return choice;
}

function sortOf(bound: Bound): Value {
  const reverse = bound.values.get('reverse') === true;
  const list = bound.values.get('list') ?? null;
  const sweep = bound.values.get('sweep') ?? null;
  if (list !== null) {
    if (!Array.isArray(list)) return list;
    return pySorted(list, reverse);
  }
  if (sweep !== null) return sortSweep(sweep as ChoiceSweep | RangeSweep, reverse);
  const args = bound.rest;
  if (args.length === 1) {
    const arg = args[0]!;
    if (arg instanceof ChoiceSweep || arg instanceof RangeSweep) return sortSweep(arg, reverse);
    if (Array.isArray(arg)) return pySorted(arg, reverse);
    if (union('', PARSED_ELEMENT).admits(arg)) return arg;
    throw new PyError('TypeError', `Invalid arguments: (${pythonRepr(arg)},)`);
  }
  if (!args.every((a) => union('', ['int', 'float', 'bool', 'str']).admits(a)))
    throw new PyError('TypeError', `Invalid arguments: (${args.map(pythonRepr).join(', ')})`);
  if (args.length === 0) throw new PyError('ValueError', 'empty sort input');
  return sortSweep(listToSimpleChoice(args), reverse);
}

function tagOf(bound: Bound): Value {
  if (bound.rest.length < 1) throw new PyError('ValueError', 'Not enough arguments to tag, must take at least a sweep');
  const sweep = bound.values.get('sweep') ?? null;
  const args = sweep !== null ? [...bound.rest, sweep] : bound.rest;
  const last = args.at(-1)!;
  if (!(last instanceof Sweep))
    throw new PyError(
      'ValueError',
      `Last argument to tag() must be a choice(), range() or interval(), got ${typeName(sweep)}`,
    );
  const tags = new Set<string>();
  for (const t of args.slice(0, -1)) {
    if (typeof t !== 'string') throw new PyError('ValueError', `tag arguments type must be string, got ${typeName(t)}`);
    tags.add(t);
  }
  last.tags = tags;
  return last;
}

function castFunction(kind: Cast): GrammarFunction {
  return {
    name: kind,
    params: [
      { name: 'args', kind: 'varargs', type: CAST_TYPE },
      {
        name: 'value',
        kind: 'keyword',
        type: union('Optional[CastType]', [...PARSED_ELEMENT, 'Sweep']),
        default: none,
      },
    ],
    call: (bound) => castValue(kind, normalizeCastValue(bound)),
  };
}

function machineFunction(name: MachineSweepName, argName: string | null): GrammarFunction {
  const optionalInt = union('Optional[int]', ['int', 'NoneType']);
  return {
    name,
    params: argName === null ? [] : [{ name: argName, kind: 'positional', type: optionalInt, default: none }],
    call: (bound) => {
      const arg = argName === null ? null : (bound.values.get(argName) ?? null);
      const n = arg === null ? null : numberValue(arg)!;
      if (n !== null && (!Number.isInteger(n) || n < 1))
        throw new PyError('ValueError', `${name}(): ${argName} must be a positive int, got ${pythonRepr(arg)}`);
      return new MachineSweep(name, n);
    },
  };
}

/** Hydra's functions (create_functions()) and bench's machine sweeps. */
export function builtinFunctions(): Functions {
  const functions = new Functions();
  functions.register({
    name: 'choice',
    params: [
      {
        name: 'args',
        kind: 'varargs',
        type: union('Union[str, int, float, bool, Dict[Any, Any], List[Any], ChoiceSweep]', [
          'str',
          'int',
          'float',
          'bool',
          'dict',
          'list',
          'ChoiceSweep',
        ]),
      },
    ],
    call: ({ rest }) => {
      if (rest.length === 0) throw new PyError('ValueError', 'empty choice is not legal');
      const first = rest[0];
      if (rest.length === 1 && first instanceof ChoiceSweep) {
        if (!first.simpleForm) throw new PyError('ValueError', 'nesting choices is not supported');
        first.simpleForm = false;
        return first;
      }
      return new ChoiceSweep([...rest]);
    },
  });
  functions.register({
    name: 'range',
    params: [
      { name: 'start', kind: 'positional', type: NUMBER },
      {
        name: 'stop',
        kind: 'positional',
        type: union('Optional[Union[int, float]]', ['int', 'float', 'NoneType']),
        default: none,
      },
      { name: 'step', kind: 'positional', type: NUMBER, default: { value: 1 } },
    ],
    call: ({ values }) => {
      let start = values.get('start') as number | Float;
      let stop = values.get('stop') as number | Float | null;
      if (stop === null) [start, stop] = [0, start];
      return new RangeSweep(start, stop, values.get('step') as number | Float);
    },
  });
  functions.register({
    name: 'interval',
    params: [
      { name: 'start', kind: 'positional', type: NUMBER },
      { name: 'end', kind: 'positional', type: NUMBER },
    ],
    call: ({ values }) =>
      new IntervalSweep(float(numberValue(values.get('start'))!), float(numberValue(values.get('end'))!)),
  });
  functions.register({
    name: 'tag',
    params: [
      { name: 'args', kind: 'varargs', type: union('Union[str, Sweep]', ['str', 'Sweep']) },
      { name: 'sweep', kind: 'keyword', type: union('Optional[Sweep]', ['Sweep', 'NoneType']), default: none },
    ],
    call: tagOf,
  });
  const sweepOrList = [
    {
      name: 'sweep',
      kind: 'keyword',
      type: union('Optional[Union[ChoiceSweep, RangeSweep]]', ['ChoiceSweep', 'RangeSweep', 'NoneType']),
      default: none,
    },
    { name: 'list', kind: 'keyword', type: union('Optional[List[Any]]', ['list', 'NoneType']), default: none },
  ] as const;
  functions.register({
    name: 'shuffle',
    params: [{ name: 'args', kind: 'varargs', type: SORTABLE }, ...sweepOrList],
    call: shuffleOf,
  });
  functions.register({
    name: 'sort',
    params: [
      { name: 'args', kind: 'varargs', type: SORTABLE },
      ...sweepOrList,
      { name: 'reverse', kind: 'keyword', type: exactly('bool'), default: { value: false } },
    ],
    call: sortOf,
  });
  functions.register({
    name: 'glob',
    params: [
      { name: 'include', kind: 'positional', type: union('Union[List[str], str]', ['list', 'str']) },
      {
        name: 'exclude',
        kind: 'positional',
        type: union('Optional[Union[List[str], str]]', ['list', 'str', 'NoneType']),
        default: none,
      },
    ],
    call: ({ values }) => {
      const strings = (v: Value): string[] =>
        v === null ? [] : Array.isArray(v) ? v.map((x) => String(plainValue(x))) : [String(v)];
      return new Glob(strings(values.get('include')!), strings(values.get('exclude') ?? null));
    },
  });
  for (const kind of ['int', 'float', 'str', 'bool'] as const) functions.register(castFunction(kind));
  functions.register(machineFunction('core_counts', null));
  functions.register(machineFunction('divisors', 'n'));
  functions.register(machineFunction('split_counts', 'n'));
  return functions;
}
