/**
 * Flag parsing shared by every command: yargs with numbers, dots and camel-case left alone (bench
 * parses values itself), no built-in help or version, unknown flags refused as usage errors.
 */
import yargs, { type Argv } from 'yargs';

/** A command line that cannot be understood; the commands print it with a pointer to --help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function argParser(argv: readonly string[], extra: Record<string, boolean> = {}): Argv {
  return yargs([...argv])
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
