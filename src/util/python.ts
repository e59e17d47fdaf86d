/**
 * How Python writes a config value's type and a string, for messages and texts that must read as
 * Hydra's and OmegaConf's do (`is of type int`, `invalid literal for int() with base 10: 'a'`).
 */
import { isFloat, isInt, numberValue } from './numbers.js';
import { isTree } from './tree.js';

/** The name Python gives the type of a config value: int, float, bool, str, list, dict, NoneType. */
export function pythonTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (isInt(v)) return 'int';
  if (isFloat(v)) return 'float';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  return typeof v === 'object' ? 'dict' : typeof v;
}

/** Python's repr() of a string (single quotes unless the string holds one and no double quote). */
export function pythonStrRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const named: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
  const body = [...s]
    .map((c) => {
      if (named[c] !== undefined) return named[c];
      if (c === q) return `\\${c}`;
      const code = c.codePointAt(0)!;
      return code < 0x20 || (code >= 0x7f && code <= 0xa0) ? `\\x${code.toString(16).padStart(2, '0')}` : c;
    })
    .join('');
  return `${q}${body}${q}`;
}

/** Python's `==` on config values: 1 == 1.0, big ints exactly, lists and dicts item by item. */
export function pythonEquals(a: unknown, b: unknown): boolean {
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    return (
      (typeof a === 'bigint' || isInt(a)) &&
      (typeof b === 'bigint' || isInt(b)) &&
      BigInt(a as number) === BigInt(b as number)
    );
  }
  const x = numberValue(a);
  const y = numberValue(b);
  if (x !== undefined || y !== undefined) return x === y;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => pythonEquals(v, b[i]));
  }
  if (isTree(a) || isTree(b)) {
    if (!isTree(a) || !isTree(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && pythonEquals(a[k], b[k]));
  }
  return a === b;
}
