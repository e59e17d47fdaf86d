/**
 * YAML in and out, the way OmegaConf does it: YAML 1.1 (so `yes`/`no`/`on`/`off` are booleans),
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

const safeTags = (tags: Tags): Tags => tags.filter((t) => typeof t === 'string' || !UNSAFE_TAGS.has(t.tag));

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
