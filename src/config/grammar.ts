/**
 * Hydra's command-line override grammar (hydra/grammar/OverrideLexer.g4 and OverrideParser.g4,
 * v1.3.5), re-implemented as a modal lexer and a recursive-descent parser.
 *
 *   override: key=value | ~key | ~key=value | +key=value | ++key=value
 *   key:      packageOrGroup (@package)?
 *   value:    element | element (, element)+          (the second form is a simple choice sweep)
 *   element:  primitive | [list] | {dict} | function(args)
 *
 * Lexing is longest-match with ties going to the earlier rule, as ANTLR does, which is what makes
 * `true` a bool but `trueish` a string, `10` an int but `10abc` a string, and `007` a string.
 * A primitive made of exactly one token is typed (int, float, bool, null); several tokens are
 * concatenated into a string, with escapes removed.
 */
import { assertSafeKey } from '../util/tree.js';
import { OverrideParseError } from './errors.js';

export type OverrideType = 'change' | 'add' | 'forceAdd' | 'delete';

export type Sweep =
  | { readonly type: 'choice'; readonly items: readonly Element[]; readonly simple: boolean }
  | { readonly type: 'range'; readonly start: number; readonly stop: number; readonly step: number }
  | { readonly type: 'glob'; readonly include: readonly string[]; readonly exclude: readonly string[] }
  | { readonly type: 'interval'; readonly start: number; readonly end: number }
  /** bench's own sweeps over the machine: core_counts(), divisors([n]), split_counts([batch]). */
  | { readonly type: 'machine'; readonly fn: MachineSweep; readonly arg: number | null };

export type MachineSweep = 'core_counts' | 'divisors' | 'split_counts';

/** What machine sweeps are computed from: the usable physical cores, and the run's batch size. */
export interface MachineContext {
  readonly physicalCores: number;
  readonly batchSize: number | null;
}

/** A value as typed on the command line: `text` is its canonical source form, used in job overrides. */
export interface Element {
  readonly value: unknown;
  readonly text: string;
  readonly quoted: boolean;
}

export type OverrideValue =
  ({ readonly kind: 'element' } & Element) | { readonly kind: 'sweep'; readonly sweep: Sweep; readonly text: string };

export interface Override {
  readonly type: OverrideType;
  /** `db`, `a.b.c`, `hydra/launcher`: a config group path or a dotted key. */
  readonly keyOrGroup: string;
  /** The part after `@`; `''` means `_global_`; null when there is no `@`. */
  readonly pkg: string | null;
  readonly value: OverrideValue | null;
  readonly inputLine: string;
}

/** The key with its `+`/`~` prefix and package, as Hydra's `get_key_element()` returns it. */
export function keyElement(o: Override): string {
  const prefix = o.type === 'add' ? '+' : o.type === 'forceAdd' ? '++' : o.type === 'delete' ? '~' : '';
  return `${prefix}${o.keyOrGroup}${o.pkg === null ? '' : `@${o.pkg}`}`;
}

export function isSweep(o: Override): boolean {
  return o.value?.kind === 'sweep';
}

// ------------------------------------------------------------------------------------------------
// Lexer (value mode)

type TokenType =
  | 'POPEN'
  | 'COMMA'
  | 'PCLOSE'
  | 'BRACKET_OPEN'
  | 'BRACKET_CLOSE'
  | 'BRACE_OPEN'
  | 'BRACE_CLOSE'
  | 'COLON'
  | 'EQUAL'
  | 'FLOAT'
  | 'INT'
  | 'BOOL'
  | 'NULL'
  | 'UNQUOTED_CHAR'
  | 'ID'
  | 'ESC'
  | 'WS'
  | 'QUOTED'
  | 'INTERPOLATION';

interface Token {
  readonly type: TokenType;
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

const INT_PART = String.raw`\d(?:_?\d)*`;
const POINT_FLOAT = [String.raw`(?:${INT_PART})?\.\d(?:_?\d)*`, String.raw`${INT_PART}\.`];
const FLOAT_FORMS = [
  ...POINT_FLOAT,
  ...[INT_PART, ...POINT_FLOAT].map((base) => String.raw`(?:${base})[eE][+-]?${INT_PART}`),
  '[Ii][Nn][Ff]',
  '[Nn][Aa][Nn]',
].map((form) => new RegExp(String.raw`[+-]?(?:${form})`, 'y'));

/** In the order of the lexer file: on equal length the earlier rule wins. */
const RULES: ReadonlyArray<readonly [TokenType, readonly RegExp[]]> = [
  ['POPEN', [/[ \t]*\([ \t]*/y]],
  ['COMMA', [/[ \t]*,[ \t]*/y]],
  ['PCLOSE', [/[ \t]*\)/y]],
  ['BRACKET_OPEN', [/\[[ \t]*/y]],
  ['BRACKET_CLOSE', [/[ \t]*\]/y]],
  ['BRACE_OPEN', [/\{[ \t]*/y]],
  ['BRACE_CLOSE', [/[ \t]*\}/y]],
  ['COLON', [/[ \t]*:[ \t]*/y]],
  ['EQUAL', [/[ \t]*=[ \t]*/y]],
  ['FLOAT', FLOAT_FORMS],
  ['INT', [/[+-]?(?:0|[1-9](?:_?\d)*)/y]],
  ['BOOL', [/[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]/y]],
  ['NULL', [/[Nn][Uu][Ll][Ll]/y]],
  ['UNQUOTED_CHAR', [/[/\-\\+.$%*@?|]/y]],
  ['ID', [/[A-Za-z_][A-Za-z0-9_-]*/y]],
  ['ESC', [/(?:\\\\|\\\(|\\\)|\\\[|\\\]|\\\{|\\\}|\\:|\\=|\\,|\\ |\\\t)+/y]],
  ['WS', [/[ \t]+/y]],
  ['QUOTED', [/'(?:\\'|[^])*?'/y, /"(?:\\"|[^])*?"/y]],
  ['INTERPOLATION', [/\$\{[^}]+\}/y]],
];

function lexValue(source: string, offset: number, line: string): Token[] {
  const tokens: Token[] = [];
  let pos = offset;
  while (pos < source.length) {
    let best: Token | null = null;
    for (const [type, regexes] of RULES) {
      for (const re of regexes) {
        re.lastIndex = pos;
        const m = re.exec(source);
        if (m && m[0].length > 0 && (best === null || m[0].length > best.text.length)) {
          best = { type, text: m[0], start: pos, end: pos + m[0].length };
        }
      }
    }
    if (best === null) {
      throw parseError(line, `token recognition error at: '${source.slice(pos, pos + 1)}'`);
    }
    tokens.push(best);
    pos = best.end;
  }
  return tokens;
}

function parseError(line: string, detail: string): OverrideParseError {
  return new OverrideParseError(
    `Error parsing override '${line}'\n${detail}\n` +
      `See https://hydra.cc/docs/1.2/advanced/override_grammar/basic for details`,
  );
}

// ------------------------------------------------------------------------------------------------
// Parser

const KEY_SEGMENT = String.raw`(?:[A-Za-z_$][\w$-]*|\d+)`;
const PACKAGE = String.raw`(?:${KEY_SEGMENT}(?:\.${KEY_SEGMENT})*)?`;
const GROUP = String.raw`[A-Za-z_][\w-]*(?:/[A-Za-z_][\w-]*)+`;
const KEY_RE = new RegExp(String.raw`^(~|\+\+|\+)?(${GROUP}|${PACKAGE})(?:@(${PACKAGE}))?(?:([ \t]*=[ \t]*)|$)`);

export function parseOverride(line: string): Override {
  const m = KEY_RE.exec(line);
  if (!m) {
    throw parseError(line, `mismatched input: expected key=value, +key=value, ++key=value or ~key`);
  }
  const prefix = m[1] ?? '';
  const keyOrGroup = m[2] ?? '';
  const pkg = m[3] ?? null;
  const hasEqual = m[4] !== undefined;
  const type: OverrideType =
    prefix === '~' ? 'delete' : prefix === '++' ? 'forceAdd' : prefix === '+' ? 'add' : 'change';
  if (keyOrGroup === '' && pkg === null) throw parseError(line, 'missing key before =');
  if (!hasEqual && type !== 'delete') {
    throw parseError(line, `missing '=': write ${line}=VALUE (or ~${line} to delete it)`);
  }
  const value = hasEqual ? new ValueParser(line, m[0].length).parseValue() : null;
  return { type, keyOrGroup, pkg, value, inputLine: line };
}

/** Tokens a dictionary key is made of (Hydra's dictKey rule). */
const DICT_KEY_TOKENS: ReadonlySet<TokenType> = new Set([
  'ID',
  'NULL',
  'INT',
  'FLOAT',
  'BOOL',
  'UNQUOTED_CHAR',
  'ESC',
  'WS',
]);
/** Tokens an unquoted primitive is made of: a key's, plus `:` and interpolations. */
const PRIMITIVE_TOKENS: ReadonlySet<TokenType> = new Set([...DICT_KEY_TOKENS, 'COLON', 'INTERPOLATION']);

class ValueParser {
  private readonly tokens: Token[];
  private i = 0;

  constructor(
    private readonly line: string,
    offset: number,
  ) {
    this.tokens = lexValue(line, offset, line);
  }

  parseValue(): OverrideValue {
    if (this.tokens.length === 0) return { kind: 'element', value: '', text: '', quoted: false };
    const first = this.parseElement();
    if (this.peek()?.type !== 'COMMA') {
      this.expectEnd();
      return first.kind === 'sweep' ? first : first;
    }
    const items: Element[] = [asElement(first, this.line)];
    while (this.peek()?.type === 'COMMA') {
      this.i++;
      items.push(asElement(this.parseElement(), this.line));
    }
    this.expectEnd();
    return {
      kind: 'sweep',
      sweep: { type: 'choice', items, simple: true },
      text: this.sourceText(0, this.tokens.length),
    };
  }

  private peek(k = 0): Token | undefined {
    return this.tokens[this.i + k];
  }

  private expectEnd(): void {
    const t = this.peek();
    if (t) throw parseError(this.line, `extraneous input '${t.text.trim()}' at position ${t.start}`);
  }

  private expect(type: TokenType, what: string): Token {
    const t = this.peek();
    if (!t || t.type !== type) {
      throw parseError(this.line, `expected ${what} but found ${t ? `'${t.text.trim()}'` : 'the end of the value'}`);
    }
    this.i++;
    return t;
  }

  private sourceText(fromToken: number, toToken: number): string {
    const a = this.tokens[fromToken];
    const b = this.tokens[toToken - 1];
    return a && b ? this.line.slice(a.start, b.end).trim() : '';
  }

  private parseElement(): OverrideValue {
    const t = this.peek();
    if (!t) throw parseError(this.line, 'expected a value but found the end of the value');
    if (t.type === 'ID' && this.peek(1)?.type === 'POPEN') return this.parseFunction();
    if (t.type === 'BRACKET_OPEN') return this.parseList();
    if (t.type === 'BRACE_OPEN') return this.parseDict();
    return this.parsePrimitive();
  }

  private parseList(): OverrideValue {
    const startToken = this.i;
    this.i++;
    const items: unknown[] = [];
    if (this.peek()?.type !== 'BRACKET_CLOSE') {
      for (;;) {
        items.push(asElement(this.parseElement(), this.line).value);
        if (this.peek()?.type !== 'COMMA') break;
        this.i++;
      }
    }
    this.expect('BRACKET_CLOSE', "']'");
    return { kind: 'element', value: items, text: this.sourceText(startToken, this.i), quoted: false };
  }

  private parseDict(): OverrideValue {
    const startToken = this.i;
    this.i++;
    const dict: Record<string, unknown> = {};
    if (this.peek()?.type !== 'BRACE_CLOSE') {
      for (;;) {
        const key = this.parseDictKey();
        assertSafeKey(key, `in ${this.line}`);
        this.expect('COLON', "':'");
        dict[key] = asElement(this.parseElement(), this.line).value;
        if (this.peek()?.type !== 'COMMA') break;
        this.i++;
      }
    }
    this.expect('BRACE_CLOSE', "'}'");
    return { kind: 'element', value: dict, text: this.sourceText(startToken, this.i), quoted: false };
  }

  private parseDictKey(): string {
    let text = '';
    while (this.peek() && DICT_KEY_TOKENS.has(this.peek()!.type)) {
      const t = this.tokens[this.i++]!;
      text += t.type === 'ESC' ? unescape(t.text) : t.text;
    }
    if (text.trim() === '') throw parseError(this.line, 'expected a dictionary key');
    return text.trim();
  }

  private parsePrimitive(): OverrideValue {
    const first = this.peek()!;
    if (first.type === 'QUOTED') {
      this.i++;
      return { kind: 'element', value: unquote(first.text), text: first.text, quoted: true };
    }
    const startToken = this.i;
    while (this.peek() && PRIMITIVE_TOKENS.has(this.peek()!.type)) this.i++;
    if (this.i === startToken) {
      throw parseError(this.line, `mismatched input '${first.text.trim()}'`);
    }
    let parts = this.tokens.slice(startToken, this.i);
    // Leading and trailing whitespace is not part of the value.
    while (parts[0]?.type === 'WS') parts = parts.slice(1);
    while (parts.at(-1)?.type === 'WS') parts = parts.slice(0, -1);
    const text = parts
      .map((t) => t.text)
      .join('')
      .trim();
    const only = parts.length === 1 ? parts[0] : undefined;
    let value: unknown;
    if (only?.type === 'INT') value = Number(only.text.replaceAll('_', ''));
    else if (only?.type === 'FLOAT') value = parseFloatToken(only.text);
    else if (only?.type === 'BOOL') value = only.text.toLowerCase() === 'true';
    else if (only?.type === 'NULL') value = null;
    else
      value = parts
        .map((t) => (t.type === 'ESC' ? unescape(t.text) : t.text))
        .join('')
        .trim();
    return { kind: 'element', value, text, quoted: false };
  }

  private parseFunction(): OverrideValue {
    const startToken = this.i;
    const name = this.tokens[this.i++]!.text;
    this.i++; // POPEN
    const args: OverrideValue[] = [];
    const named: Record<string, OverrideValue> = {};
    if (this.peek()?.type !== 'PCLOSE') {
      for (;;) {
        if (this.peek()?.type === 'ID' && this.peek(1)?.type === 'EQUAL') {
          const argName = this.tokens[this.i]!.text;
          this.i += 2;
          named[argName] = this.parseElement();
        } else {
          if (Object.keys(named).length > 0) {
            throw parseError(this.line, `${name}(): positional argument follows keyword argument`);
          }
          args.push(this.parseElement());
        }
        if (this.peek()?.type !== 'COMMA') break;
        this.i++;
      }
    }
    this.expect('PCLOSE', "')'");
    const text = this.sourceText(startToken, this.i);
    return callFunction(name, args, named, text, this.line);
  }
}

function asElement(v: OverrideValue, line: string): Element {
  if (v.kind === 'sweep') {
    throw parseError(line, `a sweep (${v.text}) cannot be nested inside another value`);
  }
  return v;
}

function unescape(esc: string): string {
  return esc.replace(/\\(.)/gs, '$1');
}

/** Hydra: `\'` inside single quotes is a quote; a doubled backslash before a quote is one backslash. */
function unquote(quoted: string): string {
  const q = quoted[0]!;
  const body = quoted.slice(1, -1);
  return body.replace(
    new RegExp(String.raw`(\\+)(${q})|(\\+)$`, 'g'),
    (_m, bs: string | undefined, quote: string | undefined, trail: string | undefined) =>
      quote !== undefined
        ? '\\'.repeat(Math.floor(bs!.length / 2)) + quote
        : '\\'.repeat(Math.floor(trail!.length / 2)),
  );
}

function parseFloatToken(text: string): number {
  const t = text.replaceAll('_', '').toLowerCase();
  const sign = t.startsWith('-') ? -1 : 1;
  const body = t.replace(/^[+-]/, '');
  if (body === 'inf') return sign * Infinity;
  if (body === 'nan') return NaN;
  return Number(t);
}

// ------------------------------------------------------------------------------------------------
// Functions: sweeps (choice, range, interval, glob), their modifiers (sort, shuffle, tag) and casts.

function callFunction(
  name: string,
  args: OverrideValue[],
  named: Record<string, OverrideValue>,
  text: string,
  line: string,
): OverrideValue {
  const num = (v: OverrideValue | undefined, what: string): number => {
    const e = v === undefined ? undefined : asElement(v, line);
    if (typeof e?.value !== 'number')
      throw parseError(line, `${name}(): ${what} must be a number, got ${e?.text ?? 'nothing'}`);
    return e.value;
  };
  const strings = (v: OverrideValue | undefined): string[] => {
    if (v === undefined) return [];
    const e = asElement(v, line).value;
    return (Array.isArray(e) ? e : [e]).map(String);
  };
  switch (name) {
    case 'choice': {
      if (args.length === 0) throw parseError(line, 'choice() needs at least one element');
      return {
        kind: 'sweep',
        sweep: { type: 'choice', items: args.map((a) => asElement(a, line)), simple: false },
        text,
      };
    }
    case 'range': {
      const start = num(args[0] ?? named.start, 'start');
      const stopArg = args[1] ?? named.stop;
      const stop = stopArg === undefined ? start : num(stopArg, 'stop');
      const step = args[2] ?? named.step;
      return {
        kind: 'sweep',
        sweep: {
          type: 'range',
          start: stopArg === undefined ? 0 : start,
          stop,
          step: step === undefined ? 1 : num(step, 'step'),
        },
        text,
      };
    }
    case 'interval':
      return {
        kind: 'sweep',
        sweep: { type: 'interval', start: num(args[0] ?? named.start, 'start'), end: num(args[1] ?? named.end, 'end') },
        text,
      };
    case 'glob':
      return {
        kind: 'sweep',
        sweep: { type: 'glob', include: strings(args[0] ?? named.include), exclude: strings(args[1] ?? named.exclude) },
        text,
      };
    case 'core_counts':
    case 'divisors':
    case 'split_counts': {
      const arg = args[0] ?? named.n;
      return {
        kind: 'sweep',
        sweep: { type: 'machine', fn: name, arg: arg === undefined ? null : num(arg, 'argument') },
        text,
      };
    }
    case 'tag': {
      // Tags only matter to other sweepers; the basic sweeper ignores them.
      const last = args.at(-1) ?? named.sweep;
      if (!last) throw parseError(line, 'tag() needs a sweep as its last argument');
      return last;
    }
    case 'sort':
    case 'shuffle': {
      const reverse = named.reverse === undefined ? false : asElement(named.reverse, line).value === true;
      const items =
        args.length === 1 && args[0]!.kind === 'sweep'
          ? expandValues(args[0]!.sweep, line)
          : args.map((a) => asElement(a, line));
      const ordered =
        name === 'sort'
          ? sortElements(items, reverse)
          : shuffleElements(items, named.seed ? num(named.seed, 'seed') : 0);
      return { kind: 'sweep', sweep: { type: 'choice', items: ordered, simple: false }, text };
    }
    case 'int':
    case 'float':
    case 'str':
    case 'bool': {
      if (args.length !== 1) throw parseError(line, `${name}() takes exactly one argument`);
      const arg = args[0]!;
      if (arg.kind === 'sweep') {
        const items = expandValues(arg.sweep, line).map((e) => castElement(name, e, line));
        return { kind: 'sweep', sweep: { type: 'choice', items, simple: false }, text };
      }
      return { kind: 'element', ...castElement(name, arg, line) };
    }
    default:
      throw parseError(
        line,
        `unknown function '${name}': use one of choice, range, interval, glob, tag, sort, shuffle, int, float, str, bool, ` +
          'core_counts, divisors, split_counts',
      );
  }
}

function sortElements(items: readonly Element[], reverse: boolean): Element[] {
  const sorted = [...items].sort((a, b) => {
    if (typeof a.value === 'number' && typeof b.value === 'number') return a.value - b.value;
    return String(a.value) < String(b.value) ? -1 : String(a.value) > String(b.value) ? 1 : 0;
  });
  return reverse ? sorted.reverse() : sorted;
}

/** Deterministic shuffle (mulberry32 + Fisher-Yates), so a sweep can be repeated. */
function shuffleElements(items: readonly Element[], seed: number): Element[] {
  let s = seed >>> 0;
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

function castElement(name: string, e: Element, line: string): Element {
  const cast = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(cast);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cast(x)]));
    }
    switch (name) {
      case 'int': {
        const n = typeof v === 'string' ? Number(v) : typeof v === 'boolean' ? Number(v) : (v as number);
        if (!Number.isFinite(n)) throw parseError(line, `int(): cannot convert ${JSON.stringify(v)} to an int`);
        return Math.trunc(n);
      }
      case 'float': {
        const n = Number(v);
        if (Number.isNaN(n) && String(v).toLowerCase() !== 'nan')
          throw parseError(line, `float(): cannot convert ${JSON.stringify(v)} to a float`);
        return n;
      }
      case 'str':
        return v === null ? 'None' : typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v);
      default: {
        if (typeof v === 'string') {
          if (v.toLowerCase() === 'true') return true;
          if (v.toLowerCase() === 'false') return false;
          throw parseError(line, `bool(): cannot convert '${v}' to a bool: use true or false`);
        }
        return Boolean(v);
      }
    }
  };
  const value = cast(e.value);
  const text = typeof value === 'string' ? quoteIfNeeded(value) : elementText(value);
  return { value, text, quoted: typeof value === 'string' };
}

/** Expands a sweep into its elements; glob needs the group's options, so it is expanded by the caller. */
export function expandValues(
  sweep: Sweep,
  line: string,
  groupOptions?: readonly string[],
  machine?: MachineContext,
): Element[] {
  switch (sweep.type) {
    case 'machine': {
      if (!machine)
        throw parseError(line, `${sweep.fn}() needs the machine's topology, known only when a sweep runs (bench -m)`);
      return machineValues(sweep.fn, sweep.arg, machine, line).map((v) => ({
        value: v,
        text: String(v),
        quoted: false,
      }));
    }
    case 'choice':
      return [...sweep.items];
    case 'range': {
      if (sweep.step === 0) throw parseError(line, 'range(): step must not be 0');
      const out: Element[] = [];
      const isFloat = ![sweep.start, sweep.stop, sweep.step].every(Number.isInteger);
      for (let k = 0; ; k++) {
        // Compute from the index, not by accumulation, so range(0,1,0.1) has no drift.
        const raw = sweep.start + k * sweep.step;
        const v = isFloat ? Number(raw.toPrecision(12)) : raw;
        if (sweep.step > 0 ? v >= sweep.stop : v <= sweep.stop) break;
        out.push({ value: v, text: isFloat && Number.isInteger(v) ? `${v}.0` : String(v), quoted: false });
        if (out.length > 100_000) throw parseError(line, 'range(): more than 100000 values');
      }
      return out;
    }
    case 'glob': {
      if (groupOptions === undefined)
        throw parseError(line, 'glob() can only sweep over the options of a config group');
      const match = (name: string, patterns: readonly string[]): boolean =>
        patterns.some((p) => globToRegExp(p).test(name));
      return groupOptions
        .filter((o) => match(o, sweep.include) && !match(o, sweep.exclude))
        .map((o) => ({ value: o, text: o, quoted: false }));
    }
    case 'interval':
      throw parseError(line, 'BasicSweeper does not support sweep type : INTERVAL_SWEEP');
  }
}

/**
 * core_counts(): 1, 2, 4, ... below the physical core count, plus the count itself (core-count
 * scaling); divisors([n]): the divisors of n, by default of the core count (instances that share
 * the cores evenly); split_counts([batch]): instance counts that divide the batch evenly and fit on
 * the cores (batch-size scaling), the batch by default being the run's batch_size.
 */
function machineValues(fn: MachineSweep, arg: number | null, machine: MachineContext, line: string): number[] {
  const cores = machine.physicalCores;
  const divisorsOf = (n: number): number[] => Array.from({ length: n }, (_, k) => k + 1).filter((d) => n % d === 0);
  switch (fn) {
    case 'core_counts': {
      const out: number[] = [];
      for (let k = 1; k < cores; k *= 2) out.push(k);
      return [...out, cores];
    }
    case 'divisors':
      return divisorsOf(arg ?? cores);
    case 'split_counts': {
      const batch = arg ?? machine.batchSize;
      if (batch === null) throw parseError(line, 'split_counts() needs a fixed batch_size (or split_counts(B))');
      return divisorsOf(batch).filter((n) => n <= cores);
    }
  }
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${escaped}$`);
}

/** The canonical override text of a JS value, such that parsing it gives the value back. */
export function elementText(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return quoteIfNeeded(value);
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'nan';
    if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
    return String(value);
  }
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(elementText).join(',')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}:${elementText(v)}`)
      .join(',')}}`;
  }
  return String(value);
}

function quoteIfNeeded(s: string): string {
  try {
    const parsed = parseOverride(`k=${s}`).value;
    if (parsed?.kind === 'element' && parsed.value === s) return s;
  } catch {
    // falls through to quoting
  }
  // The inverse of unquote(): backslashes are doubled only before a quote and at the end.
  const body = s.replace(/(\\*)'/g, "$1$1\\'").replace(/(\\+)$/, '$1$1');
  return `'${body}'`;
}
