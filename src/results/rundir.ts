/**
 * Run directories. A directory is claimed by creating its marker atomically (mkdir of `.hydra`, or
 * an exclusive create of `multirun.yaml`), so two runs started in the same second, even by two bench
 * processes, never share one: the second gets `<dir>_1`, `<dir>_2`, ...
 */
import { UserError } from '../util/errors.js';
import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { toYaml } from '../config/yaml.js';
import { writeFileAtomic } from '../util/atomic.js';

export class ResultsError extends UserError {
  override readonly name = 'ResultsError';
}

function fsMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether `dir` already holds another run's or sweep's files (whatever its marker). */
function heldByAnother(dir: string): boolean {
  return ['results.json', 'multirun.yaml', 'tune.json', '.hydra'].some((f) => existsSync(join(dir, f)));
}

function candidates(dir: string): string[] {
  return Array.from({ length: 1000 }, (_, k) => (k === 0 ? dir : `${dir}_${k}`));
}

/**
 * `mkdir -p` one level at a time: Node's own `recursive: true` never returns for some paths it
 * cannot create (e.g. under /proc), and a benchmark tool must fail fast instead.
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  let current = resolve(dir);
  while (!existsSync(current)) {
    missing.push(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

function ensureDir(dir: string, key: string): void {
  try {
    makeDirs(dir);
  } catch (err) {
    throw new ResultsError(
      `Cannot create the output directory ${resolve(dir)}: ${fsMessage(err)}. Choose a writable one with ${key}=PATH`,
    );
  }
}

/** Claims a run directory through its marker subfolder; returns the absolute directory. */
export function claimRunDir(dir: string, marker: string, key: string): string {
  for (const candidate of candidates(dir)) {
    ensureDir(candidate, key);
    // The marker claims the directory atomically; a directory that already holds a run or a sweep
    // under another marker (hydra.output_subdir differs, a sweep root) is taken as well.
    if (heldByAnother(candidate)) continue;
    try {
      mkdirSync(join(candidate, marker));
      return resolve(candidate);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ResultsError(
          `Cannot write to ${resolve(candidate)}: ${fsMessage(err)}. Choose a writable one with ${key}=PATH`,
        );
      }
    }
  }
  throw new ResultsError(`Every directory from ${dir} to ${dir}_999 is taken: choose another with ${key}=PATH`);
}

/** Claims a sweep directory by creating `fileName` exclusively and writing `content` into it. */
export function claimSweepDir(dir: string, fileName: string, content: string, key: string): string {
  for (const candidate of candidates(dir)) {
    ensureDir(candidate, key);
    if (heldByAnother(candidate)) continue;
    let fd: number;
    try {
      fd = openSync(join(candidate, fileName), 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new ResultsError(
        `Cannot write to ${resolve(candidate)}: ${fsMessage(err)}. Choose a writable one with ${key}=PATH`,
      );
    }
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    return resolve(candidate);
  }
  throw new ResultsError(`Every directory from ${dir} to ${dir}_999 is taken: choose another with ${key}=PATH`);
}

/** `.hydra/config.yaml` (task config, unresolved), `hydra.yaml` and `overrides.yaml`. */
export function writeHydraFiles(dir: string, task: unknown, hydra: unknown, overrides: readonly string[]): void {
  makeDirs(dir);
  writeFileAtomic(join(dir, 'config.yaml'), toYaml(task));
  writeFileAtomic(join(dir, 'hydra.yaml'), toYaml({ hydra }));
  writeFileAtomic(join(dir, 'overrides.yaml'), toYaml([...overrides]));
}
