/**
 * Plain-data config trees: OmegaConf's merge (dicts merge, lists and scalars are replaced, a
 * `???` never hides a value that is set) and dotted-path access (`a.b.0.c`).
 */
import { UserError } from './errors.js';
import { Float, toJson } from './numbers.js';

export type Tree = Record<string, unknown>;

/**
 * Keys that would reach JavaScript's object machinery instead of a config value (`a.__proto__.x=1`
 * would set a property on every object of the bench process): refused wherever a path is split or
 * a tree is merged.
 */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Throws when `key` is one of the keys a config may not have; `where` says whose key it is. */
export function assertSafeKey(key: string, where: string): void {
  if (FORBIDDEN_KEYS.has(key)) {
    throw new UserError(
      `${where}: '${key}' cannot be a config key (it names JavaScript's object prototype machinery); rename or remove it`,
    );
  }
}

/** Every key of a parsed tree (a YAML file, a saved config), at any depth, is a safe one. */
export function assertSafeTree(value: unknown, where: string, path = ''): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertSafeTree(v, where, `${path}${path ? '.' : ''}${i}`));
  } else if (isTree(value)) {
    for (const [k, v] of Object.entries(value)) {
      const at = `${path}${path ? '.' : ''}${k}`;
      assertSafeKey(k, `${where} (key ${at})`);
      assertSafeTree(v, where, at);
    }
  }
}

export const MISSING = '???';

export function isTree(v: unknown): v is Tree {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Float);
}

/** A copy of plain config data; a `Float` (immutable) is kept as it is. */
export function deepClone<T>(v: T): T {
  if (Array.isArray(v)) return v.map(deepClone) as T;
  if (isTree(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepClone(x)])) as T;
  return v;
}

/** A dict merged onto a list or a list onto a dict: OmegaConf refuses it, so does bench. */
export class MergeError extends UserError {
  constructor(readonly fullKey: string) {
    super(`Cannot merge DictConfig with ListConfig\n    full_key: ${fullKey}\n    object_type=dict`);
  }
}

export interface MergeOptions {
  /**
   * The node a string that is one interpolation (`${b}`, found at `path`) points to, read from
   * `root` (the merge's result as it stands), with the path it was found at; undefined when the
   * string is not one. A dict merged onto such a value merges into a copy of what it points to,
   * following a chain of them, as OmegaConf does.
   */
  readonly follow?: (
    value: string,
    path: readonly string[],
    root: unknown,
  ) => { readonly value: unknown; readonly path: readonly string[] } | undefined;
}

/**
 * OmegaConf's merge of `src` onto `dest`, into a copy of `dest`: dicts merge key by key, in order;
 * lists and scalars are replaced; `???` never hides a value; a dict onto a list (or back) is
 * refused ({@link MergeError}).
 */
export function merge(dest: unknown, src: unknown, opts: MergeOptions = {}): unknown {
  return mergeOwned(deepClone(dest), src, opts);
}

/** {@link merge} into `dest` itself, which the caller owns (composition merges each config so). */
export function mergeOwned(dest: unknown, src: unknown, opts: MergeOptions = {}): unknown {
  return mergeInto(dest, src, opts, [], dest);
}

/** Merges `src` into `dest`, which belongs to this merge and is changed in place. */
function mergeInto(dest: unknown, src: unknown, opts: MergeOptions, path: readonly string[], root: unknown): unknown {
  if (typeof dest === 'string' && isTree(src) && opts.follow) {
    let target = opts.follow(dest, path, root);
    for (let hops = 0; target && typeof target.value === 'string' && hops < 32; hops++) {
      const next = opts.follow(target.value, target.path, root);
      if (!next) break;
      target = next;
    }
    if (target && isTree(target.value)) dest = deepClone(target.value);
  }
  if (isTree(dest) && isTree(src)) {
    for (const [k, v] of Object.entries(src)) {
      assertSafeKey(k, 'merging configs');
      dest[k] = Object.hasOwn(dest, k) ? mergeInto(dest[k], v, opts, [...path, k], root) : deepClone(v);
    }
    return dest;
  }
  if ((isTree(dest) && Array.isArray(src)) || (Array.isArray(dest) && isTree(src)))
    throw new MergeError(path.join('.'));
  if (src === MISSING && dest !== undefined) return dest;
  return deepClone(src);
}

/** Places `content` under a dotted package path (`''` is the root). */
export function atPackage(pkg: string, content: unknown): unknown {
  return pkg === '' ? content : splitPath(pkg).reduceRight<unknown>((acc, key) => ({ [key]: acc }), content);
}

export function splitPath(key: string): string[] {
  if (key === '') return [];
  const segs = key.split('.');
  for (const seg of segs) assertSafeKey(seg, `key '${key}'`);
  return segs;
}

export function getPath(root: unknown, key: string): { found: boolean; value: unknown } {
  let node: unknown = root;
  for (const seg of splitPath(key)) {
    if (Array.isArray(node) && /^\d+$/.test(seg) && Number(seg) < node.length) node = node[Number(seg)];
    else if (isTree(node) && Object.hasOwn(node, seg)) node = node[seg];
    else return { found: false, value: undefined };
  }
  return { found: true, value: node };
}

/** Sets a value, creating parent dicts when `createParents`; returns false when a parent is missing. */
export function setPath(root: Tree, key: string, value: unknown, createParents: boolean): boolean {
  const segs = splitPath(key);
  let node: unknown = root;
  for (const seg of segs.slice(0, -1)) {
    if (Array.isArray(node) && /^\d+$/.test(seg) && Number(seg) < node.length) {
      node = node[Number(seg)];
      continue;
    }
    if (!isTree(node)) return false;
    if (!isTree(node[seg]) && !Array.isArray(node[seg])) {
      if (!createParents) return false;
      node[seg] = {};
    }
    node = node[seg];
  }
  const last = segs.at(-1)!;
  if (Array.isArray(node) && /^\d+$/.test(last)) node[Number(last)] = value;
  else if (isTree(node)) node[last] = value;
  else return false;
  return true;
}

export function deletePath(root: Tree, key: string): boolean {
  const segs = splitPath(key);
  const parent = getPath(root, segs.slice(0, -1).join('.'));
  const last = segs.at(-1)!;
  if (isTree(parent.value) && Object.hasOwn(parent.value, last)) {
    delete parent.value[last];
    return true;
  }
  if (Array.isArray(parent.value) && /^\d+$/.test(last) && Number(last) < parent.value.length) {
    parent.value.splice(Number(last), 1);
    return true;
  }
  return false;
}

/** `{a: {b: 1}, c: [1, 2]}` -> `{'a.b': 1, c: '[1, 2]'}`: one column per leaf, lists kept whole. */
export function flatten(tree: Tree, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (isTree(v) && Object.keys(v).length > 0) Object.assign(out, flatten(v, key));
    else if (isTree(v)) out[key] = '{}';
    else if (Array.isArray(v)) out[key] = toJson(v, 0);
    else out[key] = v;
  }
  return out;
}

/** `{a: {b: [1, 2]}, 'c.d': 3}` -> `{'a.b': [1, 2], 'c.d': 3}`: dotted keys for the leaves, values as they are. */
export function leaves(tree: Tree, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (isTree(v) && Object.keys(v).length > 0) Object.assign(out, leaves(v, key));
    else out[key] = v;
  }
  return out;
}
