import { describe, expect, it } from 'vitest';
import { resolveAll, strftime } from '../../src/config/interpolate.js';
import type { Tree } from '../../src/util/tree.js';

const resolve = (tree: Tree, env: Record<string, string> = {}): Tree => resolveAll(tree, { env }) as Tree;
const error = (tree: Tree, env: Record<string, string> = {}): string => {
  try {
    resolve(tree, env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected an error');
};

describe('interpolation', () => {
  it.each<[string, Tree, string, unknown]>([
    ['absolute key keeps its type', { a: { b: 3 }, c: '${a.b}' }, 'c', 3],
    ['a whole node', { a: { b: 3 }, c: '${a}' }, 'c', { b: 3 }],
    ['mixed text is a string', { a: 3, c: 'x${a}y' }, 'c', 'x3y'],
    ['sibling with one dot', { n: { a: 1, b: '${.a}' } }, 'n', { a: 1, b: 1 }],
    ['uncle with two dots', { a: 2, n: { b: '${..a}' } }, 'n', { b: 2 }],
    ['bracket index', { l: [10, 20], c: '${l[1]}' }, 'c', 20],
    ['nested interpolation in a key', { which: 'y', a: { x: 1, y: 2 }, c: '${a.${which}}' }, 'c', 2],
    ['chains', { a: '${b}', b: '${c}', c: 5 }, 'a', 5],
    ['escaped stays literal', { c: '\\${a.b}' }, 'c', '${a.b}'],
    ['oc.env reads the environment', { c: '${oc.env:HOME}' }, 'c', '/home/u'],
    ['oc.env default is a string', { c: '${oc.env:NOPE,12345}' }, 'c', '12345'],
    ['oc.env null default stays null', { c: '${oc.env:NOPE,null}' }, 'c', null],
    ['oc.select falls back', { c: '${oc.select:a.b,7}' }, 'c', 7],
    ['hydra resolver reads the hydra node', { hydra: { job: { num: 3 } }, c: '${hydra:job.num}' }, 'c', 3],
    ['a quoted resolver argument', { c: "${oc.env:NOPE,'a,b'}" }, 'c', 'a,b'],
  ])('%s', (_name, tree, key, expected) => {
    expect(resolve(tree, { HOME: '/home/u' })[key]).toEqual(expected);
  });

  it('now is evaluated once per pattern and process', () => {
    const a = resolve({ c: '${now:%Y-%m-%d %H:%M:%S.%f}' }).c;
    const b = resolve({ c: '${now:%Y-%m-%d %H:%M:%S.%f}' }).c;
    expect(a).toBe(b);
    expect(String(resolve({ c: '${now:%Y}' }).c)).toBe(String(new Date().getFullYear()));
  });

  it.each<[string, Tree, string]>([
    ['a missing key', { c: '${nope}' }, "Interpolation key 'nope' not found"],
    ['a missing environment variable', { c: '${oc.env:NOPE}' }, "Environment variable 'NOPE' not found"],
    ['a cycle', { a: '${b}', b: '${a}' }, 'Recursive interpolation detected'],
    ['a mandatory value', { a: '???', c: '${a}' }, 'Missing mandatory value: a'],
    ['an unknown resolver', { c: '${foo:1}' }, 'Unsupported interpolation type foo'],
    ['an unterminated interpolation', { c: '${a' }, 'unterminated interpolation'],
  ])('reports %s', (_name, tree, message) => {
    expect(error(tree)).toContain(message);
  });
});

describe('strftime', () => {
  it('formats the codes used in run directories', () => {
    const d = new Date(2026, 0, 5, 7, 8, 9, 10);
    expect(strftime(d, '%Y-%m-%d/%H-%M-%S')).toBe('2026-01-05/07-08-09');
    expect(strftime(d, '%y %j %f %%')).toBe('26 005 010000 %');
  });
});
