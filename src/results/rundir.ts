/**
 * Run directories. A directory is claimed by creating its marker atomically (mkdir of `.hydra`, or
 * an exclusive create of `multirun.yaml`), so two runs started in the same second, even by two bench
 * processes, never share one: the second gets `<dir>_1`, `<dir>_2`, ... That holds for directories
 * named after the time (the defaults, `outputs/${now:...}`). A directory the user named, with no
 * `${now:...}` in it, is never renamed: one that already holds a run or a sweep is refused, so a
 * CI job that reuses a fixed path can never read the last run's results as its own.
 */
import { UserError } from '../util/errors.js';
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { toYaml } from '../config/yaml.js';
import { writeFileAtomic } from '../util/atomic.js';
import { joinInside } from '../util/paths.js';

export class ResultsError extends UserError {
  override readonly name = 'ResultsError';
}

function fsMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function candidates(dir: string): string[] {
  return Array.from({ length: 1000 }, (_, k) => (k === 0 ? dir : `${dir}_${k}`));
}

/** Whether a directory pattern (unresolved, as composed) names the folder after the time. */
export function namedAfterTime(pattern: unknown): boolean {
  return typeof pattern === 'string' && pattern.includes('${now:');
}

/** What a folder the user named already holds (a tune before a sweep, a sweep before a run), or null. */
function heldBy(dir: string): string | null {
  return ['tune.json', 'multirun.yaml', 'results.json', '.hydra'].find((f) => existsSync(join(dir, f))) ?? null;
}

/**
 * A named run folder that holds only an attempt that failed before measuring anything (a model
 * that could not be read, a sequence too long for it): nothing in it is a measurement, so the
 * corrected command may run there again. A run in progress has no results.json yet: never taken.
 */
function failedBeforeMeasuring(dir: string): boolean {
  if (existsSync(join(dir, 'tune.json')) || existsSync(join(dir, 'multirun.yaml'))) return false;
  try {
    const r = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as {
      status?: unknown;
      instances?: { latencies_ms?: unknown[] }[];
    };
    return r.status !== 'ok' && !(r.instances ?? []).some((i) => (i.latencies_ms?.length ?? 0) > 0);
  } catch {
    return false;
  }
}

function clearFailedAttempt(dir: string, marker: string): void {
  for (const f of ['results.json', 'results.csv', 'dispatch.csv']) rmSync(join(dir, f), { force: true });
  rmSync(joinInside(dir, 'hydra.output_subdir', marker), { recursive: true, force: true });
}

/** The refusal of a named folder, with the way out that fits what it holds. */
function refuseNamed(dir: string, key: string, holds: string): never {
  const what = holds === 'tune.json' ? 'a tune' : holds === 'multirun.yaml' ? 'a sweep' : 'a run';
  const resume =
    holds === 'tune.json'
      ? `, or finish that tune with \`bench tune --resume ${dir}\``
      : holds === 'multirun.yaml'
        ? `, or finish that sweep with \`bench --resume ${dir}\``
        : '';
  throw new ResultsError(
    `${key}=${dir} already holds ${what} (${holds}); ` +
      `bench neither writes over results nor renames a folder you named: remove it, choose another ${key}${resume}`,
  );
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

/**
 * Claims a run directory through its marker subfolder; returns the absolute directory. `named`: the
 * user named it (not after the time), so it is never renamed.
 */
export function claimRunDir(dir: string, marker: string, key: string, named = false): string {
  for (const candidate of named ? [dir] : candidates(dir)) {
    ensureDir(candidate, key);
    // The marker claims the directory atomically; a directory that already holds a run or a sweep
    // under another marker (hydra.output_subdir differs, a sweep root) is taken as well.
    let holds = heldBy(candidate);
    if (holds !== null && named && failedBeforeMeasuring(candidate)) {
      clearFailedAttempt(candidate, marker);
      holds = heldBy(candidate);
    }
    if (holds !== null && named) refuseNamed(resolve(candidate), key, holds);
    if (holds !== null) continue;
    try {
      mkdirSync(joinInside(candidate, 'hydra.output_subdir', marker));
      return resolve(candidate);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && named) refuseNamed(resolve(candidate), key, marker);
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ResultsError(
          `Cannot write to ${resolve(candidate)}: ${fsMessage(err)}. Choose a writable one with ${key}=PATH`,
        );
      }
    }
  }
  throw new ResultsError(`Every directory from ${dir} to ${dir}_999 is taken: choose another with ${key}=PATH`);
}

/**
 * Claims a sweep directory by creating `fileName` exclusively and writing `content` into it.
 * `named`: the user named it (not after the time), so it is never renamed.
 */
export function claimSweepDir(dir: string, fileName: string, content: string, key: string, named = false): string {
  for (const candidate of named ? [dir] : candidates(dir)) {
    ensureDir(candidate, key);
    const holds = heldBy(candidate);
    if (holds !== null && named) refuseNamed(resolve(candidate), key, holds);
    if (holds !== null) continue;
    // Written whole to a temporary file, then linked into place: the name appears with its content
    // (a shard joining the folder at that moment never reads an empty file), and only once.
    const tmp = join(candidate, `.${fileName}.${process.pid}.${Date.now()}.tmp`);
    try {
      const fd = openSync(tmp, 'wx');
      try {
        writeSync(fd, content);
      } finally {
        closeSync(fd);
      }
      linkSync(tmp, join(candidate, fileName));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && named) refuseNamed(resolve(candidate), key, fileName);
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new ResultsError(
        `Cannot write to ${resolve(candidate)}: ${fsMessage(err)}. Choose a writable one with ${key}=PATH`,
      );
    } finally {
      rmSync(tmp, { force: true });
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
