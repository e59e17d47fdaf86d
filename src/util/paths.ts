/**
 * User strings that become file names (a model's name in the cache, a sweep's job subdirectory, a
 * file a server names) must stay inside the folder they are meant for.
 */
import { isAbsolute, join, relative, resolve } from 'node:path';
import { UserError } from './errors.js';

/**
 * `name` as one file-name component: every character outside letters, digits, `.`, `_`, `-` and
 * `+` becomes `_`, and a leading dot too (no `..`, no hidden file, no separator).
 */
export function fileSafeName(name: string): string {
  const safe = name.replace(/[^\w.+-]/g, '_').replace(/^\./, '_');
  return safe === '' ? '_' : safe;
}

/**
 * `join(dir, ...parts)`, refused when the result is not inside `dir` (`..` segments, an absolute
 * part); `what` names where the parts came from, for the message.
 */
export function joinInside(dir: string, what: string, ...parts: string[]): string {
  const file = join(dir, ...parts);
  const rel = relative(resolve(dir), resolve(file));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new UserError(
      `${what}: ${JSON.stringify(parts.join('/'))} leads outside ${dir}; it must name a place inside it`,
    );
  }
  return file;
}
