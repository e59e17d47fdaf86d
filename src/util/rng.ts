// Seeded pseudo-random numbers for synthesized weights and test inputs.
//
// xoshiro128** (Blackman & Vigna) on 32-bit integer arithmetic, seeded through splitmix32, so the
// uniform stream is bit-identical on every platform. normal() uses the polar form of Box-Muller
// (Marsaglia), which needs Math.log and Math.sqrt but no sin/cos: about twice as fast as the basic
// form, which matters for the ~10^8 weights of a base-size model. Math.sqrt is correctly rounded and
// V8 computes Math.log with its own port of fdlibm rather than the platform's libm, so Node produces
// the same doubles everywhere.

const TWO_POW_32 = 4294967296;
const TWO_POW_31 = 2147483648;

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  // The polar method yields normals in pairs; the second one is kept for the next call. A flag
  // rather than `number | undefined` keeps the field an unboxed double in V8, several times faster.
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
    }
    // splitmix32 over both 32-bit halves of the seed, so seeds above 2^32 still differ.
    let state = (seed >>> 0) ^ Math.imul(Math.floor(seed / TWO_POW_32) >>> 0, 0x9e3779b9);
    const next = (): number => {
      state = (state + 0x9e3779b9) | 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Next 32-bit output as an unsigned integer in [0, 2^32). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }

  /** Uniform integer in [0, n), n <= 2^32 (modulo bias is below 2^-32 * n, irrelevant here). */
  int(n: number): number {
    return this.nextUint32() % n;
  }

  /** Standard normal N(0, 1). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    // A uniform point in the unit disc (rejecting ~21% of the square), then radial scaling.
    let u: number;
    let v: number;
    let radiusSquared: number;
    do {
      u = this.nextUint32() / TWO_POW_31 - 1;
      v = this.nextUint32() / TWO_POW_31 - 1;
      radiusSquared = u * u + v * v;
    } while (radiusSquared >= 1 || radiusSquared === 0);
    const scale = Math.sqrt((-2 * Math.log(radiusSquared)) / radiusSquared);
    this.spare = v * scale;
    this.hasSpare = true;
    return u * scale;
  }

  /** Fills `out` with N(mean, std^2) draws, rounded to float32. */
  fillNormal(out: Float32Array, mean: number, std: number): Float32Array {
    for (let i = 0; i < out.length; i++) {
      out[i] = mean + std * this.normal();
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
