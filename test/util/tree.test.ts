import { describe, expect, it } from 'vitest';
import { mergeConfig } from '../../src/config/compose.js';
import { MergeError, merge, setPath, type Tree } from '../../src/util/tree.js';
import { Float } from '../../src/util/numbers.js';
import { pythonEquals } from '../../src/util/python.js';

describe('merge, as OmegaConf merges', () => {
  it('never shares a node with its inputs: changing the result changes neither', () => {
    const into = { a: { x: [1, 2] }, b: { y: { z: 1 } } };
    const out = merge(into, { a: { w: 1 } }) as Tree;
    setPath(out, 'b.y.z', 2, false);
    (out.a as { x: number[] }).x.push(3);
    expect(into).toEqual({ a: { x: [1, 2] }, b: { y: { z: 1 } } });
  });

  it('merges a dict onto an interpolation into a copy of its target, which stays as it was', () => {
    const out = mergeConfig({ b: { x: { y: 1 } }, a: '${b}' }, { a: { z: 1 } });
    expect(out.a).toEqual({ x: { y: 1 }, z: 1 });
    setPath(out, 'a.x.y', 2, false);
    expect(out.b).toEqual({ x: { y: 1 } });
  });

  it('refuses a dict onto a list and a list onto a dict, naming the key', () => {
    expect(() => merge({ c: { a: [1] } }, { c: { a: { x: 1 } } })).toThrow(MergeError);
    expect(() => merge({ a: { x: 1 } }, { a: [1] })).toThrow(/full_key: a/);
  });

  it('keeps a Float a Float', () => {
    expect((merge({ a: 1 }, { a: new Float(2) }) as Tree).a).toEqual(new Float(2));
  });
});

describe("Python's ==", () => {
  it.each([
    [1, new Float(1), true],
    [12345678901234567890n, 12345678901234567890n, true],
    [12345678901234567890n, 12345678901234567891n, false],
    [[1, { a: new Float(2) }], [1, { a: 2 }], true],
    [{ a: 1 }, { a: 1, b: 2 }, false],
    ['1', 1, false],
    [null, null, true],
  ])('%o == %o is %s', (a, b, equal) => {
    expect(pythonEquals(a, b)).toBe(equal);
  });
});
