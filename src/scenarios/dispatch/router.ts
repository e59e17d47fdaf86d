/**
 * The router of the dispatch scenario: one length class per pool, by ascending max_length; a
 * request goes to the first pool whose max_length it fits.
 */
import { ConfigError } from '../../config/errors.js';

export interface LengthClass {
  readonly name: string;
  /** Inclusive bounds in tokens; max null: no upper bound. */
  readonly min_length: number;
  readonly max_length: number | null;
}

export interface Router {
  /** Classes ordered by length, one per pool. */
  readonly classes: readonly LengthClass[];
  /** The class (index into `classes`) of a request of `length` tokens; -1 when no pool takes it. */
  classOf(length: number): number;
}

/** One class per pool, by ascending max_length; a request goes to the first pool whose max_length it fits. */
export function makeRouter(pools: readonly { readonly name: string; readonly max_length: number | null }[]): Router {
  const sorted = [...pools].sort((a, b) => (a.max_length ?? Infinity) - (b.max_length ?? Infinity));
  const classes = sorted.map((p, i): LengthClass => ({
    name: p.name,
    min_length: i === 0 ? 1 : sorted[i - 1]!.max_length! + 1,
    max_length: p.max_length,
  }));
  return {
    classes,
    classOf: (length) => classes.findIndex((c) => c.max_length === null || length <= c.max_length),
  };
}

export function describeClass(c: LengthClass): string {
  if (c.max_length === null) return c.min_length <= 1 ? 'any' : `>${c.min_length - 1}`;
  return c.min_length <= 1 ? `<=${c.max_length}` : `${c.min_length}-${c.max_length}`;
}

/** Refuses lengths no pool takes and lengths beyond the model, naming the key to change. */
export function checkLengths(lengths: readonly number[], router: Router, maxPositions: number, source: string): void {
  // A loop, not Math.max(...): a dataset gives a length per text, too many to spread.
  const longest = lengths.reduce((m, l) => (l > m ? l : m), -Infinity);
  if (router.classOf(longest) < 0) {
    const top = router.classes.at(-1)!;
    throw new ConfigError(
      `scenario.pools: requests of ${longest} tokens (${source}) fit no pool; the longest pool, ${top.name}, stops at max_length ${top.max_length}: give it max_length: null`,
    );
  }
  if (longest > maxPositions)
    throw new ConfigError(
      `${source}: a request of ${longest} tokens is longer than the model allows (${maxPositions} positions)`,
    );
}
