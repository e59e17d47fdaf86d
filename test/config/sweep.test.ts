import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOverride } from '../../src/config/grammar.js';
import { ConfigRepository } from '../../src/config/repository.js';
import { expandSweep, overrideDirname, sweeperParams } from '../../src/config/sweep.js';

const repo = new ConfigRepository([
  { provider: 'main', path: join(import.meta.dirname, '..', 'fixtures', 'configs', 'app') },
]);
const jobs = (cli: string[], params: Record<string, string> = {}): string[][] =>
  expandSweep(repo, sweeperParams({ hydra: { sweeper: { params } } }), cli.map(parseOverride)).map((j) => [
    ...j.overrides,
  ]);

describe('basic sweeper', () => {
  it('takes the cartesian product with the last key varying fastest', () => {
    expect(jobs(['a=1,2', 'b=10,20'])).toEqual([
      ['a=1', 'b=10'],
      ['a=1', 'b=20'],
      ['a=2', 'b=10'],
      ['a=2', 'b=20'],
    ]);
  });

  it('keeps plain overrides in every job, written as Hydra writes them', () => {
    expect(jobs(['x=[1, 2]', 'a=1,2', "s=choice('p q','r')", 'f=1.0,2.5'])).toEqual([
      ['x=[1,2]', 'a=1', 's=p\\ q', 'f=1.0'],
      ['x=[1,2]', 'a=1', 's=p\\ q', 'f=2.5'],
      ['x=[1,2]', 'a=1', 's=r', 'f=1.0'],
      ['x=[1,2]', 'a=1', 's=r', 'f=2.5'],
      ['x=[1,2]', 'a=2', 's=p\\ q', 'f=1.0'],
      ['x=[1,2]', 'a=2', 's=p\\ q', 'f=2.5'],
      ['x=[1,2]', 'a=2', 's=r', 'f=1.0'],
      ['x=[1,2]', 'a=2', 's=r', 'f=2.5'],
    ]);
  });

  it('puts config params first; a command-line value replaces one but keeps its place', () => {
    expect(jobs(['b=5', 'a=3,4'], { a: '1,2', c: 'x' })).toEqual([
      ['a=3', 'c=x', 'b=5'],
      ['a=4', 'c=x', 'b=5'],
    ]);
  });

  it('expands range and glob over a group', () => {
    expect(jobs(['n=range(1,3)', 'db=glob(*,exclude=sqlite)'])).toEqual([
      ['n=1', 'db=mysql'],
      ['n=1', 'db=postgresql'],
      ['n=2', 'db=mysql'],
      ['n=2', 'db=postgresql'],
    ]);
  });

  it('keeps quoting so each job override parses back to the same value', () => {
    expect(jobs(["s='a,b',c"])).toEqual([["s='a,b'"], ['s=c']]);
  });

  it('refuses to sweep hydra keys', () => {
    expect(() => jobs(['hydra.run.dir=a,b'])).toThrow(
      "Sweeping over Hydra's configuration is not supported : 'hydra.run.dir=a,b'",
    );
  });

  it('refuses glob on something that is not a group', () => {
    expect(() => jobs(['x=glob(*)'])).toThrow("glob() in 'x=glob(*)' needs a config group");
  });
});

describe('override_dirname', () => {
  it('sorts the input lines and swaps the separators', () => {
    expect(
      overrideDirname(['learning_rate=0.1', 'batch_size=32', 'seed=1'], {
        kvSep: '-',
        itemSep: '_',
        excludeKeys: ['seed'],
      }),
    ).toBe('batch_size-32_learning_rate-0.1');
  });
});
