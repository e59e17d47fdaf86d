/**
 * Hydra's command-line override grammar (hydra/grammar/OverrideLexer.g4 and OverrideParser.g4,
 * v1.3.5), ported as two modal lexers and a recursive-descent parser, with Hydra's visitor
 * (hydra/core/override_parser/overrides_visitor.py) folded in:
 *
 *   override: key=value | ~key | ~key=value | +key=value | ++key=value
 *   key:      packageOrGroup (@package)?
 *   value:    element | element (, element)+          (the second form is a simple choice sweep)
 *   element:  primitive | [list] | {dict} | function(args)
 *
 * Lexing is longest-match with ties going to the earlier rule, as ANTLR does, which is what makes
 * `true` a bool but `trueish` a string, `10` an int but `10abc` a string, and `007` a string.
 * A primitive made of exactly one token is typed (int, float, bool, null, a quoted string); several
 * tokens are concatenated into a string, escapes removed, whitespace at the edges left out.
 * Functions are src/config/grammar-functions.ts. test/config/hydra-overrides.test.ts runs Hydra's
 * own test cases through this parser.
 */
import { numberValue } from '../util/numbers.js';
import { assertSafeKey } from '../util/tree.js';
import { OverrideParseError } from './errors.js';
import {
  builtinFunctions,
  castValue,
  ChoiceSweep,
  Glob,
  IntervalSweep,
  isDict,
  MachineSweep,
  plainValue,
  PyError,
  QuotedString,
  RangeSweep,
  Sweep,
  sweepValues,
  valueText,
  type Functions,
  type MachineSweepName,
  type Value,
} from './grammar-functions.js';

export { QuotedString } from './grammar-functions.js';

export type OverrideType = 'change' | 'add' | 'forceAdd' | 'delete';

/** Hydra's ValueType, plus bench's sweeps over the machine. */
export type SweepType =
  'CHOICE_SWEEP' | 'SIMPLE_CHOICE_SWEEP' | 'GLOB_CHOICE_SWEEP' | 'RANGE_SWEEP' | 'INTERVAL_SWEEP' | 'MACHINE_SWEEP';

/** What machine sweeps are computed from: the usable physical cores, and the run's batch size. */
export interface MachineContext {
  readonly physicalCores: number;
  readonly batchSize: number | null;
}

/**
 * A value as a config gets it (`value`: quoted strings are plain strings), what was parsed
 * (`parsed`), and its text as Hydra writes it back into job overrides (`x=a`, `x='a b'`, `x=1.0`).
 */
export interface Element {
  readonly value: unknown;
  readonly text: string;
  readonly quoted: boolean;
}

export type OverrideValue =
  | ({ readonly kind: 'element'; readonly parsed: Value } & Element)
  | {
      readonly kind: 'sweep';
      readonly sweep: Sweep | Glob;
      readonly sweepType: SweepType;
      /** The value as typed. */
      readonly text: string;
    };

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

/**
 * The value part as Hydra writes it (`get_value_element_as_str`): `x= 10` is `10`, `x='a'` is
 * `'a'`, `x=[1, 2]` is `[1,2]`; what the basic sweeper puts into a job's overrides.
 */
export function valueElementText(o: Override, spaceAfterSep = false): string {
  if (o.value?.kind !== 'element') throw new OverrideParseError(`Cannot convert sweep to str: ${o.inputLine}`);
  return valueText(o.value.parsed, spaceAfterSep);
}

const FUNCTIONS = builtinFunctions();

// ------------------------------------------------------------------------------------------------
// Errors

/**
 * A refusal as Hydra's parser raises it: the lexer's; the parser's, where it gave up on the input
 * (`recognition`: mismatched input, no viable alternative) or where it would have mended it with
 * one token more or less (`recovered`: missing, extraneous); or one its visitor raised.
 */
class GrammarError extends Error {
  constructor(
    readonly kind: 'lexer' | 'recognition' | 'recovered' | 'visitor',
    message: string,
    /** Where the lexer stopped (for the `^` under the override). */
    readonly index = 0,
    /** The token a parser error was raised at. */
    readonly offending?: Token,
  ) {
    super(message);
  }
}

const GRAMMAR_URL = 'See https://hydra.cc/docs/1.2/advanced/override_grammar/basic for details';

/** Hydra's OverrideParseException text for a refused override, then bench's hint. */
function overrideError(line: string, err: GrammarError): OverrideParseError {
  const prefix = 'LexerNoViableAltException: ';
  const hydra =
    err.kind === 'lexer'
      ? `${prefix}${line}\n${'^'.padStart(prefix.length + err.index + 1)}`
      : err.kind === 'recognition'
        ? err.message
        : `Error parsing override '${line}'\n${err.message}`;
  const hint = grammarHint(line, err);
  return new OverrideParseError(`${hydra}\n${GRAMMAR_URL}${hint === '' ? '' : `\n${hint}`}`, err.message);
}

/** bench's line after Hydra's message: what to change in this override. */
function grammarHint(line: string, err: GrammarError): string {
  const quoteIt =
    "quote a value that holds spaces or , [ ] { } ( ) = : (key='a,b'), and the whole argument for the shell";
  const eq = line.indexOf('=');
  if (err.kind === 'visitor') return '';
  if (err.message === "missing EQUAL at '<EOF>'") return `Write ${line}=VALUE to set it, or ~${line} to delete it.`;
  if (err.kind === 'lexer') {
    const c = line[err.index];
    if (eq < 0 || err.index < eq)
      return `${err.message}: a key (before =) holds letters, digits and _ - $ . / @ only, and no spaces; e.g. +key=1, a.b=1, group@pkg=option.`;
    if (c === "'" || c === '"') return `${err.message}: the quote ${c} is not closed; close it, or escape it (\\${c}).`;
    return `${err.message} in '${line}': ${quoteIt}.`;
  }
  if (err.offending?.type === 'EOF')
    return `In '${line}': the value ends before a bracket or parenthesis is closed; close it (or ${quoteIt}).`;
  const extra = /^extraneous input '(.*)' expecting <EOF>$/s.exec(err.message);
  if (extra) return `In '${line}': remove '${extra[1]}', or ${quoteIt}.`;
  return `In '${line}': ${quoteIt}.`;
}

// ------------------------------------------------------------------------------------------------
// Lexers

type TokenType =
  | 'EQUAL'
  | 'TILDE'
  | 'PLUS'
  | 'AT'
  | 'COLON'
  | 'SLASH'
  | 'ID'
  | 'KEY_SPECIAL'
  | 'DOT_PATH'
  | 'POPEN'
  | 'COMMA'
  | 'PCLOSE'
  | 'BRACKET_OPEN'
  | 'BRACKET_CLOSE'
  | 'BRACE_OPEN'
  | 'BRACE_CLOSE'
  | 'FLOAT'
  | 'INT'
  | 'BOOL'
  | 'NULL'
  | 'UNQUOTED_CHAR'
  | 'ESC'
  | 'WS'
  | 'QUOTED_VALUE'
  | 'INTERPOLATION'
  | 'EOF';

interface Token {
  readonly type: TokenType;
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

type Rules = ReadonlyArray<readonly [TokenType, readonly RegExp[]]>;

const INT_UNSIGNED = String.raw`(?:0|[1-9](?:_?\d)*)`;
const KEY_SPECIAL = String.raw`[A-Za-z_$][A-Za-z0-9_$-]*`;

/** The key mode: what comes before `=`; the `=` (and the blanks after it) switches to the value mode. */
const KEY_RULES: Rules = [
  ['EQUAL', [/=[ \t]*/y]],
  ['TILDE', [/~/y]],
  ['PLUS', [/\+/y]],
  ['AT', [/@/y]],
  ['COLON', [/:/y]],
  ['SLASH', [/\//y]],
  ['ID', [/[A-Za-z_][A-Za-z0-9_-]*/y]],
  ['KEY_SPECIAL', [new RegExp(KEY_SPECIAL, 'y')]],
  [
    'DOT_PATH',
    [new RegExp(String.raw`(?:${KEY_SPECIAL}|${INT_UNSIGNED})(?:\.(?:${KEY_SPECIAL}|${INT_UNSIGNED}))+`, 'y')],
  ],
];

const DIGITS = String.raw`\d(?:_?\d)*`;
const POINT_FLOAT = [String.raw`${INT_UNSIGNED}\.`, String.raw`${INT_UNSIGNED}?\.${DIGITS}`];
const FLOAT_FORMS = [
  ...POINT_FLOAT,
  ...[INT_UNSIGNED, ...POINT_FLOAT].map((base) => String.raw`(?:${base})[eE][+-]?${DIGITS}`),
  '[Ii][Nn][Ff]',
  '[Nn][Aa][Nn]',
].map((form) => new RegExp(String.raw`[+-]?(?:${form})`, 'y'));

/** The value mode, in the order of the lexer file: on equal length the earlier rule wins. */
const VALUE_RULES: Rules = [
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
  ['INT', [new RegExp(String.raw`[+-]?${INT_UNSIGNED}`, 'y')]],
  ['BOOL', [/[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]/y]],
  ['NULL', [/[Nn][Uu][Ll][Ll]/y]],
  ['UNQUOTED_CHAR', [/[/\-\\+.$%*@?|]/y]],
  ['ID', [/[A-Za-z_][A-Za-z0-9_-]*/y]],
  ['ESC', [/(?:\\\\|\\\(|\\\)|\\\[|\\\]|\\\{|\\\}|\\:|\\=|\\,|\\ |\\\t)+/y]],
  ['WS', [/[ \t]+/y]],
  // A quote, then either only escaped backslashes or text whose last character before an even
  // run of backslashes is not a backslash, then the same quote.
  ['QUOTED_VALUE', [/"(?:(?:\\\\)*|[^]*?[^\\](?:\\\\)*)"/y, /'(?:(?:\\\\)*|[^]*?[^\\](?:\\\\)*)'/y]],
  ['INTERPOLATION', [/\$\{[^}]+\}/y]],
];

function lex(source: string, from: number, to: number, rules: Rules): Token[] {
  const tokens: Token[] = [];
  let pos = from;
  while (pos < to) {
    let best: Token | null = null;
    for (const [type, regexes] of rules) {
      for (const re of regexes) {
        re.lastIndex = pos;
        const m = re.exec(source);
        if (m && m[0].length > 0 && pos + m[0].length <= to && (best === null || m[0].length > best.text.length)) {
          best = { type, text: m[0], start: pos, end: pos + m[0].length };
        }
      }
    }
    if (best === null) {
      // ANTLR reports what it read before giving up: an unclosed quote runs to the end.
      const c = source[pos]!;
      const seen = (c === '"' || c === "'") && rules === VALUE_RULES ? source.slice(pos, to) : c;
      throw new GrammarError('lexer', `token recognition error at: '${seen}'`, pos);
    }
    tokens.push(best);
    pos = best.end;
  }
  return tokens;
}

// ------------------------------------------------------------------------------------------------
// Parser

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
const PRIMITIVE_TOKENS: ReadonlySet<TokenType> = new Set([...DICT_KEY_TOKENS, 'COLON', 'INTERPOLATION']);
const PRIMITIVE_EXPECTED =
  '{QUOTED_VALUE, ID, NULL, INT, FLOAT, BOOL, INTERPOLATION, UNQUOTED_CHAR, COLON, ESC, WS, BRACKET_OPEN, BRACE_OPEN}';

const shown = (t: Token): string => (t.type === 'EOF' ? '<EOF>' : t.text);

class Parser {
  private i = 0;

  constructor(
    private readonly source: string,
    private readonly tokens: Token[],
    private readonly functions: Functions,
  ) {
    this.tokens.push({ type: 'EOF', text: '', start: source.length, end: source.length });
  }

  peek(k = 0): Token {
    return this.tokens[Math.min(this.i + k, this.tokens.length - 1)]!;
  }

  private next(): Token {
    return this.tokens[this.i++]!;
  }

  /** The token of `type`; else ANTLR's error: one token too many, one missing, or a mismatch. */
  expect(type: TokenType, expected: string = type): Token {
    const t = this.peek();
    if (t.type === type) return this.next();
    if (this.peek(1).type === type)
      throw this.error(`extraneous input '${shown(t)}' expecting ${expected}`, 'recovered');
    if (type === 'EQUAL' && t.type === 'EOF') throw this.error(`missing EQUAL at '<EOF>'`, 'recovered');
    throw this.error(`mismatched input '${shown(t)}' expecting ${expected}`);
  }

  expectEnd(): void {
    this.expect('EOF', '<EOF>');
  }

  private error(message: string, kind: 'recognition' | 'recovered' = 'recognition'): GrammarError {
    return new GrammarError(kind, message, this.peek().start, this.peek());
  }

  private text(from: number): string {
    const a = this.tokens[from];
    const b = this.tokens[this.i - 1];
    return a && b ? this.source.slice(a.start, b.end) : '';
  }

  // value: element | simpleChoiceSweep
  value(): Value {
    // ANTLR predicts `element` or `simpleChoiceSweep` by reading through the first element: an
    // error inside it is reported as no viable alternative, from the value's start.
    const start = this.peek();
    let first: Value;
    try {
      first = this.element();
    } catch (err) {
      if (!(err instanceof GrammarError) || err.kind === 'lexer' || err.kind === 'visitor' || !err.offending) throw err;
      const at = err.offending;
      throw new GrammarError(
        'recognition',
        `no viable alternative at input '${this.source.slice(start.start, at.type === 'EOF' ? at.start : at.end)}'`,
        at.start,
        at,
      );
    }
    if (this.peek().type !== 'COMMA') return first;
    const items = [first];
    while (this.peek().type === 'COMMA') {
      this.next();
      items.push(this.element());
    }
    return new ChoiceSweep(items, true);
  }

  simpleChoiceSweep(): Value {
    const v = this.value();
    if (!(v instanceof ChoiceSweep && v.simpleForm))
      throw this.error(`mismatched input '${shown(this.peek())}' expecting COMMA`);
    return v;
  }

  element(): Value {
    const t = this.peek();
    if (t.type === 'ID' && this.peek(1).type === 'POPEN') return this.function();
    if (t.type === 'BRACKET_OPEN') return this.listContainer();
    if (t.type === 'BRACE_OPEN') return this.dictContainer();
    if (t.type === 'QUOTED_VALUE' || PRIMITIVE_TOKENS.has(t.type)) return this.primitive();
    throw this.error(`no viable alternative at input '${shown(t)}'`);
  }

  listContainer(): Value[] {
    this.expect('BRACKET_OPEN');
    const items: Value[] = [];
    this.separated('BRACKET_CLOSE', () => items.push(this.element()));
    this.expect('BRACKET_CLOSE', '{COMMA, BRACKET_CLOSE}');
    return items;
  }

  dictContainer(): { [key: string]: Value } {
    this.expect('BRACE_OPEN');
    const dict: { [key: string]: Value } = {};
    const pair = (): void => {
      const key = dictKeyText(
        this.tokensOf(DICT_KEY_TOKENS, '{BRACE_CLOSE, FLOAT, INT, BOOL, NULL, UNQUOTED_CHAR, ID, ESC, WS}'),
      );
      assertSafeKey(key, 'in an override');
      this.expect('COLON');
      dict[key] = this.element();
    };
    this.separated('BRACE_CLOSE', pair);
    this.expect('BRACE_CLOSE', '{COMMA, BRACE_CLOSE}');
    return dict;
  }

  /** Items separated by commas, none when `close` comes first (the caller expects `close` after). */
  private separated(close: TokenType, item: () => void): void {
    if (this.peek().type === close) return;
    item();
    while (this.peek().type === 'COMMA') {
      this.next();
      item();
    }
  }

  /** The run of tokens of `types` at the cursor (at least one). */
  private tokensOf(types: ReadonlySet<TokenType>, expected: string): Token[] {
    const from = this.i;
    while (types.has(this.peek().type)) this.i++;
    if (this.i === from) throw this.error(`mismatched input '${shown(this.peek())}' expecting ${expected}`);
    return this.tokens.slice(from, this.i);
  }

  primitive(): Value {
    if (this.peek().type === 'QUOTED_VALUE') return quoted(this.next().text);
    return createPrimitive(this.tokensOf(PRIMITIVE_TOKENS, PRIMITIVE_EXPECTED));
  }

  // function: ID POPEN (argName? element (COMMA argName? element)*)? PCLOSE
  function(): Value {
    const from = this.i;
    const name = this.expect('ID').text;
    this.expect('POPEN');
    const args: Value[] = [];
    const kwargs: Record<string, Value> = {};
    let named = false;
    const argument = (): void => {
      if (this.peek().type === 'ID' && this.peek(1).type === 'EQUAL') {
        const argName = this.next().text;
        this.next();
        named = true;
        kwargs[argName] = this.element();
      } else {
        // Hydra's visitor checks the order after the parse; so does this, at the same point.
        const value = this.element();
        if (named) throw new GrammarError('visitor', 'positional argument follows keyword argument');
        args.push(value);
      }
    };
    this.separated('PCLOSE', argument);
    this.expect('PCLOSE', '{COMMA, PCLOSE}');
    const text = this.text(from);
    try {
      return this.functions.eval({ name, args, kwargs, text });
    } catch (err) {
      if (!(err instanceof PyError)) throw err;
      throw new GrammarError('visitor', `${err.pyType} while evaluating '${text}': ${err.message}`);
    }
  }
}

/** Hydra's `_createPrimitive`: one token is typed, several are a string (escapes removed). */
function createPrimitive(tokens: readonly Token[]): Value {
  let first = 0;
  let last = tokens.length;
  if (tokens[0]!.type === 'WS') {
    if (last === 1) throw new GrammarError('visitor', 'Trying to parse a primitive that is all whitespaces');
    first = 1;
  }
  if (tokens[last - 1]!.type === 'WS') last--;
  if (last - first > 1) {
    return tokens
      .slice(first, last)
      .map((t) => (t.type === 'ESC' ? unescape(t.text) : t.text))
      .join('');
  }
  const t = tokens[first]!;
  switch (t.type) {
    case 'INT':
      return castValue('int', t.text);
    case 'FLOAT':
      return castValue('float', t.text);
    case 'NULL':
      return null;
    case 'BOOL':
      return t.text.toLowerCase() === 'true';
    case 'ESC':
      return unescape(t.text);
    default:
      return t.text;
  }
}

/** A dictionary key: typed as a primitive, then written as Python's str() writes the key. */
function dictKeyText(tokens: readonly Token[]): string {
  const key = createPrimitive(tokens);
  if (key === null) return 'None';
  if (typeof key === 'boolean') return key ? 'True' : 'False';
  return typeof key === 'string' ? key : valueText(key);
}

/** `\\` -> `\`, `\,` -> `,`: every other character of an escape run. */
function unescape(esc: string): string {
  return [...esc].filter((_, k) => k % 2 === 1).join('');
}

/** Hydra's `_unescape_quoted_string`: backslashes are unescaped only where they precede a quote. */
function quoted(text: string): QuotedString {
  const q = text[0] as "'" | '"';
  let rest = text.slice(1);
  const pattern = new RegExp(String.raw`(\\)+${q}`);
  let out = '';
  for (let m = pattern.exec(rest); m !== null; m = pattern.exec(rest)) {
    out += rest.slice(0, m.index);
    out += [...m[0]].filter((_, k) => k % 2 === 1).join('');
    rest = rest.slice(m.index + m[0].length);
  }
  if (rest.length > 1) out += rest.slice(0, -1);
  return new QuotedString(out, q);
}

// ------------------------------------------------------------------------------------------------
// The override rule

interface ParsedOverride {
  readonly type: OverrideType;
  readonly keyOrGroup: string;
  readonly pkg: string | null;
  /** undefined for `~key` (no `=`). */
  readonly value: Value | undefined;
  readonly valueText: string;
}

const PACKAGE_TOKENS: ReadonlySet<TokenType> = new Set(['ID', 'KEY_SPECIAL', 'DOT_PATH']);

function parseOverrideRule(line: string, functions: Functions): ParsedOverride {
  // The key part ends at the first '=' (values come after it, in the value mode).
  const eq = line.indexOf('=');
  const keyTokens = lex(
    line,
    0,
    eq < 0 ? line.length : eq + 1 + /^[ \t]*/.exec(line.slice(eq + 1))![0].length,
    KEY_RULES,
  );
  const from = keyTokens.at(-1)?.end ?? 0;
  const k = new Parser(line, keyTokens, functions);
  let type: OverrideType = 'change';
  if (k.peek().type === 'TILDE') {
    k.expect('TILDE');
    type = 'delete';
  } else if (k.peek().type === 'PLUS') {
    k.expect('PLUS');
    type = 'add';
    if (k.peek().type === 'PLUS') {
      k.expect('PLUS');
      type = 'forceAdd';
    }
  }
  const packageText = (): string => (PACKAGE_TOKENS.has(k.peek().type) ? k.expect(k.peek().type).text : '');
  let keyOrGroup: string;
  if (k.peek().type === 'ID' && k.peek(1).type === 'SLASH') {
    keyOrGroup = k.expect('ID').text;
    while (k.peek().type === 'SLASH') {
      k.expect('SLASH');
      keyOrGroup += `/${k.expect('ID').text}`;
    }
  } else keyOrGroup = packageText();
  let pkg: string | null = null;
  if (k.peek().type === 'AT') {
    k.expect('AT');
    pkg = packageText();
  }
  if (type === 'delete' && k.peek().type === 'EOF') return { type, keyOrGroup, pkg, value: undefined, valueText: '' };
  k.expect('EQUAL', type === 'delete' ? '{<EOF>, EQUAL}' : 'EQUAL');
  k.expectEnd();
  const v = new Parser(line, lex(line, from, line.length, VALUE_RULES), functions);
  if (v.peek().type === 'EOF') return { type, keyOrGroup, pkg, value: '', valueText: '' };
  const value = v.value();
  v.expectEnd();
  return { type, keyOrGroup, pkg, value, valueText: line.slice(from) };
}

export const SWEEP_TYPE = (v: Sweep | Glob): SweepType =>
  v instanceof ChoiceSweep
    ? v.simpleForm
      ? 'SIMPLE_CHOICE_SWEEP'
      : 'CHOICE_SWEEP'
    : v instanceof Glob
      ? 'GLOB_CHOICE_SWEEP'
      : v instanceof RangeSweep
        ? 'RANGE_SWEEP'
        : v instanceof IntervalSweep
          ? 'INTERVAL_SWEEP'
          : 'MACHINE_SWEEP';

function containsSweep(v: Value): boolean {
  if (v instanceof Sweep || v instanceof Glob) return true;
  if (Array.isArray(v)) return v.some(containsSweep);
  if (isDict(v)) return Object.values(v).some(containsSweep);
  return false;
}

/** One override of the command line (or of hydra.sweeper.params), parsed and typed. */
export function parseOverride(line: string): Override {
  return parseOverrideWith(line, FUNCTIONS);
}

/** parseOverride with other functions than Hydra's and bench's (tests register their own). */
export function parseOverrideWith(line: string, functions: Functions): Override {
  let parsed: ParsedOverride;
  try {
    parsed = parseOverrideRule(line, functions);
  } catch (err) {
    if (err instanceof GrammarError) throw overrideError(line, err);
    throw err;
  }
  const { type, keyOrGroup, pkg, value } = parsed;
  let ov: OverrideValue | null = null;
  if (value instanceof Sweep || value instanceof Glob) {
    ov = { kind: 'sweep', sweep: value, sweepType: SWEEP_TYPE(value), text: parsed.valueText.trim() };
  } else if (value !== undefined) {
    if (containsSweep(value)) {
      throw new OverrideParseError(
        `Error parsing override '${line}'\na sweep cannot be nested inside a list or a dict: sweep the whole value, e.g. x=[1,2],[3,4]\n${GRAMMAR_URL}`,
      );
    }
    ov = {
      kind: 'element',
      parsed: value,
      value: plainValue(value),
      text: valueText(value),
      quoted: value instanceof QuotedString,
    };
  }
  return { type, keyOrGroup, pkg, value: ov, inputLine: line };
}

/** The rules of Hydra's grammar that `parseRule` can start from. */
export type Rule =
  | 'override'
  | 'key'
  | 'package'
  | 'packageOrGroup'
  | 'value'
  | 'element'
  | 'simpleChoiceSweep'
  | 'primitive'
  | 'listContainer'
  | 'dictContainer'
  | 'function';

/**
 * Parses `text` as one rule of the grammar, as Hydra's `OverridesParser.parse_rule` does (for
 * tests against Hydra's own cases): values come back as parsed (quoted strings as QuotedString,
 * sweeps as Sweep objects); a refusal is an OverrideParseError whose `detail` is Hydra's message.
 */
export function parseRule(text: string, rule: Rule, functions: Functions = FUNCTIONS): unknown {
  try {
    if (rule === 'override') {
      const o = parseOverrideRule(text, functions);
      return { ...o, value: o.value === undefined ? null : o.value };
    }
    if (rule === 'key' || rule === 'package' || rule === 'packageOrGroup') {
      const r = parseOverrideRule(`${text}=`, functions);
      if (rule === 'key') return { keyOrGroup: r.keyOrGroup, pkg: r.pkg };
      if (r.pkg !== null) throw new GrammarError('recovered', `extraneous input '@' expecting <EOF>`);
      if (rule === 'package' && r.keyOrGroup.includes('/'))
        throw new GrammarError('recovered', `extraneous input '/' expecting <EOF>`);
      return r.keyOrGroup;
    }
    const p = new Parser(text, lex(text, 0, text.length, VALUE_RULES), functions);
    const value =
      rule === 'value'
        ? p.value()
        : rule === 'element'
          ? p.element()
          : rule === 'simpleChoiceSweep'
            ? p.simpleChoiceSweep()
            : rule === 'primitive'
              ? p.primitive()
              : rule === 'listContainer'
                ? p.listContainer()
                : rule === 'dictContainer'
                  ? p.dictContainer()
                  : p.function();
    // Only the override rule ends in EOF: ANTLR leaves what follows another rule unread.
    return value;
  } catch (err) {
    if (err instanceof GrammarError) throw new OverrideParseError(err.message, err.message);
    throw err;
  }
}

// ------------------------------------------------------------------------------------------------
// Sweeps expanded into the values of their jobs

/**
 * The values a sweep gives its jobs, each with the text Hydra puts into the job's override (`x=a`
 * for `x=choice('a','b')`). A glob needs the group's options, and bench's machine sweeps the
 * machine; both are given by the caller.
 */
export function expandValues(
  sweep: Sweep | Glob,
  line: string,
  groupOptions?: readonly string[],
  machine?: MachineContext,
): Element[] {
  const fail = (detail: string): OverrideParseError =>
    new OverrideParseError(`Error expanding the sweep '${line}'\n${detail}`, detail);
  if (sweep instanceof MachineSweep) {
    if (!machine) throw fail(`${sweep.fn}() needs the machine's topology, known only when a sweep runs (bench -m)`);
    return machineValues(sweep.fn, sweep.arg, machine, fail).map((v) => ({ value: v, text: String(v), quoted: false }));
  }
  if (sweep instanceof Glob) {
    if (groupOptions === undefined) throw fail('glob() can only sweep over the options of a config group');
    return sweep.filter(groupOptions).map((o) => ({ value: o, text: o, quoted: false }));
  }
  if (sweep instanceof IntervalSweep) throw fail('BasicSweeper does not support sweep type : INTERVAL_SWEEP');
  try {
    return sweepValues(sweep as ChoiceSweep | RangeSweep, line).map((v) => {
      if (containsSweep(v)) throw new PyError('ValueError', `a sweep inside a sweep cannot be expanded: ${line}`);
      return { value: plainValue(v), text: valueText(v), quoted: v instanceof QuotedString };
    });
  } catch (err) {
    if (err instanceof PyError) throw fail(err.message);
    throw err;
  }
}

/**
 * core_counts(): 1, 2, 4, ... below the physical core count, plus the count itself (core-count
 * scaling); divisors([n]): the divisors of n, by default of the core count (instances that share
 * the cores evenly); split_counts([batch]): instance counts that divide the batch evenly and fit on
 * the cores (batch-size scaling), the batch by default being the run's batch_size.
 */
function machineValues(
  fn: MachineSweepName,
  arg: number | null,
  machine: MachineContext,
  fail: (detail: string) => Error,
): number[] {
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
      if (batch === null) throw fail('split_counts() needs a fixed batch_size (or split_counts(B))');
      return divisorsOf(batch).filter((n) => n <= cores);
    }
  }
}

/** The canonical override text of a JS value, such that parsing it gives the value back. */
export function elementText(value: unknown): string {
  if (typeof value === 'string') return quoteIfNeeded(value);
  if (Array.isArray(value)) return `[${value.map(elementText).join(',')}]`;
  if (value !== null && typeof value === 'object' && isDict(value)) {
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}:${elementText(v)}`)
      .join(',')}}`;
  }
  if (value === null || typeof value === 'boolean' || numberValue(value) !== undefined)
    return typeof value === 'boolean' ? String(value) : valueText(value as Value);
  return String(value);
}

function quoteIfNeeded(s: string): string {
  try {
    const parsed = parseOverride(`k=${s}`).value;
    if (parsed?.kind === 'element' && parsed.value === s) return s;
  } catch {
    // falls through to quoting
  }
  return new QuotedString(s, "'").withQuotes();
}
