/**
 * "Did you mean" for keys the composed config does not have: the nearest existing key at the same
 * level, by edit distance, so a typo gets its fix named.
 */
import type { ConfigRepository } from './repository.js';
import { getPath, isTree, splitPath, type Tree } from '../util/tree.js';

/** Levenshtein distance (insertions, deletions, substitutions; a transposition counts two). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The names in `candidates` close enough to `name` to be what was meant, nearest first. */
export function nearest(name: string, candidates: readonly string[]): string[] {
  const limit = Math.max(1, Math.min(3, Math.floor(name.length / 3)));
  // A prefix of a longer key (`rate` for `rate_per_s`) counts as close too.
  return candidates
    .map((c) => ({
      c,
      d:
        c.toLowerCase().startsWith(name.toLowerCase()) && name.length >= 3
          ? 1
          : editDistance(name.toLowerCase(), c.toLowerCase()),
    }))
    .filter((x) => x.d <= limit)
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
    .map((x) => x.c);
}

/**
 * A line naming the existing key `key` most likely meant (`Did you mean 'backend.num_threads'?`),
 * or null when no key at its level is close.
 */
export function didYouMean(root: Tree, key: string): string | null {
  const parts = splitPath(key);
  const last = parts.at(-1);
  if (last === undefined) return null;
  const parentKey = parts.slice(0, -1).join('.');
  const parent = parentKey === '' ? { found: true, value: root } : getPath(root, parentKey);
  if (!parent.found || !isTree(parent.value)) return null;
  const [best] = nearest(last, Object.keys(parent.value));
  return best === undefined ? null : `Did you mean '${parentKey === '' ? best : `${parentKey}.${best}`}'?`;
}

/**
 * The options of the group `key` starts with whose files have the rest of `key`, e.g.
 * `scenario.arrival.rate_per_s` -> [`dispatch`]: a key the current choice lacks but another option has.
 */
export function optionsWithKey(repo: ConfigRepository, key: string): string[] {
  const [group, ...rest] = splitPath(key);
  if (group === undefined || rest.length === 0 || !repo.groupExists(group)) return [];
  return repo
    .listOptions(group)
    .filter((option) => getPath(repo.load(`${group}/${option}`)?.content ?? {}, rest.join('.')).found);
}
