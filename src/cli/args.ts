/**
 * Flag parsing shared by every command: yargs with numbers, dots and camel-case left alone (bench
 * parses values itself), no built-in help or version, unknown flags refused as usage errors.
 */
import { UserError } from '../util/errors.js';
import { resolve } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { PACKAGE_CONFIG_DIR, type ConfigSource } from '../config/load.js';

/** A command line that cannot be understood; the commands print it with a pointer to --help. */
export class UsageError extends UserError {
  override readonly name = 'UsageError';
}

/**
 * `--flag -5%` as `--flag=-5%`: a value that starts like a negative number is the flag's, not a
 * cluster of short options (`-5`, `-%`), so that the flag's own check can say what it accepts.
 */
export function negativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of argv) {
    const prev = out.at(-1);
    if (/^-\.?\d/.test(arg) && prev !== undefined && /^--[\w-]+$/.test(prev)) out[out.length - 1] = `${prev}=${arg}`;
    else out.push(arg);
  }
  return out;
}

export function argParser(argv: readonly string[], extra: Record<string, boolean> = {}): Argv {
  return yargs(negativeValues(argv))
    .parserConfiguration({
      'camel-case-expansion': false,
      'dot-notation': false,
      'parse-numbers': false,
      'parse-positional-numbers': false,
      ...extra,
    })
    .help(false)
    .version(false)
    .strictOptions()
    .fail((msg) => {
      throw new UsageError(msg);
    });
}

/** Hydra's config-source flags, shared by every command that composes a config. */
export function withConfigSource(parser: Argv): Argv {
  return (
    parser
      .option('config-name', { alias: 'cn', type: 'string' })
      .option('config-path', { alias: 'cp', type: 'string' })
      // Not an array option: that would swallow the overrides after it; repeat -cd for more folders.
      .option('config-dir', { alias: 'cd', type: 'string' })
  );
}

/** The ConfigSource those flags name (bench's own configs/ and `config` by default). */
export function configSourceOf(parsed: Record<string, unknown>): ConfigSource {
  const path = parsed['config-path'];
  const name = parsed['config-name'];
  return {
    configDir: typeof path === 'string' && path !== '' ? resolve(path) : PACKAGE_CONFIG_DIR,
    extraDirs: ([] as unknown[]).concat(parsed['config-dir'] ?? []).map(String),
    configName: (typeof name === 'string' ? name : 'config').replace(/\.yaml$/, ''),
  };
}
