/**
 * User strings that become file names (a model's name in the cache, a sweep's job subdirectory, a
 * file a server names) must stay inside the folder they are meant for.
 */
import { accessSync, constants, existsSync, statfsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
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

/** Kernel pseudo-filesystems (statfs magic numbers): proc, sysfs, debugfs, cgroup, cgroup2. */
const PSEUDO_FILESYSTEMS = new Set([0x9fa0, 0x62656572, 0x64626720, 0x27e0eb, 0x63677270]);

/**
 * A path an output flag names can be written, checked before anything is made: the nearest existing
 * folder above it is a writable folder on a real filesystem (mkdir under /proc loops), and the path
 * itself, where it exists, is of the kind asked for (`file` or `folder`).
 */
export function checkOutputPath(path: string, flag: string, kind: 'file' | 'folder', exampleName = 'out'): void {
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(path, { throwIfNoEntry: false });
  } catch {
    // ENOTDIR: a file stands where a folder of the path should be (said below).
    st = undefined;
  }
  if (st && kind === 'file' && st.isDirectory())
    throw new UserError(`${flag} ${path} is a folder; give a file name, e.g. ${flag} ${join(path, exampleName)}`);
  if (st && kind === 'folder' && !st.isDirectory()) throw new UserError(`${flag} ${path} is a file; give a folder`);
  let dir = dirname(path);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  if (!statSync(dir).isDirectory())
    throw new UserError(`${flag} ${path}: ${dir} is a file, not a folder; give a path under a folder`);
  if (PSEUDO_FILESYSTEMS.has(statfsSync(dir).type))
    throw new UserError(
      `${flag} ${path}: ${dir} is a kernel pseudo-filesystem (/proc, /sys), where nothing can be written; give a path under a real folder`,
    );
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UserError(`${flag} ${path}: ${dir} is not writable; give a path under a folder you can write to`);
  }
}
