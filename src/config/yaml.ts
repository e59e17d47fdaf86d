/**
 * YAML in and out, the way OmegaConf does it: YAML 1.1 typed as PyYAML types it (so `yes`/`no`/
 * `on`/`off` are booleans and `y`/`n` strings),
 * duplicate keys rejected, and no tags that build objects (timestamps, binary, sets and ordered
 * maps stay out, so a config file can only ever produce plain data).
 */
import { parseDocument, stringify, type Tags } from 'yaml';
import { assertSafeTree } from '../util/tree.js';
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

function pyyamlInt(text: string): number {
  const s = text.replaceAll('_', '');
  const sign = s.startsWith('-') ? -1 : 1;
  const body = s.replace(/^[-+]/, '');
  if (body.includes(':')) return sexagesimal(s);
  if (body.startsWith('0b')) return sign * parseInt(body.slice(2), 2);
  if (body.startsWith('0x')) return sign * parseInt(body.slice(2), 16);
  if (body.length > 1 && body.startsWith('0')) return sign * parseInt(body, 8);
  return sign * Number(body);
}

function omegaconfFloat(text: string): number {
  const s = text.replaceAll('_', '');
  const lower = s.toLowerCase();
  if (lower.endsWith('.inf')) return s.startsWith('-') ? -Infinity : Infinity;
  if (lower === '.nan') return NaN;
  if (s.includes(':')) return sexagesimal(s);
  return Number(s);
}

const PYYAML_SCALARS = [
  {
    tag: 'tag:yaml.org,2002:bool',
    default: true,
    test: PYYAML_BOOL,
    resolve: (s: string) => /^(?:yes|true|on)$/i.test(s),
  },
  { tag: 'tag:yaml.org,2002:int', default: true, test: PYYAML_INT, resolve: pyyamlInt },
  { tag: 'tag:yaml.org,2002:float', default: true, test: OMEGACONF_FLOAT, resolve: omegaconfFloat },
] as const;

const IMPLICIT = new Set(['tag:yaml.org,2002:bool', 'tag:yaml.org,2002:int', 'tag:yaml.org,2002:float']);

const safeTags = (tags: Tags): Tags => [
  ...PYYAML_SCALARS,
  ...tags.filter(
    (t) => typeof t === 'string' || (!UNSAFE_TAGS.has(t.tag) && !(IMPLICIT.has(t.tag) && 'test' in t && t.test)),
  ),
];

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

export function toYaml(value: unknown): string {
  if (value !== null && typeof value === 'object' && Object.keys(value).length === 0) return '{}\n';
  return stringify(value, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false });
}
