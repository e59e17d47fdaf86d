/**
 * OmegaConf interpolation: `${a.b}` (absolute), `${.x}` / `${..x}` (relative to the node that holds
 * the value), `${a[0]}`, nested `${a.${b}}`, and resolvers `${name:arg,...}`. A value that is exactly
 * one interpolation keeps the type of what it points to; mixed text becomes a string. `\${x}` is
 * the literal text `${x}`.
 *
 * Resolvers: `oc.env:VAR[,default]`, `oc.select:key[,default]`, `oc.decode:string` (the string
 * parsed as an override value: `${oc.decode:${oc.env:N,4}}` is the int 4), `oc.dict.keys:key` and
 * `oc.dict.values:key` (a dict node's keys or values as a list; the key absolute or relative, as
 * OmegaConf 2.2 takes it), `now:strftime-pattern` (evaluated once per pattern and process, so every
 * job of a sweep sees the same time, as in Hydra), and `hydra:key` (reads the `hydra` node).
 * test/config/omegaconf.test.ts checks them against the real OmegaConf where it is installed.
 */
import { ConfigError, OverrideParseError } from './errors.js';
import { parseOverride } from './grammar.js';
import { numberText } from '../util/numbers.js';
import { pythonStrRepr, pythonTypeName } from '../util/python.js';
import { getPath, isTree, MISSING, type Tree } from '../util/tree.js';

export interface ResolveContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The `hydra` node to read `${hydra:...}` from; defaults to `root.hydra`. */
  readonly hydra?: unknown;
}

type Piece = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'interp'; readonly body: string };

const nowCache = new Map<string, string>();

export function hasInterpolation(s: string): boolean {
  return /(^|[^\\])\$\{/.test(s);
}

/** `s` as a literal: every `${` that would start an interpolation becomes `\${`. */
export function escapeInterpolations(s: string): string {
  return s.replace(/(?<!\\)\$\{/g, '\\${');
}

/** Resolves every interpolation in `node` (found at `path` inside `root`), returning new data. */

/** An interpolation that reaches a `???` (MISSING) value. */
export class MissingValueError extends ConfigError {}

export function resolveAll(
  root: Tree,
  ctx: ResolveContext,
  node: unknown = root,
  path: readonly string[] = [],
  opts: { keepMissing?: boolean } = {},
): unknown {
  return new Resolver(root, ctx, opts.keepMissing ?? false).resolveNode(node, path);
}

/**
 * The node that `value` refers to when it is exactly one node interpolation (`${b}`, `${..x}`),
 * read from `root` for a value found at `path`, without resolving it further, with the path it
 * was found at; else undefined.
 */
export function referencedNode(
  value: string,
  path: readonly string[],
  root: unknown,
): { value: unknown; path: string[] } | undefined {
  const m = /^\$\{\s*(\.*[\w$-]+(?:\.[\w$-]+|\[[^\]]+\])*)\s*\}$/.exec(value);
  if (!m) return undefined;
  const target = absoluteKey(m[1]!, path);
  const found = getPath(root, target.join('.'));
  return found.found ? { value: found.value, path: target } : undefined;
}

/** Resolves the value at a dotted key, e.g. `hydra.run.dir`. */
export function resolveKey(root: Tree, key: string, ctx: ResolveContext): unknown {
  const found = getPath(root, key);
  if (!found.found) throw new ConfigError(`Interpolation key '${key}' not found`);
  return new Resolver(root, ctx).resolveNode(found.value, key.split('.'));
}

class Resolver {
  private readonly stack: string[] = [];

  constructor(
    private readonly root: Tree,
    private readonly ctx: ResolveContext,
    /** As Hydra's `--cfg --resolve`: a value whose interpolation reaches `???` stays as written. */
    private readonly keepMissing = false,
  ) {}

  resolveNode(node: unknown, path: readonly string[]): unknown {
    // `hydra.overrides` and `hydra.runtime.argv` record the command line as typed: an interpolation
    // there belongs to the key the override sets and is resolved there, not again inside the record.
    if (path[0] === 'hydra' && (path[1] === 'overrides' || (path[1] === 'runtime' && path[2] === 'argv'))) return node;
    if (typeof node === 'string') {
      if (!this.keepMissing || this.stack.length > 0) return this.resolveString(node, path);
      try {
        return this.resolveString(node, path);
      } catch (err) {
        if (err instanceof MissingValueError) return node;
        throw err;
      }
    }
    if (Array.isArray(node)) return node.map((v, i) => this.resolveNode(v, [...path, String(i)]));
    if (isTree(node)) {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, this.resolveNode(v, [...path, k])]));
    }
    return node;
  }

  private resolveString(s: string, path: readonly string[]): unknown {
    if (!s.includes('${')) return s;
    const pieces = splitPieces(s, path);
    const only = pieces.length === 1 ? pieces[0] : undefined;
    if (only?.kind === 'interp') return this.evaluate(only.body, path);
    return pieces
      .map((p) => {
        if (p.kind === 'text') return p.text;
        // A dict or list goes in as OmegaConf's str() writes the node: its interpolations unresolved.
        const node = referencedNode(`\${${p.body}}`, path, this.root);
        if (node && (isTree(node.value) || Array.isArray(node.value))) return pythonStr(node.value);
        return pythonStr(this.evaluate(p.body, path));
      })
      .join('');
  }

  /** The key of a node reference: its nested interpolations (`${pools.${which}}`) must give strings. */
  private keyText(body: string, path: readonly string[]): string {
    if (!body.includes('${')) return body;
    return splitPieces(body, path)
      .map((p) => {
        if (p.kind === 'text') return p.text;
        const v = this.evaluate(p.body, path);
        if (typeof v !== 'string')
          throw new ConfigError(
            `The following interpolation is used to denote a config key and thus should return a string, but instead returned \`${pythonStr(v)}\` of type \`<class '${pythonTypeName(v)}'>\`: \${${p.body}}\n    full_key: ${fullKey(path)}`,
          );
        return v;
      })
      .join('');
  }

  /** The body of one `${...}`: a resolver call or a node reference, possibly with nested interpolations. */
  private evaluate(body: string, path: readonly string[]): unknown {
    const resolverMatch = /^\s*([A-Za-z_][\w.-]*)\s*:([^]*)$/.exec(body);
    if (resolverMatch) {
      const name = resolverMatch[1]!;
      const args = splitArgs(resolverMatch[2]!).map((a) => this.evaluateArg(a, path));
      return this.callResolver(name, args, path);
    }
    return this.lookup(this.keyText(body.trim(), path), path);
  }

  private evaluateArg(arg: string, path: readonly string[]): unknown {
    const trimmed = arg.trim();
    if (trimmed === '') return '';
    if (/^'.*'$|^".*"$/s.test(trimmed)) return String(this.resolveString(trimmed.slice(1, -1), path));
    if (hasInterpolation(trimmed)) return this.resolveString(trimmed, path);
    const parsed = parseOverride(`k=${trimmed}`).value;
    return parsed?.kind === 'element' ? parsed.value : trimmed;
  }

  /** oc.decode: a string read as an override value (int, float, bool, null, list, dict), interpolations resolved. */
  private decode(text: string, path: readonly string[]): unknown {
    const refuse = (why: string): ConfigError =>
      new ConfigError(
        `Error resolving '\${oc.decode:...}': cannot decode ${JSON.stringify(text)} (${why})\n    full_key: ${fullKey(path)}`,
      );
    if (text.trim() === '') throw refuse('there is no value in it');
    let parsed;
    try {
      parsed = parseOverride(`k=${text}`).value;
    } catch (err) {
      throw refuse(err instanceof OverrideParseError ? err.detail : (err as Error).message);
    }
    if (parsed?.kind !== 'element') throw refuse('it is not a single value');
    if (text !== text.trim()) {
      // OmegaConf's grammar keeps the spaces around an unquoted value, which makes it a string.
      if (parsed.quoted || isTree(parsed.value) || Array.isArray(parsed.value))
        throw refuse('spaces around a quoted string, a list or a dict');
      return text;
    }
    return this.resolveNode(parsed.value, path);
  }

  private lookup(key: string, path: readonly string[]): unknown {
    const target = absoluteKey(key, path);
    const found = getPath(this.root, target.join('.'));
    if (!found.found) {
      throw new ConfigError(
        `Interpolation key '${key}' not found\n    full_key: ${fullKey(path)}\n` +
          `An interpolation names a key of the composed config: absolute (\${a.b}) or relative to ${fullKey(path)} ` +
          `(\${.sibling}, \${..parent_sibling}); '${target.join('.')}' does not exist (see bench --cfg job).`,
      );
    }
    const id = target.join('.');
    if (this.stack.includes(id)) {
      throw new ConfigError(`Recursive interpolation detected: ${[...this.stack, id].join(' -> ')}`);
    }
    if (found.value === MISSING) {
      throw new MissingValueError(`Missing mandatory value: ${id}\n    full_key: ${fullKey(path)}`);
    }
    this.stack.push(id);
    try {
      return this.resolveNode(found.value, target);
    } finally {
      this.stack.pop();
    }
  }

  private callResolver(name: string, args: unknown[], path: readonly string[]): unknown {
    switch (name) {
      case 'oc.env': {
        const variable = String(args[0] ?? '');
        const value = this.ctx.env[variable];
        if (value !== undefined) return value;
        if (args.length > 1) return args[1] === null ? null : pythonStr(args[1]);
        throw new ConfigError(
          `Environment variable '${variable}' not found\n    full_key: ${fullKey(path)}\n` +
            `Set ${variable}, or give a default: \${oc.env:${variable},default}`,
        );
      }
      case 'oc.select': {
        const found = getPath(this.root, absoluteKey(String(args[0]), path).join('.'));
        if (found.found && found.value !== MISSING) return this.lookup(String(args[0]), path);
        return args[1] ?? null;
      }
      case 'oc.decode': {
        const value = args[0] ?? null;
        if (value === null) return null;
        if (typeof value !== 'string')
          throw new ConfigError(
            `Error resolving '\${oc.decode:...}': oc.decode can only take strings or None as input, but \`${pythonStr(value)}\` is of type ${pythonTypeName(value)}\n    full_key: ${fullKey(path)}`,
          );
        return this.decode(value, path);
      }
      case 'oc.dict.keys':
      case 'oc.dict.values': {
        const key = args[0];
        if (typeof key !== 'string')
          throw new ConfigError(
            `Error resolving '\${${name}:...}': ${name} takes the key of a dict node as a string, e.g. \${${name}:a.b}\n    full_key: ${fullKey(path)}`,
          );
        const target = absoluteKey(key, path);
        const found = getPath(this.root, target.join('.'));
        // A key holding an interpolation (`e: ${d}`) lists the node it points to, resolved.
        const node =
          found.found && typeof found.value === 'string' && hasInterpolation(found.value)
            ? this.lookup(key, path)
            : found.value;
        if (!found.found || !isTree(node))
          throw new ConfigError(
            `Error resolving '\${${name}:${key}}': ${found.found ? `'${key}' is not a dict` : `key '${key}' not found`}\n    full_key: ${fullKey(path)}`,
          );
        const keys = Object.keys(node);
        if (name === 'oc.dict.keys') return keys;
        return node === found.value ? keys.map((k) => this.lookup([...target, k].join('.'), [])) : Object.values(node);
      }
      case 'now': {
        const pattern = String(args[0] ?? '');
        let cached = nowCache.get(pattern);
        if (cached === undefined) {
          cached = strftime(new Date(), pattern);
          nowCache.set(pattern, cached);
        }
        return cached;
      }
      case 'hydra': {
        const hydra = this.ctx.hydra ?? this.root.hydra;
        const key = String(args[0] ?? '');
        const found = getPath(hydra, key);
        if (!found.found)
          throw new ConfigError(`Interpolation key 'hydra.${key}' not found\n    full_key: ${fullKey(path)}`);
        if (found.value === MISSING)
          throw new MissingValueError(
            `Missing mandatory value: hydra.${key}\n    full_key: ${fullKey(path)}` +
              (key === 'job.num' || key === 'job.id' ? '\nA job has a number and an id only in a sweep (-m).' : ''),
          );
        return this.resolveNode(found.value, ['hydra', ...key.split('.')]);
      }
      default:
        throw new ConfigError(
          `Unsupported interpolation type ${name}\n    full_key: ${fullKey(path)}\n` +
            'Available resolvers: oc.env, oc.select, oc.decode, oc.dict.keys, oc.dict.values, now, hydra',
        );
    }
  }
}

/**
 * A value as Python's str() writes it, which OmegaConf uses to put a value into a string:
 * `run_${debug}` is `run_True`, `lr_${lr}` of 1.0 is `lr_1.0`, 1e-05 is `1e-05` (not JavaScript's
 * `0.00001`), None, inf and nan (numbers as src/util/numbers.ts writes them).
 */
export function pythonStr(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pythonRepr).join(', ')}]`;
  if (isTree(v))
    return `{${Object.entries(v)
      .map(([k, x]) => `${pythonRepr(k)}: ${pythonRepr(x)}`)
      .join(', ')}}`;
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  return numberText(v) ?? String(v);
}

/** Python's repr(): a string quoted as Python quotes it (`'a'`, `"it's"`), anything else as str() writes it. */
function pythonRepr(v: unknown): string {
  return typeof v === 'string' ? pythonStrRepr(v) : pythonStr(v);
}

function fullKey(path: readonly string[]): string {
  return path.join('.');
}

/** `a.b`, `.x` (sibling), `..x` (uncle), `a[0].b`, `d[key]` -> absolute path segments. */
function absoluteKey(key: string, path: readonly string[]): string[] {
  const normalized = key.replace(/\[([^\]]+)\]/g, '.$1');
  const dots = /^\.*/.exec(normalized)![0].length;
  const rest = normalized
    .slice(dots)
    .split('.')
    .filter((s) => s !== '');
  if (dots === 0) return rest;
  // One dot is the node that holds the value; each further dot goes one level up.
  const base = path.slice(0, Math.max(0, path.length - dots));
  return [...base, ...rest];
}

/** Splits text into literal pieces and `${...}` bodies, honouring nesting, quotes and `\${`. */
function splitPieces(s: string, path: readonly string[]): Piece[] {
  const pieces: Piece[] = [];
  let text = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('\\${', i)) {
      text += '${';
      i += 3;
      continue;
    }
    if (s.startsWith('${', i)) {
      const end = matchingBrace(s, i + 2);
      if (end < 0) throw new ConfigError(`${fullKey(path)}: unterminated interpolation in '${s}'`);
      if (text !== '') pieces.push({ kind: 'text', text });
      text = '';
      pieces.push({ kind: 'interp', body: s.slice(i + 2, end) });
      i = end + 1;
      continue;
    }
    text += s[i];
    i++;
  }
  if (text !== '') pieces.push({ kind: 'text', text });
  return pieces;
}

function matchingBrace(s: string, from: number): number {
  let depth = 1;
  let quote: string | null = null;
  for (let i = from; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '{' && s[i - 1] === '$') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

function splitArgs(s: string): string[] {
  if (s.trim() === '') return [];
  const out: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '{' || c === '[' || c === '(') depth++;
    else if (c === '}' || c === ']' || c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Python's `strftime` for the codes a run directory uses, in local time. */
export function strftime(d: Date, pattern: string): string {
  return pattern.replace(/%([%YmdHMSfjybBaApIz])/g, (_m, code: string) => {
    switch (code) {
      case 'Y':
        return String(d.getFullYear());
      case 'y':
        return pad(d.getFullYear() % 100);
      case 'm':
        return pad(d.getMonth() + 1);
      case 'd':
        return pad(d.getDate());
      case 'H':
        return pad(d.getHours());
      case 'I':
        return pad(((d.getHours() + 11) % 12) + 1);
      case 'M':
        return pad(d.getMinutes());
      case 'S':
        return pad(d.getSeconds());
      case 'f':
        return pad(d.getMilliseconds() * 1000, 6);
      case 'j': {
        const start = new Date(d.getFullYear(), 0, 1);
        return pad(Math.floor((d.getTime() - start.getTime()) / 86_400_000) + 1, 3);
      }
      case 'b':
        return MONTHS[d.getMonth()]!;
      case 'B':
        return new Intl.DateTimeFormat('en', { month: 'long' }).format(d);
      case 'a':
        return DAYS[d.getDay()]!;
      case 'A':
        return new Intl.DateTimeFormat('en', { weekday: 'long' }).format(d);
      case 'p':
        return d.getHours() < 12 ? 'AM' : 'PM';
      case 'z': {
        const off = -d.getTimezoneOffset();
        return `${off >= 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}${pad(Math.abs(off) % 60)}`;
      }
      default:
        return '%';
    }
  });
}
