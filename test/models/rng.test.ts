import { describe, expect, it } from 'vitest';

import { Rng } from '../../src/util/rng.js';

describe('Rng', () => {
  it('repeats its stream for a seed and differs between seeds', () => {
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 8 }, () => rng.nextUint32());
    };
    expect(draw(5)).toEqual(draw(5));
    expect(draw(5)).not.toEqual(draw(6));
    expect(draw(2 ** 40)).not.toEqual(draw(0));
  });

  it('pins the first outputs, so a change to the generator (and to every synthesized weight) shows', () => {
    const rng = new Rng(0);
    expect(Array.from({ length: 4 }, () => rng.nextUint32())).toMatchInlineSnapshot(`
      [
        3809008728,
        1133695204,
        53579671,
        2891528803,
      ]
    `);
  });

  it('pins the first normals', () => {
    const rng = new Rng(0);
    expect(Array.from({ length: 3 }, () => rng.normal())).toMatchInlineSnapshot(`
      [
        0.5353395359046857,
        -0.32664029068793443,
        -0.516986435913595,
      ]
    `);
  });

  it('draws normals with mean 0 and variance 1', () => {
    const rng = new Rng(123);
    const n = 200_000;
    let sum = 0;
    let sumSquares = 0;
    for (let i = 0; i < n; i++) {
      const x = rng.normal();
      sum += x;
      sumSquares += x * x;
    }
    const mean = sum / n;
    // Standard errors: 1/sqrt(n) = 0.0022 for the mean, sqrt(2/n) = 0.0032 for the variance.
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(sumSquares / n - mean * mean - 1)).toBeLessThan(0.015);
  });

  it('draws integers in [0, n)', () => {
    const rng = new Rng(9);
    for (let i = 0; i < 10_000; i++) {
      const k = rng.int(7);
      expect(Number.isInteger(k) && k >= 0 && k < 7).toBe(true);
    }
  });

  it('rejects seeds that are not non-negative safe integers', () => {
    expect(() => new Rng(-1)).toThrow(RangeError);
    expect(() => new Rng(1.5)).toThrow(RangeError);
  });
});
