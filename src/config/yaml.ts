/**
 * YAML in and out, the way OmegaConf does it: YAML 1.1 typed as PyYAML types it (so `yes`/`no`/
 * `on`/`off` are booleans and `y`/`n` strings),
 * duplicate keys rejected, and no tags that build objects (timestamps, binary, sets and ordered
 * maps stay out, so a config file can only ever produce plain data).
 */
import { isScalar, parseDocument, stringify, visit, type CollectionTag, type ScalarTag, type Tags } from 'yaml';
import { float, Float, int, isFloat, isInt, numberValue, yamlFloat } from '../util/numbers.js';
import { assertSafeTree, isTree } from '../util/tree.js';
import { ConfigError } from './errors.js';

const UNSAFE_TAGS = new Set([
  'tag:yaml.org,2002:timestamp',
  'tag:yaml.org,2002:binary',
  'tag:yaml.org,2002:omap',
  'tag:yaml.org,2002:pairs',
  'tag:yaml.org,2002:set',
]);

/**
 * The implicit types of plain scalars as PyYAML's SafeLoader resolves them (the YAML 1.1 that
 * OmegaConf reads), with OmegaConf's own float rule (`1e3` is a float, `-.5` is not): the spec's
 * `y`/`n` are strings there, `08` and `09:30` are strings, `1:30` is 90. Each replaces the tag the
 * `yaml` library's yaml-1.1 schema has for that type; test/config/omegaconf.test.ts checks them
 * against the real OmegaConf.
 */
const PYYAML_BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const PYYAML_INT =
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const OMEGACONF_FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

/** A sexagesimal number (base 60 groups, `1:30` is 90), as PyYAML reads it. */
function sexagesimal(text: string): number {
  const sign = text.startsWith('-') ? -1 : 1;
  const parts = text.replace(/^[-+]/, '').split(':');
  return sign * parts.reduce((acc, p) => acc * 60 + Number(p), 0);
}

/** An int exactly, however many digits (a bigint beyond 2^53). */
function pyyamlInt(text: string): number | bigint {
  const s = text.replaceAll('_', '');
  const body = s.replace(/^[-+]/, '');
  if (body.includes(':')) return sexagesimal(s);
  const magnitude =
    body.startsWith('0b') || body.startsWith('0x')
      ? BigInt(body)
      : body.length > 1 && body.startsWith('0')
        ? BigInt(`0o${body.slice(1)}`)
        : BigInt(body);
  return int(s.startsWith('-') ? -magnitude : magnitude);
}

/** A float stays a float: `1.0` and `1e3` are Floats, not the ints 1 and 1000. */
function omegaconfFloat(text: string): number | Float {
  const s = text.replaceAll('_', '');
  const lower = s.toLowerCase();
  if (lower.endsWith('.inf')) return s.startsWith('-') ? -Infinity : Infinity;
  if (lower === '.nan') return NaN;
  if (s.includes(':')) return float(sexagesimal(s));
  return float(Number(s));
}

/**
 * Written back as PyYAML writes them (`true`, `1.0`, `1.0e-05`, `.inf`), so that PyYAML and
 * OmegaConf read the types bench used.
 */
const PYYAML_SCALARS = [
  {
    tag: 'tag:yaml.org,2002:bool',
    default: true,
    test: PYYAML_BOOL,
    identify: (v: unknown) => typeof v === 'boolean',
    resolve: (s: string) => /^(?:yes|true|on)$/i.test(s),
    stringify: ({ value }: { value: unknown }) => String(value),
  },
  {
    tag: 'tag:yaml.org,2002:int',
    default: true,
    test: PYYAML_INT,
    identify: isInt,
    resolve: pyyamlInt,
    stringify: ({ value }: { value: unknown }) => String(value),
  },
  {
    tag: 'tag:yaml.org,2002:float',
    default: true,
    test: OMEGACONF_FLOAT,
    identify: isFloat,
    resolve: omegaconfFloat,
    stringify: ({ value }: { value: unknown }) => yamlFloat(numberValue(value) ?? NaN),
  },
] as const;

/**
 * PyYAML reads a plain `2024-01-01` as a date (OmegaConf as a string), a plain `=` as its "value"
 * type and a plain `<<` value as a merge, which its safe loader cannot build: bench reads them as
 * strings (this tag resolves to the text) and writes such a string quoted, so that PyYAML reads it
 * as one (Hydra's `kv_sep: '='`). The tag has a name of bench's own, so an explicit `!!timestamp`
 * is still refused.
 */
const PYYAML_TEXT =
  /^(?:=|<<|[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/;
const PYYAML_TEXT_AS_TEXT = {
  tag: 'tag:bench,2026:pyyaml-text',
  default: true,
  test: PYYAML_TEXT,
  identify: () => false,
  resolve: (s: string) => s,
} as const;

const IMPLICIT = new Set(['tag:yaml.org,2002:bool', 'tag:yaml.org,2002:int', 'tag:yaml.org,2002:float']);

const safeTags = (tags: Tags): Tags => [
  ...PYYAML_SCALARS,
  PYYAML_TEXT_AS_TEXT,
  ...tags
    .filter(
      (t) => typeof t === 'string' || (!UNSAFE_TAGS.has(t.tag) && !(IMPLICIT.has(t.tag) && 'test' in t && t.test)),
    )
    .map((t) => (typeof t !== 'string' && t.tag === 'tag:yaml.org,2002:str' ? tabsQuoted(t) : t)),
];

/** PyYAML cannot read a tab in a plain (or single-quoted) scalar: such a string is written `"a\tb"`. */
function tabsQuoted(tag: ScalarTag | CollectionTag): ScalarTag | CollectionTag {
  const { stringify: write } = tag;
  if (write === undefined) return tag;
  return {
    ...tag,
    stringify(item, ctx, onComment, onChompKeep) {
      if (isScalar(item) && typeof item.value === 'string' && item.value.includes('\t')) item.type = 'QUOTE_DOUBLE';
      return write(item, ctx, onComment, onChompKeep);
    },
  } as ScalarTag | CollectionTag;
}

export interface ParsedYaml {
  readonly content: unknown;
  /** The value of a `# @package X` line in the file's leading comment block, if any. */
  readonly packageHeader: string | null;
}

export function parseYaml(text: string, fileLabel: string): ParsedYaml {
  const doc = parseDocument(text, {
    version: '1.1',
    schema: 'yaml-1.1',
    customTags: safeTags,
    uniqueKeys: true,
    merge: true,
    prettyErrors: true,
  });
  const problem = doc.errors[0];
  if (problem) {
    const pos = problem.linePos?.[0];
    const where = pos ? `${fileLabel}:${pos.line}:${pos.col}` : fileLabel;
    const detail = problem.message.split('\n')[0] ?? problem.message;
    throw new ConfigError(`Invalid YAML in ${where}: ${detail}`);
  }
  for (const warning of doc.warnings) {
    if (warning.code === 'TAG_RESOLVE_FAILED') {
      throw new ConfigError(
        `Invalid YAML in ${fileLabel}: ${warning.message.split('\n')[0]} (custom tags are not allowed)`,
      );
    }
  }
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === null) {
        const line = pair.key.range ? text.slice(0, pair.key.range[0]).split('\n').length : null;
        throw new ConfigError(
          `Invalid YAML in ${fileLabel}${line === null ? '' : `:${line}`}: a key is null (Incompatible key type 'NoneType'); quote it ('null': ...) or name it`,
        );
      }
    },
  });
  const content: unknown = doc.toJS({ maxAliasCount: 1000 }) ?? null;
  assertSafeTree(content, fileLabel);
  return { content, packageHeader: readPackageHeader(text) };
}

/** Hydra reads the header only in the leading block of blank lines and `#` lines. */
function readPackageHeader(text: string): string | null {
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (!trimmed.startsWith('#')) break;
    const m = /^#\s*@package\s+(\S+)\s*$/.exec(trimmed);
    if (m) return m[1]!;
  }
  return null;
}

/** YAML that PyYAML (and so OmegaConf) reads back to the same values and types. */
export function toYaml(value: unknown): string {
  if (isTree(value) && Object.keys(value).length === 0) return '{}\n';
  return stringify(value, {
    version: '1.1',
    schema: 'yaml-1.1',
    // Without the merge tag, which would write the string `<<` bare (PyYAML then reads a merge).
    customTags: (tags) => safeTags(tags).filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:merge'),
    lineWidth: 0,
    aliasDuplicateObjects: false,
  });
}
